"""LaTeX tables that compile with pdflatex and fit the page: booktabs rules, every number with
``{,}`` thousands separators, formulas through sympy's LaTeX printer.

The layout follows the number of rows (or ``long``) and ``kind``:

- article, a table that fits a page: a ``table`` float, caption (title and totals) on top, notes
  (the counting conventions) under it. Its ``tabular`` is shrunk to ``\\linewidth`` when wider,
  never enlarged (``fit="resizebox"``, graphicx); a default table that would shrink below 70%
  leaves out columns first. ``fit="tabularx"`` wraps layer names in an X column instead, at a
  small font; ``fit="none"`` leaves the table as it is.
- article, a longer table: a ``longtable`` that repeats its header on every page. It cannot be
  resized, so its font size (``\\footnotesize`` or ``\\scriptsize``) and columns are chosen to fit
  an article's text width (345pt): long names wrap at dots, columns are left out in the text
  table's order while it is too wide (named in a ``%`` comment and in the caption), and formulas
  still too wide wrap between terms and factors.
- beamer: a frame (``[allowframebreaks]``) with the table, a long one cut into chunks of rows that
  each fit a frame and repeat the header; totals and notes under the table.

:func:`document` wraps the table in a complete article or beamer document with the packages it
needs (listed in the table's first line).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal

from ..errors import CnncalcError
from ..symbolic import is_symbolic, to_latex
from .latex_fit import PAGES, Page, Table, breakable, chunks, escape, height, width
from .latex_fit import fit as fit_table
from .table import same_pair, select, si, texts, total_cells
from .text import notes as text_notes

if TYPE_CHECKING:  # the renderers see a summary only as a type: report imports them
    from ..report import Summary

Fit = Literal["resizebox", "tabularx", "none"]
Kind = Literal["article", "beamer"]

#: The least a default table is shrunk to fit (\small at 0.7 is 6.3pt): wider ones leave columns out.
LEAST_SCALE = 0.7
_SHRINK = r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{%"

# --- cells ---------------------------------------------------------------------------------------


def _number(n: int) -> str:
    """1234567 as 1{,}234{,}567: a comma without the space math mode would put after it."""
    return f"{n:,}".replace(",", "{,}")


_LONG_INTEGER = re.compile(r"(?<![\d.])\d{4,}(?![\d.])")
_REPEAT = re.compile(r" x(\d+)$")  # a collapsed block's kind: "bottleneck x3"


def _float(value: float) -> str:
    """Half-integers (receptive-field starts) as 6.5, with separators past 999."""
    if value.is_integer():
        return _number(int(value))
    text = repr(value)
    if "e" in text or "n" in text:  # 1e+20, inf, nan: as Python writes them
        return text
    whole, fraction = text.split(".")
    return ("-" if whole.startswith("-") else "") + _number(abs(int(whole))) + "." + fraction


def _scalar(value: Any) -> str:
    """A number with separators, or a formula through sympy's printer with its integers so too."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return _number(value)
    if isinstance(value, float):
        return _float(value)
    return _LONG_INTEGER.sub(lambda m: _number(int(m.group())), to_latex(value))


def _factor(value: Any) -> str:
    """One axis of a shape or per-axis value; a sum in parentheses: 768 \\times (\\lfloor...\\rfloor - 4)."""
    text = _scalar(value)
    return rf"\left({text}\right)" if getattr(value, "is_Add", False) else text


def _cell(value: Any, kind: str) -> str:
    """A cell: names and words as text, everything else in math mode (64 \\times H \\times W)."""
    if value is None:
        return "--"
    if kind == "name" or isinstance(value, str):
        return _REPEAT.sub(r" $\\times$\1", escape(str(value)))
    if kind == "shape" or (kind == "pair" and not same_pair(value)):
        return "$" + r" \times ".join(_factor(v) for v in value) + "$"
    if kind == "pair":
        return f"${_scalar(value[0])}$"
    if kind == "ratio" and isinstance(value, float):
        return "$" + (_number(round(value)) if value >= 10 else f"{value:.2f}") + r"\times$"
    return f"${_scalar(value)}$"


def _table(summary: Summary, columns: list[str] | None) -> Table:
    cols = select(columns, summary)
    total: list[str] | None = None
    cells = total_cells(summary, cols)
    if any(v is not None for v in cells) and not is_symbolic(tuple(cells)):  # symbolic: long sums, in the caption
        total = ["" if v is None else _cell(v, c.kind) for v, c in zip(cells, cols, strict=True)]
        total[0] = "Total" if cols[0].kind == "name" else total[0]
    return Table(cols, texts(summary, cols, _cell), total, PAGES["article"].short)


