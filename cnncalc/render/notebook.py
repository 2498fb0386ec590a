"""What a notebook shows: a table as LaTeX that MathJax and KaTeX typeset (an ``array`` in display
math: no booktabs, no floats), for ``_repr_latex_``; HTML and Markdown come from their renderers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..symbolic import to_latex
from .table import cell_text, select, texts, title, total_cells

if TYPE_CHECKING:  # the renderers see a summary only as a type: report imports them
    from ..report import Summary

#: Columns a notebook's LaTeX shows by default (MathJax tables have no horizontal scroll).
DEFAULT_COLUMNS = ["name", "kind", "output", "params", "macs", "rf"]


def _text(text: str) -> str:
    """Text in math mode: \\text{...} with the characters MathJax would read as commands escaped."""
    safe = "".join("\\" + ch if ch in "&%$#_{}" else ch for ch in text)
    return "\\text{" + safe.replace("\\\\", "\\backslash ").replace("~", "\\sim ").replace("^", "\\hat{}") + "}"


def _cell(value: Any, kind: str) -> str:
    if kind == "name":
        return _text(str(value))
    text = cell_text(value, kind, number=lambda n: f"{n:,}".replace(",", "{,}"), expr=to_latex, times=r" \times ")
    return "" if text is None else text


def latex_array(summary: Summary, columns: list[str] | None = None) -> str:
    """The summary as ``$$\\begin{array}...\\end{array}$$`` with a total row."""
    cols = select(columns or DEFAULT_COLUMNS, summary)
    spec = "".join("l" if c.kind == "name" else "r" for c in cols)
    lines = [
        "$$",
        "\\begin{array}{" + spec + "}",
        "\\text{" + title(summary).replace("_", "\\_") + "} \\\\",
        " & ".join(_text(c.header) for c in cols) + " \\\\ \\hline",
    ]
    lines += [" & ".join(cells) + " \\\\" for cells in texts(summary, cols, _cell)]
    total = [_cell(v, c.kind) if v is not None else "" for v, c in zip(total_cells(summary, cols), cols, strict=True)]
    total[0] = _text("total")
    lines += ["\\hline", " & ".join(total), "\\end{array}", "$$"]
    return "\n".join(lines) + "\n"
