"""FLOPs as twice the MACs: each multiply-accumulate is one multiplication and one addition. The
count papers mean by "FLOPs" when they double multiply-adds, and calflops' and PyTorch's
FlopCounterMode's convention for convolutions and matrix products."""

from __future__ import annotations

from ..symbolic import Value
from .base import Facts, Preset


def ops(f: Facts) -> Value:
    """2 x cnncalc's MACs."""
    return 2 * f.row.macs


PRESET = Preset(
    name="flops",
    tool="cnncalc",
    version="",
    unit="FLOPs",
    rules=(
        "FLOPs = 2 x MACs: each multiply-accumulate of conv and linear weights is one multiplication and "
        "one addition; bias, normalisation, activation and pooling count 0, as in cnncalc's MACs",
        "batch 1; a transposed convolution on its input positions (its real work)",
    ),
    differs="2 x MACs (a multiply-accumulate is two floating-point operations)",
    ops=ops,
    checked=("equal to PyTorch's FlopCounterMode on every bundled network and on random ones, in the tests"),
    label="FLOPs",
    trains=True,
)

__all__ = ["PRESET", "ops"]
