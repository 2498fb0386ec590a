"""LaTeX that compiles and fits: every bundled network's table (default columns; every column for
LeNet-5, AlexNet and VGG16; symbolic ResNet-18, ResNet-50, VGG16 and U-Net; depth-1 views) is set
by pdflatex in an article and in beamer frames with no overfull box wider than 1pt, no float too
large and no error, and first pages rendered with pdftoppm are not blank. The shape of the output
(numbers, caption, notes, layouts, packages) is checked without TeX.

pdflatex and pdftoppm come from Debian's texlive-latex-base, texlive-latex-recommended (booktabs,
beamer), texlive-pictures (pgf, which beamer loads) and poppler-utils; without them these tests
fail (they never skip) and say so. Tables are batched into a few documents per kind, compiled in
parallel. CNNCALC_LATEX_KEEP=dir keeps the documents, logs, PDFs and PNGs there.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import Any

import pytest

import cnncalc
from cnncalc.render import latex
from cnncalc.render import render as render_format
from cnncalc.render.table import COLUMNS

from .conftest import ARCHITECTURES

#: The Debian packages the tests need (and a reader needs to compile the documents).
PACKAGES = "texlive-latex-base texlive-latex-recommended texlive-pictures poppler-utils"
#: TeX files the documents load, with the package that has them.
TEX_FILES = {
    "article.cls": "texlive-latex-base",
    "longtable.sty": "texlive-latex-base",
    "graphicx.sty": "texlive-latex-base",
    "tabularx.sty": "texlive-latex-base",
    "array.sty": "texlive-latex-base",
    "booktabs.sty": "texlive-latex-recommended",
    "beamer.cls": "texlive-latex-recommended",
    "pgfcore.sty": "texlive-pictures",
}
ZOO = sorted(p.stem for p in ARCHITECTURES.glob("*.yaml"))
ALL = [c.key for c in COLUMNS]
KINDS: tuple[latex.Kind, ...] = ("article", "beamer")


# --- the TeX side --------------------------------------------------------------------------------


@cache
def _tex_missing() -> str:
    """Why the documents cannot be compiled here, or ""."""
    tools = [t for t in ("pdflatex", "pdftoppm", "kpsewhich") if shutil.which(t) is None]
    if tools:
        return f"{', '.join(tools)} not found"
    found = subprocess.run(["kpsewhich", *TEX_FILES], capture_output=True, text=True).stdout
    missing = [f"{name} ({TEX_FILES[name]})" for name in TEX_FILES if f"/{name}" not in found]
    return f"TeX files not found: {', '.join(missing)}" if missing else ""


def _need_tex() -> None:
    why = _tex_missing()
    if why:
        pytest.fail(f"{why}: the LaTeX tests compile with pdflatex; apt-get install -y {PACKAGES}", pytrace=False)


@dataclass
class Compiled:
    """A compiled document: its log's problems (by the label of the table at fault) and its PDF."""

    pdf: Path
    problems: dict[str, list[str]] = field(default_factory=dict)


_OVERFULL = re.compile(r"Overfull \\([hv])box \(([\d.]+)pt too (?:wide|high)\)([^\n]*)")
_LINE = re.compile(r"lines? (\d+)")
_FLOAT = re.compile(r"Float too large for page by ([\d.]+)pt on input line (\d+)")
_ERROR = re.compile(r"^! (.*)$(?:.|\n)*?^l\.(\d+)", re.MULTILINE)


