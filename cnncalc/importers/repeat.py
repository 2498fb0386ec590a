"""Repeated submodules of an imported graph as cnncalc blocks called with ``repeat``, so the file
reads like the zoo's: a run of copies at module paths ``P.0.*``, ``P.1.*``, ... (ResNet's
``layer1.0.conv1``) whose copies have the same layers reading each other alike becomes one call
``- block: {repeat: n, name: P}``. Fields that differ between copies become block arguments
(``stride``), a layer only some copies have gets ``when: arg`` (the downsample shortcut, which
cnncalc then reads as its input: the identity), and copies that differ from the rest are set by
``first``, ``last`` or ``at``. Groups of the same structure share one block; inside a group that
fits none, the groups within its copies are tried, and copies of one class that fit one block are
called one by one. The rest stays flat (and cnncalc.importers.emit keeps the blocks only where the
file summarizes as the flat one)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ..layers import KINDS
from .graph import INPUT, ImportedGraph, ImportedLayer
from .text import clean_name, entry_line, flat_lines, flow
from .unify import Block, Misfit, common_layers, unify, value_key


@dataclass(frozen=True)
class _Group:
    """Copies of one repeated submodule: the module path, the copies' layers (names relative to
    the copy), the layer the first copy reads, and where the run stands in the graph."""

    path: str
    copies: tuple[tuple[ImportedLayer, ...], ...]
    source: str
    start: int
    stop: int
    #: The graph's names of each copy's last layer (the last one is the group's output), and
    #: where each copy starts in the graph.
    lasts: tuple[str, ...] = ()
    starts: tuple[int, ...] = ()

    @property
    def output(self) -> str:
        """The name of the group's output (its last layer) in the graph, before renaming."""
        return self.lasts[-1]

    def split(self) -> list[_Group]:
        """Each copy as a group of its own, at path ``P.i`` (called once, without repeat)."""
        ends = (*self.starts[1:], self.stop)
        sources = (self.source, *self.lasts[:-1])
        return [
            _Group(
                f"{self.path}.{i}", (copy,), sources[i], self.starts[i], ends[i], (self.lasts[i],), (self.starts[i],)
            )
            for i, copy in enumerate(self.copies)
        ]


def _rel(path: str, prefix: str) -> str:
    return ".".join(clean_name(part) for part in path.removeprefix(prefix).split("."))


def _group_at(
    layers: tuple[ImportedLayer, ...], start: int, prefix: str, readers: dict[str, set[int]]
) -> _Group | None:
    """The repeated group whose copies sit at ``prefix``0., ``prefix``1., ... from ``start``, if any."""
    copies: list[list[ImportedLayer]] = []
    stop = start
    while stop < len(layers) and layers[stop].path.startswith(prefix):
        index = layers[stop].path.removeprefix(prefix).split(".", 1)[0]
        if not index.isdigit() or "." not in layers[stop].path.removeprefix(prefix):
            return None
        if int(index) == len(copies):
            copies.append([])
        elif int(index) != len(copies) - 1:
            return None
        copies[-1].append(layers[stop])
        stop += 1
    if len(copies) < 2 or not layers[start].sources:
        return None
    source = layers[start].sources[0]
    rel: list[tuple[ImportedLayer, ...]] = []
    outside = source
    for i, copy in enumerate(copies):
        own = {layer.name: _rel(layer.path, f"{prefix}{i}.") for layer in copy}
        if any(s not in own and s != outside for layer in copy for s in layer.sources):
            return None  # reads a layer of another copy, or outside, other than the copy's input
        rel.append(
            tuple(
                replace(layer, name=own[layer.name], sources=tuple(own.get(s, INPUT) for s in layer.sources))
                for layer in copy
            )
        )
        outside = copy[-1].name
    inner = {layer.name for copy in copies for layer in copy[:-1]}
    if any(not start <= j < stop for name in inner for j in readers.get(name, ())):
        return None  # a layer after the run reads inside a copy: only the last layer is the block's output
    starts = tuple(layers.index(copy[0], start, stop) for copy in copies)
    lasts = tuple(copy[-1].name for copy in copies)
    return _Group(prefix.removesuffix("."), tuple(rel), source, start, stop, lasts, starts)


def _groups(layers: tuple[ImportedLayer, ...]) -> list[_Group]:
    """Every run of copies ``P.0.*``, ``P.1.*``, ... at any depth (runs may nest), in order."""
    readers: dict[str, set[int]] = {}
    for j, layer in enumerate(layers):
        for s in layer.sources:
            readers.setdefault(s, set()).add(j)
    found: dict[str, _Group] = {}
    for i, layer in enumerate(layers):
        parts = layer.path.split(".")
        for k in range(1, len(parts) - 1):
            prefix = ".".join(parts[:k])
            if parts[k] == "0" and prefix not in found and (i == 0 or not layers[i - 1].path.startswith(prefix + ".")):
                group = _group_at(layers, i, prefix + ".", readers)
                if group is not None:
                    found[prefix] = group
    return sorted(found.values(), key=lambda g: (g.start, -g.stop))


def _choose(groups: list[_Group]) -> tuple[list[_Group], list[_Group]]:
    """The groups called with ``repeat`` (the outermost whose copies fit one block; inside one that
    does not, the groups within its copies) and the copies left to call one by one."""
    chosen: list[_Group] = []
    alone: list[_Group] = []

    def visit(group: _Group) -> None:
        try:
            unify(list(group.copies))
            chosen.append(group)
            return
        except Misfit:
            pass
        inner = [g for g in groups if group.start <= g.start and g.stop <= group.stop and g is not group]
        outermost = [g for g in inner if not any(o is not g and o.start <= g.start and g.stop <= o.stop for o in inner)]
        for g in outermost:
            visit(g)
        for one in group.split():
            if not any(one.start < g.stop and g.start < one.stop for g in outermost):
                alone.append(one)

    for group in groups:
        if not any(o is not group and o.start <= group.start and group.stop <= o.stop for o in groups):
            visit(group)
    return sorted(chosen, key=lambda g: g.start), alone