# --- captions and notes --------------------------------------------------------------------------


def _title(summary: Summary) -> str:
    """ "VGG16, input $[3, 224, 224]$ ($H = 224$, $W = 224$)"."""
    shape = "[" + ", ".join(_scalar(v) for v in summary.input) + "]"
    out = f"{escape(summary.name)}, input ${{{shape}}}$"  # braced: beamer's continued titles trip on a [
    if summary.values:
        shown = (
            f"${escape(k)} = {_number(v) if isinstance(v, int) else v}$" for k, v in sorted(summary.values.items())
        )
        out += " (" + ", ".join(shown) + ")"
    free = summary.symbols
    if free:
        out += ", symbolic in " + ", ".join(f"${escape(s)}$" for s in free)
    return out


def _totals(summary: Summary) -> str:
    """ "Totals: params $138{,}357{,}544$; MACs ... (15.47 G); activations ...; neurons ...."; long
    formulas may break between terms and factors."""
    t = summary.total

    def math(value: Any) -> str:
        return breakable(f"${_scalar(value)}$")

    params = math(t.params) + (f" ({math(t.trainable_params)} trainable)" if t.trainable_params != t.params else "")
    macs = math(t.macs) + (" (" + si(t.macs).replace(",", "{,}") + ")" if isinstance(t.macs, int) else "")
    heads = summary.headers  # a counting preset's names: "FLOPs (fvcore)"
    parts = [f"{escape(heads.get('params', 'params'))} {params}", f"{escape(heads.get('macs', 'MACs'))} {macs}",
             f"activations {math(t.activations)}", f"neurons {math(t.neurons)}"]  # fmt: skip
    shown = getattr(summary, "shown", "")  # a view's rows: "blocks below depth 1 as one row each"
    return (
        "Totals: " + "; ".join(parts) + "." + (f" Rows: {escape(shown)}; totals of the whole network." if shown else "")
    )


#: Totals wider than this (pt at 10pt: about six lines of an article) go under the table instead
#: of into its caption (a symbolic DenseNet's are pages long, and TeX sets a caption on one line first).
CAPTION_WIDTH = 2000.0


def _caption(summary: Summary, table: Table) -> tuple[str, str]:
    """The caption (title, totals, columns left out), and totals too long for it."""
    totals = _totals(summary)
    if width(totals, 10.0) > CAPTION_WIDTH:
        return f"{_title(summary)}. Totals under the table.{_dropped(table)}", totals
    return f"{_title(summary)}. {totals}{_dropped(table)}", ""


def _dropped(table: Table) -> str:
    if not table.dropped:
        return ""
    return " Not shown, to fit the page: " + ", ".join(escape(c.header) for c in table.dropped) + "."


_NOTE_COLUMNS = {"RF": {"rf", "jump", "start"}, "FC params": {"fc_params", "fc_ratio", "local_params", "local_ratio"}}


def _notes(summary: Summary, table: Table) -> str:
    """The conventions of the columns shown, as one paragraph of LaTeX text."""
    keys = {c.key for c in table.columns}
    kept = [
        n for n in text_notes(summary) if not any(n.startswith(p) and not keys & k for p, k in _NOTE_COLUMNS.items())
    ]
    text = re.sub(r"\b(\d+) x (\w+)", r"$\1 \\times$ \2", escape(" ".join(kept)))
    return text.replace("HxW", r"$H \times W$").replace("...", r"\dots{}")


def _under(summary: Summary, table: Table, caption: bool, notes: bool) -> str:
    """The paragraph under a table: totals too long for the caption, the notes, and what the
    caption would have said of columns left out."""
    parts = [_caption(summary, table)[1] if caption else _dropped(table), _notes(summary, table) if notes else ""]
    return " ".join(p.strip() for p in parts if p)


def _comment(table: Table, long: bool) -> list[str]:
    if not table.dropped:
        return []
    names = ", ".join(c.key for c in table.dropped)
    how = "name fewer columns, or long=False for one shrunk table" if long else "name columns to shrink them all"
    return [f"% Left out to fit the text width: {names} ({how})"]


# --- the three layouts ---------------------------------------------------------------------------


