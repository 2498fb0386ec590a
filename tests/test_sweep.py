"""Sweeps and searches: the compiled closed forms against the numeric evaluator (the reference: one
summary per point), both engines alike, invalid points as the evaluator refuses them, conditions
checked by hand, the where language, and bad input.
"""

from __future__ import annotations

import json
import math
import random
import re

import pytest

import cnncalc
from cnncalc.cli_design import _Progress
from cnncalc.compiled import compile_exact
from cnncalc.errors import CnncalcError, ExpressionError
from cnncalc.expressions import parse_condition
from cnncalc.symbolic import symbol

from .conftest import ARCHITECTURES, run

NETS = ["resnet50", "unet", "inception_v3", "densenet121", "googlenet", "mobilenet_v3_small", "r3d_18", "m5"]


def _numeric(arch: cnncalc.Architecture, values: dict[str, int]) -> dict[str, int] | None:
    try:
        total = arch.summarize(**values).total
    except CnncalcError:
        return None
    return {"params": total.params, "macs": total.macs, "activations": total.activations}


@pytest.mark.parametrize("name", NETS)
def test_sweep_equals_the_numeric_evaluator_on_a_random_sample(name: str) -> None:
    arch = cnncalc.load(ARCHITECTURES / f"{name}.yaml")
    spatial = sorted(arch.symbol_names - {"k"})
    rng = random.Random(11)
    values = {s: sorted({rng.randint(1, 700) for _ in range(5)}) for s in spatial}
    for engine in ("numpy", "python"):
        sweep = arch.sweep(values, engine=engine)
        assert len(sweep) == math.prod(len(v) for v in values.values())
        for row in sweep:
            point = {s: row[s] for s in spatial}
            expected = _numeric(arch, point)
            assert row["valid"] == (expected is not None), point
            if expected is not None:
                assert {k: row[k] for k in expected} == expected, point
            else:
                assert row["reason"] and row["params"] is None


def test_exact_where_floats_fail() -> None:
    # floor((H + 31)/32) at H = 2**60 + 1, by Python's integer division (independent); a float
    # division rounds (2**60 + 32)/32 to 2**55 + 1 and would be right only by luck past 2**53.
    arch = cnncalc.load(ARCHITECTURES / "resnet50.yaml")
    h = 2**60 + 1
    assert (h + 31) / 32 == float(2**55 + 1)  # the float is already rounded: 2**55 + 1 + 1/32 is lost
    for engine in ("numpy", "python"):
        row = arch.sweep(H=[h, h + 1], W=1, columns=["output", "macs"], engine=engine)[0]
        assert row["macs"] == _numeric(arch, {"H": h, "W": 1})["macs"]  # type: ignore[index]
    f = compile_exact({"x": sympy_floor_h()}, ["H"])
    assert f(H=h)["x"] == (h + 31) // 32


def sympy_floor_h() -> object:
    import sympy

    return sympy.floor((symbol("H") + 31) / 32)


def test_engines_agree_and_cover_the_grid() -> None:
    arch = cnncalc.load(ARCHITECTURES / "unet.yaml")
    a = arch.sweep(H="8:96:8", W="H", columns=["macs", "output"], engine="numpy")
    b = arch.sweep(H="8:96:8", W="H", columns=["macs", "output"], engine="python")
    assert a.rows == b.rows and a.invalid == b.invalid
    # [UNET] valid exactly at multiples of 16; the output keeps the input's size (padded convs).
    assert [r["H"] for r in a if r["valid"]] == [16, 32, 48, 64, 80, 96]
    assert all(r["output"] == (2, r["H"], r["H"]) for r in a if r["valid"])
    assert sum(a.invalid.values()) == 6


def test_where_keeps_what_a_loop_of_summaries_keeps() -> None:
    arch = cnncalc.load(ARCHITECTURES / "resnet50.yaml")
    sweep = arch.sweep(H=range(32, 1025, 32), W="H", where="macs <= 4e9 and activations > 1e7")
    by_hand = [
        h
        for h in range(32, 1025, 32)
        if (t := _numeric(arch, {"H": h, "W": h})) and t["macs"] <= 4 * 10**9 and t["activations"] > 10**7
    ]
    assert [r["H"] for r in sweep] == by_hand and sweep.points == 32
    odd = arch.sweep(H="1:40", W=7, where="H % 8 == 3 or not H < 38")
    assert [r["H"] for r in odd] == [3, 11, 19, 27, 35, 38, 39, 40]


