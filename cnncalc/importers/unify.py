"""One block for several copies of a submodule: the layers they share (the longest copy's, every
copy's among them in order), arguments for fields that differ between copies, ``when`` for layers
only some copies have, each copy's argument values. Raises :class:`Misfit` where no block fits."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

from ..expressions import FUNCTIONS, is_name
from ..layers import KINDS
from ..spec import IN_CHANNELS
from .graph import INPUT, ImportedLayer
from .text import clean_name, flow


class Misfit(Exception):
    """The copies cannot be written as one block."""


def _default(kind: str, key: str) -> Any:
    field = KINDS[kind].model_fields.get(key)
    if field is None or field.is_required():
        raise Misfit(f"{kind}.{key} has no default")
    return field.default


def common_layers(bodies: list[tuple[ImportedLayer, ...]]) -> list[ImportedLayer]:
    """The layers of the longest copy; every copy's layers are among them, in order, of one kind."""
    base = list(bodies[max(range(len(bodies)), key=lambda i: len(bodies[i]))])
    order = {layer.name: j for j, layer in enumerate(base)}
    for body in bodies:
        places = [order.get(layer.name, -1) for layer in body]
        if -1 in places or places != sorted(places):
            raise Misfit("copies differ in their layers")
        if any(base[order[layer.name]].kind != layer.kind for layer in body):
            raise Misfit("copies differ in a layer's kind")
    return base


@dataclass(frozen=True)
class Block:
    """A block's layers (fields naming its arguments), its arguments' defaults, each copy's values."""

    layers: tuple[ImportedLayer, ...]
    args: dict[str, Any]
    values: tuple[dict[str, Any], ...]


def value_key(value: Any) -> str:
    return flow(value)


def _resolve(source: str, present: set[str], by_name: dict[str, ImportedLayer]) -> str:
    """What cnncalc reads for ``source`` in a copy without some layers: a layer left out (``when``
    false) passes its first input on."""
    while source != INPUT and source not in present:
        source = by_name[source].sources[0]
    return source


def _main_path_first(bodies: list[tuple[ImportedLayer, ...]]) -> list[tuple[ImportedLayer, ...]]:
    """Each add or mul that some copies lack reading its main path first (``x + self.conv(x)``
    reads [input, conv]; the main path is the last layer before it that every copy has): left out
    (``when``), a merge passes its first input on. The order changes no count."""
    template = common_layers(bodies)
    everywhere = {layer.name for layer in template if all(any(b.name == layer.name for b in body) for body in bodies)}
    main: dict[str, str] = {}
    for j, layer in enumerate(template):
        if layer.kind in ("add", "mul") and layer.name not in everywhere:
            before = [t.name for t in template[:j] if t.name in everywhere]
            if before and before[-1] in layer.sources:
                main[layer.name] = before[-1]

    def ordered(layer: ImportedLayer) -> ImportedLayer:
        first = main.get(layer.name)
        if first is None or first not in layer.sources:
            return layer
        return replace(layer, sources=(first, *(s for s in layer.sources if s != first)))

    return [tuple(ordered(layer) for layer in body) for body in bodies]


