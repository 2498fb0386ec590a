"""Counting conventions printed: one network's total under every convention (text fitting the
terminal, Markdown, JSON), and the rules of presets (text or Markdown; ``docs/conventions.md`` is
the Markdown of them all). Sees conventions and presets only as types."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..functions import json_number
from ..symbolic import to_text
from .table import cell_text
from .text import terminal_width

if TYPE_CHECKING:
    from ..counting.base import Preset
    from ..counting.table import Conventions, Counted

#: Said under a table or a preset's rules that no test compared with the tool.
UNTESTED = "not compared with the tool in cnncalc's tests (the tool could not be installed there)"
_GAP = "  "


def _count(value: Any) -> str:
    return cell_text(value, "count") or "-"


def _scaled(value: Any, scale: tuple[int, str]) -> str:
    """4,089.18 M: a total in the table's unit, two decimals (rounded half up)."""
    if type(value) is not int:
        return "-"
    factor, unit = scale
    hundredths = (value * 100 + factor // 2) // factor
    return f"{hundredths // 100:,}.{hundredths % 100:02d} {unit}"


def _scale(rows: Sequence[Counted]) -> tuple[int, str]:
    """The unit of cnncalc's total, fine enough to show the conventions apart: millions from a
    million (ResNet-50's 4,089.18 M), billions from ten billion (U-Net's 48.10 G), else thousands."""
    first = rows[0].total if rows else 0
    if type(first) is not int or 10**6 <= first < 10**10:
        return 10**6, "M"
    return (10**9, "G") if first >= 10**10 else (10**3, "K")


def _name(row: Counted) -> str:
    return row.name + ("" if row.verified else "*")


def _text_table(conv: Conventions, width: int | None) -> str:
    limit = terminal_width() if width is None else width
    scale = _scale(conv.rows)
    head = ["Convention", "Unit", "Total", f"In {scale[1]}", "Params"]
    body = [[_name(r), r.unit, _count(r.total), _scaled(r.total, scale), _count(r.params)] for r in conv.rows]
    sizes = [max(len(line[i]) for line in [head, *body]) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        return _GAP.join(c.ljust(n) if i < 2 else c.rjust(n) for i, (c, n) in enumerate(zip(cells, sizes, strict=True)))

    out = [conv.title, "", line(head), _GAP.join("-" * n for n in sizes)]
    wrap = limit if limit else 10**6
    for row, cells in zip(conv.rows, body, strict=True):
        out.append(line(cells).rstrip())
        reason = f"{row.tool} {row.version}".strip() + f": {row.differs}"
        out += textwrap.wrap(reason, wrap, initial_indent="  ", subsequent_indent="    ", break_on_hyphens=False)
    out += ["", "Under each convention: its tool and why its total differs from cnncalc's MACs."]
    out.append("Its rules: cnncalc conventions NAME. Its count per layer: --count NAME.")
    if not all(r.verified for r in conv.rows):
        out.append(f"* {UNTESTED}.")
    lines = [piece for text in out for piece in (textwrap.wrap(text, wrap) if text and limit else [text])]
    return "\n".join(lines) + "\n"


def table_data(conv: Conventions) -> dict[str, Any]:
    """The table as JSON-ready data: totals as ints (sympy syntax when symbolic)."""

    def plain(v: Any) -> Any:
        return v if isinstance(v, int) else to_text(v)

    return {
        "name": conv.name,
        "title": conv.title,
        "values": {k: json_number(v) for k, v in sorted(conv.values.items())},
        "conventions": [
            {
                "name": r.name,
                "tool": r.tool,
                "version": r.version,
                "unit": r.unit,
                "header": r.header,
                "total": plain(r.total),
                "params": plain(r.params),
                "differs": r.differs,
                "verified": r.verified,
            }
            for r in conv.rows
        ],
    }


def _markdown_table(conv: Conventions) -> str:
    scale = _scale(conv.rows)
    lines = [
        f"**{conv.title}**",
        "",
        f"| Convention | Tool | Unit | Total | In {scale[1]} | Params | Why it differs from cnncalc's MACs |",
        "|---|---|---|---:|---:|---:|---|",
    ]
    for r in conv.rows:
        cells = [_name(r), f"{r.tool} {r.version}".strip(), r.unit, _count(r.total), _scaled(r.total, scale)]
        cells += [_count(r.params), r.differs]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    if not all(r.verified for r in conv.rows):
        lines += ["", f"\\* {UNTESTED}."]
    return "\n".join(lines) + "\n"


def render_table(conv: Conventions, format: str = "text", width: int | None = None) -> str:
    """Every convention's total for one network as text, markdown or json."""
    if format == "json":
        return json.dumps(table_data(conv), indent=2) + "\n"
    if format == "markdown":
        return _markdown_table(conv)
    if format == "text":
        return _text_table(conv, width)
    from ..errors import CnncalcError

    raise CnncalcError(f"unknown format {format!r} for conventions; formats: text, markdown, json")


def _what(p: Preset) -> str:
    """What the preset counts its own way: its unit, or the params where its ops are cnncalc's."""
    return "Params" if p.same_ops else p.unit


def _why(p: Preset) -> str:
    return "The reference" if p.name == "cnncalc" else "Differs from cnncalc's MACs"


def _verified(p: Preset) -> str:
    if not p.verified:
        return f"Untested: {UNTESTED}."
    if p.checked:
        return f"Verified: {p.checked}."
    return f"Verified: equal to {p.tool}'s own output on every bundled network and on random ones, in the tests."


def render_rules(presets: Sequence[Preset], format: str = "text", width: int | None = None) -> str:
    """The rules of ``presets``: per preset its unit and tool, why its total differs from cnncalc's
    MACs, whether the tests compare it with the tool, and every rule, one item each."""
    if format == "json":
        data = [
            {"name": p.name, "tool": p.tool, "version": p.version, "unit": p.unit, "header": p.header,
             "differs": p.differs, "verified": p.verified, "rules": list(p.rules)}
            for p in presets
        ]  # fmt: skip
        return json.dumps(data, indent=2) + "\n"
    if format == "markdown":
        parts = []
        for p in presets:
            lines = [
                f"## {p.name}",
                "",
                f"{_what(p)} as {p.who} counts them (`--count {p.name}`, column {p.column!r}).",
            ]
            lines += ["", f"{_why(p)}: {p.differs}.", "", _verified(p), ""]
            lines += [f"- {rule}" for rule in p.rules]
            parts.append("\n".join(lines))
        return "\n\n".join(parts) + "\n"
    limit = terminal_width() if width is None else width
    wrap = limit if limit else 10**6
    out: list[str] = []
    for p in presets:
        if out:
            out.append("")
        head = f"{p.name}: {_what(p)} as {p.who} counts them (--count {p.name}, column {p.column!r})"
        out += textwrap.wrap(head, wrap)
        out += textwrap.wrap(f"{_why(p)}: {p.differs}.", wrap, subsequent_indent="  ")
        out += textwrap.wrap(_verified(p), wrap, subsequent_indent="  ")
        for rule in p.rules:
            out += textwrap.wrap(rule, wrap, initial_indent="- ", subsequent_indent="  ", break_on_hyphens=False)
    return "\n".join(out) + "\n"


__all__ = ["UNTESTED", "render_rules", "render_table", "table_data"]
