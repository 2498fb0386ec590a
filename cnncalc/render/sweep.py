"""A sweep's rows as a text table, Markdown, CSV or JSON (data in, text out: see :mod:`cnncalc.sweep`)."""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Any

from ..errors import CnncalcError
from .latex_fit import escape

if TYPE_CHECKING:
    from ..sweep import Sweep

#: Headings of the columns.
HEADINGS = {
    "params": "Params",
    "trainable_params": "Trainable",
    "macs": "MACs",
    "flops": "FLOPs",
    "activations": "Activations",
    "neurons": "Neurons",
    "output": "Output",
    "param_bytes": "Param bytes",
    "buffer_bytes": "Buffer bytes",
    "grad_bytes": "Grad bytes",
    "optimizer_bytes": "Optimizer bytes",
    "saved_bytes": "Saved bytes",
    "train_bytes": "Train bytes",
    "peak_bytes": "Peak bytes",
    "infer_bytes": "Infer bytes",
}


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key == "output":
        return "x".join(str(v) for v in value)
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _lines(sweep: Sweep) -> tuple[list[str], list[list[str]]]:
    head = [*sweep.symbols, *(HEADINGS[c] for c in sweep.columns)]
    keys = [*sweep.symbols, *sweep.columns]
    rows = []
    for row in sweep:
        cells = [_cell(k, row[k]) for k in keys]
        if not row["valid"]:
            cells = [*cells[: len(sweep.symbols)], f"invalid: {row['reason']}"]
        rows.append(cells)
    return head, rows


def _notes(sweep: Sweep) -> list[str]:
    fixed = ", ".join(f"{k} = {v}" for k, v in sweep.fixed.items())
    shown = f"{len(sweep):,} of {sweep.points:,} points" if sweep.where else f"{sweep.points:,} points"
    notes = [
        f"{sweep.name}: {shown}" + (f" where {sweep.where}" if sweep.where else "") + (f"; {fixed}" if fixed else "")
    ]
    if sweep.invalid:
        bad = sum(sweep.invalid.values())
        worst = sorted(sweep.invalid.items(), key=lambda kv: -kv[1])[:3]
        notes.append(f"{bad:,} invalid: " + "; ".join(f"{reason} ({n:,})" for reason, n in worst))
    notes.append(f"exact integer arithmetic ({sweep.engine}), {sweep.seconds:.3g} s")
    return notes


def _text(sweep: Sweep) -> str:
    head, rows = _lines(sweep)
    n = len(head)
    widths = [max([len(head[i])] + [len(r[i]) for r in rows if len(r) == n]) for i in range(n)]
    numeric = len(sweep.symbols)

    def line(cells: list[str]) -> str:
        if len(cells) != n:  # an invalid point: its symbols, then the reason
            return "  ".join([*(c.rjust(w) for c, w in zip(cells[:-1], widths, strict=False)), cells[-1]])
        return "  ".join(
            c.rjust(w) if i >= numeric or c[:1].isdigit() else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    out = [line(head), "  ".join("-" * w for w in widths), *(line(r).rstrip() for r in rows)]
    return "\n".join([*out, "", *_notes(sweep)]) + "\n"


def _markdown(sweep: Sweep) -> str:
    head, rows = _lines(sweep)
    n = len(head)
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---:" for _ in head) + "|"]
    for r in rows:
        cells = r if len(r) == n else [*r[:-1], r[-1], *[""] * (n - len(r))]
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join([*out, "", *(f"{note}  " for note in _notes(sweep))]) + "\n"


def _csv(sweep: Sweep) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for note in _notes(sweep):
        buffer.write(f"# {note}\n")
    keys = list(sweep.keys)
    writer.writerow(keys)
    for row in sweep:
        writer.writerow(["" if row[k] is None else _cell("output", row[k]) if k == "output" else row[k] for k in keys])
    return buffer.getvalue()


def _json(sweep: Sweep) -> str:
    data = {
        "name": sweep.name,
        "points": sweep.points,
        "where": sweep.where,
        "fixed": sweep.fixed,
        "invalid": sweep.invalid,
        "engine": sweep.engine,
        "rows": [{k: list(v) if isinstance(v, tuple) else v for k, v in row.items()} for row in sweep],
    }
    return json.dumps(data, indent=2) + "\n"


def _latex(sweep: Sweep) -> str:
    """A booktabs tabular (needs ``\\usepackage{booktabs}``), invalid points spanning the totals."""
    head, rows = _lines(sweep)
    n = len(head)
    lines = [
        "% cnncalc sweep: needs \\usepackage{booktabs}",
        "\\begin{tabular}{" + "r" * n + "}",
        "\\toprule",
        " & ".join(escape(h) for h in head) + " \\\\",
        "\\midrule",
    ]
    for r in rows:
        cells = [escape(c).replace(",", "{,}") for c in r]
        if len(r) == n and "output" in sweep.columns:  # 2x16x16 as 2 x 16 x 16 in math
            cells[-1] = "$" + cells[-1].replace("x", r"\times ") + "$"
        if len(r) != n:
            reason = escape(r[-1].removeprefix("invalid: "))
            cells = [*cells[:-1], f"\\multicolumn{{{n - len(r) + 1}}}{{l}}{{\\emph{{invalid:}} \\texttt{{{reason}}}}}"]
        lines.append(" & ".join(cells) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}", *(f"% {note}" for note in _notes(sweep))]
    return "\n".join(lines) + "\n"


RENDERERS = {"text": _text, "markdown": _markdown, "latex": _latex, "csv": _csv, "json": _json}


def render_sweep(sweep: Sweep, format: str = "text") -> str:
    """The sweep in ``format``: text, markdown, csv or json."""
    if format not in RENDERERS:
        raise CnncalcError(f"unknown format {format!r} for a sweep; formats: {', '.join(RENDERERS)}")
    return RENDERERS[format](sweep)


__all__ = ["RENDERERS", "render_sweep"]