def test_derived_values_must_be_whole() -> None:
    arch = cnncalc.load(ARCHITECTURES / "vgg16.yaml")
    sweep = arch.sweep(H="64:67", W="H/2", columns=["macs"])
    assert [(r["W"], r["valid"]) for r in sweep] == [(32, True), (32, False), (33, True), (33, False)]
    assert "W = H/2 is not a whole number" in sweep[1]["reason"]


def test_solve_against_the_numeric_evaluator() -> None:
    densenet = cnncalc.load(ARCHITECTURES / "densenet121.yaml")
    best = densenet.solve(maximize="k", where="params <= 5e6")
    assert best.exact and best.value is not None and best.value % 4 == 0  # the file declares k a multiple of 4
    assert _numeric(densenet, {"k": best.value})["params"] <= 5_000_000  # type: ignore[index]
    assert _numeric(densenet, {"k": best.value + 4})["params"] > 5_000_000  # type: ignore[index]
    assert best.totals["params"] == _numeric(densenet, {"k": best.value})["params"]  # type: ignore[index]

    resnet = cnncalc.load(ARCHITECTURES / "resnet50.yaml")
    high = resnet.solve(maximize="H", W="H", where="macs <= 1e9")
    low = resnet.solve(minimize="H", W="H", where="macs > 1e9")
    assert high.exact and low.value == high.value + 1  # type: ignore[operator]
    assert _numeric(resnet, {"H": low.value, "W": low.value})["macs"] > 10**9  # type: ignore[index,arg-type]
    assert _numeric(resnet, {"H": high.value, "W": high.value})["macs"] <= 10**9  # type: ignore[index,arg-type]


def test_solve_says_when_it_is_only_a_bound() -> None:
    alexnet = cnncalc.load(ARCHITECTURES / "alexnet.yaml")
    grows = alexnet.solve(maximize="H", where="macs >= 1e8", upto=500)
    assert not grows.exact and grows.value == 500 and "larger values may meet it" in grows.render()
    # Not monotone ("or H % 2 == 0"): the answer within the range is all that is claimed.
    mixed = alexnet.solve(maximize="H", where="macs <= 1e8 or H % 7 == 0", upto=300)
    assert mixed.value == 294 and not mixed.exact
    assert alexnet.solve(maximize="H", where="macs < 0", upto=100).value is None
    unet = cnncalc.load(ARCHITECTURES / "unet.yaml")
    # The smallest multiple of 16 [UNET] whose MACs reach 1e9, by a loop of numeric summaries.
    by_loop = next(h for h in range(16, 4096, 16) if _numeric(unet, {"H": h, "W": 16})["macs"] >= 10**9)  # type: ignore[index]
    assert unet.solve(minimize="H", W=16, where="macs >= 1e9").value == by_loop
    assert json.loads(unet.solve(minimize="H", W=16, where="macs >= 1e9").render("json"))["value"] == by_loop


def test_where_language() -> None:
    tree = parse_condition("1 <= k <= 4 and not macs > 4.5e8").tree
    assert tree[0] == "and" and tree[2] == ("not", ("cmp", "gt", ("name", "macs"), ("num", 450_000_000)))
    for bad, message in [
        ("macs", "is not a condition"),
        ("macs and 3", "mixes them"),
        ("__import__('os')", "unexpected"),
        ("macs <= 1e400", "too large"),
        ("macs <=", "ends too early"),
        ("(macs < 3", "missing ')'"),
    ]:
        with pytest.raises(ExpressionError, match=re.escape(message)):
            parse_condition(bad)


