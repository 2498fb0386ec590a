"""CSV for spreadsheets: one row per layer with plain numbers, a total row, then conventions."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

from .table import cell_text, select, texts, total_cells

if TYPE_CHECKING:  # the renderers see a summary only as a type: report imports them
    from ..report import Summary


def render(summary: Summary, columns: list[str] | None = None) -> str:
    """The summary as CSV: a header of column keys, layer rows, a ``total`` row; numbers without
    separators, symbolic values in sympy syntax, empty where a value does not apply; the counting
    conventions follow as ``# key: text`` rows."""
    cols = select(columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.key for c in cols])
    writer.writerows(texts(summary, cols, lambda v, kind: cell_text(v, kind, number=str) or ""))
    total = [cell_text(v, c.kind, number=str) or "" for v, c in zip(total_cells(summary, cols), cols, strict=True)]
    total[0] = "total"
    writer.writerow(total)
    for key, text in summary.conventions.items():
        writer.writerow([f"# {key}: {text}"])
    return buffer.getvalue()
