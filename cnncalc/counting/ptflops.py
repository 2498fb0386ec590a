"""ptflops 0.7.5 (github.com/sovrasov/flops-counter.pytorch), both backends, as they count cnncalc's
PyTorch modules (``Architecture.to_torch``) at batch 1.

The pytorch backend (its default) adds forward hooks on the module types it knows and, while the
network runs, wraps some ``torch.nn.functional`` functions and ``torch.add``/``torch.mul``; a
module whose forward calls a wrapped function is counted twice (ReLU, GELU, pooling, upsampling).
The aten backend counts only convolutions and matrix products, seen as aten ops.
"""

from __future__ import annotations

from ..symbolic import Value
from ._common_b import (
    batchnorm,
    bias_adds,
    by_family,
    in_eval,
    left_aligned,
    lrn_tensor_ops,
    numel_in,
    numel_out,
    padded_numel,
    self_padding,
)
from .base import Facts, Preset

VERSION = "0.7.5"


def _weights(f: Facts) -> Value:
    """conv (per output position), transposed conv (per input position) and linear: cnncalc's MACs,
    plus one per output element for a bias."""
    return f.row.macs + bias_adds(f)


def _twice_out(f: Facts) -> Value:
    return 2 * numel_out(f)


def _twice_in(f: Facts) -> Value:
    return 2 * numel_in(f)


def _pool(f: Facts) -> Value:
    """The hook and the wrapped F.max_pool/F.avg_pool both count the input; a SAME pool (a
    subclass: no hook) only in the function, on its padded input."""
    return padded_numel(f) if self_padding(f) else 2 * numel_in(f)


def _batchnorm(f: Facts) -> Value:
    norm = batchnorm(f)
    return 0 if norm.partial else numel_in(f) * (2 if norm.weight else 1)


_PYTORCH = by_family(
    {
        "conv": lambda f: 0 if self_padding(f) else _weights(f),
        "convtranspose": _weights,
        "linear": _weights,
        "batchnorm": _batchnorm,
        "relu": _twice_out,
        "gelu": _twice_out,
        "relu6": numel_out,
        "leakyrelu": numel_out,
        "silu": numel_in,
        "softmax": numel_in,
        "maxpool": _pool,
        "avgpool": _pool,
        "adaptivemaxpool": _twice_in,
        "adaptiveavgpool": _twice_in,
        "upsample": _twice_out,
        "localresponsenorm": lrn_tensor_ops,
        "add": left_aligned,
        "mul": left_aligned,
    }
)

PTFLOPS = Preset(
    name="ptflops",
    tool="ptflops",
    version=VERSION,
    unit="MACs",
    rules=(
        "it calls model.eval() first: a layer that runs only in training (an auxiliary head) counts 0, in the "
        "training view too",
        "its default backend (pytorch): forward hooks on the module types it lists, and wrapped functions",
        "conv: k*C_in*C_out/groups per output position; transposed conv: the same per input position; "
        "linear: in*out; each plus one per output element for a bias",
        "batchnorm: 2 per input element with affine, 1 without; Keras's scale or center alone (a _BatchNorm "
        "subclass) 0",
        "0 for convolutions padded SAME_UPPER/SAME_LOWER and separable convolutions (subclasses and modules of "
        "cnncalc's own: hooks match exact types, and F.conv is not wrapped; a bug, as for any custom module)",
        "relu, gelu: 2 per element (a bug: the module's hook and the wrapped F.relu/F.gelu it calls both count)",
        "max, average and adaptive pooling, any rank: 2 per input element (the same double count); a pool "
        "padded SAME_UPPER/SAME_LOWER (a subclass: no hook) 1 per element of its padded input",
        "upsample: 2 per output element (the same double count)",
        "relu6, leakyrelu: 1 per element (the hook only: F.hardtanh and F.leaky_relu are not wrapped)",
        "silu, softmax: 1 per input element (the wrapped function only: no hook for the module)",
        "localresponsenorm: 3 per element + (C + size - 1) per position, the wrapped tensor ops it is made of",
        "add, mul: each pairwise torch.add/torch.mul counts the elements of the larger size per axis with the "
        "shapes aligned on the left (a bug: PyTorch aligns them on the right); a model written with + and * "
        "counts 0",
        "0 for sigmoid, tanh, hardswish, hardsigmoid, layernorm2d (a subclass of nn.LayerNorm: hooks match "
        "exact types), layerscale, dropout, padding, concat, shuffle, chunk and flatten",
        "params: the parameters that require gradients (frozen layers count 0)",
    ),
    differs="adds biases, BatchNorm, activations, pooling (counted twice), upsampling and elementwise merges",
    ops=in_eval(_PYTORCH),
    params=lambda f: f.row.trainable_params,
)

PTFLOPS_ATEN = Preset(
    name="ptflops-aten",
    tool="ptflops",
    version=VERSION,
    unit="MACs",
    rules=(
        "it calls model.eval() first: a layer that runs only in training (an auxiliary head) counts 0, in the "
        "training view too",
        "backend='aten': a TorchDispatchMode over the aten ops of one forward",
        "aten.convolution: prod(weight shape) per output position (per input position when transposed), "
        "that is cnncalc's MACs (separable: its two convolutions), plus one per output element for a bias",
        "aten.addmm, aten.mm (linear): in*out, plus out for a bias",
        "every other op 0 (normalisation, activations, pooling, merges)",
        "params: the parameters that require gradients (frozen layers count 0)",
    ),
    differs="adds one per output element for the biases of conv and linear layers",
    label="MACs (ptflops, aten)",
    ops=in_eval(
        by_family({"conv": _weights, "separableconv": _weights, "convtranspose": _weights, "linear": _weights})
    ),
    params=lambda f: f.row.trainable_params,
)

PRESETS: tuple[Preset, ...] = (PTFLOPS, PTFLOPS_ATEN)

__all__ = ["PRESETS", "PTFLOPS", "PTFLOPS_ATEN"]
