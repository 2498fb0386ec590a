"""Pictures: the lecture-style diagram (draw) and per-layer charts (plot). The SVG keeps its text as
text, so every label can be read back; PNGs are decoded and must be large and not blank; the layout
itself (pure Python) is checked for boxes sized by H, W, C and for labels that never overlap. Only
the tests that render need matplotlib (CI installs it); the missing-matplotlib message is checked
without it."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

import cnncalc
from cnncalc import CnncalcError, Summary
from cnncalc.render import layout
from cnncalc.render.draw import MISSING, draw, plot
from cnncalc.symbolic import to_text

NETWORKS = ["lenet5", "alexnet", "vgg16", "resnet18", "inception_v3", "unet", "r3d_18", "m5"]
_CACHE: dict[str, Summary] = {}


def summary(name: str) -> Summary:
    if name not in _CACHE:
        _CACHE[name] = cnncalc.load(name).summarize()
    return _CACHE[name]


def svg_texts(data: bytes) -> list[str]:
    """Every text element's content, in document order."""
    root = ET.fromstring(data)
    return ["".join(el.itertext()) for el in root.iter() if el.tag.endswith("}text")]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def png_pixels(data: bytes) -> Any:
    import matplotlib.image

    return matplotlib.image.imread(io.BytesIO(data), format="png")


def shown(s: Summary) -> list[Any]:
    """The rows the diagram draws: every row but activations, normalisations and reshapes."""
    return [r for r in s.rows if r.kind not in layout.HIDDEN]


def size_text(shape: tuple[Any, ...]) -> str:
    return "x".join(str(v) for v in shape)


# --- without matplotlib ------------------------------------------------------------------------


def test_a_missing_matplotlib_is_one_line_saying_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    for picture, args in ((draw, ()), (plot, ("rf",))):
        with pytest.raises(CnncalcError) as err:
            picture(summary("lenet5"), *args)
        assert str(err.value) == MISSING
        assert "\n" not in str(err.value) and 'pip install "cnncalc[plot]"' in str(err.value)


def test_importing_cnncalc_and_the_renderer_does_not_import_matplotlib() -> None:
    code = "import sys, cnncalc, cnncalc.render.draw; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name", NETWORKS)
def test_the_layout_sizes_boxes_by_h_w_c_and_no_two_labels_overlap(name: str) -> None:
    s = summary(name)
    d = layout.diagram(s, s, max_columns=14)
    layout.place(d, -1.0)
    assert [n.name for n in d.nodes] == ["input", *(r.name for r in shown(s))]
    maps = [n for n in d.nodes if len(n.shape) > 1]
    for a in maps:
        for b in maps:
            if a.shape[-2] > b.shape[-2] and len(a.shape) > 2:
                assert a.h > b.h  # taller maps, taller boxes (log scale: 224 and 7 both legible)
            if a.shape[0] > b.shape[0]:
                assert a.t > b.t  # more channels, thicker boxes
    assert min(n.h for n in d.nodes) >= 0.25 and max(n.h for n in d.nodes) <= 1.8 + 1e-9

    def extent(n: layout.Node) -> tuple[float, float, float, float]:  # box and labels
        cx = n.x + n.w / 2
        return cx - n.width / 2, cx + n.width / 2, n.below - layout.LINE * len(n.lines), n.y + n.h / 2 + n.o

    boxes = [extent(n) for n in d.nodes]
    for i, (l1, r1, b1, t1) in enumerate(boxes):
        for l2, r2, b2, t2 in boxes[i + 1 :]:
            assert r1 <= l2 or r2 <= l1 or t1 <= b2 or t2 <= b1, "two boxes or labels overlap"
    for e in d.edges:  # arrows go left to right within a band, from every source of a merge
        assert e.u.col < e.v.col
    merges = [n for n in d.nodes if n.kind in ("add", "mul", "concat")]
    assert all(len(n.sources) >= 2 for n in merges)


def test_bands_are_cut_between_blocks_and_far_maps_get_a_named_note() -> None:
    s = summary("resnet18")
    d = layout.diagram(s, s, max_columns=14)
    firsts = [next(n for n in d.nodes if n.col == b.start) for b in d.bands[1:]]
    assert all(n.name.endswith("conv1") for n in firsts), [n.name for n in firsts]  # a block's first conv
    assert d.indent == 0 and not any(e.link for e in d.edges)  # skips carried round, no notes
    u = cnncalc.load("unet").summarize()
    d = layout.diagram(u, u, max_columns=14)
    assert len(d.bands) > 1 and {e.u.name for e in d.edges if e.link} == {
        "down1.conv2",
        "down2.conv2",
    }  # relu2 is not drawn


def test_symbolic_sizes_are_drawn_at_stand_in_values() -> None:
    s = cnncalc.load("unet").summarize(symbolic=True)
    stand_in = layout.numeric(s)
    assert stand_in.values == {"H": 224, "W": 224} and not stand_in.symbols
    assert layout.shape_lines(s.rows[-1].output) == [f"2 {layout.TIMES} H {layout.TIMES} W"]


# --- rendering (matplotlib) --------------------------------------------------------------------


