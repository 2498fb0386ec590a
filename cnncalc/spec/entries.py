"""Layer lists as written: entries, their structural fields (name, from, when, repeat, first, last,
at, training_only) and block definitions, read and validated into :class:`Item` and :class:`Block`
(not yet expanded: see :mod:`cnncalc.network`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ..errors import ExpressionError, SchemaError, YamlPath
from ..expressions import Expr, parse_condition
from ..layers import KINDS, Layer, parse_field
from .messages import first_error, suggest

#: The largest ``repeat`` (and the most layers a network may expand to: see cnncalc.network).
MAX_REPEAT = 20_000
STRUCTURAL = ("name", "from", "when", "repeat", "first", "last", "at", "training_only")
#: The longest list a block argument may be: one value per spatial axis.
MAX_LIST = 3
#: Names with a meaning of their own in layer fields and ``from``.
INPUT = "input"
IN_CHANNELS = "in_channels"


#: A change to some copies of a repeated entry: which ("first", "last", or an index, negative from
#: the end: ``at``), the fields it sets (a layer's as written, a block call's arguments parsed) and
#: where it is written.
Override = tuple[str | int, dict[str, Any], YamlPath]


class Item:
    """One entry of a layer list as written: a layer kind (``layer``, its ``fields`` as written) or
    a block call (``args``), with the overrides of some copies (``first``, ``last``, ``at``).
    Read-only by convention; a plain class with slots (a frozen dataclass costs 0.7 ms to define)."""

    __slots__ = (
        "args",
        "fields",
        "kind",
        "layer",
        "name",
        "overrides",
        "path",
        "repeat",
        "sources",
        "training_only",
        "variants",
        "when",
    )

    def __init__(
        self,
        kind: str,
        name: str,
        layer: Layer | None,
        args: dict[str, Any],
        sources: tuple[str, ...] | None,
        when: bool | Expr | None,
        repeat: int | Expr,
        path: YamlPath,
        *,
        fields: dict[str, Any] | None = None,
        overrides: tuple[Override, ...] = (),
        variants: tuple[Layer, ...] = (),
        training_only: bool = False,
    ) -> None:
        self.kind, self.name, self.layer, self.args = kind, name, layer, args
        self.sources, self.when, self.repeat, self.path = sources, when, repeat, path
        self.fields, self.overrides = fields or {}, overrides
        #: A layer entry's layer with each override applied alone (what its expressions are read from).
        self.variants = variants
        #: Run only in training (an auxiliary head): its params count, its MACs and activations
        #: only in the training view (see cnncalc.network for what it marks besides itself).
        self.training_only = training_only


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


def _name(value: Any, inputs: tuple[str, ...] = (INPUT,)) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value or not all(ch.isalnum() or ch in "_." for ch in value):
        raise SchemaError(f"name must be letters, digits, _ and ., got {value!r}", path=("name",))
    if value == INPUT or value in inputs:
        which = "the input of the list" if inputs == (INPUT,) else "an input of the block"
        raise SchemaError(f"{value!r} names {which}; choose another name", path=("name",))
    return value


def _sources(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in items):
        raise SchemaError(f"from must be a layer name or a list of names, got {value!r}", path=("from",))
    return tuple(str(v) for v in items)


def _when(value: Any) -> bool | Expr | None:
    """``when``: true, false, or a condition on block arguments (``downsample``, ``stride > 1``,
    ``not (a and b)``), read by the restricted condition parser."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return parse_condition(value, flags=True)
        except ExpressionError as err:
            raise SchemaError(f"when: {err.reason}", path=("when",)) from None
    raise SchemaError(
        f"when must be true, false or a condition on the block's arguments (downsample, stride > 1), got {value!r}",
        path=("when",),
    )


