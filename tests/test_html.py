"""The HTML page and notebook fragment: structure (read back with the standard library's parser),
escaping of user text, no way to load anything, and a real browser's DOM and screenshot."""

from __future__ import annotations

import importlib
import re
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import cnncalc
from cnncalc.render.table import title
from cnncalc.report import Summary

from . import browser

HOSTILE = 'x<script>alert(1)</script> & "quoted" <img src=x onerror=alert(2)>'
#: A transposed convolution (irregular fields after it) and a merge of two paths whose fields
#: start at different input pixels (unaligned).
FLAGGED = {
    "name": "flags",
    "input": [3, 8, 8],
    "layers": [
        {"conv2d": {"out_channels": 4, "kernel_size": 2, "stride": 2, "name": "a"}},
        {"conv2d": {"out_channels": 4, "kernel_size": 1, "stride": 2, "from": "input", "name": "b"}},
        {"add": {"from": ["a", "b"]}},
        {"convtranspose2d": {"out_channels": 2, "kernel_size": 3, "stride": 2, "from": "a"}},
    ],
}
SVG = (
    '<?xml version="1.0" encoding="utf-8" standalone="no"?>\n'
    '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
    '<svg xmlns="http://www.w3.org/2000/svg" width="120pt" height="40pt" viewBox="0 0 120 40">'
    '<rect x="1" y="1" width="60" height="30" fill="#4878a8"/></svg>\n'
)


def html() -> ModuleType:
    """The renderer, imported as the format table imports it."""
    return importlib.import_module("cnncalc.render.html")


class Page(HTMLParser):
    """What a reader finds in a page: every tag, the table's rows by section as cell texts, and
    the texts of captions, headings, totals and list items."""

    NAMED = ("title", "caption", "h1", "dt", "dd", "li", "figcaption", "code", "summary")

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.rows: dict[str, list[list[str]]] = {"thead": [], "tbody": [], "tfoot": []}
        self.texts: dict[str, list[str]] = {t: [] for t in self.NAMED}
        self.style = ""
        self._section: str | None = None
        self._cell: list[str] | None = None
        self._open: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in self.rows:
            self._section = tag
        elif tag == "tr" and self._section:
            self.rows[self._section].append([])
        elif tag in ("td", "th") and self._section:
            self._cell = []
        if tag in self.NAMED or tag == "style":
            self._open.append(tag)
            if tag in self.NAMED:
                self.texts[tag].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.rows:
            self._section = None
        elif tag in ("td", "th") and self._cell is not None and self._section:
            self.rows[self._section][-1].append("".join(self._cell))
            self._cell = None
        if tag in self._open:
            self._open.remove(tag)

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        for tag in self._open:
            if tag == "style":
                self.style += data
            else:
                self.texts[tag][-1] += data

    def names(self, tag: str) -> list[str]:
        return [t for t, _ in self.tags if t == tag]


def check_table(page: Page, summary: Summary) -> None:
    """One body row per layer, named as the layer, the totals in the foot and in the list."""
    assert [r[0] for r in page.rows["tbody"]] == [r.name for r in summary.rows]
    assert len(page.rows["thead"]) == 1 and len(page.rows["tfoot"]) == 1
    widths = {len(r) for r in page.rows["thead"] + page.rows["tbody"] + page.rows["tfoot"]}
    assert widths == {len(page.rows["thead"][0])}
    total = summary.total
    foot = page.rows["tfoot"][0]
    assert foot[0] == "Total"
    for value in (total.params, total.macs, total.activations):
        assert f"{value:,}" in foot
    shown = dict(zip(page.texts["dt"], page.texts["dd"], strict=True))
    assert shown["Total params"] == f"{total.params:,}"
    assert shown["Total MACs"].startswith(f"{total.macs:,} (")
    assert shown["Total activations"] == f"{total.activations:,}"
    assert shown["Total neurons"] == f"{total.neurons:,}"
    assert page.texts["caption"] == [title(summary)]


@pytest.mark.parametrize("name", ["vgg16", "resnet50"])
def test_the_page_has_every_row_every_total_and_the_conventions(name: str) -> None:
    summary = cnncalc.load(name).summarize()
    text = html().render(summary)
    assert text.startswith("<!DOCTYPE html>\n")
    page = Page(text)
    check_table(page, summary)
    assert page.texts["title"] == [title(summary)]
    assert page.texts["h1"] == [summary.name]
    assert len(page.texts["li"]) == len(summary.conventions)
    assert all(any(t in li for li in page.texts["li"]) for t in summary.conventions.values())
    assert page.names("figure") == []  # no diagram given
    header = page.rows["thead"][0]
    counts = [header.index(h) for h in ("Params", "MACs", "Activations", "FC params", "Local params")]
    numbers = [row[i] for row in page.rows["tbody"] for i in counts if row[i] != "\u2013"]
    assert numbers and all(re.fullmatch(r"\d{1,3}(,\d{3})*", n) for n in numbers)  # thousands separators
    assert summary.render("html") == text  # registered as a format


