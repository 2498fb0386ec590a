"""thop's MACs and params (thop 0.1.1.post2209072238, ``thop.profile(model, inputs=(x,))``): a
forward hook per module, chosen by the module's exact class in ``register_hooks``
(``thop/profile.py``), counts with ``thop/vision/basic_hooks.py`` and ``calc_func.py`` in float64;
a module of any other class (a subclass too) counts 0 MACs and 0 params.
"""

from __future__ import annotations

from ..symbolic import Value, product
from .base import Facts, Preset

VERSION = "0.1.1.post2209072238"

#: Per output element, by upsampling mode (calc_func.calculate_upsample); trilinear and
#: nearest-exact are not there (0, with a logged warning for trilinear).
UPSAMPLE = {"nearest": 1, "linear": 5, "bilinear": 11, "bicubic": 224 + 35}
#: cnncalc's kinds whose PyTorch module's class has a hook in thop's register_hooks (the rest: 0).
HOOKED = frozenset(
    [
        f"{family}{rank}d"
        for family in ("conv", "convtranspose", "batchnorm", "maxpool", "avgpool")
        for rank in (1, 2, 3)
    ]
    + [f"adaptive{pool}{rank}d" for pool in ("avgpool", "maxpool") for rank in (1, 2, 3)]
    + ["softmax", "relu", "relu6", "leakyrelu", "linear", "dropout", "upsample", "zeropad2d"]
)
#: Paddings cnncalc's PyTorch backend builds as subclasses (SameConv2d, SameAvgPool2d...): no hook.
SAME = ("SAME_UPPER", "SAME_LOWER")


def hooked(f: Facts) -> bool:
    """Whether thop has a hook for the exact class of the layer's PyTorch module: not for a
    subclass (a convolution or pool padded as TF's "same", a batch norm with only its weight or
    only its bias) nor for a module of cnncalc's own (layer norm 2-D, layer scale, separable conv)."""
    layer = f.layer
    if f.kind not in HOOKED or getattr(layer, "padding", None) in SAME:
        return False
    scale, center = getattr(layer, "scale", True), getattr(layer, "center", True)
    return not (f.kind.startswith("batchnorm") and getattr(layer, "affine", True) and scale != center)


def _adaptive_avg(f: Facts) -> Value:
    """(prod(in/out) + 1) x output elements, as thop computes it: in float64, truncated."""
    size, out = f.input[1:], f.output[1:]
    if all(type(v) is int for v in (*size, *out, f.output[0])):
        kernel = 1.0
        for i, o in zip(size, out, strict=True):
            kernel *= i / o
        return int((kernel + 1) * product(f.output))
    # In exact arithmetic prod(in/out) x prod(out) = prod(in): input plus output elements.
    return product(f.input) + product(f.output)


def _softmax(f: Facts) -> Value:
    """(3n - 1) per row of n along dim: n exponentials, n - 1 additions, n divisions."""
    dims = (1, *f.input)  # with the batch, as dim counts
    axis = int(getattr(f.layer, "dim", 1)) % len(dims)
    rows = product(dims[:axis] + dims[axis + 1 :])
    return rows * (3 * dims[axis] - 1)


def ops(f: Facts) -> Value:
    """MACs by thop's hook for the layer's class; 0 without a hook."""
    kind, layer = f.kind, f.layer
    if not hooked(f):
        return 0
    if kind.startswith("convtranspose"):
        # output elements x C_in/g x prod(k): the weights (C_in*C_out/g*k) at every output position
        weights = f.row.params - (f.output[0] if getattr(layer, "bias", True) else 0)
        return weights * product(f.output[1:])
    if kind.startswith("conv") or kind == "linear":
        return f.row.macs
    if kind.startswith("batchnorm"):
        # nn.BatchNormNd(affine=...) is built with affine only where it has weight and bias
        affine = getattr(layer, "affine", True) and getattr(layer, "scale", True)
        return 2 * product(f.input) * (2 if affine else 1)
    if kind == "softmax":
        return _softmax(f)
    if kind.startswith("avgpool"):
        return product(f.output)
    if kind.startswith("adaptiveavgpool"):
        return _adaptive_avg(f)
    if kind == "upsample":
        return product(f.output) * UPSAMPLE.get(str(getattr(layer, "mode", "")), 0)
    return 0


def params(f: Facts) -> Value:
    """A module's parameters count only where its class has a hook, and the hook runs (the module
    runs in an inference forward: an auxiliary head's do not)."""
    return f.row.params if hooked(f) and f.runs else 0


PRESET = Preset(
    name="thop",
    tool="thop",
    version=VERSION,
    unit="MACs",
    rules=(
        f"thop {VERSION}: thop.profile(model, inputs=(x,)) in eval mode, at batch 1; it returns (MACs, params)",
        "a module counts only if its exact class has a hook (a subclass of a hooked class has none): "
        "0 MACs and 0 params otherwise; every module that runs counts, used or not",
        "convolution: output elements x C_in/g x k, bias excluded (cnncalc's MACs)",
        "transposed convolution: the same formula on its output, C_in*C_out/g*k*out, not on its input "
        "positions (cnncalc, fvcore): more than its real work by (out/in) per axis for stride > 1",
        "linear: in*out, bias excluded",
        "BatchNorm (1-D to 3-D): 2 per input element, doubled with affine, weight and bias (4)",
        "softmax: (3n - 1) per row of n along dim (n exponentials, n - 1 additions, n divisions)",
        "average pooling: 1 per output element; adaptive average pooling: (prod(in/out) + 1) per output "
        "element, computed in float64 and truncated (in + out elements where the sizes divide)",
        "upsampling: per output element 1 (nearest), 5 (linear), 11 (bilinear), 259 (bicubic); trilinear "
        "(with a warning) and nearest-exact 0",
        "ReLU, ReLU6, LeakyReLU, max pooling, adaptive max pooling, dropout, ZeroPad2d: hooked, 0",
        "no hook, so 0: sigmoid, tanh, GELU, SiLU, hardswish, hardsigmoid, local response norm, flatten, "
        "padding 1-D and 3-D, channel shuffle, chunk, merges, identity; and, with their parameters left "
        "out of thop's params too, ConvNeXt's LayerNorm2d and layer scale, separable convolutions, "
        "convolutions and pools padded as TF's 'same' (SAME_UPPER/SAME_LOWER: subclasses), and a "
        "batch norm with only its weight or only its bias (a subclass)",
        "params: a module's parameters count where its hook runs: not for a layer that does not run "
        "(an auxiliary head in eval mode)",
    ),
    differs="norms, softmax, avg pooling, upsampling add; transposed convs on output positions",
    ops=ops,
    params=params,
)

__all__ = ["HOOKED", "PRESET", "UPSAMPLE", "VERSION", "hooked", "ops", "params"]
