"""Verdicts and the choice of values to verify at: torch-free (cnncalc.verify), so they run without torch."""

from __future__ import annotations

import pytest

import cnncalc
from cnncalc import verify
from cnncalc.errors import CnncalcError


def test_run_verdicts() -> None:
    measure, check, run_ = verify.Measure, verify.LayerCheck, verify.Run
    ok = check("relu1", "relu", measure((2,), 0, 0), measure((2,), 0, 0))
    refusal = verify.Rejection("layer relu1 (relu), input [1, 2]", "RuntimeError: no")
    cases = {
        "agree": (run_({}, (ok,), None, None, "meta"), True),
        "both reject": (run_({}, (), "refused", refusal, "meta"), True),
        "only cnncalc rejects": (run_({}, (), "refused", None, "meta"), False),
        "only PyTorch rejects": (run_({}, (), None, refusal, "meta"), False),
        "disagree": (
            run_({}, (ok, check("fc1", "linear", measure((3,), 9, 6), measure((4,), 9, 6))), None, None, "cpu"),
            False,
        ),
    }
    for verdict, (result, agrees) in cases.items():
        assert (result.verdict, result.agrees) == (verdict, agrees)
    assert verify.Verification("n", (cases["agree"][0], cases["disagree"][0]), "2").agrees is False


def test_a_different_number_is_named_in_the_verdict() -> None:
    measure = verify.Measure
    check = verify.LayerCheck("conv1", "conv2d", measure((4, 3, 3), 10, 90), measure((4, 3, 3), 12, 91))
    assert check.differences == ("params", "MACs") and check.verdict == "params, MACs differ"
    assert verify.LayerCheck("x", "relu", None, None).verdict == "-"


def test_value_sets() -> None:
    lenet = cnncalc.load("lenet5")
    # defaults, then the smallest size that works (16), the one below and above it, an odd size
    # past the default and the next prime
    sets = verify.value_sets(lenet)
    assert sets == [{}] + [{"H": n, "W": n} for n in (15, 16, 17, 33, 37)]
    assert verify.value_sets(lenet, {"H": 20}, [40]) == [{"H": 20}, {"H": 40, "W": 40}]
    assert verify.value_sets(lenet, {"H": 20, "W": 24}) == [{"H": 20, "W": 24}]  # no free size: no others
    fixed = cnncalc.load({"input": [3, 8, 8], "layers": ["relu"]})
    assert verify.value_sets(fixed) == [{}]
    with pytest.raises(CnncalcError, match="no symbolic height or width"):
        verify.value_sets(fixed, sizes=[4])


def test_value_sets_of_other_ranks() -> None:
    # A 1-D input's one spatial symbol and a 3-D input's three take each size alike.
    audio = cnncalc.load(
        {"input": [1, "L"], "symbols": {"L": 100}, "layers": [{"conv1d": {"out_channels": 2, "kernel_size": 9}}]}
    )
    assert verify.value_sets(audio, sizes=[9, 50]) == [{}, {"L": 9}, {"L": 50}]
    video = cnncalc.load({"input": [3, "T", "H", "W"], "symbols": {"T": 4, "H": 8, "W": 8}, "layers": ["relu"]})
    assert verify.value_sets(video, sizes=[5]) == [{}, {"H": 5, "T": 5, "W": 5}]