@pytest.mark.parametrize("name", NETWORKS)
def test_the_svg_carries_every_shown_rows_name_and_size(name: str, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    s = summary(name)
    target = tmp_path / f"{name}.svg"
    assert draw(s, target) is None
    texts = set(svg_texts(target.read_bytes()))
    assert s.name in texts and size_text(s.input) in texts
    for row in shown(s):
        assert row.name in texts, row.name
        assert size_text(row.output) in texts, (row.name, size_text(row.output))


def test_the_png_for_a_notebook_is_large_and_not_blank() -> None:
    pytest.importorskip("matplotlib")
    data = draw(summary("lenet5"))
    assert isinstance(data, bytes)
    width, height = png_size(data)
    assert width >= 600 and height >= 200
    pixels = png_pixels(data)
    assert pixels.shape[:2] == (height, width)
    assert pixels[..., :3].std() > 0.05  # boxes, arrows and text on white
    assert (pixels[..., :3] < 0.9).any(axis=2).mean() > 0.02


def test_pdf_and_a_title_and_a_wrong_suffix(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    draw(summary("alexnet"), tmp_path / "a.pdf")
    assert (tmp_path / "a.pdf").read_bytes()[:5] == b"%PDF-"
    draw(summary("alexnet"), tmp_path / "a.svg", title="AlexNet (Krizhevsky et al., 2012)")
    assert "AlexNet (Krizhevsky et al., 2012)" in svg_texts((tmp_path / "a.svg").read_bytes())
    with pytest.raises(CnncalcError, match=r"\.png, \.svg or \.pdf"):
        draw(summary("alexnet"), tmp_path / "a.jpg")


def test_a_symbolic_summary_is_labelled_with_its_expressions(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    s = cnncalc.load("resnet18").summarize(symbolic=True)
    draw(s, tmp_path / "r.svg")
    text = "\n".join(svg_texts((tmp_path / "r.svg").read_bytes()))
    assert "symbolic in H, W; boxes drawn at H=224, W=224" in text
    for row in shown(s):
        for v in row.output:
            assert to_text(v).replace("ceiling(", "ceil(") in text, (row.name, v)


@pytest.mark.skipif(not hasattr(Summary, "view"), reason="Summary.view is not there yet")
def test_a_collapsed_view_draws_its_blocks(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    view = summary("inception_v3").view(depth=1)
    draw(view, tmp_path / "i.svg")
    texts = set(svg_texts((tmp_path / "i.svg").read_bytes()))
    assert {"Mixed_5b", "inception_a", "AuxLogits", "768x17x17", "block"} <= texts


@pytest.mark.parametrize("y", ["params", "macs", "activations", "rf"])
def test_plot_draws_every_measure(y: str, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    data = plot(summary("vgg16"), y)
    assert isinstance(data, bytes) and png_size(data)[0] >= 600
    assert png_pixels(data)[..., :3].std() > 0.05
    plot(summary("resnet18"), y, tmp_path / "r.svg", log=y != "rf")
    text = "\n".join(svg_texts((tmp_path / "r.svg").read_bytes()))
    assert text.startswith("ResNet18: ") or "ResNet18: " in text
    assert "layer4.1.conv2" in text
    if y != "rf":
        assert f"{getattr(summary('resnet18').total, y):,}" in text


def test_the_receptive_field_plot_marks_irregular_fields_and_flat_rows(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    plot(summary("unet"), "rf", tmp_path / "u.svg")
    texts = svg_texts((tmp_path / "u.svg").read_bytes())
    assert "irregular field" in texts and "input size 256" in texts
    plot(summary("vgg16"), "rf", tmp_path / "v.svg")
    texts = svg_texts((tmp_path / "v.svg").read_bytes())
    assert "no field (flat output)" in texts
    assert any("largest 212 px, at pool5" in t for t in texts)
    with pytest.raises(CnncalcError, match="unknown y"):
        plot(summary("vgg16"), "flops")


def test_the_docs_script_writes_every_picture(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_pictures", Path(__file__).parent.parent / "docs/make_pictures.py"
    )
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    names = sorted(p.name for p in script.main(tmp_path))
    assert names == sorted(
        [f"{n}.{ext}" for n in ("lenet5", "alexnet", "vgg16", "resnet18") for ext in ("png", "svg")]
        + ["vgg16_rf.png", "resnet18_params.png"]
    )
    assert all(png_size((tmp_path / n).read_bytes())[0] >= 600 for n in names if n.endswith(".png"))


def test_a_map_carried_to_a_band_it_opens_is_noted_in_the_margin(tmp_path: Path) -> None:
    u = summary("unet")
    d = layout.diagram(u, u, max_columns=8)
    assert [len(b) for b in d.bands] == [8, 8, 8, 8]  # even bands
    opening = [e for e in d.edges if e.link and e.into is None]
    assert {e.v.name for e in opening} == {"cat4", "cat2"} and d.indent > 0
    pytest.importorskip("matplotlib")
    draw(u, tmp_path / "u.svg", max_columns=8)
    texts = svg_texts((tmp_path / "u.svg").read_bytes())
    assert {"from down4.conv2", "from down3.conv2", "from down2.conv2", "from down1.conv2"} <= set(texts)
