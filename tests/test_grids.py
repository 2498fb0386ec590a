"""cnncalc.grids: exact receptive fields per axis through windows, upsampling, transposed
convolutions and merges.

Two kinds of evidence, neither taken from grids.py itself:

- known answers worked out by hand (the working is in the comments);
- a brute force in PyTorch (float64, every weight 1, no bias, no activation): networks of 1-5
  layers (convolutions with dilation, average pools, nn.Upsample in every mode, transposed
  convolutions, merges by + and by torch.cat of two paths), on inputs of N pixels (N doubles until
  enough output units are clear of the border). A unit's receptive field is the set of input
  pixels it depends on, computed twice: (1) layer by layer, each layer's dependency (which input
  units have a nonzero weight for which output unit) read from PyTorch itself by one-hot probes
  (the layer is linear and bias-free: its output for a one-hot input is a column of its
  Jacobian; see _reads), composed as sets; (2) end to end, nonzero entries of torch.autograd.grad
  of an output unit with respect to the input (batched over units). (1) cannot lose a pixel to
  cancellation; (2) is the plain definition. Without bicubic every weight is >= 0, so a sum of
  products is 0 only when every product is, and the two must agree exactly. Bicubic has negative
  weights (-0.10546875 and -0.03515625 of its four at t = 1/4, factor 2): two paths into one pixel
  could cancel to an exact 0 (the weights are dyadic, so float64 adds them exactly), and (2) could
  then miss a pixel that (1) keeps; there (2) must lie within (1).

Units whose dependency reaches the input's border (zero padding, PyTorch's clamping of upsampling
indices) are left out: on the infinite grid those fields extend past the border. Interior units
are those whose field stays 2*(largest field anywhere in the network) + 8 pixels clear of both
ends. Their fields' lo/hi must be the grid's (input pixel 0 is the grid's pixel 0: the input grid
is regular(1, 1, 0)), and their largest extent must be size(grid).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cnncalc.grids import (
    MAX_PERIOD,
    Grid,
    field,
    hull,
    is_regular,
    jump,
    regular,
    size,
    start,
    transposed,
    upsample,
    window,
)

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # the known answers need no torch
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="needs torch")

PIXELS = regular(1, 1, 0)  # the network's input: unit i is pixel i


def table(g: Grid, units: int) -> list[tuple[int, int] | None]:
    return [field(g, i) for i in range(units)]


# --- known answers -----------------------------------------------------------------------------------


def test_regular_chain_is_araujo() -> None:
    # VGG-16 along one axis, by Araujo et al.'s recurrences: size' = size + (k-1)*jump, jump' = jump*s,
    # start' = start + ((k-1)/2 - p)*jump. conv3 p1: +2*jump, start unchanged ((3-1)/2 - 1 = 0).
    # pool2 s2: +1*jump, jump doubles, start += jump/2.
    #   conv 3, conv 5, pool 6 (jump 2, start 1/2), conv 10, conv 14, pool 16 (jump 4, start 1/2 + 1),
    #   conv 24, 32, 40, pool 44 (jump 8, start 3/2 + 2), conv 60, 76, 92, pool 100 (jump 16,
    #   start 7/2 + 4), conv 132, 164, 196, pool 212 (jump 32, start 15/2 + 8).
    conv, pool = (3, 1, 1), (2, 2, 0)
    layers = [conv, conv, pool] * 2 + [conv, conv, conv, pool] * 3
    expected = [
        (3, 1, "0"), (5, 1, "0"), (6, 2, "1/2"),
        (10, 2, "1/2"), (14, 2, "1/2"), (16, 4, "3/2"),
        (24, 4, "3/2"), (32, 4, "3/2"), (40, 4, "3/2"), (44, 8, "7/2"),
        (60, 8, "7/2"), (76, 8, "7/2"), (92, 8, "7/2"), (100, 16, "15/2"),
        (132, 16, "15/2"), (164, 16, "15/2"), (196, 16, "15/2"), (212, 32, "31/2"),
    ]  # fmt: skip
    g = PIXELS
    for (k, s, p), (sz, jp, st_) in zip(layers, expected, strict=True):
        g = window(g, k, s, p)
        assert (size(g), jump(g), start(g)) == (sz, jp, Fraction(st_))
        assert is_regular(g)
        assert g == regular(sz, jp, int(2 * Fraction(st_)))


@given(
    st.integers(1, 50), st.integers(1, 8), st.integers(-20, 20),
    st.integers(1, 9), st.integers(1, 4), st.integers(0, 8), st.integers(1, 3),
)  # fmt: skip
@settings(max_examples=300, derandomize=True, deadline=None, database=None)
def test_window_on_regular_is_araujo(sz: int, jp: int, half: int, taps: int, s: int, p: int, d: int) -> None:
    # With start2 chosen so that the field is whole pixels (start2 = size - 1 + 2*lo).
    g = regular(sz, jp, sz - 1 + 2 * half)
    k = d * (taps - 1) + 1
    out = window(g, k, s, p, dilation=d)
    assert out == regular(sz + (k - 1) * jp, jp * s, sz - 1 + 2 * half + (k - 1 - 2 * p) * jp)
    assert window(g, k, s, p) == out  # dilation does not matter on a regular grid


def test_nearest_2x_then_conv3() -> None:
    # Upsample 2x nearest: unit o reads pixel floor(o/2), so units 2m and 2m+1 both see pixel m.
    # conv3 s1 p1 then reads upsampled o-1, o, o+1: for o = 2m pixels m-1, m; for o = 2m+1
    # pixels m, m+1. Every unit sees 2 pixels; the fields step by 1/2 on average (period 2,
    # advance 1); unit 0 sees pixels -1..0 (pixel -1 is padding on the infinite grid).
    up = upsample(PIXELS, "nearest", 2, None)
    assert up is not None and table(up, 4) == [(0, 0), (0, 0), (1, 1), (1, 1)]
    g = window(up, 3, 1, 1)
    assert (g.period, g.advance, g.lo, g.hi) == (2, 1, (-1, 0), (0, 1))
    assert (size(g), jump(g), start(g)) == (2, Fraction(1, 2), Fraction(-1, 2))
    assert not is_regular(g)


def test_nearest_2x_then_pool2_is_regular_again() -> None:
    # Pool 2 s2 reads upsampled 2o, 2o+1 = pixel o twice: the identity, and the table reduces to it.
    up = upsample(PIXELS, "nearest", 2, None)
    assert up is not None
    assert window(up, 2, 2, 0) == PIXELS
    assert Grid(2, 2, (0, 1), (0, 1)) == PIXELS  # the constructor reduces to the smallest period
    assert Grid(3, 3, (5, 2, 1), (4, 1, 0)) == Grid(1, 0, (1,), (0,))  # all empty: one canonical form


def test_linear_modes_2x_and_3x() -> None:
    # Bilinear 2x, align_corners False: src = (o + 1/2)/2 - 1/2. o = 2m: src = m - 1/4, taps m-1, m;
    # o = 2m+1: src = m + 1/4, taps m, m+1 (weights 3/4 and 1/4, never 0). The same table as
    # nearest-then-conv3 above.
    assert upsample(PIXELS, "bilinear", 2, False) == Grid(2, 1, (-1, 0), (0, 1))
    assert upsample(PIXELS, "linear", 2, None) == upsample(PIXELS, "trilinear", Fraction(2), False)
    # Linear 3x: src = (o + 1/2)/3 - 1/2 = (o - 1)/3. o = 3m: src = m - 1/3, taps m-1, m;
    # o = 3m+1: src = m, whole: the second tap's weight is 0, one pixel; o = 3m+2: taps m, m+1.
    g = upsample(PIXELS, "linear", 3, False)
    assert g == Grid(3, 1, (-1, 0, 0), (0, 0, 1))
    assert size(g) == 2 and jump(g) == Fraction(1, 3)
    # conv3 p1 after it: o = 3m reads units 3m-1 (m-1..m), 3m (m-1..m), 3m+1 (m): m-1..m;
    # 3m+1 reads 3m, 3m+1, 3m+2: m-1..m+1 (3 pixels); 3m+2 reads m, m..m+1, m..m+1: m..m+1.
    c = window(g, 3, 1, 1)
    assert c == Grid(3, 1, (-1, -1, 0), (0, 1, 1)) and size(c) == 3


def test_bicubic_2x() -> None:
    # Bicubic 2x: src as bilinear, 4 taps floor(src)-1 .. floor(src)+2, all weights nonzero (src never
    # whole): o = 2m reads m-2..m+1, o = 2m+1 reads m-1..m+2. Size 4, jump 1/2.
    g = upsample(PIXELS, "bicubic", 2, False)
    assert g == Grid(2, 1, (-2, -1), (1, 2))
    assert size(g) == 4 and jump(g) == Fraction(1, 2) and start(g) == Fraction(-1, 2)
    # Bicubic 3x: src = (o - 1)/3; o = 3m+1 is whole: only tap m has a nonzero weight.
    assert upsample(PIXELS, "bicubic", 3, None) == Grid(3, 1, (-2, 0, -1), (1, 0, 2))


def test_nearest_and_nearest_exact_differ() -> None:
    # Factor 3/2 (scale 2/3). nearest: floor(2o/3) = 0, 0, 1 for o = 0, 1, 2, then +2 every 3 units.
    # nearest-exact: floor((2o + 1)/3) = 0, 1, 1.
    assert upsample(PIXELS, "nearest", Fraction(3, 2), None) == Grid(3, 2, (0, 0, 1), (0, 0, 1))
    assert upsample(PIXELS, "nearest-exact", Fraction(3, 2), None) == Grid(3, 2, (0, 1, 1), (0, 1, 1))
    # Whole factors: floor((o + 1/2)/3) = floor(o/3), the two agree; so does area.
    assert upsample(PIXELS, "nearest-exact", 3, None) == upsample(PIXELS, "nearest", 3, None)
    assert upsample(PIXELS, "area", 3, None) == Grid(3, 1, (0, 0, 0), (0, 0, 0))
    # Downsampling by 2 (factor 1/2): nearest reads 2o; linear reads 2o and 2o+1 (src = 2o + 1/2).
    assert upsample(PIXELS, "nearest", Fraction(1, 2), None) == regular(1, 2, 0)
    assert upsample(PIXELS, "linear", Fraction(1, 2), False) == regular(2, 2, 1)


def test_transposed_dcgan_and_gaps() -> None:
    # k4 s2 p1 (DCGAN): output o receives i with 2i - 1 + t = o, t in 0..3, i.e. i in
    # [(o - 2)/2, (o + 1)/2]: o = 2m reads m-1, m; o = 2m+1 reads m, m+1. Same table as 2x nearest
    # then conv3 p1, and as bilinear 2x.
    assert transposed(PIXELS, 4, 2, 1, 1) == Grid(2, 1, (-1, 0), (0, 1))
    # k1 s2: even outputs copy pixel o/2, odd outputs receive nothing.
    gaps = transposed(PIXELS, 1, 2, 0, 1)
    assert gaps is not None and table(gaps, 4) == [(0, 0), None, (1, 1), None]
    assert size(gaps) == 1 and jump(gaps) == Fraction(1, 2) and start(gaps) == 0
    # A window reading only odd units sees nothing anywhere (k1 s2 p1 reads unit 2i - 1).
    blind = window(gaps, 1, 2, 1)
    assert blind == Grid(1, 0, (1,), (0,)) and size(blind) == 0 and not is_regular(blind)
    with pytest.raises(ValueError, match="no unit"):
        start(blind)
    # k2 s1 p0 reads units o, o+1: one of them is empty: o = 2m sees m, o = 2m+1 sees m+1.
    assert window(gaps, 2, 1, 0) == Grid(2, 1, (0, 1), (0, 1))
    # start: unit 0 empty, the first unit that sees anything decides (p1 shifts: unit 0 = old -1).
    shifted = window(gaps, 1, 1, 1)
    assert table(shifted, 3) == [None, (0, 0), None] and start(shifted) == 0


def test_dilated_window_over_gaps() -> None:
    # conv k2 d2 (effective kernel 3) reads units o and o+2: on the k1 s2 grid both are even or both
    # odd, so odd units stay empty. Reading the whole span o..o+2 (Araujo's convention, no
    # dilation given) would make them see pixel (o+1)/2.
    gaps = transposed(PIXELS, 1, 2, 0, 1)
    assert gaps is not None
    assert table(window(gaps, 3, 1, 0, dilation=2), 4) == [(0, 1), None, (1, 2), None]
    assert table(window(gaps, 3, 1, 0), 4) == [(0, 1), (1, 1), (1, 2), (2, 2)]


def test_transposed_fields_need_not_be_ordered() -> None:
    # k3 s3 d2: o = 3i + 2t, t in 0..2 (offsets 0, 2, 4). o = 0: i = 0; o = 1: 3i = 1 - 4, i = -1;
    # o = 2: 3i = 2 - 2, i = 0. Unit 1 sees pixel -1 while units 0 and 2 see pixel 0: lo is not
    # monotone in o, and every operation takes true hulls, not first/last units.
    g = transposed(PIXELS, 3, 3, 0, 2)
    assert g == Grid(3, 1, (0, -1, 0), (0, -1, 0))
    # Then conv k2 s1: o reads units o, o+1: (0, -1) -> -1..0; (-1, 0) -> -1..0; (0, 1) -> 0..1.
    assert window(g, 2, 1, 0) == Grid(3, 1, (-1, -1, 0), (0, 0, 1))


def test_hull() -> None:
    # Residual: conv3 p1 and the identity: the conv's field contains the identity's.
    body = window(PIXELS, 3, 1, 1)
    assert hull([body, PIXELS]) == body
    # Two upsampled paths: 2x nearest (m, m) and bilinear (m-1..m, m..m+1): their union per unit.
    near = upsample(PIXELS, "nearest", 2, None)
    lin = upsample(PIXELS, "bilinear", 2, False)
    assert near is not None and lin is not None and hull([near, lin]) == lin
    # Gaps filled by another path: k1 s2 (even units) + k1 s2 p1 (odd outputs o receive i = (o + 1)/2).
    evens = transposed(PIXELS, 1, 2, 0, 1)
    odds = transposed(PIXELS, 1, 2, 1, 1)
    assert evens is not None and odds is not None
    assert table(odds, 4) == [None, (1, 1), None, (2, 2)]
    assert table(hull([evens, odds]), 4) == [(0, 0), (1, 1), (1, 1), (2, 2)]
    # Periods 2 and 3 with equal mean jumps: lcm 6.
    three = upsample(PIXELS, "linear", 3, False)
    assert three is not None
    thirds = hull([three, upsample(regular(1, 2, 0), "nearest", 6, None)])  # jump 2/6 = 1/3 too
    assert thirds is not None and jump(thirds) == Fraction(1, 3)
    # Different mean jumps: the hull is not periodic.
    assert hull([PIXELS, window(PIXELS, 2, 2, 0)]) is None
    # An input that sees nothing adds nothing, whatever its jump.
    assert hull([Grid(1, 0, (1,), (0,)), body]) == body
    with pytest.raises(ValueError):
        hull([])


def test_returns_none() -> None:
    # align_corners=True: scale (in - 1)/(out - 1) depends on the size.
    assert upsample(PIXELS, "bilinear", 2, True) is None
    # area with a factor that is not whole: adaptive pooling's windows come from in/out.
    assert upsample(PIXELS, "area", Fraction(3, 2), None) is None
    # Factors whose float scale leaves the exact map (see test_rejected_factors_leave_the_exact_map).
    assert upsample(PIXELS, "linear", 7, False) is None
    assert upsample(PIXELS, "bicubic", Fraction(5, 3), False) is None
    assert upsample(PIXELS, "nearest", Fraction(3, 7), None) is None
    assert upsample(PIXELS, "bicubic", 130, False) is None  # float32 weights too close to 0
    assert upsample(PIXELS, "bilinear", 130, False) is not None
    # Tables beyond MAX_PERIOD.
    assert upsample(PIXELS, "nearest", MAX_PERIOD + 1, None) is None
    assert transposed(PIXELS, 2, MAX_PERIOD + 1, 0, 1) is None
    # Two grids of jump 1 whose tables do not reduce (one unit one pixel wider): periods 101 and 103,
    # lcm 10403.
    a = Grid(101, 101, tuple(range(101)), (1, *range(1, 101)))
    b = Grid(103, 103, tuple(range(103)), (1, *range(1, 103)))
    assert (a.period, b.period) == (101, 103) and hull([a, b]) is None


def test_refuses() -> None:
    with pytest.raises(ValueError, match="mode"):
        upsample(PIXELS, "cubic", 2, None)
    with pytest.raises(ValueError, match="align_corners"):
        upsample(PIXELS, "nearest", 2, False)
    with pytest.raises(ValueError, match="positive"):
        upsample(PIXELS, "nearest", 0, None)
    with pytest.raises(ValueError, match="centred"):
        regular(2, 1, 0)  # an even-sized field centres between two pixels: start2 must be odd
    with pytest.raises(ValueError):
        window(PIXELS, 0, 1, 0)
    with pytest.raises(ValueError):
        window(PIXELS, 4, 1, 0, dilation=2)  # 4 = 2*(taps - 1) + 1 has no whole number of taps
    with pytest.raises(ValueError):
        Grid(2, 1, (0,), (0,))


# --- PyTorch: the upsampling index maps, factor by factor --------------------------------------------

MODES = ["nearest", "nearest-exact", "linear", "bicubic"]
FACTORS = sorted({Fraction(p, q) for p in range(1, 10) for q in range(1, 10)} | {Fraction(13), Fraction(7, 2)})


def _exact_reads(mode: str, f: Fraction, o: int) -> tuple[int, ...]:
    """The index map of UpSample.h in exact arithmetic, written independently of grids.py."""
    scale = 1 / f
    if mode == "nearest":
        return (math.floor(o * scale),)
    if mode == "nearest-exact":
        return (math.floor((o + Fraction(1, 2)) * scale),)
    src = (o + Fraction(1, 2)) * scale - Fraction(1, 2)
    n = math.floor(src)
    if src == n:
        return (n,)
    return (n, n + 1) if mode == "linear" else (n - 1, n, n + 1, n + 2)


def _interpolate(x: Any, mode: str, f: Fraction) -> Any:
    """1-D upsampling of (B, C, N); bicubic through a 2-D map of height 1 (PyTorch has no 1-D cubic)."""
    if mode == "bicubic":
        y = F.interpolate(x.unsqueeze(2), scale_factor=(1.0, float(f)), mode="bicubic", align_corners=False)
        return y.squeeze(2)
    kwargs = {"align_corners": False} if mode == "linear" else {}
    return F.interpolate(x, scale_factor=float(f), mode=mode, **kwargs)


def _pytorch_reads(mode: str, f: Fraction, n: int, dtype: Any) -> list[tuple[int, ...]]:
    basis = torch.eye(n, dtype=dtype).reshape(n, 1, n)  # input e_i in batch row i
    out = _interpolate(basis, mode, f).reshape(n, -1)  # out[i, o] = weight of pixel i in unit o
    return [tuple(torch.nonzero(out[:, o]).flatten().tolist()) for o in range(out.shape[1])]


@needs_torch
def test_upsample_factors_against_pytorch() -> None:
    # Every factor p/q with p, q <= 9, in float32 and float64 (linear and bicubic compute in the
    # tensor's type, the nearest modes in float32 anyway). Where grids.py gives a table, PyTorch
    # reads exactly its fields at every unit clear of the border (PyTorch clamps taps there).
    # Where it returns None, PyTorch leaves the exact map - or would on CUDA (see below).
    n = 160
    off, quiet = [], []
    for mode in MODES:
        for f in FACTORS:
            g = upsample(PIXELS, mode, f, None if mode.startswith("nearest") else False)
            wrong = False
            for dtype in (torch.float32, torch.float64):
                reads = _pytorch_reads(mode, f, n, dtype)
                inside = [o for o in range(len(reads)) if all(2 <= i < n - 2 for i in _exact_reads(mode, f, o))]
                assert len(inside) > 2 * f.numerator
                wrong |= any(reads[o] != _exact_reads(mode, f, o) for o in inside)
                if g is not None:
                    for o in inside:
                        assert (min(reads[o]), max(reads[o])) == field(g, o), (mode, f, dtype, o)
            assert not (g is not None and wrong)
            if g is None:
                (off if wrong else quiet).append(f"{mode} {f}")
    # Refused, and PyTorch (CPU) indeed reads an extra tap (linear, bicubic) or the wrong pixel
    # (nearest) within 160 pixels: float32's scale is more than 2**-25 off relative (e.g. 7, 5/3, 3/7),
    # or float64's is more than 2**-54 too large (3/7).
    assert off == [
        "nearest 3/7", "nearest 6/7",
        "linear 3/7", "linear 5/3", "linear 9/5", "linear 7", "linear 13",
        "bicubic 3/7", "bicubic 5/3", "bicubic 9/5", "bicubic 7", "bicubic 13",
    ]  # fmt: skip
    # Refused for float64 scales more than 2**-54 too small: src comes out a hair below the whole m.
    # This CPU kernel passes src through floorf (float32), which rounds it back up to m, and clamps
    # the second tap's weight src - m < 0 at 0: exact after all. CUDA's kernel truncates, (int)src =
    # m - 1, and reads m - 1 and m: grids.py refuses both directions.
    assert quiet == [
        "linear 5/9", "linear 5/7", "linear 7/9", "linear 9/7",
        "bicubic 5/9", "bicubic 5/7", "bicubic 7/9", "bicubic 9/7",
    ]  # fmt: skip


@needs_torch
def test_rejected_factors_leave_the_exact_map() -> None:
    # Linear 7x: src = (o - 3)/7 is whole at o = 7m + 3, where PyTorch should read one pixel. In
    # float32 the scale float(1/7) = 0.142857149... is 1.5 * 2**-25 too large relative to 1/7, and
    # (o + 0.5)*scale rounds past m + 1/2: src comes out a hair above m, the second tap gets a
    # weight ~1e-7, and the unit reads m and m+1. float64 happens to land exactly.
    f = Fraction(7)
    r32 = _pytorch_reads("linear", f, 40, torch.float32)
    r64 = _pytorch_reads("linear", f, 40, torch.float64)
    wrong = [o for o in range(21, 250) if r32[o] != _exact_reads("linear", f, o)]
    assert wrong and all((o - 3) % 7 == 0 and len(r32[o]) == 2 for o in wrong)
    assert all(r64[o] == _exact_reads("linear", f, o) for o in range(21, 250))
    # Bicubic 2000x (even numerator: src never whole, all four weights nonzero in exact arithmetic):
    # in float32 the weight of a tap near a zero of the cubic, ~0.19/2000**2, rounds to 0.
    f = Fraction(2000)
    r32 = _pytorch_reads("bicubic", f, 8, torch.float32)
    assert any(len(r32[o]) < 4 for o in range(4000, 12000))


# --- PyTorch: random networks -----------------------------------------------------------------------

# An op: ("conv", k, s, p, d), ("pool", k, s, p), ("up", mode, f), ("convT", k, s, p, d) with one
# value per axis in each field, or ("merge", "add" | "cat", path_a, path_b) (1-D only).
Op = tuple[Any, ...]
BIG = 1 << 40
LIMIT = 100_000  # units in any map of a brute-forced network


def _apply(op: Op, x: Any) -> Any:
    """One layer on (B, C, *spatial), every weight 1."""
    kind, nd, c = op[0], x.dim() - 2, x.shape[1]
    if kind == "conv":
        _, k, s, p, d = op
        w = torch.ones(1, c, *k, dtype=x.dtype)
        return (F.conv1d if nd == 1 else F.conv2d)(x, w, stride=s, padding=p, dilation=d)
    if kind == "pool":
        _, k, s, p = op
        return (F.avg_pool1d if nd == 1 else F.avg_pool2d)(x, k, s, p)
    if kind == "convT":
        _, k, s, p, d = op
        w = torch.ones(c, 1, *k, dtype=x.dtype)
        return (F.conv_transpose1d if nd == 1 else F.conv_transpose2d)(x, w, stride=s, padding=p, dilation=d)
    _, mode, f = op
    if nd == 1:
        return _interpolate(x, mode, f[0])
    kwargs = {"align_corners": False} if mode in ("bilinear", "bicubic") else {}
    return F.interpolate(x, scale_factor=tuple(float(v) for v in f), mode=mode, **kwargs)


def _crop(a: Any, b: Any) -> tuple[Any, Any]:
    m = min(a.shape[-1], b.shape[-1])
    return a[..., :m], b[..., :m]


def forward(ops: Sequence[Op], x: Any) -> Any:
    for op in ops:
        if op[0] == "merge":
            a, b = _crop(forward(op[2], x), forward(op[3], x))
            x = a.sum(1, keepdim=True) + b.sum(1, keepdim=True) if op[1] == "add" else torch.cat([a, b], 1)
        else:
            x = _apply(op, x)
    return x


class Fields:
    """Every unit's field in the real (finite) network: per axis lo, hi over units (row-major), and
    whether it sees anything; ``channels`` and ``shape`` of the map."""

    def __init__(self, shape: tuple[int, ...], channels: int, lo: Any, hi: Any, live: Any) -> None:
        self.shape, self.channels, self.lo, self.hi, self.live = shape, channels, lo, hi, live

    @staticmethod
    def pixels(shape: tuple[int, ...]) -> Fields:
        coords = _coords(shape)
        return Fields(shape, 1, coords, coords.clone(), torch.ones(coords.shape[1], dtype=torch.bool))

    def extent(self) -> list[int]:
        return [
            int((h - lo + 1)[self.live].max()) if bool(self.live.any()) else 0
            for lo, h in zip(self.lo, self.hi, strict=True)
        ]


def _coords(shape: tuple[int, ...]) -> Any:
    """(axes, units): each unit's index along each axis, units in row-major order."""
    return torch.stack(torch.meshgrid(*[torch.arange(n) for n in shape], indexing="ij")).reshape(len(shape), -1)


