"""The ResNet family of the zoo against published counts, and the closed form of its last feature map.

Sources:
- [TV] torchvision/models/resnet.py, the weights' metadata: ``num_params`` and ``_ops`` (GMACs at
  224x224, 3 decimals), shown rounded to 2 decimals in the GFLOPS column of
  https://pytorch.org/vision/stable/models.html ("Table of all available classification weights").
- [He15] He, Zhang, Ren and Sun, "Deep Residual Learning for Image Recognition" (2015), Table 1:
  conv1 7x7/2 (pad 3), 3x3/2 max pool (pad 1), then conv3_1, conv4_1 and conv5_1 downsample by 2
  (torchvision: stride 2 on the first block's 3x3 conv, pad 1, and on its 1x1 shortcut, pad 0);
  every other conv is 3x3 pad 1 or 1x1 pad 0, stride 1, so it keeps the size; output stride 32.

Every expected number is published ([TV]) or computed here by hand from [He15]'s layer table, never
taken from cnncalc's output.
"""

from __future__ import annotations

from functools import cache

import pytest
import sympy

import cnncalc

# [TV] num_params (exact), _ops and the docs' 2-decimal GFLOPS; final feature map channels: 512 for
# BasicBlock nets (512 planes x expansion 1), 2048 for Bottleneck nets (512 planes x expansion 4).
RESNETS = [
    # bundled name, num_params, _ops, docs GFLOPS, channels before the global pool
    ("resnet18", 11_689_512, 1.814, 1.81, 512),
    ("resnet34", 21_797_672, 3.664, 3.66, 512),
    ("resnet50", 25_557_032, 4.089, 4.09, 2048),
    ("resnet101", 44_549_160, 7.801, 7.80, 2048),
    ("resnet152", 60_192_808, 11.514, 11.51, 2048),
    ("resnext50_32x4d", 25_028_904, 4.23, 4.23, 2048),
    ("wide_resnet50_2", 68_883_240, 11.398, 11.40, 2048),
]
NAMES = [name for name, *_ in RESNETS]

H = sympy.Symbol("H", integer=True, positive=True)
W = sympy.Symbol("W", integer=True, positive=True)


@cache
def numeric(name: str, h: int = 224, w: int = 224) -> cnncalc.Summary:
    return cnncalc.load(name).summarize(H=h, W=w)


@cache
def symbolic(name: str) -> cnncalc.Summary:
    return cnncalc.load(name).summarize(symbolic=True)


def pool_input(summary: cnncalc.Summary) -> tuple[object, ...]:
    """The shape entering the global average pool (torchvision's ``avgpool``): the last feature map."""
    rows = [r for r in summary.rows if r.name == "avgpool"]
    assert len(rows) == 1
    return rows[0].input


@pytest.mark.parametrize(("name", "params", "ops", "gflops", "channels"), RESNETS)
def test_params(name: str, params: int, ops: float, gflops: float, channels: int) -> None:
    total = numeric(name).total
    assert total.params == params
    assert total.trainable_params == params


@pytest.mark.parametrize(("name", "params", "ops", "gflops", "channels"), RESNETS)
def test_gflops(name: str, params: int, ops: float, gflops: float, channels: int) -> None:
    gmacs = numeric(name).total.macs / 1e9
    assert abs(gmacs - gflops) / gflops <= 0.005
    assert abs(gmacs - ops) < 0.0005  # _ops is given to 3 decimals


@pytest.mark.parametrize("name", NAMES)
def test_symbolic_at_defaults_equals_numeric(name: str) -> None:
    assert symbolic(name).subs(H=224, W=224) == numeric(name)


# --- the last feature map: ceiling(H/32) = floor((H + 31)/32) ------------------------------------

# [He15] the size-changing layers as (kernel, stride, padding); every other layer keeps the size.
STRIDED = [
    (7, 2, 3),  # conv1
    (3, 2, 1),  # maxpool
    (3, 2, 1),  # conv3_x (torchvision layer2.0): first block's strided 3x3
    (3, 2, 1),  # conv4_x (layer3.0)
    (3, 2, 1),  # conv5_x (layer4.0)
]


def recurrence(size: int) -> int:
    """The last feature map's side by the layer formula, one layer at a time (independent of sympy)."""
    for k, s, p in STRIDED:
        size = (size + 2 * p - k) // s + 1
    return size


# Each stride-2 layer maps n to ceiling(n/2) (e.g. (n + 6 - 7)//2 + 1 = (n + 1)//2), and five of them
# make ceiling(H/32) = floor((H + 31)/32): ResNet-50's last feature map is 2048 x ceiling(H/32) x
# ceiling(W/32) (7x7 at 224), and the same holds for every network here (all have output stride 32).
CLOSED_FORM = sympy.floor((H + 31) / 32)
SIZES = [1, 2, 31, 32, 33, 63, 64, 65, 100, 223, 224, 225, 299, 320, 511, 512, 1000]


def test_closed_form_matches_the_recurrence() -> None:
    for h in SIZES:
        assert CLOSED_FORM.subs(H, h) == recurrence(h) == -(-h // 32)


@pytest.mark.parametrize(("name", "params", "ops", "gflops", "channels"), RESNETS)
def test_last_feature_map_closed_form(name: str, params: int, ops: float, gflops: float, channels: int) -> None:
    shape = pool_input(symbolic(name))
    assert shape == (channels, CLOSED_FORM, CLOSED_FORM.subs(H, W))
    assert pool_input(numeric(name)) == (channels, 7, 7)  # [He15] Table 1: conv5_x output 7x7 at 224
    for h, w in zip(SIZES, reversed(SIZES), strict=True):
        assert tuple(sympy.sympify(v).subs({H: h, W: w}) for v in shape) == (channels, recurrence(h), recurrence(w))


@pytest.mark.parametrize("name", ["resnet50", "resnet18"])
@pytest.mark.parametrize(("h", "w"), [(1, 1), (33, 65), (225, 224), (299, 300), (512, 383)])
def test_last_feature_map_numeric(name: str, h: int, w: int) -> None:
    # The numeric path at other input sizes, against the same recurrence.
    channels = {"resnet50": 2048, "resnet18": 512}[name]
    assert pool_input(numeric(name, h, w)) == (channels, recurrence(h), recurrence(w))
