"""fvcore's flops (fvcore 0.1.5.post20221221, ``FlopCountAnalysis(model, x).total()`` in eval
mode): the model is traced (torch.jit), and each aten operator of the traced graph that has a handle
in ``_DEFAULT_SUPPORTED_OPS`` counts (``fvcore/nn/jit_handles.py``); every other operator counts 0,
with a warning, and operators the output never reaches are not in the graph.
"""

from __future__ import annotations

from ..symbolic import Value, product
from .base import Facts, Preset

VERSION = "0.1.5.post20221221"


def ops(f: Facts) -> Value:
    """One fused multiply-add = one flop: conv (unless padded by a word), transposed conv and
    linear as cnncalc's MACs; batch norm 2 (1 without affine) per element in eval, 5 (4) with
    batch statistics; LayerNorm 5 (4); 2-D nearest upsampling 1 and bilinear 4 per output element;
    2-D adaptive average pooling 1 per input element; everything else 0."""
    kind = f.kind
    layer = f.layer
    if kind.startswith("conv"):
        # padding "same"/"valid" makes PyTorch call aten::_convolution_mode, which fvcore has no
        # handle for; another padding mode pads first (F.pad) and convolves with padding 0.
        zeros = getattr(layer, "padding_mode", "zeros") == "zeros"
        return 0 if zeros and getattr(layer, "padding", 0) in ("same", "valid") else f.row.macs
    if kind.startswith("separableconv"):
        # two F.conv calls: the depthwise one with the layer's padding, the pointwise one unpadded
        if getattr(layer, "padding", 0) in ("same", "valid"):
            inner = f.input[0] * f.value("depth_multiplier")
            return inner * f.output[0] * product(f.output[1:])  # the pointwise convolution alone
        return f.row.macs
    if kind == "linear":
        return f.row.macs
    if kind.startswith("batchnorm"):
        # fvcore's "affine" is a weight: a batch norm with only its bias (Keras's scale=False) has none
        affine = bool(getattr(layer, "affine", True)) and bool(getattr(layer, "scale", True))
        if getattr(layer, "track_running_stats", True):
            return product(f.input) * (2 if affine else 1)
        return product(f.input) * (5 if affine else 4)  # batch statistics: the training formula
    if kind == "layernorm2d":
        return product(f.input) * (5 if getattr(layer, "elementwise_affine", True) else 4)
    if kind == "upsample" and f.rank == 2:
        per_output = {"nearest": 1, "bilinear": 4}.get(str(getattr(layer, "mode", "")), 0)
        return product(f.output) * per_output
    if kind == "adaptiveavgpool2d":
        return product(f.input)
    return 0


PRESET = Preset(
    name="fvcore",
    tool="fvcore",
    version=VERSION,
    unit="FLOPs",
    rules=(
        f"fvcore {VERSION}: FlopCountAnalysis(model, x).total() in eval mode, at batch 1; its 'flop' is one "
        "fused multiply-add, so its convolutions and linear layers count MACs",
        "the model is traced (torch.jit): only operators the network's output depends on are in the graph, "
        "so layers whose output is never used (unused branches) count 0",
        "convolution (aten::_convolution): k*C_in/g*C_out*out, bias excluded (cnncalc's MACs)",
        "a convolution with padding 'same' or 'valid' (and padding_mode zeros) runs as aten::_convolution_mode, "
        "which fvcore has no handle for: 0, with a warning",
        "transposed convolution: on its input positions, C_in*C_out/g*k*in (cnncalc's MACs)",
        "linear (aten::linear): in*out, bias excluded",
        "a separable convolution is two convolutions (depthwise, pointwise): cnncalc's MACs; with padding "
        "'same' or 'valid' the depthwise one runs as aten::_convolution_mode: only the pointwise one counts",
        "BatchNorm in eval mode: 2 per input element (1 without a weight: affine false or scale false); "
        "without running statistics (batch statistics even in eval) 5 per element (4 without a weight)",
        "LayerNorm (aten::layer_norm): 5 per input element, 4 without elementwise_affine",
        "upsampling: 1 per output element for 2-D nearest, 4 for bilinear; nearest-exact, bicubic and "
        "every 1-D and 3-D mode 0 (no handle)",
        "adaptive average pooling 2-D: 1 per input element; 1-D and 3-D 0 (no handle)",
        "everything else 0: activations, softmax, max and average pooling, adaptive max pooling, local "
        "response norm, layer scale, padding, add, mul (with a warning; relu, constant padding, flatten, "
        "chunk and concat are on fvcore's list of ignored operators, silently)",
    ),
    differs="norms, 2-D upsampling and adaptive avg pooling add; 'same' convs and unused branches 0",
    ops=ops,
    live_only=True,
)

__all__ = ["PRESET", "VERSION", "ops"]
