"""TF's and ONNX's "same" padding (ONNX's auto_pad SAME_UPPER and SAME_LOWER), whose amount depends
on the input size: out = ceil(in/stride), and the total padding is whatever makes the last window
end at the padded edge. Closed forms in a symbolic size, with floors only.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import ShapeError
from ..symbolic import Value, floordiv, simplify_integer

#: The padding words, by ONNX's auto_pad names: the odd pixel after (SAME_UPPER, as TF and Keras
#: pad) or before (SAME_LOWER).
SAME = ("SAME_UPPER", "SAME_LOWER")


def same_padding(size: Value, eff: Value, stride: Value, upper: bool) -> tuple[Value, Value, Value]:
    """TF's and ONNX's "same" padding on one axis, as (out, before, total): out = ceil(in/s),
    total = max((out - 1)*s + eff - in, 0), before = floor(total/2) for SAME_UPPER (the odd pixel
    after, as TF pads) and ceil(total/2) for SAME_LOWER.

    With in - 1 = s*q + r (0 <= r < s) the total is max(eff - 1 - r, 0): it depends on the size
    only through r. Symbolically it is s*q + eff - in where eff >= s, else a sum of steps
    floor((in - 1 + s - j)/s) - q (1 where r >= j, else 0): floors only, never Max or Mod, so
    constraints, sweeps and compiled totals take it as any other size.
    """
    if type(size) is int and type(eff) is int and type(stride) is int:  # numeric runs: plain ints
        out = -(-size // stride)
        total = max((out - 1) * stride + eff - size, 0)
        half = total // 2
        return out, (half if upper else total - half), total
    if not (isinstance(eff, int) and isinstance(stride, int)):
        raise ShapeError(f"{SAME[0]} and {SAME[1]} need whole-number kernel_size, stride and dilation")
    if stride == 1:  # the total is eff - 1 at every size
        total = eff - 1
        return size, (total // 2 if upper else total - total // 2), total
    q = floordiv(size - 1, stride)
    out = floordiv(size + stride - 1, stride)
    if eff >= stride:
        total = stride * q + eff - size
        # floor(total/2): s*q leaves the floor whole for even s; for odd s one q stays inside,
        # which floordiv merges into one floor.
        half = (stride // 2) * q + floordiv(eff - size + (stride % 2) * q, 2)
    else:
        steps = [floordiv(size - 1 + stride - j, stride) - q for j in range(1, stride)]
        total = _periodic(lambda r: max(eff - 1 - r, 0), steps)
        half = _periodic(lambda r: max(eff - 1 - r, 0) // 2, steps)
    return out, simplify_integer(half if upper else total - half), simplify_integer(total)


def _periodic(g: Callable[[int], int], steps: list[Value]) -> Value:
    """g(r) for r = (in - 1) mod s, from the steps [r >= 1, r >= 2, ..., r >= s - 1]."""
    value: Value = g(0)
    for j, step in enumerate(steps, start=1):
        if g(j) != g(j - 1):
            value = value + (g(j) - g(j - 1)) * step
    return value


def same_sizes(
    size: tuple[Value, ...], eff: tuple[Value, ...], stride: tuple[Value, ...], upper: bool
) -> tuple[tuple[Value, ...], tuple[Value, ...], tuple[Value, ...]]:
    """:func:`same_padding` on every axis: (out, before, total) per axis."""
    per_axis = [same_padding(n, e, s, upper) for n, e, s in zip(size, eff, stride, strict=True)]
    return tuple(a[0] for a in per_axis), tuple(a[1] for a in per_axis), tuple(a[2] for a in per_axis)


__all__ = ["SAME", "same_padding", "same_sizes"]