def _flag(value: Any, key: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise SchemaError(f"{key} must be true or false, got {value!r}", path=(key,))
    return value


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


def _overrides(structural: dict[str, Any]) -> list[Override]:
    """``first``, ``last`` and ``at`` as written, checked to be mappings (at: by copy index)."""
    found: list[Override] = []
    for key in ("first", "last"):
        value = structural.get(key)
        if value is not None:
            if not isinstance(value, Mapping):
                raise SchemaError(f"{key} must be a mapping of fields for the {key} repeat, got {value!r}", path=(key,))
            found.append((key, dict(value), (key,)))
    at = structural.get("at")
    if at is None:
        return found
    if not isinstance(at, Mapping) or not at:
        raise SchemaError(
            f"at must map copy indices to fields, such as {{1: {{stride: 2}}}} (-1: the last copy), got {at!r}",
            path=("at",),
        )
    for index, value in at.items():
        if isinstance(index, bool) or not isinstance(index, int) or abs(index) > MAX_REPEAT:
            raise SchemaError(
                f"at: {index!r} is not a copy index (0, 1, ... from the first; -1, -2, ... from the last)",
                path=("at", index),
                key=True,
            )
        if not isinstance(value, Mapping):
            raise SchemaError(
                f"at {index} must be a mapping of fields for copy {index}, got {value!r}", path=("at", index)
            )
        found.append((index, dict(value), ("at", index)))
    return found


def validate_layer(cls: type[Layer], fields: dict[str, Any], sub: YamlPath) -> Layer:
    """``fields`` as a layer of kind ``cls``, or a SchemaError at the field at fault below ``sub``."""
    try:
        return cls.model_validate(fields)
    except ValidationError as exc:
        loc, message = first_error(exc, list(cls.model_fields))
        name = ".".join(str(p) for p in loc)
        if message.startswith("is not a field") and name.strip().endswith(")") and "(" not in name:
            # make_divisible(c, 8) in {...}: YAML's flow mapping splits it at the comma
            message += (
                ": it looks like the end of an expression cut at a comma; inside {...} quote an expression "
                "with commas ('make_divisible(c, 8)'), or write the fields one per line"
            )
        raise SchemaError(
            f"{name} {message}" if name else message, path=(*sub, *loc), key=message.startswith("is not a field")
        ) from None


def arg_value(value: Any, key: str, where: YamlPath = (), listed: bool = True) -> Any:
    """A block argument as written: true/false, a whole number or an expression, a condition on the
    caller's arguments (``stride > 1``: true or false), or a list of 1 to 3 numbers or expressions,
    one per spatial axis (``k: [1, 7]``), as a tuple. ``listed``: not inside a list already."""
    if listed and (value is None or isinstance(value, bool)):
        return value
    if listed and isinstance(value, list) and 1 <= len(value) <= MAX_LIST:
        return tuple(arg_value(v, key, where, listed=False) for v in value)
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        try:
            return parse_field(value)
        except ValueError as err:
            if listed and isinstance(value, str):  # a condition (stride > 1), known where the block is called
                try:
                    return parse_condition(value, flags=True)
                except ExpressionError:
                    pass
            raise SchemaError(f"{key} {err}", path=(*where, key)) from None
    raise SchemaError(
        f"{key} must be a whole number, an expression, true/false or a list of 1 to {MAX_LIST} numbers "
        f"(one per spatial axis), got {value!r}",
        path=(*where, key),
    )


#: What a call of a block needs to know of it: its argument defaults (None: required) and the
#: names of its inputs.
Head = tuple[Mapping[str, Any], tuple[str, ...]]


def read_items(
    raw: Any, blocks: Mapping[str, Head], where: YamlPath, inputs: tuple[str, ...] = (INPUT,)
) -> tuple[Item, ...]:
    """The entries of a layer list, validated: kinds or block calls, fields, structural fields.
    ``blocks`` maps block names to their heads; ``where`` is the list's YAML path; ``inputs`` the
    names of the list's inputs (a block's, or ``input``), which no entry may take."""
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
            given.append(_name(fields["name"], inputs) if "name" in fields else None)
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


def _item(kind: str, fields: dict[str, Any], name: str, blocks: Mapping[str, Head], path: YamlPath) -> Item:
    structural = {k: fields.pop(k) for k in STRUCTURAL if k in fields}
    sources = _sources(structural.get("from"))
    when = _when(structural.get("when"))
    repeat = _repeat(structural.get("repeat"))
    training_only = _flag(structural.get("training_only"), "training_only")
    overrides = _overrides(structural)
    cls = KINDS.get(kind)
    if cls is not None:
        if cls.arity is None and (sources is None or len(sources) < 2):
            raise SchemaError(f"{kind} merges two or more inputs: give them as from: [a, b]", path=("from",))
        if cls.arity == 1 and sources is not None and len(sources) > 1:
            raise SchemaError(f"{kind} takes one input; merge several with add, mul or concat first", path=("from",))
        layer = validate_layer(cls, fields, ())
        # Each override alone, for errors at its own field (the copies' layers are made when expanded).
        variants = tuple(validate_layer(cls, {**fields, **values}, where) for _, values, where in overrides)
        return Item(
            kind, name, layer, {}, sources, when, repeat, path,
            fields=fields, overrides=tuple(overrides), variants=variants, training_only=training_only,
        )  # fmt: skip
    if kind not in blocks:
        choices = sorted([*KINDS, *blocks])
        raise SchemaError(f"unknown layer kind {kind!r}{suggest(kind, choices)}")
    defaults, inputs = blocks[kind]
    if len(inputs) == 1 and sources is not None and len(sources) > 1:
        raise SchemaError(f"block {kind} takes one input; merge several with add, mul or concat first", path=("from",))
    if len(inputs) > 1 and (sources is None or len(sources) != len(inputs)):
        given = "none" if sources is None else f"{len(sources)}"
        raise SchemaError(
            f"block {kind} takes {len(inputs)} inputs ({', '.join(inputs)}): give them in that order as "
            f"from: [{', '.join(chr(97 + i) for i in range(len(inputs)))}] (given: {given})",
            path=("from",),
        )
    args = _call_args(kind, fields, defaults, ())
    missing = [k for k, v in defaults.items() if v is None and k not in args]
    if missing:
        raise SchemaError(f"block {kind} needs the argument {missing[0]!r}")
    changes = tuple((which, _call_args(kind, values, defaults, where), where) for which, values, where in overrides)
    return Item(kind, name, None, args, sources, when, repeat, path, overrides=changes, training_only=training_only)


def _call_args(kind: str, fields: dict[str, Any], defaults: Mapping[str, Any], where: YamlPath) -> dict[str, Any]:
    """A block call's arguments (or an override's), each an argument of the block with a value."""
    for key, value in fields.items():
        if key not in defaults:
            raise SchemaError(
                f"{key} is not an argument of block {kind}{suggest(str(key), list(defaults), foreign_names=False)}",
                path=(*where, key),
                key=True,
            )
        if value is None:
            raise SchemaError(
                f"{key} needs a value (null only marks a required argument in the block's args)", path=(*where, key)
            )
    return {key: arg_value(value, str(key), where) for key, value in fields.items()}
