"""Structure: layer lists, ``from:`` references, ``repeat``, ``when`` and parameterised blocks,
expanded into one flat list of named nodes (a DAG in definition order).

Every layer entry may carry the structural fields ``name``, ``from`` (a name or a list of names of
earlier entries in the same list, or ``input``), ``when`` (a block argument: false leaves the entry
out, and a reference to it means its first input), ``repeat`` (n chained copies named ``name.0`` ...
``name.{n-1}``) and ``first`` (field or argument overrides for copy 0). A block is a named list of
layers with arguments; calling it looks like a layer kind. Names are hierarchical, like PyTorch
module paths: ``layer3.4.conv2``.

Scoping is lexical: a block's fields see its own arguments and the file's symbols; arguments are
evaluated where the block is called.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from .errors import CnncalcError, SchemaError
from .layers import KINDS, Layer, _parse_field
from .symbolic import Expr, is_name

#: Bounds that keep any file cheap to expand.
MAX_NODES = 20_000
MAX_BLOCK_DEPTH = 32
STRUCTURAL = ("name", "from", "when", "repeat", "first")
#: Names with a meaning of their own in layer fields and ``from``.
INPUT = "input"
IN_CHANNELS = "in_channels"

Path_ = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Item:
    """One entry of a layer list as written: a layer kind (``layer``) or a block call (``args``)."""

    kind: str
    name: str
    layer: Layer | None
    first_layer: Layer | None
    args: dict[str, Any]
    first_args: dict[str, Any]
    sources: tuple[str, ...] | None
    when: bool | str | None
    repeat: int | Expr
    path: Path_


@dataclass(frozen=True, slots=True)
class Block:
    """A named, parameterised sub-network: argument defaults (None: required) and its items."""

    name: str
    defaults: dict[str, Any]
    items: tuple[Item, ...]
    path: Path_


@dataclass(frozen=True, slots=True, eq=False)
class Scope:
    """The arguments of one block call; ``caller`` is the scope its argument expressions see."""

    block: str
    args: dict[str, Any]
    caller: Scope | None


@dataclass(frozen=True, slots=True)
class Node:
    """One layer of the expanded network: its full name, the layer, the indices of the nodes it
    reads (-1: the network input), the block scope its fields see and where it is written."""

    name: str
    layer: Layer
    inputs: tuple[int, ...]
    scope: Scope | None
    path: Path_
    uses_in_channels: bool = False
    #: Names of the nodes in ``inputs`` ("input" for the network input).
    sources: tuple[str, ...] = ()


def suggest(word: str, choices: list[str]) -> str:
    """ " (did you mean 'x'?)" for the closest choice, or nothing."""
    import difflib  # only for a message: not on the start-up path

    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


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


class EntryError(SchemaError):
    """A schema error inside one entry; ``subpath`` says where below the entry, ``key`` whether
    it points at a mapping key."""

    def __init__(self, message: str, subpath: Path_ = (), key: bool = False, label: str | None = None):
        self.subpath = subpath
        self.key = key
        self.label = label
        super().__init__(message)


def _entry(item: Any, index: int) -> tuple[str, dict[str, Any]]:
    """(kind, fields) of an entry written as ``relu`` or ``{conv2d: {fields}}``."""
    if isinstance(item, str):
        return item, {}
    if isinstance(item, Mapping) and len(item) == 1:
        ((kind, fields),) = item.items()
        if fields is None:
            fields = {}
        if not isinstance(kind, str):
            raise EntryError(f"layer {index + 1}: a layer kind must be a name, got {kind!r}")
        if not isinstance(fields, Mapping):
            raise EntryError(f"{kind}: fields must be a mapping such as {{out_channels: 64}}, got {fields!r}")
        return kind, dict(fields)
    if isinstance(item, Mapping):
        keys = ", ".join(map(str, item)) or "nothing"
        raise EntryError(
            f"layer {index + 1}: a layer is one `kind: {{fields}}` mapping or a bare kind, got keys {keys} "
            "(indent the fields under the kind)"
        )
    raise EntryError(f"layer {index + 1}: a layer is a kind or a `kind: {{fields}}` mapping, got {item!r}")


def _name(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value or not all(ch.isalnum() or ch in "_." for ch in value):
        raise EntryError(f"name must be letters, digits, _ and ., got {value!r}", ("name",))
    if value == INPUT:
        raise EntryError("'input' names the input of the list; choose another name", ("name",))
    return value


def _sources(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in items):
        raise EntryError(f"from must be a layer name or a list of names, got {value!r}", ("from",))
    return tuple(str(v) for v in items)


def _when(value: Any) -> bool | str | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and is_name(value.removeprefix("not ").strip()):
        return value
    raise EntryError(f"when must be true, false, an argument name or 'not NAME', got {value!r}", ("when",))


def _repeat(value: Any) -> int | Expr:
    if value is None:
        return 1
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise EntryError(f"repeat must be a whole number, got {value!r}", ("repeat",))
    try:
        parsed = _parse_field(value)
    except ValueError as err:
        raise EntryError(f"repeat {err}", ("repeat",)) from None
    if isinstance(parsed, int) and not 0 <= parsed <= MAX_NODES:
        raise EntryError(f"repeat must be from 0 to {MAX_NODES:,}, got {parsed}", ("repeat",))
    return parsed  # type: ignore[no-any-return]


def _validate_layer(cls: type[Layer], fields: dict[str, Any], sub: Path_) -> Layer:
    from .schema import first_error

    try:
        return cls.model_validate(fields)
    except ValidationError as exc:
        loc, message = first_error(exc, list(cls.model_fields))
        name = ".".join(str(p) for p in loc)
        raise EntryError(
            f"{name} {message}" if name else message, (*sub, *loc), message.startswith("is not a field")
        ) from None


def _arg_value(value: Any, key: str) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, str)):
        try:
            return _parse_field(value)
        except ValueError as err:
            raise EntryError(f"{key} {err}", (key,)) from None
    raise EntryError(f"{key} must be a whole number, an expression or true/false, got {value!r}", (key,))


def read_items(raw: Any, blocks: Mapping[str, Any], where: Path_) -> tuple[Item, ...]:
    """The entries of a layer list, validated: kinds or block calls, fields, structural fields.
    ``blocks`` maps block names to their argument defaults; ``where`` is the list's YAML path."""
    if not isinstance(raw, list) or not raw:
        raise EntryError("layers must be a non-empty list of layers")
    entries = []
    for i, item in enumerate(raw):
        try:
            entries.append(_entry(item, i))
        except EntryError as err:
            raise EntryError(err.reason, (i,)) from None
    given: list[str | None] = []
    for i, (_, fields) in enumerate(entries):
        try:
            given.append(_name(fields["name"]) if "name" in fields else None)
        except EntryError as err:
            raise EntryError(err.reason, (i, entries[i][0], *err.subpath)) from None
    names = assign_names([k for k, _ in entries], given)
    seen: dict[str, int] = {}
    items = []
    for i, ((kind, fields), name) in enumerate(zip(entries, names, strict=True)):
        label = f"layer {name} ({kind})"
        if name in seen:
            raise EntryError(
                f"the name {name!r} is already used by layer {seen[name] + 1}", (i, kind, "name"), label=label
            )
        seen[name] = i
        try:
            items.append(_item(kind, fields, name, blocks, (*where, i, kind)))
        except EntryError as err:
            sub = (i, kind, *err.subpath) if kind in KINDS or kind in blocks else (i,)
            raise EntryError(
                err.reason, sub, err.key, err.label or (label if kind in KINDS or kind in blocks else f"layer {i + 1}")
            ) from None
    return tuple(items)


