"""Layer lists as written: entries, their structural fields (name, from, when, repeat, first) and
block definitions, read and validated into :class:`Item` and :class:`Block` (not yet expanded).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ..errors import SchemaError, YamlPath
from ..expressions import Expr, is_name
from ..layers import KINDS, Layer, parse_field
from .messages import first_error, suggest

#: The largest ``repeat`` (and the most layers a network may expand to: see cnncalc.network).
MAX_REPEAT = 20_000
STRUCTURAL = ("name", "from", "when", "repeat", "first")
#: Names with a meaning of their own in layer fields and ``from``.
INPUT = "input"
IN_CHANNELS = "in_channels"


class Item:
    """One entry of a layer list as written: a layer kind (``layer``) or a block call (``args``).
    Read-only by convention; a plain class with slots (a frozen dataclass costs 0.7 ms to define)."""

    __slots__ = ("args", "first_args", "first_layer", "kind", "layer", "name", "path", "repeat", "sources", "when")

    def __init__(
        self,
        kind: str,
        name: str,
        layer: Layer | None,
        first_layer: Layer | None,
        args: dict[str, Any],
        first_args: dict[str, Any],
        sources: tuple[str, ...] | None,
        when: bool | str | None,
        repeat: int | Expr,
        path: YamlPath,
    ) -> None:
        self.kind, self.name, self.layer, self.first_layer = kind, name, layer, first_layer
        self.args, self.first_args, self.sources, self.when = args, first_args, sources, when
        self.repeat, self.path = repeat, path


class Block:
    """A named, parameterised sub-network: argument defaults (None: required) and its items."""

    __slots__ = ("defaults", "items", "name", "path")

    def __init__(self, name: str, defaults: dict[str, Any], items: tuple[Item, ...], path: YamlPath) -> None:
        self.name, self.defaults, self.items, self.path = name, defaults, items, path


def assign_names(kinds: list[str], given: list[str | None]) -> list[str]:
    """Names for a list of entries: the given ones, and for the rest the kind's prefix (a block's
    own name) numbered from 1, skipping names already given (conv1, conv2, pool1, fc1...)."""
    taken = {n for n in given if n}
    counters: dict[str, int] = {}
    names = []
    for kind, name in zip(kinds, given, strict=True):
        if name:
            names.append(name)
            continue
        prefix = KINDS[kind].prefix if kind in KINDS else kind
        n = counters.get(prefix, 0)
        while True:
            n += 1
            candidate = f"{prefix}{n}"
            if candidate not in taken:
                break
        counters[prefix] = n
        taken.add(candidate)
        names.append(candidate)
    return names


# --- reading entries -------------------------------------------------------------------------------


def _entry(item: Any, index: int) -> tuple[str, dict[str, Any]]:
    """(kind, fields) of an entry written as ``relu`` or ``{conv2d: {fields}}``."""
    if isinstance(item, str):
        return item, {}
    if isinstance(item, Mapping) and len(item) == 1:
        ((kind, fields),) = item.items()
        if fields is None:
            fields = {}
        if not isinstance(kind, str):
            raise SchemaError(f"layer {index + 1}: a layer kind must be a name, got {kind!r}")
        if not isinstance(fields, Mapping):
            raise SchemaError(f"{kind}: fields must be a mapping such as {{out_channels: 64}}, got {fields!r}")
        return kind, dict(fields)
    if isinstance(item, Mapping):
        keys = ", ".join(map(str, item)) or "nothing"
        raise SchemaError(
            f"layer {index + 1}: a layer is one `kind: {{fields}}` mapping or a bare kind, got keys {keys} "
            "(indent the fields under the kind)"
        )
    raise SchemaError(f"layer {index + 1}: a layer is a kind or a `kind: {{fields}}` mapping, got {item!r}")


def _name(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value or not all(ch.isalnum() or ch in "_." for ch in value):
        raise SchemaError(f"name must be letters, digits, _ and ., got {value!r}", path=("name",))
    if value == INPUT:
        raise SchemaError("'input' names the input of the list; choose another name", path=("name",))
    return value


def _sources(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in items):
        raise SchemaError(f"from must be a layer name or a list of names, got {value!r}", path=("from",))
    return tuple(str(v) for v in items)


def _when(value: Any) -> bool | str | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and is_name(value.removeprefix("not ").strip()):
        return value
    raise SchemaError(f"when must be true, false, an argument name or 'not NAME', got {value!r}", path=("when",))


def _repeat(value: Any) -> int | Expr:
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise SchemaError(f"repeat must be a whole number, got {value!r}", path=("repeat",))
    try:
        parsed = parse_field(value)
    except ValueError as err:
        raise SchemaError(f"repeat {err}", path=("repeat",)) from None
    if isinstance(parsed, int) and not 0 <= parsed <= MAX_REPEAT:
        raise SchemaError(f"repeat must be from 0 to {MAX_REPEAT:,}, got {parsed}", path=("repeat",))
    return parsed  # type: ignore[no-any-return]


def _validate_layer(cls: type[Layer], fields: dict[str, Any], sub: YamlPath) -> Layer:
    try:
        return cls.model_validate(fields)
    except ValidationError as exc:
        loc, message = first_error(exc, list(cls.model_fields))
        name = ".".join(str(p) for p in loc)
        raise SchemaError(
            f"{name} {message}" if name else message, path=(*sub, *loc), key=message.startswith("is not a field")
        ) from None


def _arg_value(value: Any, key: str) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, str)):
        try:
            return parse_field(value)
        except ValueError as err:
            raise SchemaError(f"{key} {err}", path=(key,)) from None
    raise SchemaError(f"{key} must be a whole number, an expression or true/false, got {value!r}", path=(key,))


def read_items(raw: Any, blocks: Mapping[str, Any], where: YamlPath) -> tuple[Item, ...]:
    """The entries of a layer list, validated: kinds or block calls, fields, structural fields.
    ``blocks`` maps block names to their argument defaults; ``where`` is the list's YAML path."""
    if not isinstance(raw, list) or not raw:
        raise SchemaError("layers must be a non-empty list of layers")
    entries = []
    for i, item in enumerate(raw):
        try:
            entries.append(_entry(item, i))
        except SchemaError as err:
            raise err.relocated(within=(i,)) from None
    given: list[str | None] = []
    for i, (_, fields) in enumerate(entries):
        try:
            given.append(_name(fields["name"]) if "name" in fields else None)
        except SchemaError as err:
            raise err.relocated(within=(i, entries[i][0])) from None
    names = assign_names([k for k, _ in entries], given)
    seen: dict[str, int] = {}
    items = []
    for i, ((kind, fields), name) in enumerate(zip(entries, names, strict=True)):
        label = f"layer {name} ({kind})"
        if name in seen:
            raise SchemaError(
                f"the name {name!r} is already used by layer {seen[name] + 1}", path=(i, kind, "name"), layer=label
            )
        seen[name] = i
        try:
            items.append(_item(kind, fields, name, blocks, (*where, i, kind)))
        except SchemaError as err:
            known = kind in KINDS or kind in blocks
            within = (i, kind) if known else (i,)
            raise err.relocated(layer=label if known else f"layer {i + 1}", within=within) from None
    return tuple(items)


