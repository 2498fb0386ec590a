"""Views people can use: tables that fit the terminal, blocks collapsed by depth, kinds hidden,
readable formulas and reprs, plain CSV, square inputs.

Known answers come from published figures (torchvision's VGG16: 138,357,544 parameters, 15.47
GFLOPS) or PyTorch itself (a block's parameters are its submodule's); invariants: a view's rows add
up to the unchanged totals.
"""

from __future__ import annotations

import io
import re

import pytest

import cnncalc
from cnncalc.errors import CnncalcError

from .conftest import ARCHITECTURES, run

ZOO = sorted(p.stem for p in ARCHITECTURES.glob("*.yaml"))


def _widest(text: str) -> int:
    return max(len(line) for line in text.splitlines())


@pytest.mark.parametrize("name", ZOO)
def test_every_default_table_fits_100_columns_and_80_when_asked(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    assert _widest(run("summarize", name).stdout) <= 100  # no terminal: 100 columns
    monkeypatch.setenv("COLUMNS", "80")
    text = run("summarize", name).stdout
    assert _widest(text) <= 80
    assert re.search(r"^Left out to fit 80 columns: .*\n  .*--wide", text, re.M)


def test_left_out_columns_are_named_and_wide_shows_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    text = run("summarize", "vgg16").stdout
    assert "Left out to fit 100 columns: local_ratio, local_params, fc_ratio, fc_params" in text
    assert "FC params:" not in text  # the notes explain only the columns shown
    wide = run("summarize", "vgg16", "--wide").stdout
    assert "Local/conv" in wide and "Left out" not in wide and "FC params: a dense layer" in wide
    assert _widest(wide) > 100
    assert run("summarize", "vgg16", "--columns", "all").stdout.count("Local/conv") == 1


def test_symbolic_tables_wrap_rather_than_widen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    for name in ("resnet50", "inception_v3", "densenet121"):
        assert _widest(run("summarize", name, "--symbolic").stdout) <= 100


def test_resnet50_at_depth_1_is_a_slide() -> None:
    full = cnncalc.load("resnet50").summarize()
    view = full.view(depth=1)
    assert [r.name for r in view.rows] == [
        "conv1", "bn1", "relu1", "pool1", "layer1", "layer2", "layer3", "layer4", "avgpool", "flatten1", "fc",
    ]  # fmt: skip
    assert [r.kind for r in view.rows[4:8]] == ["bottleneck x3", "bottleneck x4", "bottleneck x6", "bottleneck x3"]
    assert view.total == full.total  # a view changes rows, never totals
    assert sum(r.params for r in view.rows) == full.total.params == 25_557_032
    assert sum(r.macs for r in view.rows) == full.total.macs
    layer4 = view.rows[7]
    assert layer4.output == (2048, 7, 7) and layer4.sources == ("layer3",)
    assert layer4.rf == next(r.rf for r in full.rows if r.name == "layer4.2.relu3")
    with_hidden = full.view(depth=1, hide="activation,norm")
    assert [r.name for r in with_hidden.rows][:3] == ["conv1", "pool1", "layer1"]
    assert with_hidden.rows[1].sources == ("conv1",)  # pool1 read relu1, which read bn1, which read conv1


def test_block_rows_are_their_pytorch_submodules() -> None:
    pytest.importorskip("torch")
    arch = cnncalc.load("resnet18")
    model = cnncalc.to_torch(arch)
    for row in arch.summarize().view(depth=1).rows:
        if "." not in row.name:
            module = model.get_submodule(row.name)
            assert sum(p.numel() for p in module.parameters()) == row.params, row.name


def test_views_in_every_format_and_the_cli() -> None:
    for fmt in ("text", "markdown", "csv", "json"):
        out = run("summarize", "resnet50", "--depth", "1", "--format", fmt).stdout
        assert "layer3" in out and "layer3.0" not in out, fmt
        assert "25557032" in out.replace(",", "").replace("{", "").replace("}", ""), fmt
    only = run("summarize", "resnet18", "--only", "conv2d,linear", "--columns", "name,kind").stdout
    assert set(re.findall(r"^\S+\s+(\w+)$", only, re.M)) == {"conv2d", "linear", "Kind"}
    bad = run("summarize", "resnet18", "--hide", "relu,batchnrom2d")
    assert bad.exit_code == 2 and "'batchnrom2d' is neither a layer kind nor a family" in bad.stderr
    assert "did you mean 'batchnorm2d'" in bad.stderr
    with pytest.raises(CnncalcError, match="depth must be at least 1"):
        cnncalc.load("resnet18").summarize().view(depth=0)


def test_reprs_are_short() -> None:
    arch = cnncalc.load("vgg16")
    summary = arch.summarize()
    assert repr(summary) == "<Summary VGG16 [3, 224, 224]: 138,357,544 params, 15.47 G MACs at H=W=224>"
    assert repr(arch) == "<Architecture VGG16 [3, H, W]: 40 layers, H=224, W=224 from vgg16.yaml>"
    assert str(summary) == summary.render("text")
    assert summary._repr_markdown_().startswith("**VGG16, input [3, 224, 224]")
    symbolic = repr(cnncalc.load("resnet50").summarize(symbolic=True))
    assert symbolic == "<Summary ResNet50 [3, H, W]: 25,557,032 params, MACs in closed form, symbolic in H, W>"


def test_ceilings_print_as_ceilings() -> None:
    summary = cnncalc.load("resnet50").summarize(symbolic=True)
    last = next(r for r in summary.rows if r.name == "layer4.2.relu3")
    assert "2048xceil(H/32)xceil(W/32)" in summary.render("text", ["name", "output"])
    assert "`2048xceil(H/32)xceil(W/32)`" in summary.render("markdown", ["name", "output"])
    data = summary.to_dict()["layers"][summary.rows.index(last)]
    assert data["output"] == [2048, "ceiling(H/32)", "ceiling(W/32)"]  # JSON keeps sympy syntax
    for h in (1, 31, 32, 33, 224, 225):  # the printed form is the same number
        assert summary.subs(H=h, W=h).rows[summary.rows.index(last)].output[1] == -(-h // 32)
    alexnet = cnncalc.load("alexnet").summarize(symbolic=True).render("text", ["name", "output"])
    assert "256xfloor((H - 31)/32)xfloor((W - 31)/32)" in alexnet  # not a ceiling: stays a floor


def test_csv_is_plain_numbers_for_pandas() -> None:
    pandas = pytest.importorskip("pandas")
    summary = cnncalc.load("vgg16").summarize()
    frame = pandas.read_csv(io.StringIO(summary.render("csv")), comment="#")
    layers = frame[frame["name"] != "total"]
    assert str(layers["params"].dtype) == "int64" and layers["params"].sum() == 138_357_544
    assert layers["fc_ratio"].dtype.kind == "f"
    conv1 = layers[layers["name"] == "conv1"].iloc[0]
    assert conv1["fc_ratio"] == pytest.approx((224 * 224 * 3 + 1) * 224 * 224 * 64 / 1792)
    assert "# params:" in summary.render("csv") and "# params" not in summary.render("csv", notes=False)
    table = summary.to_pandas()
    assert table.loc["conv1", "params"] == 1792 and len(table) == len(summary.rows)
    assert summary.to_records()[0]["output"] == (64, 224, 224)


def test_square_inputs() -> None:
    arch = cnncalc.load("resnet50")
    assert arch.summarize(size=128) == arch.summarize(H=128, W=128)
    assert (
        run("summarize", "resnet50", "--size", "128").stdout
        == run("summarize", "resnet50", "--set", "H=128", "--set", "W=128").stdout
    )
    assert cnncalc.load("r3d_18").square(8) == {"T": 8, "H": 8, "W": 8}
    flat = cnncalc.load({"input": [3, 8, 8], "layers": ["relu"]})
    with pytest.raises(CnncalcError, match="no spatial size symbol"):
        flat.summarize(size=4)
