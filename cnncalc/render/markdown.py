"""Markdown table (GitHub / slide tools): symbolic cells in code spans, totals and conventions."""

from __future__ import annotations

from typing import Any

from ..report import Summary
from ..symbolic import is_symbolic, to_text
from .table import cell_text, grid, select, title, total_cells, total_lines
from .text import NOTES


def _cell(value: Any, kind: str) -> str:
    """A cell; one with symbols is one code span (`64xfloor(H/2)xfloor(W/2)`), so * is not emphasis."""
    text = cell_text(value, kind) or ""
    return f"`{text}`" if kind != "name" and is_symbolic(value) else text


def render(summary: Summary, columns: list[str] | None = None) -> str:
    """The summary as a Markdown pipe table, then totals and conventions as a list."""
    cols = select(columns)

    def row(cells: list[Any], bold: bool = False) -> str:
        texts = [_cell(v, c.kind) for v, c in zip(cells, cols, strict=True)]
        if bold:
            texts = [f"**{t}**" if t else "" for t in texts]
        return "| " + " | ".join(t.replace("|", "\\|") for t in texts) + " |"

    align = ["---" if c.kind == "name" else "---:" for c in cols]
    lines = [
        f"**{title(summary)}**",
        "",
        "| " + " | ".join(c.header for c in cols) + " |",
        "| " + " | ".join(align) + " |",
    ]
    lines += [row(r) for r in grid(summary, cols)]
    total = total_cells(summary, cols)
    total[0] = "total"
    lines.append(row(total, bold=True))
    lines.append("")
    lines += [f"- Total {label}: {value}" for label, value in total_lines(summary, expr=lambda v: f"`{to_text(v)}`")]
    lines += [f"- {note}" for note in NOTES]
    return "\n".join(lines) + "\n"
