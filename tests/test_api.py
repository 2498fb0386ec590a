"""The Python API: load from every kind of source, numeric and symbolic summaries, substitution,
errors as data, and the core's promise not to import sympy on numeric runs nor torch ever."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sympy

import cnncalc
from cnncalc import CnncalcError, SchemaError, ShapeError

from .conftest import ARCHITECTURES

TINY = """
name: tiny
input: [3, H, W]
symbols: {H: 32, W: 32}
layers:
  - conv2d: {out_channels: 8, kernel_size: 3, padding: 1}
  - relu
  - maxpool2d: {kernel_size: 2}
  - flatten
  - linear: {out_features: 10}
"""

# Hand computation (independent of cnncalc): conv 3*3*3*8 + 8 = 224 params, 32x32 output;
# pool -> 8x16x16 = 2,048 values; linear 2048*10 + 10 = 20,490 params.
TINY_PARAMS = 3 * 3 * 3 * 8 + 8 + 2048 * 10 + 10


@pytest.mark.parametrize(
    "source",
    [
        "vgg16",
        ARCHITECTURES / "vgg16.yaml",
        str(ARCHITECTURES / "vgg16.yaml"),
        (ARCHITECTURES / "vgg16.yaml").read_text(),
    ],
    ids=["bundled name", "Path", "path string", "YAML text"],
)
def test_load_accepts_every_source(source: object) -> None:
    assert cnncalc.load(source).summarize().total.params == 138_357_544  # torchvision's vgg16


def test_load_a_dict() -> None:
    import yaml

    arch = cnncalc.load(yaml.safe_load(TINY))
    assert arch.summarize().total.params == TINY_PARAMS


def test_numeric_symbolic_and_substituted() -> None:
    arch = cnncalc.load(TINY)
    numeric = arch.summarize(H=64, W=48)
    assert numeric.rows[2].output == (8, 32, 24)
    assert numeric.total.params == 3 * 3 * 3 * 8 + 8 + (8 * 32 * 24) * 10 + 10
    symbolic = arch.summarize(symbolic=True)
    H, W = sympy.symbols("H W", integer=True, positive=True)
    assert symbolic.rows[2].output == (8, sympy.floor(H / 2), sympy.floor(W / 2))
    assert symbolic.symbols == ["H", "W"]
    assert symbolic.subs(H=64, W=48) == numeric
    partly = arch.summarize(symbolic=True, H=64)
    assert partly.symbols == ["W"]
    assert partly.rows[0].output == (8, 64, W)


def test_names_are_readable_and_unique() -> None:
    arch = cnncalc.load(TINY)
    assert arch.layer_names == ("conv1", "relu1", "pool1", "flatten1", "fc1")
    named = cnncalc.load(TINY.replace("{out_features: 10}", "{out_features: 10, name: conv2}"))
    assert named.layer_names[-1] == "conv2"
    # an auto name never takes a given one: the conv becomes conv2
    assert cnncalc.load(TINY.replace("- relu", "- relu: {name: conv1}")).layer_names[:2] == ("conv2", "conv1")
    dup = TINY.replace("- relu", "- relu: {name: a}").replace("- flatten", "- flatten: {name: a}")
    with pytest.raises(
        SchemaError, match=r"<string>:9:21: layer a \(flatten\): the name 'a' is already used by layer 2"
    ):
        cnncalc.load(dup)


def test_errors_are_cnncalc_errors_with_a_location() -> None:
    with pytest.raises(
        ShapeError, match=r"<string>:\d+:\d+: layer fc1 \(linear\), input \[8, 16, 16\]: linear needs a flat input"
    ):
        cnncalc.load(TINY.replace("  - flatten\n", "")).summarize()
    with pytest.raises(CnncalcError, match="tiny has no symbol 'Q'"):
        cnncalc.load(TINY).summarize(Q=3)
    with pytest.raises(CnncalcError, match="must be a positive integer"):
        cnncalc.load(TINY).summarize(H=0)


def test_renderers_are_reachable_from_a_summary() -> None:
    summary = cnncalc.load(TINY).summarize()
    assert summary.render("csv").startswith("name,kind,output")
    assert summary.to_dict()["total"]["params"] == TINY_PARAMS
    with pytest.raises(CnncalcError, match="unknown format 'pdf'"):
        summary.render("pdf")


def test_trainable_false_freezes_parameters() -> None:
    arch = cnncalc.load(TINY.replace("padding: 1}", "padding: 1, trainable: false}"))
    total = arch.summarize().total
    assert total.params == TINY_PARAMS
    assert total.trainable_params == TINY_PARAMS - 224


def _imports(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parent.parent,
    ).stdout
    return set(out.split())


def test_numeric_runs_do_not_import_sympy_and_nothing_imports_torch() -> None:
    modules = _imports("import cnncalc; cnncalc.load('vgg16').summarize().render('text')")
    assert "sympy" not in modules
    assert "torch" not in modules
    modules = _imports("import cnncalc; cnncalc.load('vgg16').summarize(symbolic=True).render('latex')")
    assert "sympy" in modules
    assert "torch" not in modules


def test_symbols_declared_multiples_stay_exact() -> None:
    text = """
input: [3, H, H]
symbols: {H: {default: 64, multiple_of: 4}}
layers:
  - maxpool2d: {kernel_size: 2}
  - maxpool2d: {kernel_size: 2}
  - convtranspose2d: {out_channels: 3, kernel_size: 4, stride: 4}
  - concat: {from: [input, upconv1]}
"""
    arch = cnncalc.load(text)
    H = sympy.Symbol("H", integer=True, positive=True)
    # H = 4q: two halvings give q exactly and the 4x up-convolution gives 4q = H again, so the
    # concatenation with the input is valid for every allowed H (it would not be for H = 65).
    sym = arch.summarize(symbolic=True)
    assert sym.rows[1].output == (3, H / 4, H / 4)
    assert sym.rows[-1].output == (6, H, H)
    assert sym.subs(H=64) == arch.summarize()
    with pytest.raises(CnncalcError, match="H=65 is not a multiple of 4"):
        arch.summarize(H=65)
    with pytest.raises(CnncalcError, match="H=66 is not a multiple of 4"):
        sym.subs(H=66)
    with pytest.raises(SchemaError, match="the default 63 is not a multiple of 4"):
        cnncalc.load(text.replace("default: 64", "default: 63"))
