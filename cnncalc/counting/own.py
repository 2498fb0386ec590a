"""cnncalc's own convention, as a preset (the first row of every comparison of conventions): MACs
of conv and linear weights, bias excluded, everything else 0; params as ``nn.Module.parameters()``."""

from __future__ import annotations

from ..symbolic import Value
from .base import Facts, Preset


def ops(f: Facts) -> Value:
    """cnncalc's MACs, unchanged."""
    return f.row.macs


PRESET = Preset(
    name="cnncalc",
    tool="cnncalc",
    version="",
    unit="MACs",
    rules=(
        "multiply-accumulates of conv and linear weights at batch 1, bias excluded: k*C_in/g*C_out*out per "
        "convolution, in*out per linear layer (torchvision's GFLOPS column is this count)",
        "a transposed convolution on its input positions: C_in*C_out/g*k*in, its real work",
        "normalisation, activation, pooling, upsampling, softmax, padding and merges: 0",
        "params as nn.Module.parameters() counts them, bias included; BatchNorm's running statistics are "
        "buffers, not parameters",
    ),
    differs="conv and linear weights' multiply-accumulates, bias excluded",
    ops=ops,
    checked=(
        "cnncalc's MACs and params are compared with PyTorch's own modules (cnncalc verify, tests/test_torch*.py)"
    ),
    label="MACs",
    trains=True,
)

__all__ = ["PRESET", "ops"]
