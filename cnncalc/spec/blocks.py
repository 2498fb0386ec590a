"""Block definitions (``blocks:``): their arguments, their inputs and their layers, read into
:class:`Block` (the layers as :class:`~cnncalc.spec.entries.Item`, not yet expanded)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import SchemaError, YamlPath
from ..expressions import is_name
from ..layers import KINDS
from .entries import IN_CHANNELS, INPUT, Head, Item, arg_value, read_items

#: The fields of a block definition.
FIELDS = ("args", "inputs", "layers")


class Block:
    """A named, parameterised sub-network: argument defaults (None: required), the names of its
    inputs (``("input",)`` unless it declares several) and its items. A plain class with slots."""

    __slots__ = ("defaults", "inputs", "items", "name", "path")

    def __init__(
        self,
        name: str,
        defaults: dict[str, Any],
        items: tuple[Item, ...],
        path: YamlPath,
        inputs: tuple[str, ...] = (INPUT,),
    ) -> None:
        self.name, self.defaults, self.items, self.path, self.inputs = name, defaults, items, path, inputs

    @property
    def head(self) -> Head:
        """What a call of this block needs to know of it."""
        return self.defaults, self.inputs


def _inputs(name: str, body: Mapping[str, Any], path: YamlPath) -> tuple[str, ...]:
    """``inputs: [x, prev]``: the names the block's layers read its inputs by, in the order a call
    gives them (``from: [a, b]``); ``("input",)`` where none are declared."""
    raw = body.get("inputs")
    if raw is None:
        return (INPUT,)
    where = (*path, "inputs")
    if not isinstance(raw, list) or not raw:
        raise SchemaError(f"block {name}: inputs must be a list of names, such as [x, prev], got {raw!r}", path=where)
    for i, value in enumerate(raw):
        if not isinstance(value, str) or not is_name(value) or value == IN_CHANNELS:
            raise SchemaError(f"block {name}: {value!r} cannot name an input", path=(*where, i))
        if value in raw[:i]:
            raise SchemaError(f"block {name}: the input {value!r} is named twice", path=(*where, i))
    return tuple(raw)


def _head(name: Any, body: Any, path: YamlPath) -> Head:
    """A block's argument defaults as written and its inputs, checked."""
    if not isinstance(name, str) or not is_name(name):
        raise SchemaError(f"a block name must be a name, got {name!r}", path=path, key=True)
    if name in KINDS:
        raise SchemaError(f"the block name {name!r} is a layer kind already", path=path, key=True)
    if not isinstance(body, Mapping) or "layers" not in body:
        raise SchemaError(f"block {name} needs layers (and optionally args, inputs)", path=path)
    extra = [k for k in body if k not in FIELDS]
    if extra:
        raise SchemaError(
            f"block {name}: {extra[0]!r} is not a field ({', '.join(FIELDS)})", path=(*path, extra[0]), key=True
        )
    inputs = _inputs(name, body, path)
    args = body.get("args") or {}
    if not isinstance(args, Mapping):
        raise SchemaError(
            f"block {name}: args must map argument names to defaults (null: required)", path=(*path, "args")
        )
    for arg, default in args.items():
        if not isinstance(arg, str) or not is_name(arg) or arg in (INPUT, IN_CHANNELS, *inputs):
            raise SchemaError(f"block {name}: {arg!r} cannot name an argument", path=(*path, "args", arg), key=True)
        try:
            arg_value(default, arg)
        except SchemaError as err:
            raise SchemaError(f"block {name}: argument {err.reason}", path=(*path, "args", arg)) from None
    return dict(args), inputs


def read_blocks(raw: Any, known: Mapping[str, Head] | None = None, origin: YamlPath = ()) -> dict[str, Block]:
    """``blocks:`` as Block definitions: ``name: {args: {arg: default or null}, inputs: [x, prev],
    layers: [...]}``. Their layers may call each other and the blocks ``known`` (imported).
    ``origin`` starts the paths of the blocks and their items (an imported file's key); errors
    are relative to the file's root."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise SchemaError("blocks must be a mapping of block names to {args, inputs, layers}")
    heads: dict[str, Head] = dict(known or {})
    for name, body in raw.items():
        heads[name] = _head(name, body, ("blocks", name))
    blocks = {}
    for name, body in raw.items():
        where: YamlPath = ("blocks", name, "layers")
        defaults, inputs = heads[name]
        try:
            items = read_items(body["layers"], heads, (*origin, *where), inputs)
        except SchemaError as err:
            raise err.relocated(within=where) from None
        parsed = {k: arg_value(v, k) for k, v in defaults.items()}
        blocks[name] = Block(name, parsed, items, (*origin, "blocks", name), inputs)
    return blocks


__all__ = ["FIELDS", "Block", "read_blocks"]
