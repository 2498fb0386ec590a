"""Plain-text table for the terminal: aligned columns, a total row, totals and conventions."""

from __future__ import annotations

import shutil
import textwrap
from typing import TYPE_CHECKING, Any

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


#: Added where layers run only in training (``training_only``): by the view, inference or training.
TRAINING_NOTES = {
    False: "Training only ({}): params counted; MACs and activations 0, as in inference (--training counts them).",
    True: "Training view: the training-only layers ({}) count their MACs and activations.",
}


#: Added where a repeat's count stays symbolic (``repeat: d``).
REPEAT_NOTE = "Repeated {}: the rows show the first copy; the totals count every copy."
REPEAT_SUMMED = "Repeated {}: each block's row sums every copy."


def _repeats(summary: Summary) -> str:
    """ "stage (unit x d) and stage2 (unit x 2*d - 1)": the repeats laid out as one copy."""
    names = [f"{name} ({group})" for name, group in summary.groups.items() if " x " in group]
    return ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1] if names else "layers"


def _stated(summary: Summary) -> tuple[str, ...]:
    """:data:`NOTES`, with the MACs and params notes as a counting preset restates them."""
    if not summary.headers:
        return NOTES
    heads, said = summary.headers, summary.conventions
    pairs = zip(("macs", "params"), NOTES[:2], strict=True)
    restated = [f"{heads[k]}: {said[k]}." if k in heads else n for k, n in pairs]
    return (*restated, *NOTES[2:])


def notes(summary: Summary) -> tuple[str, ...]:
    """The notes under a table: :data:`NOTES`, the irregular-field rule and the training-only rule
    where they apply."""
    irregular = any(row.rf is not None and not row.rf.regular for row in summary.rows)
    stated = _stated(summary)
    found = (*stated, IRREGULAR_NOTE) if irregular else stated
    if "repeat" in summary.conventions:
        shown_once = any(t != 1 for t in summary.times)  # else a view collapsed them into sums
        found = (*found, (REPEAT_NOTE if shown_once else REPEAT_SUMMED).format(_repeats(summary)))
    if "training_only" not in summary.conventions:
        return found
    names = summary.training_only
    listed = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return (*found, TRAINING_NOTES[summary.training].format(listed or "none shown"))


#: Columns left out first when a table is wider than the terminal (the rest are always shown).
DROP_ORDER = ("local_ratio", "local_params", "fc_ratio", "fc_params", "start", "jump", "kind", "activations", "rf")
#: Width when standard output is no terminal and COLUMNS is not set.
DEFAULT_WIDTH = 100
_GAP = "  "


def terminal_width() -> int:
    """The terminal's width (COLUMNS first), or :data:`DEFAULT_WIDTH` when there is none."""
    return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns


def _wrap(text: str, width: int) -> list[str]:
    """A long symbolic cell over several lines, broken only between terms or factors (after a
    " + ", " - ", "*" or a shape's "x" outside parentheses)."""
    if len(text) <= width:
        return [text]
    pieces, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += (ch == "(") - (ch == ")")
        # A shape's "x" only after ")": an x inside a name (Max, a symbol x) is no separator.
        after_factor = ch == "x" and text[i - 1 : i] == ")"
        if depth == 0 and (ch == "*" or after_factor or (ch == " " and text[i - 1 : i] in ("+", "-"))):
            pieces.append(text[start : i + 1])
            start = i + 1
    pieces.append(text[start:])
    lines = [""]
    for piece in pieces:
        if lines[-1] and len(lines[-1]) + len(piece) > width:
            lines.append("")
        lines[-1] += piece
    return [line.rstrip() for line in lines]


def _notes_for(summary: Summary, keys: set[str]) -> list[str]:
    """The notes for the columns shown (MACs, params and neurons always: the totals state them)."""
    chosen = list(_stated(summary)[:2])
    if keys & {"rf", "jump", "start"}:
        chosen.append(NOTES[2])
    if keys & {"fc_params", "fc_ratio", "local_params", "local_ratio"}:
        chosen.append(NOTES[3])
    chosen.append(NOTES[4])
    extra = notes(summary)[len(NOTES) :]
    return chosen + [n for n in extra if n != IRREGULAR_NOTE or keys & {"rf", "jump", "start"}]


