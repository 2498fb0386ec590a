"""LaTeX table with booktabs rules; formulas through sympy's LaTeX printer, ready for slides."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..symbolic import to_latex
from .table import cell_text, select, texts, title, total_cells, total_lines
from .text import notes

if TYPE_CHECKING:  # the renderers see a summary only as a type: report imports them
    from ..report import Summary

_SPECIAL = {
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "\\": r"\textbackslash{}",
}


def escape(text: str) -> str:
    """Text with LaTeX's special characters escaped."""
    return "".join(_SPECIAL.get(ch, ch) for ch in text)


def _number(n: int) -> str:
    return f"{n:,}".replace(",", "{,}")


def _math(value: Any) -> str:
    return f"${to_latex(value)}$"


def _cell(value: Any, kind: str) -> str:
    """A cell; everything but names is set in math mode, so shapes read 64 \\times H \\times W."""
    if kind == "name":
        return escape(str(value))
    text = cell_text(value, kind, number=_number, expr=to_latex, times=r" \times ")
    return "--" if text is None else f"${text}$"


def render(summary: Summary, columns: list[str] | None = None) -> str:
    """The summary as a booktabs ``tabular`` inside a ``table`` with a caption of totals."""
    cols = select(columns)
    spec = "".join("l" if c.kind == "name" else "r" for c in cols)
    lines = [
        "% Requires \\usepackage{booktabs}",
        "\\begin{table}[ht]",
        "\\centering",
        "\\begin{tabular}{" + spec + "}",
        "\\toprule",
        " & ".join(escape(c.header) for c in cols) + r" \\",
        "\\midrule",
    ]
    lines += [" & ".join(cells) + r" \\" for cells in texts(summary, cols, _cell)]
    total = [_cell(v, c.kind) if v is not None else "" for v, c in zip(total_cells(summary, cols), cols, strict=True)]
    total[0] = "Total"
    lines += ["\\midrule", " & ".join(total) + r" \\", "\\bottomrule", "\\end{tabular}"]
    totals = "; ".join(f"{label} {value}" for label, value in total_lines(summary, number=_number, expr=_math))
    caption = f"{escape(title(summary))}. Totals: {totals}. {escape(' '.join(notes(summary)))}"
    lines += ["\\caption{" + caption + "}", "\\end{table}"]
    return "\n".join(lines) + "\n"
