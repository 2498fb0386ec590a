"""DenseNet-121/169/201, MobileNetV2 and MobileNetV3-Large/Small against torchvision's published counts
(the MobileNets' width multipliers: tests/test_widths.py).

Every asserted number is published elsewhere, never cnncalc's own output:
- [TV] torchvision's weight metadata in torchvision/models/densenet.py, mobilenetv2.py and
  mobilenetv3.py: ``num_params`` and ``_ops`` (GMACs of conv and linear layers at 224x224, batch 1,
  rounded to 3 decimals by torchvision's counter in test/common_extended_utils.py), shown rounded to
  2 decimals in the GFLOPS column of https://pytorch.org/vision/stable/models.html.
- [TVsrc] the architectures themselves (torchvision's model source; Huang et al. 2017, Sandler et al.
  2018, Howard et al. 2019): the stride-2 windows before the global pool, from which the last feature
  map's size follows; and torchvision's ``min_size`` metadata (29 for DenseNet, 1 for MobileNet).
"""

from __future__ import annotations

from functools import cache

import pytest
import sympy

import cnncalc

# [TV] num_params, _ops, docs GFLOPS
ZOO = [
    ("densenet121", 7_978_856, 2.834, 2.83),
    ("densenet169", 14_149_480, 3.36, 3.36),
    ("densenet201", 20_013_928, 4.291, 4.29),
    ("mobilenet_v2", 3_504_872, 0.301, 0.30),
    ("mobilenet_v3_large", 5_483_032, 0.217, 0.22),
    ("mobilenet_v3_small", 2_542_856, 0.057, 0.06),
]
NAMES = [name for name, *_ in ZOO]

# [TVsrc] (kernel, stride, padding) of every layer that changes the spatial size, in order; every
# other conv is 1x1, or k x k with padding (k-1)/2 at stride 1, and keeps the size.
DENSENET = [(7, 2, 3), (3, 2, 1)] + [(2, 2, 0)] * 3  # conv0, pool0, three transition pools
STRIDES = {
    "densenet121": DENSENET,
    "densenet169": DENSENET,
    "densenet201": DENSENET,
    "mobilenet_v2": [(3, 2, 1)] * 5,  # stem, first blocks of the 24-, 32-, 64- and 160-channel stages
    # stem; depthwise convs of features.2 (3x3), features.4 (5x5), features.7 (3x3), features.13 (5x5)
    "mobilenet_v3_large": [(3, 2, 1), (3, 2, 1), (5, 2, 2), (3, 2, 1), (5, 2, 2)],
    # stem; depthwise convs of features.1, features.2 (3x3), features.4, features.9 (5x5)
    "mobilenet_v3_small": [(3, 2, 1), (3, 2, 1), (3, 2, 1), (5, 2, 2), (5, 2, 2)],
}
H = sympy.Symbol("H", integer=True, positive=True)
# The closed forms stated from the architecture: the stem conv and pool0 are ceil(x/2) = floor((x+1)/2),
# the pools floor(x/2), so DenseNet ends at floor(ceil(H/4)/8) = floor((H + 3)/32); MobileNet's five
# padded stride-2 windows are each ceil(x/2), so it ends at ceil(H/32) = floor((H + 31)/32).
CLOSED_FORM = {
    name: sympy.floor((H + 3) / 32) if name.startswith("densenet") else sympy.floor((H + 31) / 32) for name in NAMES
}
MIN_SIZE = {name: 29 if name.startswith("densenet") else 1 for name in NAMES}  # [TV] min_size
SIZES = [1, 2, 17, 29, 31, 32, 33, 63, 100, 224, 225, 299, 513]


@cache
def architecture(name: str) -> cnncalc.Architecture:
    return cnncalc.load(name)


@cache
def summary(name: str, symbolic: bool = False) -> cnncalc.Summary:
    return architecture(name).summarize(symbolic=symbolic)


def last_map(s: cnncalc.Summary) -> tuple[object, object]:
    """Height and width entering the global average pool (torchvision's ``avgpool``)."""
    (row,) = [r for r in s.rows if r.name == "avgpool"]
    return row.input[1], row.input[2]


def recurrence(size: int, windows: list[tuple[int, int, int]]) -> int:
    for k, s, p in windows:
        size = (size + 2 * p - k) // s + 1
    return size


# --- totals ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "params", "ops", "gflops"), ZOO)
def test_params_are_torchvisions(name: str, params: int, ops: float, gflops: float) -> None:
    total = summary(name).total
    assert total.params == params
    assert total.trainable_params == params


@pytest.mark.parametrize(("name", "params", "ops", "gflops"), ZOO)
def test_gflops_are_torchvisions(name: str, params: int, ops: float, gflops: float) -> None:
    macs = summary(name).total.macs / 1e9
    # Within 0.5%, or within the rounding of the 3 published decimals where that is wider (the
    # 0.057 of MobileNetV3-Small stands for anything from 0.0565 to 0.0575: up to 0.9% away).
    assert abs(macs - ops) <= max(0.005 * ops, 0.0005)
    assert abs(macs - gflops) <= 0.005  # the docs' 2 decimals


# --- symbolic --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_symbolic_summary_at_the_defaults_is_the_numeric_one(name: str) -> None:
    defaults = architecture(name).defaults
    assert summary(name, symbolic=True).subs(**defaults) == summary(name)


@pytest.mark.parametrize("name", [n for n in NAMES if n.startswith("densenet")])
def test_densenet_params_are_a_quadratic_in_k(name: str) -> None:
    # Transitions halve the channels (torchvision: num_features // 2): 64 + 6k -> 32 + 3k, then
    # (32 + 15k) // 2 and so on, exact because the files declare k a multiple of 4; every conv's
    # weights are a product of two widths linear in k.
    k = sympy.Symbol("k", integer=True, positive=True)
    params = sympy.expand(sympy.sympify(summary(name, symbolic=True).total.params))
    assert params.free_symbols == {k}
    assert not params.atoms(sympy.floor)
    assert sympy.Poly(params, k).degree() == 2


# --- the last feature map --------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_closed_form_of_the_last_map_is_the_layer_recurrence(name: str) -> None:
    for size in SIZES:
        if size >= MIN_SIZE[name]:
            assert CLOSED_FORM[name].subs(H, size) == recurrence(size, STRIDES[name]), size


@pytest.mark.parametrize("name", NAMES)
def test_last_map_at_other_sizes(name: str) -> None:
    sizes = [s for s in SIZES if s >= MIN_SIZE[name]]
    for h, w in zip(sizes, reversed(sizes), strict=True):  # height and width differ
        s = architecture(name).summarize(H=h, W=w)
        assert last_map(s) == (recurrence(h, STRIDES[name]), recurrence(w, STRIDES[name])), (h, w)


@pytest.mark.parametrize("name", NAMES)
def test_symbolic_last_map_is_the_closed_form(name: str) -> None:
    height, width = last_map(summary(name, symbolic=True))
    assert height == CLOSED_FORM[name]
    assert width == CLOSED_FORM[name].xreplace({H: sympy.Symbol("W", integer=True, positive=True)})
