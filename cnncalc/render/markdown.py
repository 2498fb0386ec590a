"""Markdown table (GitHub / slide tools): symbolic cells in code spans, totals and conventions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..symbolic import is_symbolic, to_text
from .table import cell_text, select, texts, title, total_cells, total_lines
from .text import notes as conventions_notes

if TYPE_CHECKING:  # the renderers see a summary only as a type: report imports them
    from ..report import Summary


def _cell(value: Any, kind: str) -> str:
    """A cell; one with symbols is one code span (`64xfloor(H/2)xfloor(W/2)`), so * is not emphasis."""
    text = cell_text(value, kind) or ""
    return f"`{text}`" if kind != "name" and is_symbolic(value) else text


def render(summary: Summary, columns: list[str] | None = None, *, notes: bool = True) -> str:
    """The summary as a Markdown pipe table, then totals and (with ``notes``) the conventions as a list."""
    cols = select(columns, summary)

    def row(cells: list[str], bold: bool = False) -> str:
        if bold:
            cells = [f"**{t}**" if t else "" for t in cells]
        return "| " + " | ".join(t.replace("|", "\\|") for t in cells) + " |"

    align = ["---" if c.kind == "name" else "---:" for c in cols]
    lines = [
        f"**{title(summary)}**",
        "",
        "| " + " | ".join(c.header for c in cols) + " |",
        "| " + " | ".join(align) + " |",
    ]
    lines += [row(cells) for cells in texts(summary, cols, _cell)]
    total = total_cells(summary, cols)
    total[0] = "total"
    lines.append(row([_cell(v, c.kind) for v, c in zip(total, cols, strict=True)], bold=True))
    lines.append("")
    totals = total_lines(summary, expr=lambda v: f"`{to_text(v, display=True)}`")
    lines += [f"- Total {label}: {value}" for label, value in totals]
    if summary.shown:
        lines.append(f"- Rows: {summary.shown}; totals are of the whole network.")
    if notes:
        lines += [f"- {note}" for note in conventions_notes(summary)]
    return "\n".join(lines) + "\n"