class TooBig(Exception):
    """A map of the network exceeds LIMIT units."""


def trace(ops: Sequence[Op], fields: Fields, widest: list[list[int]]) -> Fields:
    """The fields after ``ops``: per layer, PyTorch's own dependency (see _reads), composed as sets
    (a unit's field is the union of the fields it reads: lo the least, hi the largest).
    ``widest`` collects every map's largest extent per axis."""
    for op in ops:
        if op[0] == "merge":
            fields = _union(trace(op[2], fields, widest), trace(op[3], fields, widest), op[1])
        else:
            fields = _layer(op, fields)
        widest.append(fields.extent())
    return fields


def _span(op: Op, a: int) -> int:
    """At most how many consecutive input units one output unit of ``op`` reads along axis a, from
    the layer's definition: a window its kernel, a transposed conv d(k-1)/s + 1, interpolation 4."""
    if op[0] == "conv":
        return int(op[4][a] * (op[1][a] - 1) + 1)
    if op[0] == "pool":
        return int(op[1][a])
    if op[0] == "convT":
        return int(op[4][a] * (op[1][a] - 1) // op[2][a] + 1)
    return 4


def _reads(op: Op, shape: tuple[int, ...], channels: int) -> tuple[Any, Any, tuple[int, ...], int]:
    """Which input unit each output unit of ``op`` reads with a nonzero weight, from PyTorch.

    The layer is linear and bias-free, so its output for one-hot inputs is its Jacobian. Probing
    every input unit alone costs a batch as large as the map; instead each probe sets the units of
    one channel on a lattice whose spacing exceeds _span, so that an output unit reads at most one
    of them. The i-th lattice unit gets value i, i**2, i**3 in three probes: an output that reads it
    with weight w shows w*i, w*i**2, w*i**3, so out2/out1 names it and out1*out3 = out2**2 proves it
    was alone (two readers would leave w1*w2*i1*i2*(i1 - i2)**2 over). Returns (input unit, output
    unit) pairs, the output shape and channels.
    """
    units = math.prod(shape)
    coords = _coords(shape)
    steps = [_span(op, a) + 1 for a in range(len(shape))]
    offsets = torch.stack(torch.meshgrid(*[torch.arange(s) for s in steps], indexing="ij")).reshape(len(shape), -1).T
    lattices = []
    x = torch.zeros(3 * channels * len(offsets), channels, units, dtype=torch.float64)
    for c in range(channels):
        for offset in offsets:
            on = torch.ones(units, dtype=torch.bool)
            for a, s in enumerate(steps):
                on &= coords[a] % s == offset[a]
            rank = torch.cumsum(on, 0).to(torch.float64)
            b = 3 * len(lattices)
            for e in range(3):
                x[b + e, c] = torch.where(on, rank ** (e + 1), 0.0)
            lattices.append(torch.nonzero(on).flatten())
    y = _apply(op, x.reshape(-1, channels, *shape))
    out_shape, out_channels = tuple(y.shape[2:]), int(y.shape[1])
    if math.prod(out_shape) > LIMIT:
        raise TooBig
    y = y.sum(1).reshape(len(lattices), 3, -1)  # one lattice unit at most per output: channels add nothing
    src, dst = [], []
    for lattice, (y1, y2, y3) in zip(lattices, y, strict=True):
        hit = torch.nonzero(y1).flatten()
        ratio = y2[hit] / y1[hit]
        which = torch.round(ratio)
        assert torch.allclose(ratio, which, rtol=1e-9), "two lattice units reach one output: _span too small"
        assert torch.allclose(y1[hit] * y3[hit], y2[hit] ** 2, rtol=1e-9), "two lattice units reach one output"
        src.append(lattice[which.long() - 1])
        dst.append(hit)
    return torch.cat(src), torch.cat(dst), out_shape, out_channels


def _layer(op: Op, f: Fields) -> Fields:
    src, dst, shape, channels = _reads(op, f.shape, f.channels)
    keep = f.live[src]  # an empty input field adds nothing
    src, dst = src[keep], dst[keep]
    units = math.prod(shape)
    lo = torch.full((len(shape), units), BIG, dtype=torch.int64)
    hi = torch.full((len(shape), units), -BIG, dtype=torch.int64)
    for a in range(len(shape)):
        lo[a].scatter_reduce_(0, dst, f.lo[a][src], "amin")
        hi[a].scatter_reduce_(0, dst, f.hi[a][src], "amax")
    live = torch.zeros(units, dtype=torch.bool)
    live[dst] = True
    return Fields(shape, channels, lo, hi, live)


def _union(a: Fields, b: Fields, how: str) -> Fields:
    m = min(a.shape[0], b.shape[0])  # 1-D: both cropped to the shorter, as forward() does
    la, lb = a.live[:m], b.live[:m]
    lo = torch.minimum(torch.where(la, a.lo[:, :m], BIG), torch.where(lb, b.lo[:, :m], BIG))
    hi = torch.maximum(torch.where(la, a.hi[:, :m], -BIG), torch.where(lb, b.hi[:, :m], -BIG))
    return Fields((m,), 1 if how == "add" else a.channels + b.channels, lo, hi, la | lb)


def grids_of(ops: Sequence[Op], gs: list[Grid]) -> list[Grid]:
    """The same network through cnncalc.grids, one grid per axis."""
    for op in ops:
        if op[0] == "merge":
            merged = hull([grids_of(op[2], gs)[0], grids_of(op[3], gs)[0]])
            assert merged is not None
            gs = [merged]
            continue
        out = []
        for a, g in enumerate(gs):
            if op[0] == "conv":
                r: Grid | None = window(g, op[4][a] * (op[1][a] - 1) + 1, op[2][a], op[3][a], dilation=op[4][a])
            elif op[0] == "pool":
                r = window(g, op[1][a], op[2][a], op[3][a])
            elif op[0] == "convT":
                r = transposed(g, op[1][a], op[2][a], op[3][a], op[4][a])
            else:
                mode = op[1]
                r = upsample(g, mode, op[2][a], None if mode in ("nearest", "nearest-exact", "area") else False)
            assert r is not None, op
            out.append(r)
        gs = out
    return gs


def _uses(ops: Sequence[Op], mode: str) -> bool:
    return any(_uses([*op[2], *op[3]], mode) if op[0] == "merge" else op[:2] == ("up", mode) for op in ops)


def check(ops: Sequence[Op], shape: tuple[int, ...], largest: int) -> None:
    """Brute force against grids.py. The input doubles (up to ``largest`` pixels a side) until the
    units clear of the border span a full period of every axis."""
    grids = grids_of(ops, [PIXELS] * len(shape))
    while True:
        out: Fields | None
        try:
            widest: list[list[int]] = []
            out = trace(ops, Fields.pixels(shape), widest)
        except RuntimeError:  # some map shrank to nothing: PyTorch refuses; a larger input helps
            out = None
        except TooBig:
            assume(False)  # too large to brute-force: let hypothesis draw another
            raise
        if out is not None:
            if any(size(g) == 0 for g in grids):
                # An axis where no unit sees anything: only border units may (padding, clamping).
                middle = out.live.reshape(out.shape)[tuple(slice(n // 4, 3 * n // 4) for n in out.shape)]
                assert not bool(middle.any())
                return
            margin = [2 * max(w[a] for w in widest) + 8 for a in range(len(shape))]
            ranges = _interior(out, shape, margin)
            if ranges is not None and all(hi - lo >= g.period for (lo, hi), g in zip(ranges, grids, strict=True)):
                break
        assume(2 * max(shape) <= largest)
        shape = tuple(2 * n for n in shape)
    _compare(out, grids, ranges)
    _autograd(ops, shape, out, ranges, exact=not _uses(ops, "bicubic"))


def _interior(out: Fields, shape: tuple[int, ...], margin: list[int]) -> list[tuple[int, int]] | None:
    """Per axis, the span of unit indices whose fields stay ``margin`` clear of the input's ends."""
    ok = out.live.clone()
    for a, n in enumerate(shape):
        ok &= (out.lo[a] >= margin[a]) & (out.hi[a] <= n - 1 - margin[a])
    if not bool(ok.any()):
        return None
    idx = torch.nonzero(ok.reshape(out.shape))
    return [(int(idx[:, a].min()), int(idx[:, a].max())) for a in range(len(shape))]


def _compare(out: Fields, grids: list[Grid], ranges: list[tuple[int, int]]) -> None:
    """Every unit in the interior block: seen or not as the grids say (a 2-D field is the product
    of its row's and column's), lo/hi per axis as the grids' tables; the largest extent is size()."""
    region = tuple(slice(lo, hi + 1) for lo, hi in ranges)
    live = out.live.reshape(out.shape)[region]
    want_live = torch.ones(live.shape, dtype=torch.bool)
    for a, (g, (first, last)) in enumerate(zip(grids, ranges, strict=True)):
        cells = [field(g, i) for i in range(first, last + 1)]
        view = [-1 if b == a else 1 for b in range(len(grids))]
        want_live = want_live & torch.tensor([c is not None for c in cells]).reshape(view)
    assert torch.equal(live, want_live), torch.nonzero(live != want_live)[:3]
    for a, (g, (first, last)) in enumerate(zip(grids, ranges, strict=True)):
        view = [-1 if b == a else 1 for b in range(len(grids))]
        cells = [field(g, i) or (0, 0) for i in range(first, last + 1)]
        for k, got in ((0, out.lo[a]), (1, out.hi[a])):
            want = torch.tensor([c[k] for c in cells]).reshape(view).expand(live.shape)
            got = got.reshape(out.shape)[region]
            bad = torch.nonzero(live & (got != want))
            assert len(bad) == 0, (a, k, bad[:3].tolist(), got[tuple(bad[0])], want[tuple(bad[0])])
        extent = (out.hi[a] - out.lo[a] + 1).reshape(out.shape)[region][live]
        assert int(extent.max()) == size(g)


def _autograd(
    ops: Sequence[Op], shape: tuple[int, ...], out: Fields, ranges: list[tuple[int, int]], exact: bool
) -> None:
    """End to end: torch.autograd.grad of interior units (up to 64) with respect to the input."""
    x = torch.ones(1, 1, *shape, dtype=torch.float64, requires_grad=True)
    y = forward(ops, x).sum(1)[0]  # channels summed: a unit's field spans all of them
    per_axis = 64 if len(shape) == 1 else 8
    axes = [range(lo, min(hi, lo + per_axis - 1) + 1) for lo, hi in ranges]
    units = [
        tuple(int(v) for v in u)
        for u in torch.cartesian_prod(*[torch.tensor(list(r)) for r in axes]).reshape(-1, len(shape))
    ]
    picks = torch.zeros(len(units), *y.shape, dtype=torch.float64)
    for j, u in enumerate(units):
        picks[(j, *u)] = 1
    (grads,) = torch.autograd.grad(y, x, grad_outputs=picks, is_grads_batched=True)
    for j, u in enumerate(units):
        seen = torch.nonzero(grads[j, 0, 0])
        i = 0
        for n, v in zip(out.shape, u, strict=True):
            i = i * n + v
        if exact:
            assert bool(out.live[i]) == (len(seen) > 0)
        if len(seen):
            assert bool(out.live[i])
            for a in range(len(shape)):
                lo, hi = int(seen[:, a].min()), int(seen[:, a].max())
                if exact:
                    assert (lo, hi) == (int(out.lo[a, i]), int(out.hi[a, i]))
                else:  # bicubic: cancellation may only remove pixels
                    assert int(out.lo[a, i]) <= lo and hi <= int(out.hi[a, i])


# --- strategies ----------------------------------------------------------------------------------------

#: Factors grids.py accepts for every mode; "area" takes the whole ones; 2-D up to 3 (the maps grow as f**2).
UP_FACTORS = [Fraction(2), Fraction(3), Fraction(5), Fraction(3, 2), Fraction(2, 3), Fraction(1, 2), Fraction(4, 3)]
MODES_1D = ["nearest", "nearest-exact", "linear", "bicubic", "area"]
MODES_2D = ["nearest", "nearest-exact", "bilinear", "bicubic", "area"]


@st.composite
def up(draw: st.DrawFn, nd: int, mode: str | None = None) -> Op:
    mode = mode or draw(st.sampled_from(MODES_1D if nd == 1 else MODES_2D))
    factors = [f for f in UP_FACTORS if nd == 1 or f <= 3]
    pool = [f for f in factors if f.denominator == 1] if mode == "area" else factors
    return ("up", mode, tuple(draw(st.sampled_from(pool)) for _ in range(nd)))


@st.composite
def layer(draw: st.DrawFn, nd: int = 1, kind: str | None = None) -> Op:
    """A convolution (with dilation), an average pool, an upsampling or a transposed convolution;
    per axis its own kernel, stride, padding, dilation, factor."""
    kind = kind or draw(st.sampled_from(["conv", "conv", "pool", "up", "convT"]))
    if kind == "up":
        return draw(up(nd))
    axes = range(nd)
    k = tuple(draw(st.integers(1, 5 if nd == 1 else 3)) for _ in axes)
    s = tuple(draw(st.integers(1, 3 if nd == 1 else 2)) for _ in axes)
    if kind == "pool":
        return ("pool", k, s, tuple(draw(st.integers(0, kk // 2)) for kk in k))  # PyTorch: pad <= k/2
    d = tuple(draw(st.integers(1, 3)) if kk > 1 else 1 for kk in k)
    return (kind, k, s, tuple(draw(st.integers(0, dd * (kk - 1))) for kk, dd in zip(k, d, strict=True)), d)


def path_jump(ops: Sequence[Op]) -> Fraction:
    """Input pixels per unit after ``ops`` (1-D): strides multiply, upsampling divides."""
    j = Fraction(1)
    for op in ops:
        if op[0] in ("conv", "pool"):
            j *= op[2][0]
        elif op[0] in ("convT", "up"):
            j /= op[2][0]
        else:
            j *= path_jump(op[2])
    return j


@st.composite
def merge(draw: st.DrawFn) -> Op:
    """Two paths from one input, merged by + or torch.cat: a random one and one with the same mean
    jump (the identity or a conv; an upsampling or transposed conv by the jump's denominator, then
    a conv or pool strided by its numerator)."""
    a = draw(st.lists(layer(), min_size=1, max_size=2))
    j = path_jump(a)
    b: list[Op] = []
    if j.denominator > 1:
        den = j.denominator
        if draw(st.booleans()):
            mode = draw(st.sampled_from(["nearest", "nearest-exact", "linear", "bicubic"]))
            b.append(("up", mode, (Fraction(den),)))
        else:
            k = draw(st.integers(1, 2 * den))
            b.append(("convT", (k,), (den,), (draw(st.integers(0, k - 1)),), (1,)))
    if j.numerator > 1 or draw(st.booleans()):
        num = j.numerator
        k = draw(st.integers(1, max(3, num)))
        if draw(st.booleans()) and k >= num:
            b.append(("pool", (k,), (num,), (draw(st.integers(0, k // 2)),)))
        else:
            b.append(("conv", (k,), (num,), (draw(st.integers(0, k - 1)),), (1,)))
    if draw(st.booleans()):
        a, b = b, a
    return ("merge", draw(st.sampled_from(["add", "cat"])), a, b)


@st.composite
def network(draw: st.DrawFn, nd: int, featured: str, most: int) -> list[Op]:
    """1..``most`` layers, one of them ``featured`` (an upsampling mode, "convT" or "merge")."""
    others = layer(nd) if nd > 1 else st.one_of(layer(), layer(), layer(), merge())
    ops = draw(st.lists(others, max_size=most - 1))
    if featured == "merge":
        op = draw(merge())
    elif featured == "convT":
        op = draw(layer(nd, "convT"))
    else:
        op = draw(up(nd, featured))
    at = draw(st.integers(0, len(ops)))
    return [*ops[:at], op, *ops[at:]]


def _random(examples: int) -> Any:
    return settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


@needs_torch
@pytest.mark.parametrize("featured", [*MODES_1D, "convT", "merge"])
@given(data=st.data())
@_random(60)
def test_random_1d_networks_against_pytorch(featured: str, data: st.DataObject) -> None:
    check(data.draw(network(1, featured, 5)), (96,), 2048)


@needs_torch
@pytest.mark.parametrize("featured", [*MODES_2D, "convT"])
@given(data=st.data())
@_random(30)
def test_random_2d_networks_against_pytorch(featured: str, data: st.DataObject) -> None:
    # Per-axis kernels, strides, padding, dilation and factors differ: each axis is its own grid,
    # and a 2-D unit's field is the product of its row's and its column's.
    check(data.draw(network(2, featured, 3)), (16, 18), 160)


def test_known_networks_against_pytorch_1d() -> None:
    # The hand-worked cases above, through the brute force too.
    if torch is None:
        pytest.skip("needs torch")
    for ops in (
        [("up", "nearest", (Fraction(2),)), ("conv", (3,), (1,), (1,), (1,))],
        [("up", "linear", (Fraction(3),)), ("conv", (3,), (1,), (1,), (1,))],
        [("convT", (4,), (2,), (1,), (1,))],
        [("convT", (1,), (2,), (0,), (1,)), ("conv", (2,), (1,), (0,), (1,))],
        [("convT", (1,), (2,), (0,), (1,)), ("conv", (2,), (1,), (0,), (2,))],
        [("convT", (3,), (3,), (0,), (2,)), ("conv", (2,), (1,), (0,), (1,))],
        [("merge", "add", [("convT", (1,), (2,), (0,), (1,))], [("convT", (1,), (2,), (1,), (1,))])],
        [("convT", (1,), (2,), (0,), (1,)), ("conv", (1,), (2,), (1,), (1,))],  # sees nothing
    ):
        check(ops, (96,), 4096)
