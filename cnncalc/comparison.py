"""Comparisons of two or more summaries: totals side by side with differences and ratios against the
first, and layers (or blocks, in a view) matched by name: added, removed, changed. Symbolic totals
differ in closed form (``vgg16_bn - vgg16`` params: 8448). Data first; :func:`render` prints it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import CnncalcError
from .symbolic import expand, factor

if TYPE_CHECKING:
    from .report import LayerRow, Summary

#: The totals compared, in order: (key, label).
TOTALS = (("params", "params"), ("trainable_params", "trainable params"), ("macs", "MACs"),
          ("activations", "activations"), ("neurons", "neurons"))  # fmt: skip
#: The per-row fields whose changes are listed.
FIELDS = ("kind", "output", "params", "macs")


@dataclass(frozen=True, slots=True)
class Change:
    """One layer (or block) of a later network against the first: "added", "removed" or
    "changed" with the fields that differ as field -> (first's value, this one's)."""

    name: str
    status: str
    fields: dict[str, tuple[Any, Any]]


@dataclass(frozen=True, slots=True)
class Comparison:
    """Networks side by side: their names, each total per network, and per later network its
    differences from the first by row name."""

    names: tuple[str, ...]
    totals: dict[str, tuple[Any, ...]]
    changes: tuple[tuple[Change, ...], ...]
    #: Labels a counting preset gives the totals (``{"macs": "FLOPs (fvcore)"}``), from the first summary.
    headers: dict[str, str] = field(default_factory=dict)

    def difference(self, key: str, index: int = 1) -> Any:
        """Network ``index``'s total ``key`` minus the first's (expanded when symbolic)."""
        values = self.totals[key]
        return _minus(values[index], values[0])

    def ratio(self, key: str, index: int = 1) -> Any:
        """Network ``index``'s total ``key`` over the first's (a float, or a factored expression)."""
        values = self.totals[key]
        if values[0] == 0:
            return None
        if all(type(v) is int for v in (values[0], values[index])):
            return values[index] / values[0]
        return factor(values[index] / values[0])


def _minus(a: Any, b: Any) -> Any:
    return a - b if type(a) is int and type(b) is int else expand(a - b)


def _row_changes(first: tuple[LayerRow, ...], other: tuple[LayerRow, ...]) -> tuple[Change, ...]:
    before = {r.name: r for r in first}
    after = {r.name: r for r in other}
    changes = []
    for row in other:
        old = before.get(row.name)
        if old is None:
            changes.append(Change(row.name, "added", {f: (None, getattr(row, f)) for f in FIELDS}))
            continue
        differ = {f: (getattr(old, f), getattr(row, f)) for f in FIELDS if getattr(old, f) != getattr(row, f)}
        if differ:
            changes.append(Change(row.name, "changed", differ))
    changes += [
        Change(r.name, "removed", {f: (getattr(r, f), None) for f in FIELDS}) for r in first if r.name not in after
    ]
    return tuple(changes)


def compare(summaries: list[Summary]) -> Comparison:
    """``summaries`` (two or more; views allowed) side by side, each against the first."""
    if len(summaries) < 2:
        raise CnncalcError("compare needs two or more networks")
    totals = {key: tuple(getattr(s.total, key) for s in summaries) for key, _ in TOTALS}
    changes = tuple(_row_changes(summaries[0].rows, s.rows) for s in summaries[1:])
    return Comparison(tuple(s.name for s in summaries), totals, changes, dict(summaries[0].headers))


def _text(value: Any) -> str:
    from .render.table import cell_text

    if isinstance(value, tuple):
        return cell_text(value, "shape") or "-"
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:.6g}x"
    return "-" if value is None else cell_text(value, "count") or "-"


def render(comparison: Comparison, format: str = "text") -> str:
    """The comparison as text, Markdown or JSON."""
    if format == "json":
        import json

        from .symbolic import to_text

        def plain(v: Any) -> Any:
            if v is None or isinstance(v, (bool, int, float, str)):
                return v
            return [plain(x) for x in v] if isinstance(v, tuple) else to_text(v)

        n = len(comparison.names)
        differences = {k: [plain(comparison.difference(k, i)) for i in range(1, n)] for k in comparison.totals}
        listed = [
            [{"name": c.name, "status": c.status, "fields": {f: [plain(a), plain(b)] for f, (a, b) in c.fields.items()}}
             for c in cs]
            for cs in comparison.changes
        ]  # fmt: skip
        data = {
            "names": list(comparison.names),
            "totals": {k: [plain(v) for v in vs] for k, vs in comparison.totals.items()},
            "differences": differences,
            "changes": listed,
        }
        if comparison.headers:  # a counting preset's labels (only then: the JSON is otherwise unchanged)
            data["headers"] = comparison.headers
        return json.dumps(data, indent=2) + "\n"
    if format not in ("text", "markdown"):
        raise CnncalcError(f"unknown format {format!r} for compare; formats: text, markdown, json")
    names = comparison.names
    header = ["", *names]
    for i in range(1, len(names)):
        header += [f"{names[i]} - {names[0]}", f"{names[i]} / {names[0]}"]
    table = [header]
    for key, label in TOTALS:
        row = [comparison.headers.get(key, label), *(_text(v) for v in comparison.totals[key])]
        for i in range(1, len(names)):
            row += [_text(comparison.difference(key, i)), _text(comparison.ratio(key, i))]
        table.append(row)
    if any(len(cell) > 40 for row in table for cell in row):
        # Closed forms are long: one line per total and network rather than a table.
        lines = []
        for row in table[1:]:
            lines.append(f"{row[0]}:")
            lines += [f"  {head}: {cell}" for head, cell in zip(header[1:], row[1:], strict=True)]
    else:
        lines = _table(table, markdown=format == "markdown")
    for i, changes in enumerate(comparison.changes, start=1):
        counts = {s: sum(c.status == s for c in changes) for s in ("added", "removed", "changed")}
        lines += ["", f"{names[i]} against {names[0]}: " + ", ".join(f"{n} {s}" for s, n in counts.items())]
        for c in changes:
            parts = [f"{f} {_text(a)} -> {_text(b)}" for f, (a, b) in c.fields.items() if c.status == "changed"]
            lines.append(f"{'- ' if format == 'markdown' else '  '}{c.status:8} {c.name}  {'; '.join(parts)}".rstrip())
    return "\n".join(lines) + "\n"


def _table(rows: list[list[str]], markdown: bool) -> list[str]:
    if markdown:
        out = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join(["---"] + ["---:"] * (len(rows[0]) - 1)) + "|"]
        return out + ["| " + " | ".join(r) + " |" for r in rows[1:]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip()
            for r in rows]  # fmt: skip


__all__ = ["Change", "Comparison", "compare", "render"]
