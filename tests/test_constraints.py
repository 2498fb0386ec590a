"""Valid inputs (``cnncalc constraints``, ``arch.constraints()``): published known answers, brute force
against the numeric evaluator, property tests of the exact solver, messages that name the rule.

Sources:
- [TV] torchvision 0.20.1's weights metadata ``min_size`` (the PyPI wheel, release commit 3ac97aa):
  alexnet.py:61 (63, 63); convnext.py:198 (32, 32); densenet.py:260 (29, 29); efficientnet.py:427
  (1, 1); googlenet.py:284 (15, 15); inception.py:416 (75, 75); mnasnet.py:215, mobilenetv2.py:179,
  mobilenetv3.py:291, regnet.py:406, resnet.py:307, shufflenetv2.py:187, video/resnet.py:312 (1, 1);
  squeezenet.py:130 (21, 21) and :151 (17, 17); vgg.py:110 (32, 32).
- [UNET] Ronneberger et al. 2015: four 2x2 poolings undone by four 2x up-convolutions, so the side
  must be a multiple of 2**4 = 16 for the skip connections to concatenate.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cnncalc
from cnncalc.errors import CnncalcError, ShapeError
from cnncalc.periodic import IntSet
from cnncalc.verify import spatial_symbols

from .conftest import ARCHITECTURES, run

#: [TV] min_size for every torchvision model in the zoo (the side of the smallest square input).
MIN_SIZE = {
    "alexnet": 63,
    "convnext_tiny": 32,
    **dict.fromkeys(["densenet121", "densenet169", "densenet201"], 29),
    "googlenet": 15,
    "inception_v3": 75,
    "squeezenet1_0": 21,
    "squeezenet1_1": 17,
    **dict.fromkeys(["vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn"], 32),
    **dict.fromkeys(
        [
            "efficientnet_b0",
            "mnasnet1_0",
            "mobilenet_v2",
            "mobilenet_v3_large",
            "mobilenet_v3_small",
            "regnet_y_400mf",
            "resnet18",
            "resnet34",
            "resnet50",
            "resnet101",
            "resnet152",
            "resnext50_32x4d",
            "wide_resnet50_2",
            "shufflenet_v2_x1_0",
            "r3d_18",
            "mc3_18",
            "r2plus1d_18",
        ],
        1,
    ),
}


@pytest.mark.parametrize("name", sorted(MIN_SIZE))
def test_torchvision_min_size(name: str) -> None:
    arch = cnncalc.load(ARCHITECTURES / f"{name}.yaml")
    limits = arch.constraints()
    spatial = [s for s in spatial_symbols(arch) if s in ("H", "W")]
    # torchvision measures in eval mode, where Inception's auxiliary classifier (a side branch) is off.
    assert limits.smallest(spatial, side_branches=False) == MIN_SIZE[name]


def test_every_torchvision_model_of_the_zoo_is_covered() -> None:
    zoo = {p.stem for p in ARCHITECTURES.glob("*.yaml")}
    others = {"alexnet2012", "lenet5", "m5", "m5_speech_commands", "unet"}  # not torchvision models
    others |= {"keras_inception_v3", "keras_mobilenet", "keras_resnet50", "keras_xception", "slim_mobilenet_v1"}
    assert zoo - others == set(MIN_SIZE)


def _accepts(arch: cnncalc.Architecture, values: dict[str, int]) -> bool:
    try:
        arch.summarize(**values)
    except CnncalcError:  # a shape rule broken, or a value that is not the declared multiple
        return False
    return True


@pytest.mark.parametrize("path", sorted(ARCHITECTURES.glob("*.yaml")), ids=lambda p: p.stem)
def test_brute_force_over_the_zoo(path: object) -> None:
    """Each symbol over a range around its bound (the others at valid values): the exact set says
    valid exactly where the numeric evaluator accepts."""
    arch = cnncalc.load(path)  # type: ignore[arg-type]
    limits = arch.constraints()
    rng = random.Random(7)
    for name, valid in limits.sets.items():
        others = {n: arch.defaults.get(n) or limits.minimum(n) or 1 for n in limits.sets}
        low = limits.minimum(name) or 1
        tried = set(range(1, 34)) | set(range(max(1, low - 8), low + 9)) | {rng.randint(1, 600) for _ in range(10)}
        for v in sorted(tried):
            values = {**others, name: v}
            assert _accepts(arch, values) == (v in valid) == limits.valid(**values), (name, v)


def test_unet_without_the_declaration_needs_multiples_of_16() -> None:
    data = yaml.safe_load((ARCHITECTURES / "unet.yaml").read_text())
    data["symbols"] = {"H": 256, "W": 256}  # the declared multiple_of left out
    arch = cnncalc.load(data)
    limits = arch.constraints()
    assert limits.describe("H") == "H % 16 == 0"  # [UNET]
    assert {r.layer for r in limits.reasons["H"]} == {"cat1", "cat2", "cat3", "cat4"}
    assert [v for v in range(1, 80) if v in limits.sets["W"]] == [16, 32, 48, 64]
    assert not _accepts(arch, {"H": 40, "W": 256}) and _accepts(arch, {"H": 48, "W": 256})


def test_the_declaration_is_reported_as_needed_or_stricter() -> None:
    text = cnncalc.load(ARCHITECTURES / "unet.yaml").constraints().render()
    assert "declared in the file: multiple of 16; the network needs it too" in text
    stricter = cnncalc.load(
        {
            "name": "Strict",
            "input": [3, "H", "H"],
            "symbols": {"H": {"default": 32, "multiple_of": 8}},
            "layers": [{"conv2d": {"out_channels": 4, "kernel_size": 3}}],
        }
    )
    assert "stricter than the layers need (H >= 3)" in stricter.constraints().render()


def test_groups_on_a_width_symbol() -> None:
    # out_channels 6k in 4 groups needs 4 | 6k, i.e. k even (by hand); the next conv reads 6k channels.
    arch = cnncalc.load(
        {
            "name": "Grouped",
            "input": [8, 16, 16],
            "symbols": {"k": 2},
            "layers": [
                {"conv2d": {"out_channels": "6*k", "kernel_size": 3, "groups": 4}},
                {"conv2d": {"out_channels": 12, "kernel_size": 1, "groups": 2}},
            ],
        }
    )
    limits = arch.constraints()
    assert limits.describe("k") == "k % 2 == 0"
    assert [k for k in range(1, 9) if _accepts(arch, {"k": k})] == [2, 4, 6, 8]


def test_reflect_padding_bounds_the_input_from_below() -> None:
    # PyTorch's reflect padding needs padding < input size: padding 3 needs H >= 4.
    arch = cnncalc.load(
        {
            "name": "Reflect",
            "input": [1, "H", "H"],
            "symbols": {"H": 8},
            "layers": [{"conv2d": {"out_channels": 1, "kernel_size": 1, "padding": 3, "padding_mode": "reflect"}}],
        }
    )
    assert arch.constraints().describe("H") == "H >= 4"


def test_an_invalid_size_names_the_rule() -> None:
    arch = cnncalc.load(ARCHITECTURES / "alexnet.yaml")
    with pytest.raises(ShapeError) as caught:
        arch.summarize(H=50, W=50)
    message = str(caught.value)
    # 63 is torchvision's min_size [TV]; pool3 is AlexNet's last pooling, where a 50 x 50 input runs out.
    assert "H=50, W=50: AlexNet needs H >= 63 and W >= 63 (because of pool3 (maxpool2d" in message
    assert arch.constraints().why(H=70, W=62).startswith("W=62: AlexNet needs W >= 63")
    assert arch.constraints().why(H=63, W=63) == ""


def test_data_forms() -> None:
    limits = cnncalc.load(ARCHITECTURES / "googlenet.yaml").constraints()
    data = limits.to_dict()
    assert data["symbols"]["H"]["minimum"] == 15  # [TV]
    assert json.loads(limits.render("json")) == data
    assert "`H >= 15`" in limits.render("markdown") and limits._repr_markdown_() == limits.render("markdown")
    relation = limits.sets["H"].relation("H")
    (h,) = relation.free_symbols
    assert bool(relation.subs(h, 15)) and not bool(relation.subs(h, 14))
    with pytest.raises(CnncalcError, match="unknown format 'csv'"):
        limits.render("csv")


def test_cli() -> None:
    result = run("constraints", "squeezenet1_1")
    assert result.exit_code == 0 and "H >= 17" in result.stdout  # [TV]
    invalid = run("constraints", "alexnet", "--set", "H=50")
    assert invalid.exit_code == 1 and "invalid: H=50: AlexNet needs H >= 63" in invalid.stdout
    assert run("constraints", "alexnet", "--set", "H=63").stdout.endswith("H=63: valid\n")
    unknown = run("constraints", "alexnet", "--set", "Q=3")
    assert unknown.exit_code == 2 and "AlexNet has no symbol 'Q'" in unknown.stderr
    assert json.loads(run("constraints", "unet", "--format", "json").stdout)["symbols"]["W"]["valid"] == "W % 16 == 0"
    assert "75*" in run("list").stdout  # inception_v3: eval mode 75 [TV], 299 with the auxiliary head


# --- the solver against brute force on random layer chains ---------------------------------------------


@st.composite
def chains(draw: st.DrawFn) -> dict[str, object]:
    layers: list[dict[str, object]] = []
    for _ in range(draw(st.integers(1, 5))):
        k = draw(st.integers(1, 7))
        s = draw(st.integers(1, 4))
        p = draw(st.integers(0, k // 2))
        if draw(st.booleans()):
            layers.append({"conv2d": {"out_channels": 2, "kernel_size": k, "stride": s, "padding": p}})
        else:
            layers.append(
                {"maxpool2d": {"kernel_size": k, "stride": s, "padding": p, "ceil_mode": draw(st.booleans())}}
            )
    return {"name": "Chain", "input": [2, "H", "H"], "symbols": {"H": 8}, "layers": layers}


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(chains())
def test_chains_match_brute_force(data: dict[str, object]) -> None:
    try:
        arch = cnncalc.load(data)
        limits = arch.constraints()
    except CnncalcError:
        return  # a chain broken whatever H is
    assert [h for h in range(1, 120) if h in limits.sets["H"]] == [h for h in range(1, 120) if _accepts(arch, {"H": h})]


def test_intset_algebra() -> None:
    evens = IntSet(2, ((2, None), None))
    big = IntSet(1, ((10, None),))
    both = evens & big
    assert both.describe("H") == "H >= 10 and H % 2 == 0"
    assert [v for v in range(1, 20) if v in both] == [10, 12, 14, 16, 18]
    assert IntSet(4, ((4, None), (1, None), (6, None), (3, None))).describe("x") == "x >= 3, or x in {1}"
    assert IntSet(1, ((3, 5),)).describe("x") == "x in {3, 4, 5}"
    assert (IntSet(1, ((3, 5),)) & IntSet(1, ((7, None),))).describe("x") == "no value"


def test_latex_of_constraints_and_sweeps_compiles(tmp_path: Path) -> None:
    from .test_latex import _need_tex, compile_tex

    _need_tex()
    parts = [
        run("constraints", "alexnet", "--format", "latex").stdout,
        run("constraints", "unet", "--format", "latex").stdout,
        run("constraints", "densenet121", "--format", "latex").stdout,
        run(
            "sweep", "unet", "--set", "H=8:48:8", "--set", "W=H", "--columns", "macs,output", "--format", "latex"
        ).stdout,
    ]
    assert r"\(H \geq 63\)" in parts[0] and r"\(H \equiv 0 \pmod{16}\)" in parts[1]  # [TV], [UNET]
    assert r"\emph{invalid:} \texttt{pool4: floor(H/16) >= 1}" in parts[3]
    tex = (
        "\\documentclass{article}\n\\usepackage{booktabs}\n\\begin{document}\n" + "\n".join(parts) + "\\end{document}\n"
    )
    done = compile_tex(tex, "design", tmp_path, [], runs=1)
    assert not done.problems and done.pdf.exists()