def _item(kind: str, fields: dict[str, Any], name: str, blocks: Mapping[str, Any], path: YamlPath) -> Item:
    structural = {k: fields.pop(k) for k in STRUCTURAL if k in fields}
    sources = _sources(structural.get("from"))
    when = _when(structural.get("when"))
    repeat = _repeat(structural.get("repeat"))
    first = structural.get("first")
    if first is not None and not isinstance(first, Mapping):
        raise SchemaError(f"first must be a mapping of fields for the first repeat, got {first!r}", path=("first",))
    first = dict(first or {})
    cls = KINDS.get(kind)
    if cls is not None:
        if cls.arity is None and (sources is None or len(sources) < 2):
            raise SchemaError(f"{kind} merges two or more inputs: give them as from: [a, b]", path=("from",))
        if cls.arity == 1 and sources is not None and len(sources) > 1:
            raise SchemaError(f"{kind} takes one input; merge several with add, mul or concat first", path=("from",))
        layer = _validate_layer(cls, fields, ())
        first_layer = _validate_layer(cls, {**fields, **first}, ("first",)) if first else None
        return Item(kind, name, layer, first_layer, {}, {}, sources, when, repeat, path)
    if kind not in blocks:
        choices = sorted([*KINDS, *blocks])
        raise SchemaError(f"unknown layer kind {kind!r}{suggest(kind, choices)}")
    if sources is not None and len(sources) > 1:
        raise SchemaError(f"block {kind} takes one input; merge several with add, mul or concat first", path=("from",))
    defaults = blocks[kind]
    args = {}
    for key in [*fields, *first]:
        if key not in defaults:
            raise SchemaError(
                f"{key} is not an argument of block {kind}{suggest(str(key), list(defaults), foreign_names=False)}",
                path=(key,),
                key=True,
            )
    for key, value in [*fields.items(), *first.items()]:
        if value is None:
            raise SchemaError(
                f"{key} needs a value (null only marks a required argument in the block's args)", path=(key,)
            )
    for key, value in fields.items():
        args[key] = _arg_value(value, str(key))
    missing = [k for k, v in defaults.items() if v is None and k not in args]
    if missing:
        raise SchemaError(f"block {kind} needs the argument {missing[0]!r}")
    first_args = {key: _arg_value(value, str(key)) for key, value in first.items()}
    return Item(kind, name, None, None, args, first_args, sources, when, repeat, path)