def _tabular(table: Table, rows: list[list[str]], fit: str, last: bool = True) -> list[str]:
    """A tabular of ``rows`` (shrunk to the line, a tabularx, or as it is), header on top."""
    if fit == "tabularx":
        begin, end = [r"\begin{tabularx}{\linewidth}{" + table.spec(tabularx=True) + "}"], r"\end{tabularx}"
    else:
        begin = [*([_SHRINK] if fit == "resizebox" else []), r"\begin{tabular}{" + table.spec() + "}"]
        end = r"\end{tabular}" + ("}" if fit == "resizebox" else "")
    body = table.lines(rows, tabularx=fit == "tabularx")
    return [*begin, r"\toprule", table.head(), r"\midrule", *body, *(table.foot() if last else []), r"\bottomrule", end]


def _packages(table: Table, fit: str, long: bool) -> list[str]:
    if long:
        return ["booktabs", "longtable", *(["array"] if table.wrap else [])]
    if fit == "tabularx":
        return ["booktabs", "tabularx"]
    return ["booktabs", *(["graphicx"] if fit == "resizebox" else []), *(["array"] if table.wrap else [])]


def _in_float(summary: Summary, table: Table, fit: str, caption: bool, notes: bool) -> list[str]:
    """A ``table`` float: caption on top, the tabular, notes under it."""
    lines = [r"\begin{table}[htbp]", r"\centering"]
    if caption:
        lines.append(r"\caption{" + _caption(summary, table)[0] + "}")
    lines += [table.size.command, rf"\setlength{{\tabcolsep}}{{{3 if fit == 'tabularx' else 4}pt}}", *table.stretch()]
    lines += _tabular(table, table.rows, fit)
    under = _under(summary, table, caption, notes)
    if under:
        lines += [r"\par\smallskip", r"\parbox{\linewidth}{\footnotesize\raggedright " + under + "}"]
    return [*lines, r"\end{table}"]


def _longtable(summary: Summary, table: Table, caption: bool, notes: bool) -> list[str]:
    """A ``longtable``: the header again on every page, the total row at the end, notes under it."""
    lines = [r"\begingroup", table.size.command, rf"\setlength{{\tabcolsep}}{{{PAGES['article'].tabcolsep:g}pt}}"]
    lines += [*table.stretch(), r"\setlength{\LTcapwidth}{\linewidth}", r"\begin{longtable}{" + table.spec() + "}"]
    if caption:
        lines.append(r"\caption{" + _caption(summary, table)[0] + r"}\\")
    lines += [r"\toprule", table.head(), r"\midrule", r"\endfirsthead"]
    more = rf"\multicolumn{{{len(table.columns)}}}{{@{{}}l}}{{\emph{{(continued)}}}}\\"
    lines += [r"\caption[]{(continued)}\\" if caption else more, r"\toprule", table.head(), r"\midrule", r"\endhead"]
    lines += [r"\bottomrule", r"\endfoot", r"\bottomrule", r"\endlastfoot"]
    lines += [*table.lines(table.rows), *table.foot(), r"\end{longtable}"]
    under = _under(summary, table, caption, notes)
    return [*lines, *([r"\par\noindent\raggedright " + under + r"\par"] if under else []), r"\endgroup"]


#: Chunks of rows in one frame at most: beamer sets a breaking frame in one box first, and a TeX
#: box is at most 16384pt tall (a symbolic DenseNet-169 has 40 chunks).
FRAME_CHUNKS = 25


