"""cnncalc explain: worked formulas. Known answers from published sources; the invariant that every
formula, at the layer's numbers, equals its substituted line's value and the summary's row, over the
whole zoo (numeric and symbolic); bad input as one line and exit code 2; every format's shape;
LaTeX that compiles (pdflatex) and text that fits 80 columns; the README's example as printed."""

from __future__ import annotations

import json
import math
import re
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import sympy
from sympy.printing.pycode import PythonCodePrinter

import cnncalc
from cnncalc.explain import Explanation, Quantity
from cnncalc.render.formulas import formula
from cnncalc.report import LayerRow

from .conftest import ARCHITECTURES, ROOT, run
from .test_latex import _need_tex, compile_tex, ink

ZOO = sorted(p.stem for p in ARCHITECTURES.glob("*.yaml"))


@cache
def explained(name: str, *layers: str, symbolic: bool = False) -> Explanation:
    return cnncalc.load(name).explain(*layers, symbolic=symbolic)


def row_value(row: LayerRow, q: Quantity) -> Any:
    """The summary's own number for quantity ``q`` (independent of the explanation)."""
    if q.key == "output":
        return row.output[q.axis or 0]
    if q.key in ("rf", "jump", "start"):
        assert row.rf is not None
        return getattr(row.rf, "size" if q.key == "rf" else q.key)[q.axis or 0]
    return getattr(row, q.key)


def exact(value: Any) -> Any:
    """A value as sympy, halves as rationals (1.5 as 3/2; also inside a line parsed back)."""
    value = sympy.sympify(value)
    return sympy.nsimplify(value, rational=True) if value.has(sympy.Float) else value


# --- known answers ---------------------------------------------------------------------------------


def test_vgg16_conv1() -> None:
    # Simonyan and Zisserman (2014), Table 1, configuration D: conv3-64 on a 224x224 RGB image, padding 1;
    # Keras's VGG16 summary: block1_conv1 (None, 224, 224, 64), 1,792 parameters.
    conv1 = explained("vgg16", "conv1")["conv1"]
    assert conv1["params"].value == 1_792 == 3 * 3 * 3 * 64 + 64
    assert formula(conv1["params"].formula) == "k_h*k_w*C_in*C_out + C_out"
    assert conv1.substituted("params") == "3*3*3*64 + 64"
    assert formula(conv1["H_out"].formula) == "floor((H_in + 2*p_h - k_h)/s_h) + 1"
    assert conv1.substituted("H_out") == "floor((224 + 2*1 - 3)/1) + 1"
    assert conv1["H_out"].value == 224 == conv1["W_out"].value


def test_alexnet_conv1_torchvision() -> None:
    # torchvision/models/alexnet.py: nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2) on 224x224.
    conv1 = explained("alexnet", "conv1")["conv1"]
    assert conv1["H_out"].value == (224 + 2 * 2 - 11) // 4 + 1 == 55
    assert conv1.substituted("H_out") == "floor((224 + 2*2 - 11)/4) + 1"
    assert conv1["params"].value == 11 * 11 * 3 * 64 + 64 == 23_296


def test_alexnet_2012_grouped_conv_and_local_params() -> None:
    # Krizhevsky et al. (2012), Section 3.5 and Figure 2: conv1 96 kernels 11x11x3, stride 4 -> 55x55;
    # conv2 256 kernels 5x5x48 (the two GPUs: groups = 2).
    e = explained("alexnet2012", "conv1", "conv2")
    conv1, conv2 = e["conv1"], e["conv2"]
    assert conv1["H_out"].value == 55 and conv1["params"].value == 96 * 11 * 11 * 3 + 96
    # A locally connected conv1: each of the 55*55*96 outputs its own 11*11*3 weights and a bias.
    assert conv1["local_params"].value == 55 * 55 * 96 * (11 * 11 * 3 + 1)
    assert formula(conv2["params"].formula) == "k_h*k_w*C_in*C_out/g + C_out"
    assert conv2.substituted("params") == "5*5*96*256/2 + 256"
    assert conv2["params"].value == 5 * 5 * 48 * 256 + 256


def test_resnet50_conv1_and_lenet5_c1() -> None:
    # He et al. (2016), Table 1: conv1 7x7, 64, stride 2 -> 112x112; torchvision's conv1 has no bias.
    conv1 = explained("resnet50", "conv1")["conv1"]
    assert conv1["H_out"].value == 112 and conv1["params"].value == 7 * 7 * 3 * 64
    assert formula(conv1["params"].formula) == "k_h*k_w*C_in*C_out"
    # LeCun et al. (1998), Section II.B: C1 has 156 trainable parameters, feature maps 28x28.
    c1 = explained("lenet5", "conv1")["conv1"]
    assert c1["params"].value == 156 and c1["H_out"].value == 28