def read_blocks(raw: Any) -> dict[str, Block]:
    """``blocks:`` as Block definitions: ``name: {args: {arg: default or null}, layers: [...]}``."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise SchemaError("blocks must be a mapping of block names to {args, layers}")
    heads: dict[str, dict[str, Any]] = {}
    for name, body in raw.items():
        path: YamlPath = ("blocks", name)
        if not isinstance(name, str) or not is_name(name):
            raise SchemaError(f"a block name must be a name, got {name!r}", path=path, key=True)
        if name in KINDS:
            raise SchemaError(f"the block name {name!r} is a layer kind already", path=path, key=True)
        if not isinstance(body, Mapping) or "layers" not in body:
            raise SchemaError(f"block {name} needs layers (and optionally args)", path=path)
        extra = [k for k in body if k not in ("args", "layers")]
        if extra:
            raise SchemaError(
                f"block {name}: {extra[0]!r} is not a field (args, layers)", path=(*path, extra[0]), key=True
            )
        args = body.get("args") or {}
        if not isinstance(args, Mapping):
            raise SchemaError(
                f"block {name}: args must map argument names to defaults (null: required)", path=(*path, "args")
            )
        for arg, default in args.items():
            if not isinstance(arg, str) or not is_name(arg) or arg in (INPUT, IN_CHANNELS):
                raise SchemaError(f"block {name}: {arg!r} cannot name an argument", path=(*path, "args", arg), key=True)
            try:
                _arg_value(default, arg)
            except SchemaError as err:
                raise SchemaError(f"block {name}: argument {err.reason}", path=(*path, "args", arg)) from None
        heads[name] = dict(args)
    blocks = {}
    for name, body in raw.items():
        where: YamlPath = ("blocks", name, "layers")
        try:
            items = read_items(body["layers"], heads, where)
        except SchemaError as err:
            raise err.relocated(within=where) from None
        defaults = {k: _arg_value(v, k) for k, v in heads[name].items()}
        blocks[name] = Block(name, defaults, items, ("blocks", name))
    return blocks