def _item(kind: str, fields: dict[str, Any], name: str, blocks: Mapping[str, Any], path: Path_) -> Item:
    structural = {k: fields.pop(k) for k in STRUCTURAL if k in fields}
    sources = _sources(structural.get("from"))
    when = _when(structural.get("when"))
    repeat = _repeat(structural.get("repeat"))
    first = structural.get("first")
    if first is not None and not isinstance(first, Mapping):
        raise EntryError(f"first must be a mapping of fields for the first repeat, got {first!r}", ("first",))
    first = dict(first or {})
    cls = KINDS.get(kind)
    if cls is not None:
        if cls.arity is None and (sources is None or len(sources) < 2):
            raise EntryError(f"{kind} merges two or more inputs: give them as from: [a, b]", ("from",))
        if cls.arity == 1 and sources is not None and len(sources) > 1:
            raise EntryError(f"{kind} takes one input; merge several with add, mul or concat first", ("from",))
        layer = _validate_layer(cls, fields, ())
        first_layer = _validate_layer(cls, {**fields, **first}, ("first",)) if first else None
        return Item(kind, name, layer, first_layer, {}, {}, sources, when, repeat, path)
    if kind not in blocks:
        choices = sorted([*KINDS, *blocks])
        raise EntryError(f"unknown layer kind {kind!r}{suggest(kind, choices)}")
    if sources is not None and len(sources) > 1:
        raise EntryError(f"block {kind} takes one input; merge several with add, mul or concat first", ("from",))
    defaults = blocks[kind]
    args = {}
    for key in [*fields, *first]:
        if key not in defaults:
            raise EntryError(
                f"{key} is not an argument of block {kind}{suggest(str(key), list(defaults))}", (key,), True
            )
    for key, value in [*fields.items(), *first.items()]:
        if value is None:
            raise EntryError(f"{key} needs a value (null only marks a required argument in the block's args)", (key,))
    for key, value in fields.items():
        args[key] = _arg_value(value, str(key))
    missing = [k for k, v in defaults.items() if v is None and k not in args]
    if missing:
        raise EntryError(f"block {kind} needs the argument {missing[0]!r}", ())
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
        path: Path_ = ("blocks", name)
        if not isinstance(name, str) or not is_name(name):
            raise EntryError(f"a block name must be a name, got {name!r}", path, True)
        if name in KINDS:
            raise EntryError(f"the block name {name!r} is a layer kind already", path, True)
        if not isinstance(body, Mapping) or "layers" not in body:
            raise EntryError(f"block {name} needs layers (and optionally args)", path)
        extra = [k for k in body if k not in ("args", "layers")]
        if extra:
            raise EntryError(f"block {name}: {extra[0]!r} is not a field (args, layers)", (*path, extra[0]), True)
        args = body.get("args") or {}
        if not isinstance(args, Mapping):
            raise EntryError(
                f"block {name}: args must map argument names to defaults (null: required)", (*path, "args")
            )
        for arg, default in args.items():
            if not isinstance(arg, str) or not is_name(arg) or arg in (INPUT, IN_CHANNELS):
                raise EntryError(f"block {name}: {arg!r} cannot name an argument", (*path, "args", arg), True)
            try:
                _arg_value(default, arg)
            except EntryError as err:
                raise EntryError(f"block {name}: argument {err.reason}", (*path, "args", arg)) from None
        heads[name] = dict(args)
    blocks = {}
    for name, body in raw.items():
        where: Path_ = ("blocks", name, "layers")
        try:
            items = read_items(body["layers"], heads, where)
        except EntryError as err:
            raise EntryError(err.reason, (*where, *err.subpath), err.key, err.label) from None
        defaults = {k: _arg_value(v, k) for k, v in heads[name].items()}
        blocks[name] = Block(name, defaults, items, ("blocks", name))
    return blocks