def test_vgg16_receptive_field() -> None:
    # Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional Neural Networks" (Distill,
    # 2019), Table 1: VGG-16's receptive field 212, effective stride 32 (at pool5).
    pool5 = explained("vgg16", "pool5")["pool5"]
    assert pool5["rf_h"].value == 212 and pool5["jump_h"].value == 32
    assert formula(pool5["rf_h"].formula) == "rf_h_in + (k_h - 1)*jump_h_in"
    assert pool5.substituted("rf_h") == "196 + (2 - 1)*16"


def test_symbolic_substituted_lines_carry_h_and_w() -> None:
    conv1 = explained("alexnet", "conv1", symbolic=True)["conv1"]
    assert conv1.substituted("H_out") == "floor((H + 2*2 - 11)/4) + 1"
    assert str(conv1["H_out"].value) == "floor(H/4 - 3/4)"
    assert "23232*floor((H - 3)/4)*floor((W - 3)/4)" in explained("alexnet", "conv1", symbolic=True).render()


def test_values_as_summarize_takes_them_and_symbolic_without_them() -> None:
    vgg = cnncalc.load("vgg16")
    assert vgg.explain("conv1", H=448, W=448)["conv1"]["H_out"].value == 448
    assert vgg.explain("conv1", size=32)["conv1"].substituted("MACs") == "3*3*3*64*32*32"
    net = cnncalc.load("input: [3, H, H]\nlayers:\n  - conv2d: {out_channels: 8, kernel_size: 3, stride: 2}\n")
    assert net.explain()["conv1"].substituted("H_out") == "floor((H + 2*0 - 3)/2) + 1"  # H has no default


def test_a_field_the_rule_needs_as_a_number_stays_one() -> None:
    # padding="same" needs stride 1 (PyTorch): the rule compares the stride, so it stays the number 1.
    net = cnncalc.load("input: [8, 32, 32]\nlayers:\n  - conv2d: {out_channels: 8, kernel_size: 4, padding: same}\n")
    conv1 = net.explain()["conv1"]
    assert conv1.numeric == ("stride",) and "s_h" not in [v.name for v in conv1.variables]
    assert formula(conv1["H_out"].formula) == "H_in" and conv1["H_out"].value == 32
    # A squeeze-and-excitation gate [C, 1, 1] times [C, H, W]: the broadcast 1 stays a number.
    scale = explained("efficientnet_b0", "features.1.0.block.1.scale")["features.1.0.block.1.scale"]
    assert formula(scale["H_out"].formula) == "H_in2" and scale["H_out"].value == 112