def unify(bodies: list[tuple[ImportedLayer, ...]]) -> Block:
    """One block for all ``bodies`` (copies' layers, relative names), or :class:`Misfit`."""
    bodies = _main_path_first(bodies)
    template = common_layers(bodies)
    by_name = {layer.name: layer for layer in template}
    present = [{layer.name for layer in body} for body in bodies]
    for body, names in zip(bodies, present, strict=True):
        for layer in body:
            if tuple(_resolve(s, names, by_name) for s in by_name[layer.name].sources) != layer.sources:
                raise Misfit("copies read their layers differently")
        if _resolve(template[-1].name, names, by_name) != body[-1].name:
            raise Misfit("a copy's output would not be its last layer")
    per_copy: list[dict[str, Any]] = [{} for _ in bodies]
    when: dict[str, str] = {}
    for layer in template:
        pattern = tuple(layer.name in names for names in present)
        if all(pattern):
            continue
        arg = _arg_name(clean_name(layer.name.split(".")[0]), "has_")
        if any(per_copy[i].get(arg, p) != p for i, p in enumerate(pattern)):
            raise Misfit("optional layers of one submodule come and go apart")
        for i, p in enumerate(pattern):
            per_copy[i][arg] = p
        when[layer.name] = arg
    varying: list[tuple[str, str, list[Any]]] = []
    fields: dict[str, dict[str, Any]] = {}
    for layer in template:
        copies = [{b.name: b for b in body}.get(layer.name) for body in bodies]
        keys = dict.fromkeys(k for c in copies if c is not None for k in c.fields)
        fields[layer.name] = {}
        for key in keys:
            vals = [None if c is None else c.fields[key] if key in c.fields else _default(c.kind, key) for c in copies]
            if len({value_key(v) for v in vals if v is not None}) == 1:
                fields[layer.name][key] = next(v for v in vals if v is not None)
            elif any(v is None for v, c in zip(vals, copies, strict=True) if c is not None):
                raise Misfit("a field that is null in some copies")
            elif not all(_argument_value(v) for v in vals if v is not None):
                raise Misfit(f"{layer.name}.{key} differs between copies in a value no argument takes")
            else:
                varying.append((layer.name, key, vals))
    arg_names = _argument_names(varying, set(per_copy[0]))
    for (layer_name, key, vals), arg in zip(varying, arg_names, strict=True):
        fields[layer_name][key] = arg
        for i, v in enumerate(vals):
            if v is not None:
                per_copy[i][arg] = v
    args = {
        arg: Counter(value_key(c.get(arg)) for c in per_copy if arg in c)
        for arg in dict.fromkeys(a for c in per_copy for a in c)
    }
    defaults = {
        arg: next(c[arg] for c in per_copy if arg in c and value_key(c[arg]) == count.most_common(1)[0][0])
        for arg, count in args.items()
    }
    layers = tuple(
        replace(layer, fields={**fields[layer.name], **({"when": when[layer.name]} if layer.name in when else {})})
        for layer in template
    )
    return Block(layers, defaults, tuple({**defaults, **c} for c in per_copy))


#: Words an argument cannot be: the parser's functions and words, and the names a block has.
_RESERVED = {*FUNCTIONS, "and", "or", "not", "true", "false", INPUT, IN_CHANNELS}


def _arg_name(text: str, prefix: str) -> str:
    """``text`` as an argument name, ``prefix`` put before it where it is none (``3`` -> ``has_3``)."""
    return text if is_name(text) and text not in _RESERVED else f"{prefix}{text}"


def _argument_value(value: Any) -> bool:
    """Whether a block argument can take ``value``: a whole number, true/false or a list of numbers."""
    if isinstance(value, list):
        return bool(value) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    return isinstance(value, int)


def _argument_names(varying: list[tuple[str, str, list[Any]]], taken: set[str]) -> list[str]:
    """An argument per varying field: fields of one name whose values agree in every copy share
    one named after the field (``stride``), others are named after their layer (``conv3_out_channels``)."""
    clusters: dict[str, list[list[Any]]] = {}
    chosen: list[tuple[str, int]] = []
    for _, key, vals in varying:
        found = clusters.setdefault(key, [])
        for j, other in enumerate(found):
            if all(a is None or b is None or value_key(a) == value_key(b) for a, b in zip(vals, other, strict=True)):
                found[j] = [b if a is None else a for a, b in zip(vals, other, strict=True)]
                chosen.append((key, j))
                break
        else:
            found.append(list(vals))
            chosen.append((key, len(found) - 1))
    first = {c: layer for (layer, _, _), c in reversed(list(zip(varying, chosen, strict=True)))}
    names = []
    seen: dict[str, str] = {}  # the values in every copy -> the argument holding them
    for (_, key, _), c in zip(varying, chosen, strict=True):
        family = "channels" if key in ("out_channels", "groups") else key  # strides stay strides
        values = f"{family} {value_key(clusters[c[0]][c[1]])}"
        name = key if len(clusters[key]) == 1 else _arg_name(f"{clean_name(first[c])}_{key}", "layer_")
        # a depthwise conv's groups are its out_channels in every copy: one argument for both
        name = seen.setdefault(values, name if name not in taken else f"{name}_arg")
        names.append(name)
    return names


__all__ = ["Block", "Misfit", "common_layers", "unify", "value_key"]