def test_bad_input_is_one_line_and_exit_2() -> None:
    cases = [
        (["sweep", "alexnet", "--set", "H=5:3"], "the range is empty"),
        (["sweep", "alexnet", "--set", "Q=1:3"], "no symbol 'Q'"),
        (["sweep", "alexnet", "--set", "W=H+Q"], "Q is not a symbol of AlexNet"),
        (["sweep", "alexnet", "--set", "H=1:3", "--where", "macs <"], "ends too early"),
        (["sweep", "alexnet", "--set", "H=1:3", "--where", "flopz < 1"], "unknown name 'flopz'"),
        (["sweep", "alexnet", "--set", "H=1:3", "--columns", "foo"], "unknown column 'foo'"),
        (["sweep", "alexnet", "--set", "H=2:10:0"], "START:STOP[:STEP]"),
        (["solve", "alexnet", "--max", "Q", "--where", "macs < 1"], "no symbol 'Q'"),
        (["solve", "alexnet", "--where", "macs < 1"], "give one symbol to maximize or to minimize"),
        (["solve", "alexnet", "--max", "H", "--set", "W=1:4", "--where", "macs < 1"], "searches H alone"),
        (["solve", "alexnet", "--max", "H", "--set", "H=4", "--where", "macs < 1"], "what is solved for"),
    ]
    for args, message in cases:
        result = run(*args)
        assert result.exit_code == 2, (args, result.stdout)
        assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_cli_formats() -> None:
    text = run("sweep", "resnet50", "--set", "H=32:64:32", "--set", "W=H", "--columns", "macs,output").stdout
    macs = _numeric(cnncalc.load("resnet50"), {"H": 32, "W": 32})["macs"]  # type: ignore[index]
    assert f"{macs:,}" in text and "ResNet50: 2 points" in text
    rows = json.loads(run("sweep", "vgg16", "--set", "H=31:33", "--format", "json").stdout)["rows"]
    assert [r["valid"] for r in rows] == [False, True, True]  # [TV] VGG's min_size is 32
    csv_text = run("sweep", "vgg16", "--set", "H=32:33", "--format", "csv").stdout
    assert csv_text.startswith("# VGG16: 2 points") and "H,valid,reason,params,macs,activations" in csv_text
    assert "| H |" in run("sweep", "vgg16", "--set", "H=32:33", "--format", "markdown").stdout
    solved = run("solve", "densenet121", "--max", "k", "--where", "params <= 5e6")
    assert solved.exit_code == 0 and "the largest k with params <= 5e6" in solved.stdout


def test_pandas_and_rows() -> None:
    sweep = cnncalc.load(ARCHITECTURES / "alexnet.yaml").sweep(H="62:64", W="H", columns=["params", "output"])
    frame = sweep.to_pandas()
    assert list(frame["H"]) == [62, 63, 64] and list(frame["valid"]) == [False, True, True]  # [TV] min 63
    assert sweep.rows[1]["output"] == (1000,)


def test_progress_bar_appears_only_for_long_sweeps(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = iter([0.0, 0.1, 2.0, 2.1, 2.2])
    monkeypatch.setattr("cnncalc.cli_design.time.perf_counter", lambda: next(clock))
    progress = _Progress()
    progress(10, 100)  # 0.1 s in: no bar yet
    assert progress.bar is None
    progress(20, 100)  # 2 s for a fifth: a bar
    assert progress.bar is not None
    progress(100, 100)
    assert "sweeping" in capsys.readouterr().err


def test_memory_names_in_sweeps_and_searches() -> None:
    # arch.memory is checked against PyTorch's measurement in test_memory; here the compiled closed
    # forms (in H, W and the batch B) must give the same bytes, and solve the exact largest batch.
    arch = cnncalc.load(ARCHITECTURES / "resnet18.yaml")
    sweep = arch.sweep(
        B="1,5", H="64,97", W="H", columns=["train_bytes", "infer_bytes", "saved_bytes"], training="adam"
    )
    for row in sweep:
        m = arch.memory(batch=row["B"], training="adam", H=row["H"], W=row["H"])
        assert (row["train_bytes"], row["infer_bytes"], row["saved_bytes"]) == (
            m.training_bytes,
            m.inference_bytes,
            m.saved_bytes,
        )
    budget = 8 * 2**30
    best = arch.solve(maximize="B", where=f"train_bytes <= {budget}", training="adam", dtype="bfloat16")
    assert best.exact and best.value is not None
    assert arch.memory(batch=best.value, training="adam", dtype="bfloat16").training_bytes <= budget
    assert arch.memory(batch=best.value + 1, training="adam", dtype="bfloat16").training_bytes > budget
    bad = run("sweep", "resnet18", "--set", "B=1,2", "--columns", "train_bytes")
    assert bad.exit_code == 2 and "train_bytes needs a training optimizer" in bad.stderr