def test_textbook_forms() -> None:
    """Dilation gathered, ceil mode exact, transposed convolutions and merges."""
    net = cnncalc.load(
        "input: [8, 32, 32]\nlayers:\n  - conv2d: {out_channels: 8, kernel_size: 3, dilation: 2, padding: 2}\n"
        "  - maxpool2d: {kernel_size: 3, stride: 2, ceil_mode: true}\n"
        "  - convtranspose2d: {out_channels: 4, kernel_size: 2, stride: 2}\n"
        "  - concat: {from: [conv1, upconv1]}\n"
    )
    e = net.explain()
    assert formula(e["conv1"]["H_out"].formula) == "floor((H_in + 2*p_h - d_h*(k_h - 1) - 1)/s_h) + 1"
    assert formula(e["pool1"]["H_out"].formula).startswith("floor((H_in + min(")
    assert e["pool1"]["H_out"].value == -(-(32 - 3) // 2) + 1  # PyTorch's ceil((32 - 3)/2) + 1 = 16
    assert formula(e["upconv1"]["H_out"].formula) == "(H_in - 1)*s_h - 2*p_h + k_h"


# --- the invariant -------------------------------------------------------------------------------

#: sympy's functions in exact Python arithmetic (values are Fractions): an evaluation apart from sympy's.
EXACT = {"math": math, "floor": math.floor, "ceiling": math.ceil, "Min": min, "Max": max, "Fraction": Fraction}


class ExactPrinter(PythonCodePrinter):  # type: ignore[misc]
    """Python code with rationals as Fractions (1/2 would be a float)."""

    def _print_Rational(self, expr: Any) -> str:
        return f"Fraction({expr.p}, {expr.q})"


@cache
def compiled(expr: Any, names: tuple[str, ...]) -> Any:
    """``expr`` as a Python function of the variables ``names`` (the same formula in many layers)."""
    symbols = [sympy.Symbol(n, integer=True, positive=True) for n in names]
    return sympy.lambdify(symbols, expr, modules=[EXACT], printer=ExactPrinter)


def number(value: Any, point: dict[str, int] | None) -> Fraction:
    """A value as an exact Fraction (a symbolic one taken at ``point``)."""
    if isinstance(value, (int, float, Fraction)):
        return Fraction(value)
    value = at_point(value, point)
    return Fraction(int(value.p), int(value.q))


def at_point(value: Any, point: dict[str, int] | None) -> Any:
    """A value as sympy (halves as rationals), its symbols taken at ``point``."""
    value = exact(value)
    return sympy.sympify(value.xreplace({s: point[s.name] for s in value.free_symbols})) if point else value


def check(name: str, e: Explanation, summary: Any, points: list[dict[str, int]], seen: set[Any]) -> int:
    """Every quantity: value == the summary's row == the formula at the layer's values (computed in
    Fractions, not by sympy); the substituted line (sympy syntax) parsed back == value, once per
    formula in ``seen``. Symbolic ones at each of ``points``. Returns how many were checked."""
    rows = {r.name: r for r in summary.rows}
    count = 0
    for layer in e.layers:
        assert layer.quantities, f"{name} {layer.name}: nothing explained"
        names = tuple(v.name for v in layer.variables)
        for point in points or [None]:
            values = [number(v.value, point) for v in layer.variables]
            for q in layer.quantities:  # (messages are built only on failure: printing costs)
                value = number(q.value, point)
                assert value == number(row_value(rows[layer.name], q), point), f"{name} {layer.name} {q.name}"
                assert compiled(q.formula, names)(*values) == value, f"{name} {layer.name} {q.name}: {q.formula}"
                count += 1
        for q in layer.quantities:
            if q.formula not in seen:  # the printed line, parsed back: once per formula
                seen.add(q.formula)
                text = formula(q.formula, "json", layer.values)
                assert all(number(sympy.sympify(text), p) == number(q.value, p) for p in points or [None]), text
    return count


def test_every_formula_is_the_summary_over_the_zoo() -> None:
    seen: set[Any] = set()
    # explain works each layer as it runs: training-only layers (Inception's aux head) too, as the training view.
    checked = sum(check(n, cnncalc.load(n).explain(), cnncalc.load(n).summarize(training=True), [], seen) for n in ZOO)
    assert checked > 50_000 and len(seen) > 80


@pytest.mark.parametrize("name", ["alexnet", "googlenet", "unet", "resnet18", "mobilenet_v2"])
def test_every_formula_is_the_summary_symbolically(name: str) -> None:
    arch = cnncalc.load(name)
    layers = arch.layer_names[:60]  # the stem and the first blocks: every kind these networks have
    points = [{**arch.defaults, "H": h, "W": h + 32 * (name != "unet")} for h in (224, 256, 320)]
    assert check(name, arch.explain(*layers, symbolic=True), arch.summarize(symbolic=True), points, set()) > 150


# --- formats ---------------------------------------------------------------------------------------


def test_text_fits_80_columns_and_shows_each_part_once() -> None:
    for e in (explained("vgg16"), explained("alexnet", symbolic=True), explained("unet", symbolic=True),
              explained("r3d_18", "stem.0", "layer1.0"), explained("m5")):  # fmt: skip
        text = e.render()
        assert max(len(line) for line in text.splitlines()) <= 80, max(text.splitlines(), key=len)
        assert " = 64 = 64" not in text and "C_out = C_out" not in text
    assert re.search(r"\n  params +=  ?0\n", explained("vgg16", "pool1").render())


def test_markdown_json_and_notebook() -> None:
    e = explained("vgg16", "conv1", "fc1")
    md = e.render("markdown")
    assert "| `params` | `k_h*k_w*C_in*C_out + C_out` | `3*3*3*64 + 64` | 1,792 |" in md
    data = json.loads(e.render("json"))
    params = next(q for q in data["layers"][0]["quantities"] if q["quantity"] == "params")
    assert params == {**params, "formula": "k_h*k_w*C_in*C_out + C_out", "substituted": "3*3*3*64 + 64",
                      "value": 1792, "key": "params", "axis": None}  # fmt: skip
    assert params["latex"]["substituted"] == r"3 \cdot 3 \cdot 3 \cdot 64 + 64"
    assert e.to_dict() == data
    assert e._repr_markdown_() == md and e._repr_latex_().startswith("$$\n\\begin{aligned}")
    assert repr(e) == "<Explanation VGG16, input [3, 224, 224] (H=224, W=224): 2 layers (conv1, fc1)>"
    sym = json.loads(explained("alexnet", "pool3", symbolic=True).render("json"))
    assert {"quantity": "H_out", "value": "floor((H - 31)/32)"}.items() <= sym["layers"][0]["quantities"][1].items()


def test_only_keeps_the_quantities_and_their_variables() -> None:
    e = explained("vgg16", "conv1").only("params")
    assert [q.name for q in e["conv1"].quantities] == ["params"]
    assert [v.name for v in e["conv1"].variables] == ["C_in", "k_h", "k_w", "C_out"]
    with pytest.raises(cnncalc.CnncalcError, match="unknown quantity 'flops'; quantities: output, params"):
        explained("vgg16", "conv1").only("flops")


def test_blocks_name_their_layers_and_copies_share_formulas() -> None:
    e = explained("resnet18", "layer1")
    assert [x.name for x in e.layers][:3] == ["layer1.0.conv1", "layer1.0.bn1", "layer1.0.relu1"]
    first, second = e["layer1.0.conv1"], e["layer1.1.conv1"]
    assert [q.formula for q in first.quantities] == [q.formula for q in second.quantities]
    assert first["rf_h"].value < second["rf_h"].value  # the same formulas at the numbers of each


# --- LaTeX, compiled and looked at -----------------------------------------------------------------


def test_latex_compiles_in_an_article_and_in_beamer_frames(tmp_path: Path) -> None:
    _need_tex()
    article = [explained("vgg16", "conv1", "pool1").render("latex"),
               explained("alexnet", "conv1", symbolic=True).render("latex"),
               explained("unet", "up4.upconv1", "cat4").render("latex"),
               explained("googlenet", "maxpool1", symbolic=True).render("latex"),
               explained("vgg16", "conv1").only("output,params")._repr_latex_(),  # a notebook's aligned
               explained("unet", "cat4")._repr_latex_()]  # fmt: skip
    tex = "\\documentclass{article}\n\\usepackage{amsmath}\n\\begin{document}\n" + "\n".join(article)
    result = compile_tex(tex + "\\end{document}\n", "explain-article", tmp_path, [], runs=1)
    assert not result.problems, result.problems
    frames = [("VGG16", explained("vgg16", "conv1").only("output,params,macs")),
              ("AlexNet", explained("alexnet", "conv1", symbolic=True).only("params,macs")),
              ("receptive field", explained("vgg16", "pool1").only("rf,jump,start"))]  # fmt: skip
    body = "".join(f"\\begin{{frame}}{{{title}}}\n{e.render('latex')}\\end{{frame}}\n" for title, e in frames)
    result = compile_tex(f"\\documentclass{{beamer}}\n\\begin{{document}}\n{body}\\end{{document}}\n",
                         "explain-beamer", tmp_path, [], runs=1)  # fmt: skip
    assert not result.problems, result.problems
    share, width = ink(result.pdf)
    assert share > 0.001 and width > 0.4


# --- bad input -------------------------------------------------------------------------------------

BAD = [
    (["vgg16", "conv99"], r"vgg16\.yaml:\d+:\d+: VGG16 has no layer 'conv99' \(did you mean 'conv9'\?\)"),
    (["vgg16", "--set", "X=3"], r"VGG16 has no symbol 'X' \(its symbols: H, W\)"),
    (["vgg16", "--set", "H=abc"], r"'H=abc': the value must be a positive whole number"),
    (["vgg16", "--set", "H"], r"'H' is not NAME=INT"),
    (["alexnet", "--set", "H=50", "--set", "W=50"], r"layer pool3 \(maxpool2d\).*H=50"),
    (["vgg16", "conv1", "--quantities", "flops"], r"unknown quantity 'flops'"),
    (["vgg16", "--format", "html"], r"Invalid value for '--format'"),
]


@pytest.mark.parametrize(("args", "message"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_and_exit_code_2(args: list[str], message: str) -> None:
    result = run("explain", *args)
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("cnncalc: error: ") and "Traceback" not in result.stderr
    assert re.search(message, lines[0]), lines[0]


def test_python_errors_say_what() -> None:
    with pytest.raises(cnncalc.CnncalcError, match=r"has no layer 'con1' \(did you mean 'conv1'\?\)"):
        cnncalc.load("lenet5").explain("con1")
    with pytest.raises(KeyError, match="has no quantity 'flops'"):
        explained("vgg16", "conv1")["conv1"]["flops"]


# --- the README ------------------------------------------------------------------------------------


def test_readme_example_is_what_cnncalc_prints(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    shown = re.findall(r"```text\n\$ cnncalc explain (.*?)\n(.*?)```", readme, re.S)
    assert shown
    for args, output in shown:
        assert run("explain", *args.split()).stdout == output
    out = tmp_path / "conv1.tex"
    assert run("explain", "vgg16", "conv1", "--format", "latex", "-o", str(out)).exit_code == 0
    assert out.read_text().startswith("% Requires \\usepackage{amsmath}")