def compile_tex(tex: str, name: str, where: Path, spans: list[tuple[int, int, str]], runs: int) -> Compiled:
    """pdflatex ``tex`` (``runs`` times: a longtable settles its widths on the second), then the
    log's errors, overfull boxes over 1pt and floats too large, each under the label of the span
    of lines (first, last, label) it points into."""
    (where / f"{name}.tex").write_text(tex)
    for _ in range(runs):
        done = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"],
            cwd=where,
            capture_output=True,
            text=True,
            errors="replace",
        )
        if done.returncode:
            break
    log = (where / f"{name}.log").read_text(errors="replace")
    result = Compiled(where / f"{name}.pdf")

    def report(line: int, text: str) -> None:
        label = next((lab for first, last, lab in spans if first <= line <= last), f"{name}.tex line {line}")
        result.problems.setdefault(label, []).append(text)

    for kind, amount, where_ in _OVERFULL.findall(log):
        line = _LINE.search(where_)  # none while the output routine is active: the page is too full
        if float(amount) > 1.0:
            report(int(line.group(1)) if line else 0, f"overfull \\{kind}box by {amount}pt{where_}")
    for amount, line in _FLOAT.findall(log):
        report(int(line), f"float too large by {amount}pt")
    for message, line in _ERROR.findall(log):
        report(int(line), f"error: {message}")
    if done.returncode and not result.problems:
        result.problems[name] = [f"pdflatex failed ({done.returncode}): {log[-800:]}"]
    return result


def ink(pdf: Path, page: int = 1) -> tuple[float, float]:
    """Page ``page`` of ``pdf`` rendered at 60 dpi (pdftoppm -png): the share of dark pixels, and
    the width of the inked area as a share of the page's."""
    from PIL import Image  # matplotlib's dependency, in the test extra

    stem = pdf.with_name(f"{pdf.stem}-page{page}")
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", str(page), "-l", str(page), "-singlefile", pdf, stem], check=True
    )
    image = Image.open(stem.with_suffix(".png")).convert("L")
    dark = image.point(lambda v: 255 if v < 128 else 0)
    box = dark.getbbox()
    pixels = dark.histogram()[255]
    return pixels / (image.width * image.height), 0.0 if box is None else (box[2] - box[0]) / image.width


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    keep = os.environ.get("CNNCALC_LATEX_KEEP")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        return Path(keep)
    return tmp_path_factory.mktemp("latex")


# --- the tables ----------------------------------------------------------------------------------


@cache
def summary(name: str, symbolic: bool = False) -> Any:
    return cnncalc.load(name).summarize(symbolic=symbolic)


def depth_1(name: str) -> Any:
    return summary(name).view(depth=1)


def has_views() -> bool:
    return hasattr(summary("lenet5"), "view")


def cases() -> Iterator[tuple[str, Callable[[], Any], list[str] | None]]:
    """(label, summary, columns) of every table compiled."""
    for name in ZOO:
        yield name, partial(summary, name), None
    for name in ("lenet5", "alexnet", "vgg16"):
        yield f"{name}, every column", partial(summary, name), ALL
    for name in ("resnet18", "resnet50", "vgg16", "unet"):
        yield f"{name}, symbolic", partial(summary, name, True), None
    if has_views():
        for name in ZOO:
            yield f"{name}, depth 1", partial(depth_1, name), None


def batch(kind: latex.Kind, parts: int) -> list[tuple[str, list[tuple[int, int, str]]]]:
    """Every case's table in ``parts`` documents of about equal length: (source, spans)."""
    tables = [(label, latex.render(get(), columns, kind=kind)) for label, get, columns in cases()]
    preamble = [f"\\documentclass{{{kind}}}", r"\usepackage{booktabs,graphicx,longtable,array,tabularx}"]
    preamble.append(r"\begin{document}")
    size = sum(t.count("\n") for _, t in tables) // parts + 1
    documents: list[tuple[list[str], list[tuple[int, int, str]]]] = [([*preamble], [])]
    for label, text in tables:
        lines, spans = documents[-1]
        if len(lines) > size:
            documents.append(([*preamble], []))
            lines, spans = documents[-1]
        if kind == "article" and len(lines) > len(preamble):
            lines.append(r"\clearpage")  # each table on its own pages: floats never pile up
        spans.append((len(lines) + 1, len(lines) + text.count("\n"), label))
        lines += text.splitlines()
    return [("\n".join([*lines, r"\end{document}", ""]), spans) for lines, spans in documents]


