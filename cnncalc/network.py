"""Structure: a document's layer lists, ``from:`` references, ``repeat``, ``when`` and parameterised
blocks expanded into one flat list of named nodes (a DAG in definition order): a :class:`Network`.

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

from typing import Any

from .errors import CnncalcError, SchemaError, YamlPath
from .expressions import Expr
from .layers import Layer
from .spec import IN_CHANNELS, INPUT, Block, Item, SourceMap, Spec, suggest
from .spec.entries import MAX_REPEAT

#: Bounds that keep any file cheap to expand: layers after every block and repeat is expanded,
#: entries expanded on the way (repeats of blocks that add nothing still cost work), block nesting.
MAX_LAYERS = MAX_REPEAT
MAX_EXPANSION_STEPS = 10 * MAX_LAYERS
MAX_BLOCK_DEPTH = 32


# The records below are plain classes with slots, read-only by convention: a frozen dataclass costs
# about 0.7 ms of start-up to define, a noticeable part of a 0.17 s `cnncalc summarize`.


class Scope:
    """The arguments of one block call; ``caller`` is the scope its argument expressions see.
    Compared by identity: the copies of a repeated block share one."""

    __slots__ = ("args", "block", "caller")

    def __init__(self, block: str, args: dict[str, Any], caller: Scope | None) -> None:
        self.block, self.args, self.caller = block, args, caller


class Node:
    """One layer of the expanded network: its full name, the layer, the indices of the nodes it
    reads (-1: the network input), the block scope its fields see, where it is written, whether a
    field reads ``in_channels`` and the names of the nodes in ``inputs`` ("input" for the input)."""

    __slots__ = ("inputs", "layer", "name", "path", "scope", "sources", "uses_in_channels")

    def __init__(
        self,
        name: str,
        layer: Layer,
        inputs: tuple[int, ...],
        scope: Scope | None,
        path: YamlPath,
        uses_in_channels: bool = False,
        sources: tuple[str, ...] = (),
    ) -> None:
        self.name, self.layer, self.inputs, self.scope, self.path = name, layer, inputs, scope, path
        self.uses_in_channels, self.sources = uses_in_channels, sources


class _Expansion:
    """The state of one expansion."""

    __slots__ = ("blocks", "groups", "names", "nodes", "scopes", "stack", "steps", "where")

    def __init__(self, blocks: dict[str, Block], where: SourceMap) -> None:
        self.blocks, self.where = blocks, where
        self.nodes: list[Node] = []
        self.stack: list[str] = []
        self.names: set[str] = set()
        #: Entries expanded, layers or not: repeats of blocks that add nothing still cost work.
        self.steps = 0
        #: (call entry, first copy or not, calling scope) -> its Scope: the copies of a repeated
        #: block share one, as they share values, so an evaluation binds their arguments once.
        self.scopes: dict[tuple[int, bool, int], Scope] = {}
        #: Name prefix -> what it groups: a block call ("bottleneck") or repeated copies ("bottleneck x3").
        self.groups: dict[str, str] = {}


def _static(value: Any, scope: Scope | None, what: str) -> Any:
    """The value of ``value`` from block arguments alone (for repeat and when): an int or a bool."""
    if isinstance(value, (bool, int)):
        return value
    if isinstance(value, str):  # when: "name" or "not name"
        negate = value.startswith("not ")
        result = _lookup(value.removeprefix("not ").strip(), scope, what)
        if not isinstance(result, bool):
            raise SchemaError(f"{what}: {value!r} must be a true/false argument, got {result!r}")
        return not result if negate else result
    if value.tree[0] == "name":
        return _lookup(value.tree[1], scope, what)
    from .symbolic import evaluate

    values = {name: _lookup(name, scope, what) for name in value.names}
    if any(isinstance(v, bool) or not isinstance(v, int) for v in values.values()):
        raise SchemaError(f"{what}: {value.text!r} needs whole-number arguments")
    return evaluate(value, values, symbolic=False)


def _lookup(name: str, scope: Scope | None, what: str) -> Any:
    if scope is None or name not in scope.args:
        where = f"block {scope.block}" if scope else "the file"
        raise SchemaError(f"{what}: {name} is not an argument of {where}; {what} must be known without symbols")
    return _static(scope.args[name], scope.caller, what)


def expand(
    items: tuple[Item, ...], blocks: dict[str, Block], where: SourceMap | None = None
) -> tuple[tuple[Node, ...], dict[str, str]]:
    """The flat list of nodes of a network whose top-level entries are ``items``, and what each
    name prefix groups (block calls and repeats); errors are placed with ``where``."""
    state = _Expansion(blocks, where or SourceMap())
    _expand(items, None, "", -1, state)
    return tuple(state.nodes), state.groups


def _expand(items: tuple[Item, ...], scope: Scope | None, prefix: str, source: int, state: _Expansion) -> int:
    local: dict[str, int] = {INPUT: source}
    later = {item.name for item in items}
    last = source
    for item in items:
        try:
            out = _expand_item(item, scope, prefix, last, local, later, state)
        except CnncalcError as err:
            if err.location is not None:  # placed already, in a block this item calls
                raise
            # Point at the field at fault where there is one, else at the entry itself.
            where = (*item.path, *err.path) if err.path else item.path[:-1]
            label = f"layer {prefix}{item.name} ({item.kind})"
            raise SchemaError(err.reason, location=state.where.location(*where), layer=label) from None
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
                raise SchemaError(
                    f"from: {ref!r} comes later; a layer reads only layers before it (no cycles)", path=("from",)
                )
            else:
                known = [k for k in local if k != INPUT] + [INPUT]
                raise SchemaError(
                    f"from: no layer named {ref!r} before this one{suggest(ref, known, foreign_names=False)}",
                    path=("from",),
                )
    if item.when is not None and not _static(item.when, scope, "when"):
        # Left out: its first input takes its place (an optional shortcut becomes the identity,
        # an optional residual add passes the main path on).
        return sources[0]
    try:
        count = _static(item.repeat, scope, "repeat")
    except CnncalcError as err:
        raise SchemaError(err.reason, path=("repeat",)) from None
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= MAX_LAYERS:
        raise SchemaError(f"repeat must be a whole number from 0 to {MAX_LAYERS:,}, got {count!r}", path=("repeat",))
    if count == 0:
        return sources[0]  # no copies: the input passes on, as for a layer left out
    inputs = tuple(sources)
    if count > 1:
        state.groups[f"{prefix}{item.name}"] = f"{item.kind} x{count}"
    for r in range(count):
        state.steps += 1
        if state.steps > MAX_EXPANSION_STEPS:
            raise SchemaError(
                f"the network takes more than {MAX_EXPANSION_STEPS:,} steps to expand (repeats of repeats?)"
            )
        name = f"{prefix}{item.name}" + (f".{r}" if count > 1 else "")
        if item.layer is not None:
            layer = item.first_layer if r == 0 and item.first_layer is not None else item.layer
            if len(state.nodes) >= MAX_LAYERS:
                raise SchemaError(f"the network expands to more than {MAX_LAYERS:,} layers")
            if name in state.names:
                raise SchemaError(f"the name {name!r} is already used by another layer (inside a block call?)")
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
        raise SchemaError(f"block {item.kind} calls itself ({chain})")
    if len(state.stack) >= MAX_BLOCK_DEPTH:
        raise SchemaError(f"blocks are nested more than {MAX_BLOCK_DEPTH} deep")
    first = r == 0 and bool(item.first_args)
    inner = state.scopes.get((id(item), first, id(scope)))
    if inner is None:
        args = {**block.defaults, **item.args, **(item.first_args if first else {})}
        inner = state.scopes[(id(item), first, id(scope))] = Scope(item.kind, args, scope)
    state.groups.setdefault(name, item.kind)
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


class Network:
    """An expanded network: what evaluation needs, and where each value of its file stands. A plain
    class with slots, read-only by convention (a dataclass costs start-up time to define)."""

    __slots__ = ("defaults", "groups", "input", "multiples", "name", "nodes", "symbol_names", "where")

    def __init__(
        self,
        name: str,
        input: tuple[Any, ...],
        defaults: dict[str, int],
        multiples: dict[str, int],
        symbol_names: frozenset[str],
        nodes: tuple[Node, ...],
        where: SourceMap,
        groups: dict[str, str] | None = None,
    ) -> None:
        self.name, self.input, self.defaults, self.multiples = name, input, defaults, multiples
        #: Every symbol the file uses (input, fields outside block arguments) or gives a default for.
        self.symbol_names = symbol_names
        self.nodes, self.where = nodes, where
        #: Name prefix -> the block call or repeat it names, for views that collapse them.
        self.groups = groups or {}

    @property
    def rank(self) -> int:
        """Spatial axes of the input: 0 (flat features), 1 ([C, L]), 2 ([C, H, W]) or 3 ([C, D, H, W])."""
        return len(self.input) - 1


def network(spec: Spec) -> Network:
    """The network a document describes, its blocks and repeats expanded."""
    nodes, groups = expand(spec.items, spec.blocks, spec.where)
    header = spec.header
    names = set(header.symbols)
    for value in header.input:
        if isinstance(value, Expr):
            names |= value.names
    for expr in expressions(spec.items):
        names |= expr.names
    for block in spec.blocks.values():
        for expr in expressions(block.items):
            names |= expr.names - set(block.defaults)
    return Network(
        header.name,
        header.input,
        header.defaults,
        header.multiples,
        frozenset(names - {IN_CHANNELS}),
        nodes,
        spec.where,
        groups,
    )


__all__ = ["MAX_BLOCK_DEPTH", "MAX_EXPANSION_STEPS", "MAX_LAYERS", "Network", "Node", "Scope", "expand", "network"]
