"""Plain-text table for the terminal: aligned columns, a total row, totals and conventions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..symbolic import is_symbolic
from .table import cell_text, select, texts, title, total_cells, total_lines

if TYPE_CHECKING:  # the renderers see a summary only as a type: report imports them
    from ..report import Summary

#: Short forms of the conventions printed under the table.
NOTES = (
    "MACs: multiply-accumulates of conv and linear weights, batch 1, bias excluded (FLOPs = 2 x MACs).",
    "Params include biases; BatchNorm running statistics are buffers, not counted.",
    "RF: receptive field size, jump and start in input pixels (pixel centres at 0, 1, ...), per axis as HxW when they differ.",
    "FC params: a dense layer between the same input and output volumes; Local params: the same connections without weight sharing.",
    "Neurons: outputs of conv and linear layers.",
)


#: Added where a field is irregular (past upsampling or a transposed convolution).
IRREGULAR_NOTE = (
    "RF past upsampling or a transposed convolution (irregular): the largest field over outputs, the mean jump."
)


def notes(summary: Summary) -> tuple[str, ...]:
    """The notes under a table: :data:`NOTES`, and the irregular-field rule where it applies."""
    irregular = any(row.rf is not None and not row.rf.regular for row in summary.rows)
    return (*NOTES, IRREGULAR_NOTE) if irregular else NOTES


def render(summary: Summary, columns: list[str] | None = None) -> str:
    """The summary as an aligned text table with totals and the counting conventions."""
    cols = select(columns)
    header = [c.header for c in cols]
    body = texts(summary, cols, lambda v, kind: cell_text(v, kind) or "-")
    totals = total_cells(summary, cols)
    symbolic = is_symbolic(tuple(totals))
    foot = [cell_text(v, c.kind) or "" for v, c in zip(totals, cols, strict=True)]
    foot[0] = "total"
    if symbolic:
        foot = [""] * len(cols)
    widths = [max(len(r[i]) for r in [header, *body, foot]) for i in range(len(cols))]
    left = {"name"}

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(w) if c.kind in left else cell.rjust(w) for cell, w, c in zip(cells, widths, cols, strict=True)
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = [title(summary), "", line(header), rule, *(line(r) for r in body), rule, line(foot), ""]
    if symbolic:
        # Symbolic totals are long sums: they are listed below instead of widening every column.
        out[-3:] = [rule, ""]
    out += [f"Total {label}: {value}" for label, value in total_lines(summary)]
    out += ["", *notes(summary)]
    return "\n".join(out) + "\n"
