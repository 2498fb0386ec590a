"""Views of a summary's rows: blocks collapsed below a depth, kinds or families hidden or kept. A view
changes rows, never totals; every format renders the same view.

Collapsing a block (names sharing a dotted prefix, like torchinfo's ``depth``) gives one row: the
first member's input, the last member's output and receptive field, and the sums of parameters,
MACs and activations. References (``from``) into a collapsed block or to a hidden row are redirected
to what stands in for it, so a view is still a graph.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .errors import CnncalcError
from .layers import KINDS
from .spec.messages import suggest
from .symbolic import expand, total

if TYPE_CHECKING:
    from .report import LayerRow

#: Families of kinds, named after the module that holds them (``--hide activation``).
FAMILIES: dict[str, frozenset[str]] = {}
for _kind, _cls in KINDS.items():
    _family = _cls.__module__.rsplit(".", 1)[-1]
    FAMILIES[_family] = FAMILIES.get(_family, frozenset()) | {_kind}


def kinds(words: Iterable[str]) -> frozenset[str]:
    """The kinds named by ``words``: kinds, or families (``activation`` or ``activations``)."""
    found: set[str] = set()
    for word in words:
        key = word.strip().lower()
        if key in KINDS:
            found.add(key)
        elif key in FAMILIES or key.rstrip("s") in FAMILIES:
            found |= FAMILIES.get(key, FAMILIES.get(key.rstrip("s"), frozenset()))
        elif key:
            choices = sorted([*KINDS, *FAMILIES])
            families = ", ".join(sorted(FAMILIES))
            raise CnncalcError(f"{word!r} is neither a layer kind nor a family ({families}){suggest(key, choices)}")
    return frozenset(found)


def _sum(values: Sequence[Any]) -> Any:
    if all(type(v) is int for v in values):
        return sum(values)
    return expand(total(list(values)))


def counted(row: LayerRow, times: Any) -> LayerRow:
    """``row`` counted ``times`` times (the copies of a repeat whose count stays symbolic): its
    params, trainable params, MACs and activations scaled."""
    if times == 1:
        return row
    return row._replace(
        params=times * row.params,
        trainable_params=times * row.trainable_params,
        macs=times * row.macs,
        activations=times * row.activations,
    )


def collapse(
    rows: Sequence[LayerRow], depth: int, groups: dict[str, str], times: dict[str, Any] | None = None
) -> tuple[list[LayerRow], dict[str, str]]:
    """Rows with every name of more than ``depth`` dotted parts merged into its prefix's row, and
    the new name of every old one. ``times``: how many times a row counts, where not once (the
    copies of a repeat with a symbolic count), in a merged row's sums."""
    times = times or {}
    if depth < 1:
        raise CnncalcError(f"depth must be at least 1, got {depth}")
    members: dict[str, list[LayerRow]] = {}
    order: list[str] = []
    for row in rows:
        parts = row.name.split(".")
        key = row.name if len(parts) <= depth else ".".join(parts[:depth])
        if key not in members:
            members[key] = []
            order.append(key)
        members[key].append(row)
    rename = {row.name: key for key, group in members.items() for row in group}
    out: list[LayerRow] = []
    for key in order:
        group = members[key]
        if len(group) == 1 and group[0].name == key:
            row = group[0]
            out.append(row._replace(sources=_renamed(row.sources, rename, key)))
            continue
        first, last = group[0], group[-1]
        group = [counted(r, times.get(r.name, 1)) for r in group]
        inside = {r.name for r in group}
        sources = [s for r in group for s in r.sources if s not in inside]
        out.append(
            last._replace(
                name=key,
                kind=groups.get(key, "block"),
                input=first.input,
                params=_sum([r.params for r in group]),
                trainable_params=_sum([r.trainable_params for r in group]),
                macs=_sum([r.macs for r in group]),
                activations=_sum([r.activations for r in group]),
                fc_params=None,
                local_params=None,
                sources=_renamed(tuple(sources), rename, key),
            )
        )
    return out, rename


def _renamed(sources: tuple[str, ...], rename: dict[str, str], own: str) -> tuple[str, ...]:
    names = [rename.get(s, s) for s in sources]
    return tuple(dict.fromkeys(n for n in names if n != own))


def keep(rows: Sequence[LayerRow], keep_row: Any) -> list[LayerRow]:
    """The rows for which ``keep_row(row)`` is true; a kept row that read a dropped one reads what
    the dropped one read instead."""
    stands_for: dict[str, tuple[str, ...]] = {}
    out: list[LayerRow] = []
    for row in rows:
        sources: list[str] = []
        for s in row.sources:
            sources.extend(stands_for.get(s, (s,)))
        sources_t = tuple(dict.fromkeys(sources))
        if keep_row(row):
            out.append(row._replace(sources=sources_t))
        else:
            stands_for[row.name] = sources_t
    return out


def view(
    rows: Sequence[LayerRow],
    groups: dict[str, str],
    *,
    depth: int | None = None,
    hide: Iterable[str] = (),
    only: Iterable[str] = (),
    times: Sequence[Any] = (),
) -> tuple[list[LayerRow], str]:
    """The rows of a view and a sentence saying what it shows ("" for every layer). Blocks are
    collapsed first (their sums include every member), then layers are hidden or kept by kind;
    block rows always stay."""
    hidden, kept = kinds(hide), kinds(only)
    out = list(rows)
    said = []
    block_kinds: set[str] = set()
    if depth is not None:
        counted = {r.name: t for r, t in zip(rows, times, strict=True) if t != 1} if times else {}
        out, _ = collapse(out, depth, groups, counted)
        block_kinds = {r.kind for r in out if r.kind not in KINDS}
        said.append(f"blocks below depth {depth} as one row each")
    if hidden or kept:
        out = keep(
            out,
            lambda r: r.kind in block_kinds or (r.kind not in hidden and (not kept or r.kind in kept)),
        )
        if kept:
            said.append("only " + ", ".join(sorted(set(only))))
        if hidden:
            said.append("hiding " + ", ".join(sorted(set(hide))))
    return out, "; ".join(said)


__all__ = ["FAMILIES", "collapse", "counted", "keep", "kinds", "view"]