def _fit(
    table: list[list[str]], cols: tuple[Any, ...], limit: int, chosen: bool
) -> tuple[list[int], list[str], int, list[int]]:
    """Which columns to keep (by index), which were dropped (keys), the width at which cells wrap
    (0: none) and the columns' widths, for a table of ``table``'s cells within ``limit`` columns."""
    keep = list(range(len(cols)))
    cell_width = 0  # no wrapping unless the table is too wide without it
    natural = [max(len(r[i]) for r in table) for i in keep]  # computed once: a table has thousands of cells

    def widths() -> list[int]:
        if not cell_width:
            return [natural[i] for i in keep]
        return [max(len(x) for r in table for x in _wrap(r[i], cell_width)) for i in keep]

    def total_width() -> int:
        return sum(widths()) + len(_GAP) * (len(keep) - 1)

    dropped: list[str] = []
    if limit and not chosen:
        for key in DROP_ORDER:
            if total_width() <= limit:
                break
            keep.remove(next(i for i in keep if cols[i].key == key))
            dropped.append(key)
    if limit and total_width() > limit:
        cell_width = max(24, limit // 3)
    while limit and cell_width > 16 and total_width() > limit:
        cell_width -= 4  # still too wide with every optional column gone: wrap cells shorter
    return keep, dropped, cell_width, widths()


def render(summary: Summary, columns: list[str] | None = None, *, width: int | None = None) -> str:
    """The summary as an aligned text table that fits ``width`` (the terminal's by default; 0:
    no limit): columns are dropped in :data:`DROP_ORDER` unless chosen with ``columns``, long
    symbolic cells wrap, and the notes explain only what is shown."""
    limit = terminal_width() if width is None else width
    cols = select(columns, summary)
    header = [c.header for c in cols]
    body = texts(summary, cols, lambda v, kind: cell_text(v, kind) or "-")
    totals = total_cells(summary, cols)
    symbolic = is_symbolic(tuple(totals))
    foot = [""] * len(cols) if symbolic else [cell_text(v, c.kind) or "" for v, c in zip(totals, cols, strict=True)]
    if not symbolic:
        foot[0] = "total"
    keep, dropped, cell_width, sizes = _fit([header, *body, foot], cols, limit, chosen=bool(columns))
    shown = [cols[i] for i in keep]
    justify = [str.ljust if c.kind == "name" else str.rjust for c in shown]

    def lines(cells: list[str]) -> list[str]:
        if not cell_width:  # one line per row: the common case, kept cheap
            return [_GAP.join([j(cells[i], n) for i, n, j in zip(keep, sizes, justify, strict=True)]).rstrip()]
        wrapped = [_wrap(cells[i], cell_width) for i in keep]
        out = []
        for n in range(max(len(w) for w in wrapped)):
            parts = [w[n] if n < len(w) else "" for w in wrapped]
            out.append(_GAP.join([j(p, size) for p, size, j in zip(parts, sizes, justify, strict=True)]).rstrip())
        return out

    rule = _GAP.join("-" * size for size in sizes)
    out = [title(summary), "", *lines(header), rule]
    for row in body:
        out += lines(row)
    out.append(rule)
    if not symbolic:  # symbolic totals are long sums: listed below instead of widening every column
        out += [*lines(foot), ""]
    else:
        out.append("")
    footer = [f"Total {label}: {value}" for label, value in total_lines(summary)]
    if summary.shown:
        footer.append(f"Rows: {summary.shown}; totals are of the whole network.")
    if dropped:
        footer.append(
            f"Left out to fit {limit} columns: {', '.join(dropped)} (--columns all or --wide shows every column)."
        )
    footer += ["", *_notes_for(summary, {c.key for c in shown})]
    for line in footer:  # long sums and sentences wrap at spaces, continued with an indent
        out += textwrap.wrap(line, limit, subsequent_indent="  ", break_on_hyphens=False) if limit and line else [line]
    return "\n".join(out) + "\n"
