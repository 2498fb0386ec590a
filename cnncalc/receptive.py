"""Receptive fields through a network, per spatial axis.

On a regular grid fields follow Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional
Neural Networks" (Distill, 2019): for a window of effective kernel k, stride s and left padding p,
size' = size + (k-1)*jump, jump' = jump*s, start' = start + ((k-1)/2 - p)*jump. A merge takes the
largest size over its inputs; inputs that disagree on jump or start make it unaligned.

Upsampling and transposed convolutions break the regular grid: neighbouring outputs may read the
same inputs. From there each axis is a :class:`cnncalc.grids.Grid` (one period of every unit's
exact field), the size reported is the largest over units, the jump the mean and the start unit
0's centre, and the field is marked irregular; a merge meeting an irregular field takes, unit by
unit, the hull of its inputs' fields. Irregular fields need whole-number steps (else: unknown).
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any, NamedTuple

from .layers import KEEP, Scatter, Spread, Window
from .symbolic import Value, equal, half, maximum

if TYPE_CHECKING:
    from . import grids


def _grids() -> Any:
    """:mod:`cnncalc.grids`, imported at the first irregular field (most networks have none)."""
    from . import grids

    return grids


#: A regular field's state: (size, jump, 2*start) per axis and whether aligned; twice the start
#: keeps it an integer.
Regular = tuple[tuple[Value, ...], tuple[Value, ...], tuple[Value, ...], bool]


class Irregular:
    """A field past upsampling: one grid per axis, and whether the merges so far were aligned.
    Not a tuple, so ``type(rf) is tuple`` tells a regular field apart cheaply."""

    __slots__ = ("aligned", "axes")

    def __init__(self, axes: tuple[grids.Grid, ...], aligned: bool) -> None:
        self.axes, self.aligned = axes, aligned


#: The field of one layer's output: regular, irregular, or None (no spatial axes, or unknown).
State = Regular | Irregular | None


class ReceptiveField(NamedTuple):
    """Receptive field of one output unit, per spatial axis. Immutable (a named tuple: rows are made
    once per layer per summary, and a tuple is made four times faster)."""

    size: tuple[Value, ...]
    jump: tuple[Value | float, ...]
    start: tuple[Value | float, ...]
    #: False where the paths into a merge disagree on jump or centre (size is then the largest).
    aligned: bool = True
    #: False past upsampling or a transposed convolution: outputs' fields differ, size is the
    #: largest over them, jump the mean step and start the first output's centre.
    regular: bool = True


def initial(rank: int) -> State:
    """The field of the network input: one pixel, jump 1, centred on pixel 0 (None when flat)."""
    return ((1,) * rank, (1,) * rank, (0,) * rank, True) if rank else None


def window(rf: Regular, step: Window) -> Regular:
    """A regular field through a window (Araujo et al.)."""
    if len(rf[0]) == 2:  # unrolled for the common rank, in nested unpacking: the fastest Python has
        (s0, s1), (j0, j1), (t0, t1), aligned = rf
        (k0, k1), (q0, q1), (p0, p1), _ = step
        return (
            (s0 + (k0 - 1) * j0, s1 + (k1 - 1) * j1),
            (j0 * q0, j1 * q1),
            (t0 + (k0 - 1 - 2 * p0) * j0, t1 + (k1 - 1 - 2 * p1) * j1),
            aligned,
        )
    sizes, jumps, starts, aligned = rf
    kernels, strides, pads, _ = step
    return (
        tuple(s + (k - 1) * j for s, k, j in zip(sizes, kernels, jumps, strict=True)),
        tuple(j * q for j, q in zip(jumps, strides, strict=True)),
        tuple(t + (k - 1 - 2 * p) * j for t, k, p, j in zip(starts, kernels, pads, jumps, strict=True)),
        aligned,
    )


def _ints(*values: tuple[Any, ...]) -> bool:
    return all(type(v) is int for group in values for v in group)


def _to_grids(rf: State) -> Irregular | None:
    """A regular field as grids (None when a value is symbolic)."""
    gm = _grids()
    if rf is None or isinstance(rf, Irregular):
        return rf
    sizes, jumps, starts, aligned = rf
    if not aligned or not _ints(sizes, jumps, starts):
        # An unaligned merge's "largest size" is not one field of a grid: no exact table for it.
        return None
    return Irregular(tuple(gm.regular(*axis) for axis in zip(sizes, jumps, starts, strict=True)), aligned)


def _settle(axes: list[grids.Grid | None], aligned: bool) -> State:
    """Grids back to a regular field where every axis is regular again (a stride undoing an
    upsampling), else an irregular field; None where an axis is unknown."""
    gm = _grids()
    known = [g for g in axes if g is not None]
    if len(known) < len(axes):
        return None
    if any(gm.size(g) == 0 for g in known):
        return None  # no output sees any input (a transposed conv's gaps, then a stride): no field
    if all(gm.is_regular(g) for g in known):
        return (
            tuple(gm.size(g) for g in known),
            tuple(int(gm.jump(g)) for g in known),
            tuple(int(2 * gm.start(g)) for g in known),
            aligned,
        )
    return Irregular(tuple(known), aligned)


def step(rf: State, effect: Any) -> State:
    """The field after one layer: a window grows it, an upsampling or a transposed convolution
    spreads it, KEEP leaves it, anything else (FLAT, UNKNOWN) ends it."""
    kind = type(effect)
    if kind is Window:
        if rf is None:
            return None
        if not isinstance(rf, Irregular):
            return window(rf, effect)
        dilation = effect.dilation or (1,) * len(effect.kernel)
        if not _ints(effect.kernel, effect.stride, effect.padding, dilation):
            return None
        windows = zip(rf.axes, effect.kernel, effect.stride, effect.padding, dilation, strict=True)
        return _settle([_grids().window(g, k, s, p, d) for g, k, s, p, d in windows], rf.aligned)
    if kind is not Spread and kind is not Scatter:
        return rf if effect is KEEP else None
    irregular = _to_grids(rf)
    if irregular is None:
        return None
    gm = _grids()
    if kind is Spread:
        if not all(isinstance(f, int | Fraction) for f in effect.factor):
            return None
        spread = zip(irregular.axes, effect.factor, strict=True)
        return _settle([gm.upsample(g, effect.mode, f, effect.align_corners) for g, f in spread], irregular.aligned)
    if not _ints(effect.kernel, effect.stride, effect.padding, effect.dilation):
        return None
    axes = zip(irregular.axes, effect.kernel, effect.stride, effect.padding, effect.dilation, strict=True)
    return _settle([gm.transposed(g, k, s, p, d) for g, k, s, p, d in axes], irregular.aligned)


def merge(fields: list[State], shapes: tuple[tuple[Value, ...], ...]) -> State:
    """The field of a merge's output. Regular inputs: the largest size; unaligned when their jumps
    or starts differ; jump and start come from an input that is not broadcast (a squeeze-and-
    excitation gate [C, 1, 1] has one unit: its jump says nothing about the grid it multiplies).
    Irregular inputs: unit by unit, the hull of the inputs' fields."""
    known: list[Regular] = []
    for f in fields:
        if f is None:
            return None
        if type(f) is not tuple:  # irregular
            return _merge_irregular(fields)
        known.append(f)
    principal = known[0]  # when no input is broadcast (residual adds, concatenations)
    grid = shapes[0][1:]
    for x in shapes:
        if x[1:] != grid:
            spatial = [x[1:] for x in shapes]
            widest = max(
                range(len(known)), key=lambda i: sum(1 for v in spatial[i] if not (isinstance(v, int) and v == 1))
            )
            principal = known[widest]
            break
    jump, start2 = principal[1], principal[2]
    aligned = True
    for f in known:
        if not (f[3] and (f[1] == jump or _same(f[1], jump)) and (f[2] == start2 or _same(f[2], start2))):
            aligned = False
            break
    if len(jump) == 2:  # unrolled for the common rank (merges are a tenth of ResNet's layers)
        return ((_largest([f[0][0] for f in known]), _largest([f[0][1] for f in known])), jump, start2, aligned)
    return (tuple(_largest([f[0][axis] for f in known]) for axis in range(len(jump))), jump, start2, aligned)