def test_the_page_loads_nothing_and_runs_nothing() -> None:
    page = Page(html().render(cnncalc.load("lenet5").summarize(), diagram_svg=SVG))
    tags = {t for t, _ in page.tags}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed", "base", "form"}
    assert all(k not in ("src", "href") and not k.startswith("on") for _, a in page.tags for k in a)
    assert "url(" not in page.style and "@import" not in page.style
    policy = [a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert policy == ["default-src 'none'; style-src 'unsafe-inline'; img-src data:"]


def test_user_text_is_escaped() -> None:
    summary = cnncalc.load(
        {
            "name": HOSTILE,
            "input": [3, 8, 8],
            "layers": [{"conv2d": {"out_channels": 4, "kernel_size": 3, "name": "conv_1.a"}}],
        }
    ).summarize()
    for text in (html().render(summary, diagram_svg=SVG), html().fragment(summary)):
        page = Page(text)
        assert page.names("script") == [] and page.names("img") == []
        assert "<script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
        assert page.texts["caption"] == [title(summary)]
        assert HOSTILE in page.texts["caption"][0]
        check_table(page, summary)
    page = Page(html().render(summary, diagram_svg=SVG))
    assert page.texts["h1"] == [HOSTILE]
    assert page.texts["title"] == [title(summary)]
    assert page.texts["figcaption"][0].startswith(HOSTILE)


def test_layer_names_are_limited_to_safe_characters() -> None:
    """Row ids and header cells hold layer names unquoted-safe because the schema allows only
    letters, digits, _ and . in them (a hostile one is refused before any renderer sees it)."""
    with pytest.raises(cnncalc.CnncalcError):
        cnncalc.load(
            {"input": [3, 8, 8], "layers": [{"conv2d": {"out_channels": 4, "kernel_size": 3, "name": "x<script>"}}]}
        )


def test_symbolic_cells_are_code_and_irregular_or_unaligned_fields_are_marked() -> None:
    summary = cnncalc.load("vgg16").summarize(symbolic=True)
    text = html().render(summary)
    page = Page(text)
    check_symbolic = [c for c in page.texts["code"] if "floor(H/32)" in c]
    assert check_symbolic, "symbolic cells are set in <code>"
    assert '<tfoot class="long">' in text  # long symbolic sums do not stick to the bottom
    assert page.rows["tfoot"][0][3] == "138,357,544"
    flags = html().render(cnncalc.load(FLAGGED).summarize())
    starts = [row[8] for row in Page(flags).rows["tbody"]]
    assert starts == ["0.5", "0", "unaligned", "irregular"]
    assert '<span class="flag unaligned" title="' in flags and '<span class="flag irregular" title="' in flags


def test_columns_and_the_diagram() -> None:
    summary = cnncalc.load("lenet5").summarize()
    page = Page(html().render(summary, ["name", "params", "rf"], diagram_svg=SVG))
    assert page.rows["thead"] == [["Layer", "Params", "RF"]]
    assert page.rows["tfoot"] == [["Total", f"{summary.total.params:,}", ""]]
    text = html().render(summary, diagram_svg=SVG)
    figure = text[text.index('<figure id="diagram">') : text.index("</figure>")]
    assert "<svg" in figure and "<?xml" not in text and "<!DOCTYPE svg" not in text
    assert text.index('<figure id="diagram">') < text.index("<table")


def test_the_fragment_is_scoped_for_a_notebook() -> None:
    summary = cnncalc.load("resnet18").summarize()
    text = html().fragment(summary)
    page = Page(text)
    assert not {t for t, _ in page.tags} & {"html", "head", "body", "title", "meta", "script"}
    assert text.startswith('<div class="cnncalc">') and text.rstrip().endswith("</div>")
    check_table(page, summary)
    assert page.texts["summary"] == ["Conventions"]
    rules = re.sub(r"/\*.*?\*/", "", page.style)
    selectors = [s.strip() for block in re.findall(r"([^{}@]+)\{[^{}]*\}", rules) for s in block.split(",")]
    assert selectors and all(s.startswith(".cnncalc") for s in selectors), selectors
    assert summary._repr_html_() == text


def test_a_browser_shows_every_row_and_total(tmp_path: Path) -> None:
    """Headless Chromium parses each page (its DOM has every row and total), draws it at a laptop's
    size (the screenshot is not blank), and runs no script from a hostile name."""
    for name in ("vgg16", "resnet50"):
        summary = cnncalc.load(name).summarize()
        path = tmp_path / f"{name}.html"
        path.write_text(html().render(summary), encoding="utf-8")
        check_table(Page(browser.dump_dom(path, tmp_path / f"{name}-dom")), summary)
        pixels = browser.screenshot(path, tmp_path / f"{name}-shot", tmp_path / f"{name}.png")
        assert pixels.shape[:2] == (900, 1280)
        grey = pixels[..., :3].mean(axis=2)
        background = np.median(grey)
        assert grey.std() > 8, f"{name}: the screenshot is nearly uniform (std {grey.std():.1f})"
        assert 0.02 < (abs(grey - background) > 40).mean() < 0.5, f"{name}: too little or too much ink"
    hostile = cnncalc.load(
        {"name": HOSTILE, "input": [3, 8, 8], "layers": [{"conv2d": {"out_channels": 4, "kernel_size": 3}}]}
    )
    path = tmp_path / "hostile.html"
    path.write_text(html().render(hostile.summarize()), encoding="utf-8")
    dom = Page(browser.dump_dom(path, tmp_path / "hostile-dom"))
    assert dom.names("script") == [] and dom.texts["h1"] == [HOSTILE]
