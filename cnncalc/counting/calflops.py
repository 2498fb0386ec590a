"""calflops 0.3.2 (github.com/MrYxJ/calculate-flops.pytorch), MACs and FLOPs, as it counts cnncalc's
PyTorch modules (``Architecture.to_torch``) at batch 1.

calflops wraps ``torch.nn.functional`` functions and ``torch.add``/``torch.mul``/``Tensor.mul``...
while the network runs, and counts each call with its own formula (calflops/pytorch_ops.py): MACs
only for convolutions and matrix products, FLOPs for those (2 per MAC) and for the wrapped
elementwise functions. A conv's output size is recomputed from its arguments, wrongly for padding
"same" and for transposed convolutions.
"""

from __future__ import annotations

from ..layers.base import exact_div
from ..symbolic import Value, floordiv, product
from ._common_b import (
    batchnorm,
    by_family,
    family,
    field,
    in_eval,
    left_aligned,
    lrn_tensor_ops,
    numel_in,
    padded_numel,
)
from .base import Facts, Preset

VERSION = "0.3.2"


def _positions(f: Facts) -> Value:
    """Output positions of a conv as calflops computes them: with padding="same" (and zero padding
    mode, where F.conv gets the word) it pads d*(k-1)//2 on each side, so an odd total loses one
    position per axis. Any other padding reaches F.conv as numbers (SAME_UPPER: 0 on a padded input)."""
    if field(f, "padding") != "same" or field(f, "padding_mode", "zeros") != "zeros":
        return product(f.output[1:])
    sizes = f.input[1:]
    spans = [d * (k - 1) for d, k in zip(f.values("dilation"), f.values("kernel_size"), strict=True)]
    return product([n + 2 * floordiv(t, 2) - t for n, t in zip(sizes, spans, strict=True)])


def _conv_macs(f: Facts) -> Value:
    """prod(k)*C_in*(C_out/groups) per output position (cnncalc's MACs where the size is right)."""
    c_out, groups = f.value("out_channels"), f.value("groups")
    return product(f.values("kernel_size")) * f.input[0] * exact_div(c_out, groups) * _positions(f)


def _separable_macs(f: Facts) -> Value:
    """Its two F.conv calls: the depthwise one, prod(k)*C_in*m per position (positions as for a
    conv), and the pointwise one, C_in*m*C_out per output position."""
    inner = f.input[0] * f.value("depth_multiplier")
    return product(f.values("kernel_size")) * inner * _positions(f) + inner * f.row.output[0] * product(f.output[1:])


def _transposed_macs(f: Facts) -> Value:
    """prod(k)*C_in*(C_out/groups//groups) per input position: the weight's second axis is already
    C_out/groups, and calflops divides it by groups again (a bug where groups > 1)."""
    c_out, groups = f.value("out_channels"), f.value("groups")
    per_group = floordiv(exact_div(c_out, groups), groups)
    return product(f.values("kernel_size")) * f.input[0] * per_group * product(f.input[1:])


def _transposed_bias(f: Facts) -> Value:
    """C_out/groups times the positions of a CONVOLUTION of the input with these fields,
    floor((in + 2p - d(k-1) - 1)/s) + 1 per axis (a bug: neither the channels nor the size of the
    output; zero or negative for a small input)."""
    if not field(f, "bias"):
        return 0
    fields = (f.values(name) for name in ("kernel_size", "stride", "padding", "dilation"))
    axes = zip(f.input[1:], *fields, strict=True)
    sizes = [floordiv(n + 2 * p - d * (k - 1) - 1, s) + 1 for n, k, s, p, d in axes]
    return exact_div(f.value("out_channels"), f.value("groups")) * product(sizes)


def _upsample(f: Facts) -> Value:
    """F.interpolate: the product of ``size`` (spatial only), one ``size`` number as it is, and
    the input's elements with a scale factor (its product with the factor is computed and dropped)."""
    size = field(f, "size")
    if size is None:
        return numel_in(f)
    if isinstance(size, tuple):
        return product(tuple(f.env.resolve(v) for v in size))
    return f.env.resolve(size)


_MACS = {
    "conv": _conv_macs,
    "separableconv": _separable_macs,
    "convtranspose": _transposed_macs,
    "linear": lambda f: f.row.macs,
}


def _bias(f: Facts) -> Value:
    """A conv's (a separable conv's pointwise) bias: C_out per output position, as it counts them."""
    if not field(f, "bias"):
        return 0
    return f.value("out_channels") * (_positions(f) if family(f.kind) == "conv" else product(f.output[1:]))


