"""Efficient networks of the zoo against their published counts: ShuffleNetV2 1.0x, MNASNet 1.0,
EfficientNet-B0, RegNetY-400MF and ConvNeXt-Tiny.

Sources:
- [TV] torchvision's weight metadata (``num_params``; ``_ops`` = GMACs at 224x224, the "GFLOPS"
  column of https://pytorch.org/vision/stable/models.html, shown there to 2 decimals) in
  torchvision/models/shufflenetv2.py (ShuffleNet_V2_X1_0_Weights), mnasnet.py (MNASNet1_0_Weights),
  efficientnet.py (EfficientNet_B0_Weights), regnet.py (RegNet_Y_400MF_Weights; older releases
  wrote "_ops": 0.4, current ones 0.402) and convnext.py (ConvNeXt_Tiny_Weights).
- The final feature map: every network here downsamples by 32 in five steps ([TV] sources, and
  the papers: ShuffleNet V2 Table 5, MnasNet Figure 7, EfficientNet Table 1, RegNet Section 3.1,
  ConvNeXt Section 2). The closed forms and the integer recurrence below are written from those
  layer lists, never from cnncalc's output.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import pytest
import sympy

import cnncalc

from .conftest import alarm

H = sympy.Symbol("H", integer=True, positive=True)

# A guard against a hang, not a speed test: squeeze-and-excitation networks once made receptive
# fields nest Max(...) without bound (EfficientNet-B0 did not finish in 300 s; now well under 2 s).
BUDGET_SECONDS = 60

# [TV] name, num_params, _ops (GMACs), docs GFLOPS (2 decimals)
PUBLISHED = [
    ("shufflenet_v2_x1_0", 2_278_604, 0.145, 0.14),
    ("mnasnet1_0", 4_383_312, 0.314, 0.31),
    ("efficientnet_b0", 5_288_548, 0.386, 0.39),
    ("regnet_y_400mf", 4_344_144, 0.402, 0.40),
    ("convnext_tiny", 28_589_128, 4.456, 4.46),
]
NAMES = [name for name, *_ in PUBLISHED]
SYMBOLIC = NAMES


@cache
def numeric(name: str, size: int = 224) -> cnncalc.Summary:
    return cnncalc.load(name).summarize(H=size, W=size)


@contextmanager
def budget(seconds: float) -> Iterator[None]:
    """Raise TimeoutError in the block after ``seconds`` (SIGALRM; main thread only)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        pytest.skip("needs SIGALRM in the main thread to bound a slow symbolic run")

    with alarm(seconds, lambda: TimeoutError(f"symbolic summary took more than {seconds} s")):
        yield


_symbolic: dict[str, cnncalc.Summary | TimeoutError] = {}


def symbolic(name: str) -> cnncalc.Summary:
    """The symbolic summary, computed once; a run over budget is remembered as its TimeoutError."""
    if name not in _symbolic:
        try:
            with budget(BUDGET_SECONDS):
                _symbolic[name] = cnncalc.load(name).summarize(symbolic=True)
        except TimeoutError as err:
            _symbolic[name] = err
    result = _symbolic[name]
    if isinstance(result, TimeoutError):
        raise result
    return result


def final_map(summary: cnncalc.Summary) -> tuple[object, ...]:
    """The output feeding the global average pool (the last adaptiveavgpool2d)."""
    pool = [r for r in summary.rows if r.kind == "adaptiveavgpool2d"][-1]
    assert pool.output[1:] == (1, 1)
    (source,) = pool.sources
    return next(r for r in summary.rows if r.name == source).output


# --- totals ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "params", "ops", "gflops"), PUBLISHED)
def test_params_match_torchvision(name: str, params: int, ops: float, gflops: float) -> None:
    total = numeric(name).total
    assert total.params == params
    assert total.trainable_params == params


@pytest.mark.parametrize(("name", "params", "ops", "gflops"), PUBLISHED)
def test_macs_match_torchvision_gflops(name: str, params: int, ops: float, gflops: float) -> None:
    gmacs = numeric(name).total.macs / 1e9
    assert abs(gmacs - ops) / ops <= 0.005
    assert round(gmacs, 2) == gflops


# --- symbolic ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SYMBOLIC)
def test_symbolic_summary_at_the_defaults_is_the_numeric_one(name: str) -> None:
    assert symbolic(name).subs(H=224, W=224) == numeric(name)


# --- the last feature map ------------------------------------------------------------------------------

# Main-path windows (kernel, stride, padding) that change the size, from the [TV] layer lists; the
# 1x1 stride-2 projections of RegNet give floor((x - 1)/2) + 1 as the 3x3 convs do.
DOWNSAMPLING: dict[str, list[tuple[int, int, int]]] = {
    # conv1 3x3 s2, maxpool 3x3 s2, the stride-2 depthwise 3x3 of stages 2-4
    "shufflenet_v2_x1_0": [(3, 2, 1)] * 5,
    # stem 3x3 s2; the first depthwise conv of stacks 8, 9, 10, 12 (kernels 3, 5, 5, 5)
    "mnasnet1_0": [(3, 2, 1), (3, 2, 1), (5, 2, 2), (5, 2, 2), (5, 2, 2)],
    # stem 3x3 s2; the stride-2 depthwise conv of stages 3, 4, 5, 7 (kernels 3, 5, 3, 5)
    "efficientnet_b0": [(3, 2, 1), (3, 2, 1), (5, 2, 2), (3, 2, 1), (5, 2, 2)],
    # stem 3x3 s2; the stride-2 grouped 3x3 conv of each of the 4 stages
    "regnet_y_400mf": [(3, 2, 1)] * 5,
    # 4x4 s4 patchify stem; three 2x2 s2 downsampling convs
    "convnext_tiny": [(4, 4, 0), (2, 2, 0), (2, 2, 0), (2, 2, 0)],
}
# Five halvings with padding (k - 1)/2 are five ceilings: ceil(H/32); ConvNeXt's unpadded
# windows are floors: floor(H/32).
CLOSED_FORM = {
    "shufflenet_v2_x1_0": sympy.floor((H + 31) / 32),
    "mnasnet1_0": sympy.floor((H + 31) / 32),
    "efficientnet_b0": sympy.floor((H + 31) / 32),
    "regnet_y_400mf": sympy.floor((H + 31) / 32),
    "convnext_tiny": sympy.floor(H / 32),
}
SIZES = [32, 33, 63, 64, 97, 224, 225, 331]


def recurrence(name: str, size: int) -> int:
    for k, s, p in DOWNSAMPLING[name]:
        size = (size + 2 * p - k) // s + 1
    return size


def test_the_closed_forms_follow_the_recurrence() -> None:
    for name, form in CLOSED_FORM.items():
        for size in [*SIZES, *range(32, 160)]:
            assert form.subs(H, size) == recurrence(name, size), (name, size)


@pytest.mark.parametrize("name", SYMBOLIC)
def test_final_feature_map_has_the_closed_form(name: str) -> None:
    _, height, width = final_map(symbolic(name))
    W = sympy.Symbol("W", integer=True, positive=True)
    assert sympy.simplify(height - CLOSED_FORM[name]) == 0
    assert sympy.simplify(width - CLOSED_FORM[name].subs(H, W)) == 0


@pytest.mark.parametrize("name", NAMES)
def test_final_feature_map_follows_the_recurrence_at_other_sizes(name: str) -> None:
    for size in SIZES:
        expected = recurrence(name, size)
        assert final_map(numeric(name, size))[1:] == (expected, expected), size
