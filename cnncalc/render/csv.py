"""CSV for spreadsheets and pandas: one row per layer with plain numbers, a total row, and the
counting conventions as ``#`` comment lines (``pandas.read_csv(path, comment="#")`` skips them)."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Any

from ..symbolic import to_text
from .table import cell_text, select, texts, total_cells

if TYPE_CHECKING:  # the renderers see a summary only as a type: report imports them
    from ..report import Summary


def _cell(value: Any, kind: str) -> str:
    """A plain cell: numbers without separators (ratios as numbers, not "30,908x"), symbolic
    values in sympy syntax, shapes as 64x56x56, empty where a value does not apply."""
    if kind == "ratio" and isinstance(value, float):
        return repr(value)
    return cell_text(value, kind, number=str, expr=to_text) or ""


def render(summary: Summary, columns: list[str] | None = None, *, notes: bool = True) -> str:
    """The summary as CSV: a header of column keys, layer rows, a ``total`` row, then (with
    ``notes``) the conventions as ``# key: text`` lines."""
    cols = select(columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.key for c in cols])
    writer.writerows(texts(summary, cols, _cell))
    total = [_cell(v, c.kind) if v is not None else "" for v, c in zip(total_cells(summary, cols), cols, strict=True)]
    total[0] = "total"
    writer.writerow(total)
    if notes:
        for key, text in summary.conventions.items():
            buffer.write(f"# {key}: {' '.join(text.split())}\n")
    return buffer.getvalue()
