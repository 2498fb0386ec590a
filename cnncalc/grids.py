"""Exact receptive fields on one spatial axis, also where they stop forming a regular grid.

Araujo, Norris and Sim (Distill, 2019) describe the fields of a chain of windows by three numbers:
unit i sees the input pixels start + i*jump -+ (size-1)/2. Through upsampling and transposed
convolutions the fields of neighbouring units no longer step evenly (and after a transposed
convolution whose kernel is smaller than its stride some units see nothing), so those three numbers
no longer exist. What every operation here keeps is periodicity: unit i's field [lo(i), hi(i)], in
input pixel coordinates on the infinite grid (pixel centres at 0, 1, 2, ...; padding extends the grid
on both sides), satisfies

    lo(i + P) = lo(i) + Q,  hi(i + P) = hi(i) + Q     (period P >= 1, advance Q >= 0),

so one period's table of (lo, hi) is the whole axis, exactly. A :class:`Grid` is that table; the
functions below map it through one layer. Where the result would need a table of more than
:data:`MAX_PERIOD` units, or is not periodic at all, they return None and the caller reports
"unknown".

The fields of a chain of windows over a regular grid are regular again (period 1), and then
:func:`size`, :func:`jump` and :func:`start` are Araujo et al.'s numbers.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction

__all__ = [
    "MAX_PERIOD",
    "Grid",
    "field",
    "hull",
    "is_regular",
    "jump",
    "regular",
    "size",
    "start",
    "transposed",
    "upsample",
    "window",
]

#: The longest table an operation builds (before reduction); beyond it the operation returns None.
MAX_PERIOD = 10_000

# How an empty unit (one that no input pixel reaches) is stored: any lo > hi means empty, and the
# constructor stores every empty unit as this pair so that equal grids compare equal.
_EMPTY = (1, 0)


@dataclass(frozen=True, slots=True)
class Grid:
    """The fields of one axis: unit i = m*period + r sees input pixels lo[r] + m*advance ..
    hi[r] + m*advance, or nothing when lo[r] > hi[r] (stored as lo, hi = 1, 0).

    The constructor reduces the table to its smallest period (and an axis where no unit sees
    anything to period 1, advance 0), so equal fields give equal grids.
    """

    period: int
    advance: int
    lo: tuple[int, ...]
    hi: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.period < 1:
            raise ValueError(f"period must be at least 1, got {self.period}")
        if self.advance < 0:
            raise ValueError(f"advance must not be negative, got {self.advance}")
        if len(self.lo) != self.period or len(self.hi) != self.period:
            raise ValueError(f"lo and hi need {self.period} entries each, got {len(self.lo)} and {len(self.hi)}")
        period, advance, lo, hi = _reduce(self.period, self.advance, tuple(self.lo), tuple(self.hi))
        # Frozen: the generated __setattr__ refuses, object's does not (the instance is new).
        object.__setattr__(self, "period", period)
        object.__setattr__(self, "advance", advance)
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)


def _reduce(
    period: int, advance: int, lo: tuple[int, ...], hi: tuple[int, ...]
) -> tuple[int, int, tuple[int, ...], tuple[int, ...]]:
    """The smallest period d of the table (lo(i + d) = lo(i) + advance*d/period), empties normalised.

    The smallest period of a periodic sequence divides every other period, so the divisors of
    ``period`` are the only candidates; checking i < period - d suffices, the rest follows from
    the table's own period.
    """
    cells = [(a, b) if a <= b else _EMPTY for a, b in zip(lo, hi, strict=True)]
    if all(c == _EMPTY for c in cells):
        return 1, 0, (_EMPTY[0],), (_EMPTY[1],)
    for d in range(1, period + 1):
        if period % d or advance * d % period:
            continue
        shift = advance * d // period
        if all(_shifted(cells[r], shift) == cells[r + d] for r in range(period - d)):
            return d, shift, tuple(c[0] for c in cells[:d]), tuple(c[1] for c in cells[:d])
    raise AssertionError("unreachable: the whole period always qualifies")


def _shifted(cell: tuple[int, int], by: int) -> tuple[int, int]:
    return cell if cell == _EMPTY else (cell[0] + by, cell[1] + by)


def field(g: Grid, i: int) -> tuple[int, int] | None:
    """Unit i's field (lo, hi) on the input's infinite grid, any integer i; None when empty.

    lo(i) = lo[i mod P] + floor(i / P)*Q, likewise hi.
    """
    m, r = divmod(i, g.period)
    a, b = g.lo[r], g.hi[r]
    if a > b:
        return None
    return a + m * g.advance, b + m * g.advance


def _is_empty(g: Grid) -> bool:
    return g.lo[0] > g.hi[0] and g.period == 1


def regular(size: int, jump: int, start2: int) -> Grid:
    """Araujo et al.'s regular fields: unit i sees start + i*jump -+ (size-1)/2, with start2 = 2*start.

    lo(0) = (start2 - size + 1)/2, hi(0) = lo(0) + size - 1; period 1, advance = jump. The network's
    input is regular(1, 1, 0): unit i is pixel i.
    """
    if size < 1 or jump < 0:
        raise ValueError(f"a regular field needs size >= 1 and jump >= 0, got size {size}, jump {jump}")
    if (start2 - size + 1) % 2:
        # Pixels sit at whole coordinates: an odd-sized field centres on one, an even-sized between two.
        raise ValueError(f"a field of size {size} cannot be centred at {Fraction(start2, 2)}")
    lo = (start2 - size + 1) // 2
    return Grid(1, jump, (lo,), (lo + size - 1,))


def _check_positive(**values: int) -> None:
    for name, v in values.items():
        if v < 1:
            raise ValueError(f"{name} must be at least 1, got {v}")


def window(g: Grid, kernel: int, stride: int, pad: int, dilation: int = 1) -> Grid:
    """A convolution or pooling window: unit i reads units s*i - p .. s*i - p + k - 1 of ``g`` (k the
    effective kernel d*(taps-1) + 1), every d-th one with dilation d; its field is the hull of the
    non-empty fields it reads, empty when all are.

    Period P' = P/gcd(P, s), advance Q' = Q*s*P'/P. With a regular ``g`` this is Araujo et al.'s
    size' = size + (k-1)*jump, jump' = jump*s, start' = start + ((k-1)/2 - p)*jump. Leaving out the
    dilation (reading the whole span, as Araujo et al. do) gives the same result on regular grids
    and a hull at least as large on others.
    """
    _check_positive(kernel=kernel, stride=stride, dilation=dilation)
    if (kernel - 1) % dilation:
        raise ValueError(f"an effective kernel of {kernel} does not come from dilation {dilation}")
    period = g.period // math.gcd(g.period, stride)  # s*period units of g: a whole number of g's periods
    advance = g.advance * stride * period // g.period
    taps = (kernel - 1) // dilation + 1
    # Unit j + L of g, L = lcm(P, d), is a tap whenever j is and its field is j's shifted right by a
    # multiple of Q >= 0: only the first L/d taps can hold the window's lo, only the last L/d its hi.
    reach = min(taps, math.lcm(g.period, dilation) // dilation)

    def lo_at(j: int) -> int | None:
        f = field(g, j)
        return None if f is None else f[0]

    def minus_hi_at(j: int) -> int | None:
        f = field(g, j)
        return None if f is None else -f[1]

    last = (taps - reach) * dilation  # offset of the first tap that can hold the hi
    los = _window_min(lo_at, -pad, stride, dilation, reach, period)
    his = _window_min(minus_hi_at, -pad + last, stride, dilation, reach, period)
    lo: list[int] = []
    hi: list[int] = []
    for a, b in zip(los, his, strict=True):
        # Both scans see the same units up to a shift by whole periods: empty in one, empty in both.
        lo.append(_EMPTY[0] if a is None or b is None else a)
        hi.append(_EMPTY[1] if a is None or b is None else -b)
    return Grid(period, advance, tuple(lo), tuple(hi))


def _window_min(
    value: Callable[[int], int | None], first: int, step: int, dilation: int, taps: int, count: int
) -> list[int | None]:
    """For r < count: the least value(first + step*r + dilation*t), t < taps, skipping None (None
    when all are). Overlapping contiguous windows use a monotone deque, O(units covered); others
    read each tap, O(count*taps)."""
    width = dilation * (taps - 1) + 1
    if dilation > 1 or width <= step:
        out: list[int | None] = []
        for r in range(count):
            a = first + step * r
            vals = [v for t in range(taps) if (v := value(a + dilation * t)) is not None]
            out.append(min(vals) if vals else None)
        return out
    result: list[int | None] = []
    queue: deque[tuple[int, int]] = deque()  # (unit, value), values increasing from the left
    end = first + width - 1  # where window 0 ends; window r ends step*r later
    for j in range(first, first + step * (count - 1) + width):
        v = value(j)
        if v is not None:
            while queue and queue[-1][1] >= v:
                queue.pop()
            queue.append((j, v))
        if j == end:  # step < width: every unit ends at most one window
            while queue and queue[0][0] < j - width + 1:
                queue.popleft()
            result.append(queue[0][1] if queue else None)
            end += step
    return result


def transposed(g: Grid, kernel: int, stride: int, padding: int, dilation: int) -> Grid | None:
    """A transposed convolution (kernel taps, not the effective kernel): output o receives input i
    iff o = i*s - p + d*t for some t in 0..k-1; its field is the hull of those inputs' fields,
    empty when none reaches it (kernel < stride) or all of them are empty.

    Period P' = s*P, advance Q' = Q (output o + s*P receives inputs i + P). output_padding only
    lengthens the output and does not change the map. None when s*P > MAX_PERIOD.
    """
    _check_positive(kernel=kernel, stride=stride, dilation=dilation)
    period = stride * g.period
    if period > MAX_PERIOD:
        return None
    lo: list[int] = []
    hi: list[int] = []
    for o in range(period):
        cells = []
        for t in range(kernel):
            i, rest = divmod(o + padding - dilation * t, stride)
            if rest == 0 and (f := field(g, i)) is not None:
                cells.append(f)
        lo.append(min(c[0] for c in cells) if cells else _EMPTY[0])
        hi.append(max(c[1] for c in cells) if cells else _EMPTY[1])
    return Grid(period, g.advance, tuple(lo), tuple(hi))


_NEAREST = ("nearest", "nearest-exact", "area")
_LINEAR = ("linear", "bilinear", "trilinear")
#: Bicubic weights near a zero of the cubic are ~0.19/p**2 for a factor p/q; up to this p they stay
#: far above float32's rounding of the cubic polynomial (~1e-6), so no weight rounds to exactly 0.
_BICUBIC_MAX_NUMERATOR = 128


def upsample(g: Grid, mode: str, factor: Fraction | int, align_corners: bool | None) -> Grid | None:
    """nn.Upsample / F.interpolate by ``factor`` = p/q (output units per input unit), with
    PyTorch's index maps (ATen UpSample.h), scale = 1/factor = q/p, output unit o reading:

    - "nearest": floor(o*scale); "area" with a whole-number factor the same (adaptive pooling's
      windows floor(o/p) .. ceil((o+1)/p) - 1 hold one pixel);
    - "nearest-exact": floor((o + 1/2)*scale);
    - "linear", "bilinear", "trilinear": src = (o + 1/2)*scale - 1/2, taps floor(src) and
      floor(src) + 1; the second has weight src - floor(src), 0 where src is whole, and is then
      not read;
    - "bicubic": taps floor(src) - 1 .. floor(src) + 2 with Keys' weights (A = -0.75): where src is
      whole only floor(src) has a nonzero weight, elsewhere all four do.

    The field of o is the hull of the non-empty fields it reads. Period P' = p*P/gcd(P, q),
    advance Q' = Q*q/gcd(P, q). The infinite grid leaves out PyTorch's clamping of src and of the
    taps at the borders (boundary units only).

    None where no periodic table is exact:

    - align_corners=True: scale = (in - 1)/(out - 1) depends on the input size;
    - "area" with a factor that is not a whole number: its windows come from in/out, not the factor;
    - factors whose floating-point scale makes PyTorch leave the exact map (see _float_follows):
      "linear"/"bicubic" when p and q are both odd and the float32 or float64 scale is too far off
      to land on the whole-src units (e.g. 7, 13, 5/3, 3/7; 5/7 and 9/7 for CUDA's sake),
      "nearest" when the float32 scale undershoots (e.g. 3/7, 6/7), "nearest-exact" when q is
      even and it undershoots; "bicubic" with p > 128 (float32 weights may round to 0);
    - a table longer than MAX_PERIOD.

    With ``size`` instead of ``scale_factor``, pass factor = size/in (PyTorch's scale is then
    in/size, which the check covers too). PyTorch's floats follow these maps for output indices
    below about 2**21/q (two million for a whole-number factor). Whatever the factor, PyTorch
    copies when out == in and ("nearest") halves indices when out == 2*in; that departs from the
    map only for inputs shorter than 1/(factor - 1) or 1/(factor - 2) pixels.
    """
    f = Fraction(factor)
    if f <= 0:
        raise ValueError(f"scale factor must be positive, got {f}")
    if mode not in _NEAREST + _LINEAR + ("bicubic",):
        raise ValueError(f"unknown upsampling mode {mode!r}")
    if mode in _NEAREST and align_corners is not None:
        raise ValueError(f"align_corners applies to interpolating modes, not {mode!r}")
    if align_corners:
        return None
    if mode == "area":
        if f.denominator != 1:
            return None
        mode = "nearest"  # adaptive pooling uses integer arithmetic: exact, no float check needed
    elif not _float_follows(mode, f):
        return None
    p, q = f.numerator, f.denominator
    shift = q // math.gcd(g.period, q)  # P' outputs move the taps q*P'/p = P*shift units: whole periods
    period = p * g.period // math.gcd(g.period, q)
    if period > MAX_PERIOD:
        return None
    lo: list[int] = []
    hi: list[int] = []
    for o in range(period):
        cells = [c for i in _taps(mode, p, q, o) if (c := field(g, i)) is not None]
        lo.append(min(c[0] for c in cells) if cells else _EMPTY[0])
        hi.append(max(c[1] for c in cells) if cells else _EMPTY[1])
    return Grid(period, g.advance * shift, tuple(lo), tuple(hi))


def _taps(mode: str, p: int, q: int, o: int) -> range:
    """The input units that output o reads with a nonzero weight, scale q/p, in exact arithmetic."""
    if mode == "nearest":
        i = o * q // p
        return range(i, i + 1)
    if mode == "nearest-exact":
        i = (2 * o + 1) * q // (2 * p)
        return range(i, i + 1)
    # src = (o + 1/2)*q/p - 1/2 = num/den
    num, den = (2 * o + 1) * q - p, 2 * p
    i, rest = divmod(num, den)
    if rest == 0:
        return range(i, i + 1)  # whole src: every other tap has weight exactly 0
    return range(i, i + 2) if mode in _LINEAR else range(i - 1, i + 3)


def _round(x: Fraction, bits: int) -> Fraction:
    """x > 0 rounded to ``bits`` significant bits, ties to even (IEEE round-to-nearest)."""
    e = x.numerator.bit_length() - x.denominator.bit_length()
    if Fraction(2) ** e > x:
        e -= 1  # now 2**e <= x < 2**(e+1)
    unit = Fraction(2) ** (e - bits + 1)
    return round(x / unit) * unit  # Fraction.__round__ rounds half to even


def _scales(f: Fraction, bits: int) -> tuple[Fraction, Fraction]:
    """The scale PyTorch computes for factor f in a type of ``bits`` significant bits: from
    scale_factor, static_cast<T>(1.0 / double(f)); from a size, T(in) / out = q/p rounded once."""
    from_factor = _round(_round(1 / _round(f, 53), 53), bits)
    return from_factor, _round(1 / f, bits)


def _float_follows(mode: str, f: Fraction) -> bool:
    """Whether PyTorch's floating-point index map is the exact one for factor f = p/q.

    PyTorch floors x*(1 + eta): x the exact value (o*q/p for "nearest", (o + 1/2)*q/p otherwise),
    eta the computed scale's relative error (_scales). Where x is not whole it is at least 1/(2p)
    from the next whole number and the error does not matter. Where x is whole (for the
    interpolating modes: src whole, and the second tap's weight must come out exactly 0) the
    product must round back to x. It does when |eta| <= 2**-(bits+1): x*(1 + eta) then lies within
    half a unit in the last place of x, ties going to x (a power of two, whose significand is
    even) or the bound being strict. For the floors of the nearest modes an overshoot (eta > 0)
    is harmless too. Nearest modes compute in float32 whatever the tensor's type; linear and
    bicubic in the tensor's opmath type, float32 or float64: both are checked. An undershoot in
    float64 is in fact harmless on CPU (floorf rounds src back up to the whole number and the
    weight clamps at 0, e.g. factor 5/7), not on CUDA, whose kernels truncate: refused.
    """
    p, q = f.numerator, f.denominator
    formats: tuple[int, ...] = (24,)  # significant bits: float32, float64
    overshoot_ok = True
    if mode == "nearest":
        whole = True  # o = p*m gives x = q*m
    elif mode == "nearest-exact":
        whole = q % 2 == 0  # (2o + 1)*q/(2p) whole needs q even
    else:
        if mode == "bicubic" and p > _BICUBIC_MAX_NUMERATOR:
            return False
        whole = p % 2 == 1 and q % 2 == 1  # src = ((2o + 1)*q - p)/(2p) whole needs both odd
        formats, overshoot_ok = (24, 53), False
    if not whole:
        return True
    exact = Fraction(q, p)
    for bits in formats:
        for s in _scales(f, bits):
            eta = s / exact - 1
            if eta != 0 and not (overshoot_ok and eta > 0) and abs(eta) > Fraction(1, 2 ** (bits + 1)):
                return False
    return True


def hull(grids: Iterable[Grid]) -> Grid | None:
    """A merge (add, concatenate, multiply): unit i's field is the hull of the inputs' non-empty
    fields at unit i, empty when all are.

    Period lcm(P_k), advance the common Q_k*P'/P_k. None when the inputs advance at different
    mean rates Q_k/P_k (the hull is then not periodic; inputs where no unit sees anything do not
    count), or when the common period exceeds MAX_PERIOD.
    """
    given = list(grids)
    if not given:
        raise ValueError("a hull needs at least one grid")
    live = [g for g in given if not _is_empty(g)]
    if not live:
        return given[0]
    if len({Fraction(g.advance, g.period) for g in live}) > 1:
        return None
    period = math.lcm(*(g.period for g in live))
    if period > MAX_PERIOD:
        return None
    lo: list[int] = []
    hi: list[int] = []
    for i in range(period):
        cells = [c for g in live if (c := field(g, i)) is not None]
        lo.append(min(c[0] for c in cells) if cells else _EMPTY[0])
        hi.append(max(c[1] for c in cells) if cells else _EMPTY[1])
    return Grid(period, live[0].advance * period // live[0].period, tuple(lo), tuple(hi))


def size(g: Grid) -> int:
    """The receptive field size reported: max over units of hi - lo + 1 (0 when no unit sees anything)."""
    return max((b - a + 1 for a, b in zip(g.lo, g.hi, strict=True) if a <= b), default=0)


def jump(g: Grid) -> Fraction:
    """The mean step between neighbouring units' fields, in input pixels: advance/period (0 when no
    unit sees anything)."""
    return Fraction(g.advance, g.period)


def start(g: Grid) -> Fraction:
    """The centre (lo + hi)/2 of unit 0's field; of the first unit i >= 0 that sees anything when
    unit 0 sees nothing. ValueError when no unit sees anything."""
    for a, b in zip(g.lo, g.hi, strict=True):
        if a <= b:
            return Fraction(a + b, 2)
    raise ValueError("no unit of this grid sees any input pixel")


def is_regular(g: Grid) -> bool:
    """Period 1 and non-empty: every unit's field is the previous one shifted by jump, and
    size/jump/start are Araujo et al.'s size, jump and start."""
    return g.period == 1 and g.lo[0] <= g.hi[0]
