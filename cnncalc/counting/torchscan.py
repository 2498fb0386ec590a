"""torchscan 0.2.0 (github.com/frgfm/torch-scan) and PyTorch's own FlopCounterMode (torch 2.13.0), as
they count cnncalc's PyTorch modules (``Architecture.to_torch``) at batch 1.

torchscan's MACs and FLOPs come from one formula per leaf module type (torchscan/modules/macs.py and
flops.py, matched with isinstance); a type it does not know counts 0, with a warning. FlopCounterMode
(torch/utils/flop_counter.py, which torchscan 0.2.0 reports as its "operator FLOPs") counts aten ops:
2 per multiply-accumulate of convolutions and matrix products, nothing else.
"""

from __future__ import annotations

from ..symbolic import Value, product
from ._common_b import (
    adaptive_kernel,
    batchnorm,
    by_family,
    field,
    in_eval,
    kernel_terms,
    numel_in,
    numel_out,
    stored_kernel,
)
from .base import Facts, Preset, Rule

VERSION = "0.2.0"


def _pool(extra: bool, adaptive: bool) -> Rule:
    """Per output element: the kernel's size - 1 comparisons or additions, + the rank for an
    average ("div by kernel size", once per axis)."""

    def rule(f: Facts) -> Value:
        k = adaptive_kernel(f) if adaptive else stored_kernel(f)
        return numel_out(f) * (k - 1 + (f.rank if extra else 0))

    return rule


_POOLS = {
    "maxpool": _pool(extra=False, adaptive=False),
    "avgpool": _pool(extra=True, adaptive=False),
    "adaptivemaxpool": _pool(extra=False, adaptive=True),
    "adaptiveavgpool": _pool(extra=True, adaptive=True),
}


def _affine(f: Facts) -> bool:
    """Whether the module's ``affine`` is set: nn.BatchNormNd with weight and bias (Keras's scale or
    center alone is a _BatchNorm built with affine=False)."""
    norm = batchnorm(f)
    return norm.weight and not norm.partial


def _conv_flops(f: Facts) -> Value:
    """Per output element 2*terms - 1, + 1 for a bias."""
    return numel_out(f) * (2 * kernel_terms(f) - 1 + (1 if field(f, "bias") else 0))


def _linear_flops(f: Facts) -> Value:
    """Per output 2*in - 1, + 1 for a bias."""
    return numel_out(f) * (2 * f.input[0] - 1 + (1 if field(f, "bias") else 0))


def _layernorm_flops(f: Facts) -> Value:
    """6 per element + 2 per position, + 1 per element for each of weight and bias."""
    elements = numel_in(f)
    affine = field(f, "elementwise_affine")
    terms = 6 + (1 if affine else 0) + (1 if affine and field(f, "bias") else 0)
    return terms * elements + 2 * product(f.input[1:])


TORCHSCAN_MACS = Preset(
    name="torchscan-macs",
    tool="torchscan",
    version=VERSION,
    unit="MACs",
    rules=(
        "it calls model.eval() first: a layer that runs only in training (an auxiliary head) counts 0, in the "
        "training view too",
        "conv: (C_in/groups)*k per output element (cnncalc's MACs; the bias is free); linear: in*out",
        "transposed conv: 4 per spatial axis + (C_in/groups)*k per OUTPUT element, as if it were a "
        "convolution (a bug: an overcount by about the product of the strides)",
        "batchnorm: 2 per input element with affine, 1 without (Keras's scale or center alone: 1, the module's "
        "affine flag is off)",
        "max pooling: kernel - 1 per output element; average pooling: kernel - 1 + rank; the kernel as the "
        "module keeps it: one number written for all axes counts as that number (a bug: 3 for 3x3)",
        "adaptive pooling: the same with a kernel estimated per axis as in//out where out divides in, else "
        "in % out + 1 (a bug: not PyTorch's windows)",
        "0 for separable convolutions (cnncalc's own module), activations, dropout, softmax, upsampling, "
        "padding, LRN, layernorm2d, merges, shuffle, chunk, flatten (modules it does not know count 0, with a "
        "warning)",
    ),
    differs="adds BatchNorm and pooling, and counts transposed convolutions per output element",
    ops=in_eval(
        by_family(
            {
                "conv": lambda f: f.row.macs,
                "linear": lambda f: f.row.macs,
                "convtranspose": lambda f: 4 * f.rank + numel_out(f) * kernel_terms(f),
                "batchnorm": lambda f: numel_in(f) * (2 if _affine(f) else 1),
                **_POOLS,
            }
        )
    ),
)