@pytest.fixture(scope="session")
def compiled(workdir: Path) -> dict[str, list[Compiled]]:
    """Every case in articles and in beamer frames, compiled in parallel (a few documents each)."""
    _need_tex()
    cores = os.cpu_count() or 2
    jobs = []
    with ThreadPoolExecutor(max_workers=cores) as pool:
        for kind in KINDS:
            for i, (tex, spans) in enumerate(batch(kind, parts=cores if kind == "beamer" else 1)):
                runs = 2 if kind == "article" else 1  # beamer frames hold no longtable
                jobs.append((kind, pool.submit(compile_tex, tex, f"zoo-{kind}-{i}", workdir, spans, runs)))
        return {kind: [job.result() for k, job in jobs if k == kind] for kind in KINDS}


@pytest.mark.parametrize("kind", KINDS)
def test_every_table_compiles_and_fits(compiled: dict[str, list[Compiled]], kind: latex.Kind) -> None:
    problems = {label: p for result in compiled[kind] for label, p in result.problems.items()}
    assert not problems, "\n".join(f"{label}: {'; '.join(p)}" for label, p in sorted(problems.items()))
    for result in compiled[kind]:
        share, width = ink(result.pdf)
        assert share > 0.001 and width > 0.4, f"{result.pdf.name}: first page looks blank ({share:.3%} ink)"


def test_depth_views_are_among_them() -> None:
    if not has_views():
        pytest.skip("Summary.view(depth=1) is not there yet: depth-1 views are not compiled")
    labels = [label for label, _, _ in cases()]
    assert sum(label.endswith("depth 1") for label in labels) == len(ZOO)


#: Single documents from document(), as a reader would compile them; the first page is rendered.
DOCUMENTS: list[tuple[str, latex.Kind, bool, dict[str, Any]]] = [
    ("vgg16", "article", False, {}),
    ("resnet50", "article", False, {}),
    ("lenet5", "beamer", False, {}),
    ("resnet18", "beamer", True, {}),
    ("alexnet", "article", False, {"fit": "tabularx"}),
    ("alexnet", "beamer", False, {"fit": "tabularx"}),
    ("alexnet", "article", False, {"long": True, "caption": False}),
    ("lenet5", "article", False, {"caption": False, "notes": False}),
    ("unet", "article", True, {}),
]


@pytest.mark.parametrize(("name", "kind", "symbolic", "options"), DOCUMENTS)
def test_documents_compile_alone(
    name: str, kind: latex.Kind, symbolic: bool, options: dict[str, Any], workdir: Path
) -> None:
    _need_tex()
    tex = latex.document(summary(name, symbolic), kind=kind, **options)
    tag = "-".join([name, kind, *(["symbolic"] if symbolic else []), *(f"{k}={v}" for k, v in options.items())])
    last = tex.count("\n")
    result = compile_tex(tex, f"document-{tag}", workdir, [(1, last, tag)], runs=2)
    assert not result.problems, result.problems
    share, width = ink(result.pdf)
    assert share > 0.001 and width > 0.3, f"{tag}: first page looks blank ({share:.3%} ink)"


# --- the text, without TeX -----------------------------------------------------------------------


def test_every_number_has_one_format() -> None:
    """{,} between thousands everywhere, ratio cells and formula coefficients too; no bare 1,234."""
    for text in (
        latex.render(summary("lenet5"), ALL),
        latex.render(summary("vgg16"), ALL, long=False),
        latex.render(summary("resnet50", True), long=False),
        latex.render(summary("resnet50"), kind="beamer"),
    ):
        body = "\n".join(line for line in text.splitlines() if not line.startswith("%"))
        assert not re.search(r"\d,\d", body)
        assert not re.search(r"\d{4}", re.sub(r"\{[\d.]+pt\}", "", body)), re.search(r".{30}\d{4}.{30}", body)
    text = latex.render(summary("lenet5"), ["name", "fc_ratio", "local_ratio"])
    assert r"$30{,}908\times$" in text and r"$784\times$" in text
    assert r"$2{,}359{,}296 \left\lceil" in latex.render(summary("resnet50", True), ["name", "macs"])