def _batchnorm(f: Facts) -> Value:
    """F.batch_norm: 2 per element with a weight, 1 without; 5 and 4 for batch statistics."""
    weight = batchnorm(f).weight
    if field(f, "track_running_stats"):
        return numel_in(f) * (2 if weight else 1)
    return numel_in(f) * (5 if weight else 4)


CALFLOPS_MACS = Preset(
    name="calflops-macs",
    tool="calflops",
    version=VERSION,
    unit="MACs",
    rules=(
        "it calls model.eval() first: a layer that runs only in training (an auxiliary head) counts 0, in the "
        "training view too",
        "conv: prod(k)*C_in*C_out/groups per output position, the positions recomputed from its "
        'arguments: with padding "same" it pads d*(k-1)//2 per side (a bug: one position fewer per axis '
        "where d*(k-1) is odd)",
        "separable conv: its depthwise F.conv (prod(k)*C_in*m per position, as a conv) and its pointwise one "
        "(C_in*m*C_out per output position)",
        "transposed conv: prod(k)*C_in*(C_out/groups//groups) per input position (a bug: divided by groups twice)",
        "linear: in*out",
        "every other layer 0 (MACs are recorded only for conv and matrix products)",
        "params: the parameters that require gradients (frozen layers count 0); a network without "
        "parameters makes calflops fail",
    ),
    differs='equal to cnncalc\'s MACs except for padding "same" with even kernels and grouped transposed convs',
    ops=in_eval(by_family(_MACS)),
    params=lambda f: f.row.trainable_params,
)


CALFLOPS_FLOPS = Preset(
    name="calflops-flops",
    tool="calflops",
    version=VERSION,
    unit="FLOPs",
    rules=(
        "it calls model.eval() first: a layer that runs only in training (an auxiliary head) counts 0, in the "
        "training view too",
        "conv, separable conv: 2 per MAC (its MACs) + C_out per output position for a bias",
        "transposed conv: 2 per MAC (its MACs) + a bias term of C_out/groups times the positions of a "
        "convolution with the same fields (a bug: zero or negative for small inputs)",
        "linear: 2*in*out (the bias is not counted)",
        "batchnorm: 2 per element with a weight (affine, or Keras's scale), 1 without; without running "
        "statistics (batch statistics at inference) 5 and 4",
        "layernorm2d: 5 per element with elementwise_affine, 4 without",
        "relu, leakyrelu, silu, gelu, softmax: 1 per input element; relu6 (F.hardtanh), sigmoid, tanh, "
        "hardswish, hardsigmoid: 0",
        "max, average and adaptive pooling, any rank: 1 per input element (padded SAME_UPPER/SAME_LOWER: per "
        "element of the padded input)",
        "upsample: the product of size (without the channels: a bug), a size given as one number as it is (a "
        "bug), 1 per input element with one scale factor (a bug: the factor is dropped); with a scale factor "
        "per axis calflops itself fails (a bug: TypeError, tuple ** int), counted here as with one factor",
        "localresponsenorm: 3 per element + (C + size - 1) per position, the wrapped tensor ops it is made of",
        "add, mul: each pairwise torch.add/torch.mul counts the elements of the larger size per axis with the "
        "shapes aligned on the left (a bug: PyTorch aligns them on the right); a model written with + and * "
        "counts 0",
        "0 for dropout, padding, concat, shuffle, chunk, flatten, layerscale (x * gamma is not wrapped)",
        "params: the parameters that require gradients (frozen layers count 0)",
    ),
    differs="twice its MACs, plus biases, normalisation, activations, pooling, upsampling and merges",
    ops=in_eval(
        by_family(
            {
                "conv": lambda f: 2 * _conv_macs(f) + _bias(f),
                "separableconv": lambda f: 2 * _separable_macs(f) + _bias(f),
                "convtranspose": lambda f: 2 * _transposed_macs(f) + _transposed_bias(f),
                "linear": lambda f: 2 * f.row.macs,
                "batchnorm": _batchnorm,
                "layernorm": lambda f: numel_in(f) * (5 if field(f, "elementwise_affine") else 4),
                "relu": numel_in,
                "leakyrelu": numel_in,
                "silu": numel_in,
                "gelu": numel_in,
                "softmax": numel_in,
                "maxpool": padded_numel,
                "avgpool": padded_numel,
                "adaptivemaxpool": numel_in,
                "adaptiveavgpool": numel_in,
                "upsample": _upsample,
                "localresponsenorm": lrn_tensor_ops,
                "add": left_aligned,
                "mul": left_aligned,
            }
        )
    ),
    params=lambda f: f.row.trainable_params,
)

PRESETS: tuple[Preset, ...] = (CALFLOPS_MACS, CALFLOPS_FLOPS)

__all__ = ["CALFLOPS_FLOPS", "CALFLOPS_MACS", "PRESETS"]
