"""torchinfo's "Total mult-adds" (torchinfo 1.8.0, ``LayerInfo.calculate_macs`` and
``ModelStatistics``): every leaf module that runs adds its parameters named weight or bias, times
the output positions for a class whose name contains "Conv", else once (at batch 1).
"""

from __future__ import annotations

from ..symbolic import Value, product
from .base import Facts, Preset

VERSION = "1.8.0"


def ops(f: Facts) -> Value:
    """Conv and transposed conv: (weights + biases) x output positions; layer scale 0 (its
    parameter is gamma); any other layer: its parameters once."""
    if f.kind.startswith("conv"):  # conv1d..3d and convtranspose1d..3d: torchinfo's "Conv" in the class name
        return f.row.params * product(f.output[1:])
    if f.kind.startswith("separableconv"):
        # Its module's parameters are depthwise_weight, pointwise_weight and bias: only "bias" is
        # named exactly so (x output positions); the weights are counted as an RNN's, x batch x C_out.
        bias = f.output[0] if getattr(f.layer, "bias", True) else 0
        return (f.row.params - bias) * f.output[0] + bias * product(f.output[1:])
    if f.kind == "layerscale":
        return 0
    return f.row.params


PRESET = Preset(
    name="torchinfo",
    tool="torchinfo",
    version=VERSION,
    unit="Mult-Adds",
    rules=(
        f"torchinfo {VERSION}: summary(model, input_data=x, mode='eval').total_mult_adds, the 'Total "
        "mult-adds' line, at batch 1",
        "each leaf module that runs adds the elements of its parameters named weight or bias; nothing else counts",
        "modules whose class name contains 'Conv' (convolutions and transposed convolutions) multiply them by "
        "the output positions (batch x output spatial size, channels left out): k*C_in/g*C_out*out + C_out*out, "
        "bias included",
        "a transposed convolution is counted on its output positions, not its input's (cnncalc, fvcore): "
        "C_in*C_out/g*k*out, more than its real work by (out/in) per axis for stride > 1",
        "every other module adds its weight and bias once per sample: linear in*out + out (bias included), "
        "BatchNorm 2C (affine), LayerNorm 2C (C without bias)",
        "layer scale's parameter is named gamma, not weight or bias: 0",
        "a separable convolution (cnncalc's module, class SeparableConv) has parameters depthwise_weight, "
        "pointwise_weight and bias: the bias at every output position, and the two weights, whose names "
        "contain 'weight' (torchinfo's rule for an RNN's inner weights), times batch x C_out",
        "activations, pooling, upsampling, softmax, padding and merges have no parameters: 0",
        "every layer that runs in eval mode counts, whether or not the output depends on it (a layer that "
        "runs only in training, an auxiliary head, does not)",
    ),
    differs="biases at every output position, norms' weights once; transposed convs on output positions",
    ops=ops,
)

__all__ = ["PRESET", "VERSION", "ops"]
