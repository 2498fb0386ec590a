"""Markdown table (GitHub / slide tools): symbolic cells in code spans, totals and conventions."""

from __future__ import annotations

from typing import Any

from ..report import Summary
from ..symbolic import to_text
from .table import cell_text, grid, select, title, total_cells, total_lines
from .text import NOTES


def _code(value: Any) -> str:
    return f"`{to_text(value)}`"


def render(summary: Summary, columns: list[str] | None = None) -> str:
    """The summary as a Markdown pipe table, then totals and conventions as a list."""
    cols = select(columns)

    def row(cells: list[Any], bold: bool = False) -> str:
        texts = [cell_text(v, c.kind, expr=_code) or "" for v, c in zip(cells, cols, strict=True)]
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
    lines += [f"- Total {label}: {value}" for label, value in total_lines(summary, expr=_code)]
    lines += [f"- {note}" for note in NOTES]
    return "\n".join(lines) + "\n"