def test_positional_call_and_the_registry() -> None:
    s = summary("lenet5")
    assert latex.render(s, ["name", "params"]) == render_format(s, "latex", ["name", "params"])
    assert s.render("latex") == latex.render(s)


def test_caption_holds_title_and_totals_and_the_notes_follow() -> None:
    text = latex.render(summary("lenet5"))
    caption = re.search(r"\\caption\{(.*)\}\n", text)
    assert caption is not None
    assert caption.group(1).startswith("LeNet5, input ${[1, 32, 32]}$")
    assert "Totals: params $61{,}706$; MACs $416{,}520$ (416.52 K)" in caption.group(1)
    assert "multiply-accumulates" not in caption.group(1)
    after = text.rsplit(r"\end{tabular}", 1)[1]
    assert r"\footnotesize\raggedright MACs: multiply-accumulates" in after
    bare = latex.render(summary("lenet5"), caption=False, notes=False)
    assert r"\caption" not in bare and "multiply-accumulates" not in bare


def test_layout_follows_rows_or_long() -> None:
    short, long = latex.render(summary("lenet5")), latex.render(summary("resnet50"))
    assert r"\begin{table}" in short and "longtable" not in short
    assert r"\begin{longtable}" in long and r"\endfirsthead" in long and r"\endhead" in long
    assert r"\caption[]{(continued)}" in long
    assert r"\begin{longtable}" in latex.render(summary("lenet5"), long=True)
    assert r"\begin{table}" in latex.render(summary("resnet50"), long=False)
    symbolic = latex.render(summary("resnet18", True))  # 69 rows of fractions
    assert r"\begin{longtable}" in symbolic and r"\arraystretch" in symbolic


def test_fit_modes() -> None:
    s = summary("alexnet")
    assert r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}" in latex.render(s)
    assert r"\begin{tabularx}{\linewidth}" in latex.render(s, fit="tabularx")
    plain = latex.render(s, fit="none")
    assert r"\resizebox" not in plain and "tabularx" not in plain and "Left out" not in plain
    with pytest.raises(cnncalc.CnncalcError, match="fit must be"):
        latex.render(s, fit="wide")  # type: ignore[arg-type]


def test_columns_left_out_are_named() -> None:
    text = latex.render(summary("resnet50"))  # 13 columns cannot fit a longtable on 345pt
    comment = text.splitlines()[1]
    assert comment.startswith("% Left out to fit the text width: ")
    assert "Not shown, to fit the page: " in text
    named = latex.render(summary("lenet5"), ALL)  # named columns are shrunk, never left out
    assert "Left out" not in named and named.count(r"\begin{tabular}[b]") == 2


def test_requires_line_names_the_packages_used() -> None:
    for text in (
        latex.render(summary("lenet5")),
        latex.render(summary("resnet50")),
        latex.render(summary("inception_v3")),
        latex.render(summary("alexnet"), fit="tabularx"),
        latex.render(summary("vgg16"), kind="beamer"),
    ):
        first = re.match(r"% Requires \\usepackage\{([a-z,]+)\}", text)
        assert first is not None, text[:80]
        packages = set(first.group(1).split(","))
        used = {"booktabs"}
        used |= {"graphicx"} if r"\resizebox" in text else set()
        used |= {"longtable"} if r"\begin{longtable}" in text else set()
        used |= {"tabularx"} if r"\begin{tabularx}" in text else set()
        used |= {"array"} if ">{" in text and "tabularx" not in packages else set()
        assert packages == used, (packages, used)


def test_document_has_a_preamble() -> None:
    article = latex.document(summary("resnet50"))
    assert article.startswith("\\documentclass{article}\n\\usepackage{booktabs,longtable")
    assert article.rstrip().endswith(r"\end{document}")
    beamer = latex.document(summary("lenet5"), kind="beamer")
    assert beamer.startswith("\\documentclass{beamer}\n\\usepackage{booktabs,graphicx}")
    assert r"\begin{frame}[allowframebreaks]" in beamer