def _frames(summary: Summary, table: Table, fit: str, caption: bool, notes: bool, long: bool) -> list[str]:
    """Beamer: a frame that breaks into as many as the chunks of rows need, the header on each
    (and another frame, continued, past :data:`FRAME_CHUNKS`); totals and notes under the rows."""
    below = (_totals(summary) + _dropped(table)) if caption else _dropped(table).strip()
    note = _notes(summary, table) if notes else ""
    page = PAGES["beamer"]
    tail = sum(
        (width(text, pt) // page.width + 1) * skip + 6
        for text, pt, skip in ((below, table.size.pt, table.size.skip), (note, 6.0, 7.0))
        if text
    )
    runs = chunks(table, page.height, tail) if long else [table.rows]
    setup = [r"\centering", table.size.command, rf"\setlength{{\tabcolsep}}{{{PAGES['beamer'].tabcolsep:g}pt}}"]
    groups = [runs[i : i + FRAME_CHUNKS] for i in range(0, len(runs), FRAME_CHUNKS)]
    lines: list[str] = []
    for g, group in enumerate(groups):
        lines += [r"\end{frame}"] if g else []
        title = _title(summary) + (" (continued)" if g else "")
        lines += [r"\begin{frame}[allowframebreaks]{" + title + "}", *setup, *table.stretch()]
        for i, rows in enumerate(group):
            lines += [r"\par\framebreak"] if i else []
            lines += _tabular(table, rows, fit, last=rows is runs[-1])
    lines += [r"\par\medskip\raggedright", below + r"\par"] if below else []
    lines += [r"\smallskip\tiny " + note + r"\par"] if note else []
    lines.append(r"\end{frame}")
    if len(runs) == 1:  # no "I" after the title of a frame that breaks only if its notes need it
        lines = [r"{\setbeamertemplate{frametitle continuation}{}%", *lines, "}"]
    return lines


def _fitted(summary: Summary, columns: list[str] | None, page: Page, fit: str, long: bool | None) -> tuple[Table, bool]:
    """The table fitted to ``page`` (see the module's docstring), and whether it is long: when not
    said, whether its rows overflow a page (also once wrapped cells made them taller)."""
    table = _table(summary, columns)
    table.size = page.short
    auto = long is None
    if long is None:
        long = height(table, page.short) > page.height
    if long:
        fits = fit != "none"
        fit_table(table, page, page.long if fits else page.long[:1], wrap=fits, drop=fits)
    elif fit == "tabularx":
        fit_table(table, page, tuple(dict.fromkeys((page.short, *page.long))), wrap=True, drop=True)
    elif fit == "resizebox" and not columns:  # shrunk, but not past reading: columns are left out first
        fit_table(table, page, (page.short,), wrap=False, drop=True, width=page.width / LEAST_SCALE)
    if auto and not long and height(table, table.size) > page.height:
        return _fitted(summary, columns, page, fit, True)
    return table, long


def _render(
    summary: Summary, columns: list[str] | None, fit: str, long: bool | None, caption: bool, notes: bool, kind: str
) -> tuple[list[str], str]:
    """The packages the table needs, and the table (see the module's docstring for the layouts)."""
    if fit not in ("resizebox", "tabularx", "none"):
        raise CnncalcError(f"fit must be resizebox, tabularx or none, not {fit!r}")
    if kind not in PAGES:
        raise CnncalcError(f"kind must be article or beamer, not {kind!r}")
    table, long = _fitted(summary, columns, PAGES[kind], fit, long)
    if kind == "beamer":
        lines = _frames(summary, table, fit, caption, notes, long)
    elif long:
        lines = _longtable(summary, table, caption, notes)
    else:
        lines = _in_float(summary, table, fit, caption, notes)
    packages = _packages(table, fit, long and kind == "article")
    required = "% Requires \\usepackage{" + ",".join(packages) + "}" + (" (beamer)" if kind == "beamer" else "")
    return packages, "\n".join([required, *_comment(table, long), *lines]) + "\n"


def render(
    summary: Summary,
    columns: list[str] | None = None,
    *,
    fit: Fit = "resizebox",
    long: bool | None = None,
    caption: bool = True,
    notes: bool = True,
    kind: Kind = "article",
    standalone: bool = False,
) -> str:
    """The summary as a LaTeX table that fits the text width (the layouts: the module's docstring).

    ``fit``: ``"resizebox"`` shrinks a wide tabular to ``\\linewidth`` (graphicx), ``"tabularx"``
    wraps the layer names in an X column at a small font, ``"none"`` leaves the table as it is.
    ``long``: None chooses a ``longtable`` when the rows do not fit a page (35 rows at ``\\small``;
    rows with fractions count 1.7), True/False force it or a single table; a long table is never
    resized, its font size and columns are chosen to fit. ``caption``: the title and totals as the
    caption; ``notes``: the counting conventions as a footnote-size paragraph under the table.
    ``kind="beamer"``: a frame (``[allowframebreaks]``), a long table in chunks of rows.
    ``standalone``: a whole compilable document (:func:`document`) instead of the table alone."""
    if standalone:
        return document(summary, columns, kind=kind, fit=fit, long=long, caption=caption, notes=notes)
    return _render(summary, columns, fit, long, caption, notes, kind)[1]


def document(
    summary: Summary,
    columns: list[str] | None = None,
    *,
    kind: Kind = "article",
    fit: Fit = "resizebox",
    long: bool | None = None,
    caption: bool = True,
    notes: bool = True,
) -> str:
    """A complete document (``\\documentclass{article}`` or ``{beamer}``) holding :func:`render`'s
    table, with the packages it needs: run ``pdflatex`` on it (twice for a long table) for a PDF."""
    packages, body = _render(summary, columns, fit, long, caption, notes, kind)
    head = [rf"\documentclass{{{kind}}}", r"\usepackage{" + ",".join(packages) + "}", r"\begin{document}"]
    return "\n".join([*head, body + r"\end{document}", ""])


__all__ = ["LEAST_SCALE", "document", "escape", "render"]