#: Container classes that say nothing about what a block is.
_CONTAINERS = {"Module", "Sequential", "ModuleList", "ModuleDict", "GraphModule", ""}


def _block_name(members: list[_Group], classes: dict[str, str]) -> str:
    """The class of the copies, lower-cased (``Bottleneck`` -> ``bottleneck``) where they share
    one that is not a container, else the first group's name + ``_block``."""
    found = {
        classes.get(g.path if len(g.copies) == 1 else f"{g.path}.{i}", "")
        for g in members
        for i in range(len(g.copies))
    }
    if len(found) == 1 and (cls := found.pop()) not in _CONTAINERS:
        return clean_name(cls).lower()
    name = clean_name(members[0].path.split(".")[-1]) + "_block"
    return name if name[0].isalpha() else clean_name(members[0].path) + "_block"  # layers.8 -> layers_8_block


def _blocks(groups: list[_Group], classes: dict[str, str]) -> list[tuple[str, Block, list[_Group]]]:
    """Blocks for the groups chosen (:func:`_choose`): one shared by groups of the same structure
    where it fits, else one per group. Copies left alone are called one by one where two or more
    of them (of one class) fit one block (MobileNetV2's inverted residuals, which differ in
    strides and widths); the rest stays flat."""
    chosen, alone = _choose(groups)
    kinds: dict[str, list[_Group]] = {}
    for group in chosen:
        signature = value_key([(t.name, t.kind, list(t.sources)) for t in common_layers(list(group.copies))])
        kinds.setdefault(signature, []).append(group)
    result = []
    for members in kinds.values():
        try:
            result.append((members, unify([c for g in members for c in g.copies])))
        except Misfit:
            result += [([group], unify(list(group.copies))) for group in members]
    result += _bins(alone, classes)
    named, taken = [], set()
    for members, block in result:
        name = _block_name(members, classes)
        while name in taken or name in KINDS:
            name += "_"
        taken.add(name)
        named.append((name, block, members))
    return named


def _bins(ones: list[_Group], classes: dict[str, str]) -> list[tuple[list[_Group], Block]]:
    """Single copies put together greedily, per class, into blocks that fit them all; a block
    that only one copy would call is none."""
    bins: list[tuple[list[_Group], Block]] = []
    for one in ones:
        cls = classes.get(one.path, "")
        for j, (members, _) in enumerate(bins):
            if classes.get(members[0].path, "") != cls:
                continue
            try:
                bins[j] = ([*members, one], unify([m.copies[0] for m in (*members, one)]))
                break
            except Misfit:
                continue
        else:
            try:
                bins.append(([one], unify([one.copies[0]])))
            except Misfit:
                continue
    return [(members, block) for members, block in bins if len(members) > 1]


def _call(name: str, block: Block, group: _Group, values: list[dict[str, Any]], source: str | None) -> str:
    """The call of ``block`` for ``group``: its arguments, repeat and per-copy changes."""
    n = len(group.copies)
    common = {a: v for a, v in values[0].items() if all(value_key(c[a]) == value_key(v) for c in values)}
    fields: dict[str, Any] = {a: v for a, v in common.items() if value_key(v) != value_key(block.args[a])}
    base = {**block.args, **fields}
    changes = [{a: v for a, v in c.items() if value_key(v) != value_key(base[a])} for c in values]
    if n > 1:
        fields["repeat"] = n
    if changes[0]:
        fields["first"] = changes[0]
    if changes[-1]:
        fields["last"] = changes[-1]
    middle = {i: c for i, c in enumerate(changes[1:-1], 1) if c}
    if middle:
        fields["at"] = middle
    if source is not None:
        fields["from"] = source
    fields["name"] = _call_name(group)
    return entry_line(name, fields)


def _call_name(group: _Group) -> str:
    """The group's module path (``layer1``: its copies are ``layer1.0``, ...; ``features.2``)."""
    return ".".join(clean_name(part) for part in group.path.split("."))


def block_lines(graph: ImportedGraph) -> list[str]:
    """``blocks:`` (where copies repeat) and ``layers:`` of the emitted file."""
    layers = graph.layers
    named = _blocks(_groups(layers), graph.classes)
    if not named:
        return ["layers:", *flat_lines(layers)]
    lines = ["blocks:"]
    calls: dict[int, tuple[str, Block, _Group, list[dict[str, Any]]]] = {}
    for name, block, members in named:
        args = ", ".join(f"{a}: {flow(v)}" for a, v in block.args.items())
        lines += [f"  {name}:", *([f"    args: {{{args}}}"] if block.args else []), "    layers:"]
        lines += flat_lines(block.layers, INPUT, "      ")
        offset = 0
        for group in members:
            n = len(group.copies)
            calls[group.start] = (name, block, group, list(block.values[offset : offset + n]))
            offset += n
    renamed: dict[str, str] = {}
    lines.append("layers:")
    previous, i = INPUT, 0
    while i < len(layers):
        if i in calls:
            name, block, group, values = calls[i]
            source = renamed.get(group.source, group.source)
            lines.append(_call(name, block, group, values, None if source == previous else source))
            previous = renamed[group.output] = _call_name(group)
            i = group.stop
            continue
        layer = replace(layers[i], sources=tuple(renamed.get(s, s) for s in layers[i].sources))
        lines += flat_lines([layer], previous)
        previous = layer.name
        i += 1
    return lines