TORCHSCAN_FLOPS = Preset(
    name="torchscan-flops",
    tool="torchscan",
    version=VERSION,
    unit="FLOPs",
    rules=(
        "it calls model.eval() first: a layer that runs only in training (an auxiliary head) counts 0, in the "
        "training view too",
        "conv: 2*(C_in/groups)*k - 1 per output element, + 1 with a bias; linear: 2*in - 1 per output, + 1 with a bias",
        "transposed conv: 8 per spatial axis + the same per OUTPUT element (the bug of its MACs)",
        "batchnorm: 2 per channel + 2 per input element, + 2 per element with affine (not for Keras's scale "
        "or center alone)",
        "layernorm2d (an nn.LayerNorm): 6 per element + 2 per position, + 1 per element for each of weight and bias",
        "relu: 1 per element; relu6: 2; leakyrelu: 4; sigmoid: 4; tanh: 6",
        "dropout with p > 0: 1 per element, even at inference (a bug: it is the identity there)",
        "pooling: as its MACs (kernel - 1 per output element, + rank for averages, its kernel estimates)",
        "0 for separable convolutions, gelu, silu, hardswish, hardsigmoid, softmax, upsampling, padding, LRN, "
        "layerscale, merges, shuffle, chunk, flatten (modules it does not know count 0, with a warning)",
    ),
    differs="counts 2*MACs - 1 per output plus biases, normalisation, some activations, pooling and dropout",
    ops=in_eval(
        by_family(
            {
                "conv": _conv_flops,
                "convtranspose": lambda f: 8 * f.rank + _conv_flops(f),
                "linear": _linear_flops,
                "batchnorm": lambda f: 2 * f.input[0] + numel_in(f) * (4 if _affine(f) else 2),
                "layernorm": _layernorm_flops,
                "relu": numel_in,
                "relu6": lambda f: 2 * numel_in(f),
                "leakyrelu": lambda f: 4 * numel_in(f),
                "sigmoid": lambda f: 4 * numel_in(f),
                "tanh": lambda f: 6 * numel_in(f),
                "dropout": lambda f: numel_in(f) if field(f, "p") > 0 else 0,
                **_POOLS,
            }
        )
    ),
)

FLOPCOUNTER = Preset(
    name="flopcounter",
    tool="PyTorch's FlopCounterMode",
    version="2.13.0",
    unit="FLOPs",
    rules=(
        "torch.utils.flop_counter.FlopCounterMode of torch 2.13.0 over one forward, as torchscan 0.2.0 runs it "
        "too: in the training view (train mode) auxiliary heads count",
        "aten.convolution: 2 per multiply-accumulate, per output position (per input position when "
        "transposed; separable: its two convolutions): 2x cnncalc's MACs; the bias is not counted",
        "aten.mm, aten.addmm (linear): 2*in*out; the bias is not counted",
        "every other op 0 (normalisation, activations, pooling, upsampling, merges)",
    ),
    differs="2 per multiply-accumulate (a multiplication and an addition), in conv and linear layers only",
    # cnncalc's MACs are those of exactly the ops it counts: convolutions and linear layers
    ops=lambda f: 2 * f.row.macs,
    label="FLOPs (FlopCounterMode)",
    trains=True,
)

PRESETS: tuple[Preset, ...] = (TORCHSCAN_MACS, TORCHSCAN_FLOPS, FLOPCOUNTER)

__all__ = ["FLOPCOUNTER", "PRESETS", "TORCHSCAN_FLOPS", "TORCHSCAN_MACS"]