# --- expansion -------------------------------------------------------------------------------------


@dataclass
class _Expansion:
    blocks: dict[str, Block]
    nodes: list[Node] = field(default_factory=list)
    stack: list[str] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    #: Entries expanded, layers or not: repeats of blocks that add nothing still cost work.
    steps: int = 0
    #: (call entry, first copy or not, calling scope) -> its Scope: the copies of a repeated
    #: block share one, as they share values, so an evaluation binds their arguments once.
    scopes: dict[tuple[int, bool, int], Scope] = field(default_factory=dict)


def _static(value: Any, scope: Scope | None, what: str) -> Any:
    """The value of ``value`` from block arguments alone (for repeat and when): an int or a bool."""
    if isinstance(value, (bool, int)):
        return value
    if isinstance(value, str):  # when: "name" or "not name"
        negate = value.startswith("not ")
        result = _lookup(value.removeprefix("not ").strip(), scope, what)
        if not isinstance(result, bool):
            raise CnncalcError(f"{what}: {value!r} must be a true/false argument, got {result!r}")
        return not result if negate else result
    if value.tree[0] == "name":
        return _lookup(value.tree[1], scope, what)
    from .symbolic import evaluate

    values = {name: _lookup(name, scope, what) for name in value.names}
    if any(isinstance(v, bool) or not isinstance(v, int) for v in values.values()):
        raise CnncalcError(f"{what}: {value.text!r} needs whole-number arguments")
    return evaluate(value, values, symbolic=False)


def _lookup(name: str, scope: Scope | None, what: str) -> Any:
    if scope is None or name not in scope.args:
        where = f"block {scope.block}" if scope else "the file"
        raise CnncalcError(f"{what}: {name} is not an argument of {where}; {what} must be known without symbols")
    return _static(scope.args[name], scope.caller, what)


class _FieldProblem(CnncalcError):
    def __init__(self, message: str, field: str):
        self.field = field
        super().__init__(message)


class ExpansionError(SchemaError):
    """An error found while expanding blocks and references, at ``path`` in the YAML."""

    def __init__(self, message: str, path: Path_, label: str):
        self.path = path
        self.label = label
        super().__init__(message)


def expand(items: tuple[Item, ...], blocks: dict[str, Block]) -> tuple[Node, ...]:
    """The flat list of nodes of a network whose top-level entries are ``items``."""
    state = _Expansion(blocks)
    _expand(items, None, "", -1, state)
    return tuple(state.nodes)