def _merge_irregular(fields: list[State]) -> State:
    gm = _grids()
    converted = [_to_grids(f) for f in fields]
    if any(c is None for c in converted):
        return None
    inputs = [c for c in converted if c is not None]
    axes = [gm.hull([f.axes[axis] for f in inputs]) for axis in range(len(inputs[0].axes))]
    aligned = all(f.aligned for f in inputs) and all(
        g == inputs[0].axes[a] for f in inputs for a, g in enumerate(f.axes)
    )
    return _settle(list(axes), aligned)


def _same(a: tuple[Value, ...], b: tuple[Value, ...]) -> bool:
    return all(equal(x, y) for x, y in zip(a, b, strict=True))


def _largest(values: list[Value]) -> Value:
    for v in values:
        if type(v) is not int:
            return maximum(*values)
    return max(values)


def repeated(before: State, once: State, count: Any) -> State:
    """The field after ``count`` identical copies of a part that takes ``before`` to ``once``: the
    jump unchanged, each copy adds the same to the size and the (doubled) start, so size =
    before + count*(once - before), likewise the start. None where the copies change the jump or
    the field is irregular (then there is no such closed form)."""
    if before is None or once is None:
        return before if once is None and before is None else None
    if (
        type(before) is not tuple
        or type(once) is not tuple
        or not all(equal(a, b) for a, b in zip(before[1], once[1], strict=True))
    ):
        return None
    size = tuple(b + count * (o - b) for b, o in zip(before[0], once[0], strict=True))
    start = tuple(b + count * (o - b) for b, o in zip(before[2], once[2], strict=True))
    return (size, once[1], start, once[3])


def halves(doubled: tuple[Value, ...]) -> tuple[Value | float, ...]:
    """The start of a field from twice the start (kept doubled so that it stays an integer)."""
    try:
        a, b = doubled  # the common rank, unrolled
    except ValueError:
        return tuple(half(v) for v in doubled)
    if type(a) is int and type(b) is int and not (a | b) & 1:
        return (a >> 1, b >> 1)
    return (half(a), half(b))


def _number(value: Fraction) -> int | float:
    return int(value) if value.denominator == 1 else float(value)


def report(rf: State) -> ReceptiveField | None:
    """The field as reported in a row: regular as it is, irregular as the largest size, the mean
    jump and the first output's centre."""
    if rf is None:
        return None
    if not isinstance(rf, Irregular):
        return tuple.__new__(ReceptiveField, (rf[0], rf[1], halves(rf[2]), rf[3], True))
    gm = _grids()
    return ReceptiveField(
        tuple(gm.size(g) for g in rf.axes),
        tuple(_number(gm.jump(g)) for g in rf.axes),
        tuple(_number(gm.start(g)) for g in rf.axes),
        rf.aligned,
        False,
    )


__all__ = [
    "Irregular",
    "ReceptiveField",
    "Regular",
    "State",
    "halves",
    "initial",
    "merge",
    "repeated",
    "report",
    "step",
    "window",
]