def _expand(items: tuple[Item, ...], scope: Scope | None, prefix: str, source: int, state: _Expansion) -> int:
    local: dict[str, int] = {INPUT: source}
    later = {item.name for item in items}
    last = source
    for item in items:
        try:
            out = _expand_item(item, scope, prefix, last, local, later, state)
        except ExpansionError:
            raise
        except CnncalcError as err:
            # Point at the field at fault where there is one, else at the entry itself.
            where = (*item.path, err.field) if isinstance(err, _FieldProblem) else item.path[:-1]
            raise ExpansionError(err.reason, where, f"layer {prefix}{item.name} ({item.kind})") from None
        local[item.name] = out
        last = out
    return last


def _expand_item(
    item: Item, scope: Scope | None, prefix: str, last: int, local: dict[str, int], later: set[str], state: _Expansion
) -> int:
    sources = [last]
    if item.sources is not None:
        sources = []
        for ref in item.sources:
            if ref in local:
                sources.append(local[ref])
            elif ref in later:
                raise _FieldProblem(
                    f"from: {ref!r} comes later; a layer reads only layers before it (no cycles)", "from"
                )
            else:
                known = [k for k in local if k != INPUT] + [INPUT]
                raise _FieldProblem(f"from: no layer named {ref!r} before this one{suggest(ref, known)}", "from")
    if item.when is not None and not _static(item.when, scope, "when"):
        # Left out: its first input takes its place (an optional shortcut becomes the identity,
        # an optional residual add passes the main path on).
        return sources[0]
    try:
        count = _static(item.repeat, scope, "repeat")
    except CnncalcError as err:
        raise _FieldProblem(err.reason, "repeat") from None
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= MAX_NODES:
        raise _FieldProblem(f"repeat must be a whole number from 0 to {MAX_NODES:,}, got {count!r}", "repeat")
    if count == 0:
        return sources[0]  # no copies: the input passes on, as for a layer left out
    inputs = tuple(sources)
    for r in range(count):
        state.steps += 1
        if state.steps > 10 * MAX_NODES:
            raise CnncalcError(f"the network takes more than {10 * MAX_NODES:,} steps to expand (repeats of repeats?)")
        name = f"{prefix}{item.name}" + (f".{r}" if count > 1 else "")
        if item.layer is not None:
            layer = item.first_layer if r == 0 and item.first_layer is not None else item.layer
            if len(state.nodes) >= MAX_NODES:
                raise CnncalcError(f"the network expands to more than {MAX_NODES:,} layers")
            if name in state.names:
                raise CnncalcError(f"the name {name!r} is already used by another layer (inside a block call?)")
            state.names.add(name)
            uses = _uses_in_channels(layer)
            source_names = tuple("input" if i < 0 else state.nodes[i].name for i in inputs)
            state.nodes.append(Node(name, layer, inputs, scope, item.path, uses, source_names))
            out = len(state.nodes) - 1
        else:
            out = _call(item, r, scope, name, inputs[0], state)
        inputs = (out,)
    return inputs[0]


def _call(item: Item, r: int, scope: Scope | None, name: str, source: int, state: _Expansion) -> int:
    block = state.blocks[item.kind]
    if item.kind in state.stack:
        chain = " -> ".join([*state.stack, item.kind])
        raise CnncalcError(f"block {item.kind} calls itself ({chain})")
    if len(state.stack) >= MAX_BLOCK_DEPTH:
        raise CnncalcError(f"blocks are nested more than {MAX_BLOCK_DEPTH} deep")
    first = r == 0 and bool(item.first_args)
    inner = state.scopes.get((id(item), first, id(scope)))
    if inner is None:
        args = {**block.defaults, **item.args, **(item.first_args if first else {})}
        inner = state.scopes[(id(item), first, id(scope))] = Scope(item.kind, args, scope)
    state.stack.append(item.kind)
    try:
        return _expand(block.items, inner, name + ".", source, state)
    finally:
        state.stack.pop()


def _uses_in_channels(layer: Layer) -> bool:
    for key in type(layer).model_fields:
        value = getattr(layer, key)
        for v in value if isinstance(value, tuple) else (value,):
            if isinstance(v, Expr) and IN_CHANNELS in v.names:
                return True
    return False


def expressions(items: tuple[Item, ...]) -> list[Expr]:
    """Every expression written in ``items`` (fields and block arguments)."""
    found: list[Expr] = []
    for item in items:
        values: list[Any] = [*item.args.values(), *item.first_args.values(), item.repeat]
        for layer in (item.layer, item.first_layer):
            if layer is not None:
                values += [getattr(layer, k) for k in type(layer).model_fields]
        for value in values:
            for v in value if isinstance(value, tuple) else (value,):
                if isinstance(v, Expr):
                    found.append(v)
    return found
