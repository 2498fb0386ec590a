"""Structure: a document's layer lists, ``from:`` references, ``repeat``, ``when`` and parameterised
blocks expanded into one flat list of named nodes (a DAG in definition order): a :class:`Network`.

Every layer entry may carry the structural fields ``name``, ``from`` (a name or a list of names of
earlier entries in the same list, or an input of the list), ``when`` (true, false or a condition on
block arguments: false leaves the entry out, and a reference to it means its first input),
``repeat`` (n chained copies named ``name.0`` ... ``name.{n-1}``, each also a name for ``from``),
``first``, ``last`` and ``at`` (field or argument overrides for some copies) and ``training_only``
(the entry runs only in training, as an auxiliary head: so does every layer computed only from it).
A block is a named list of layers with arguments and inputs (``input``, or several it names);
calling it looks like a layer kind. Names are hierarchical, like PyTorch module paths:
``layer3.4.conv2``.

Scoping is lexical: a block's fields see its own arguments and the file's symbols; arguments are
evaluated where the block is called (see :mod:`cnncalc.scopes`).
"""

from __future__ import annotations

from typing import Any

from .errors import CnncalcError, SchemaError, YamlPath
from .expressions import Expr
from .layers import KINDS, Layer
from .nodes import Network, Node, Repeat, count_symbols, depth_values
from .scopes import Depths, Scope, holds, static, with_lists
from .spec import IN_CHANNELS, INPUT, Block, Item, SourceMap, Spec, suggest
from .spec.entries import MAX_REPEAT, validate_layer

#: Bounds that keep any file cheap to expand: layers after every block and repeat is expanded,
#: entries expanded on the way (repeats of blocks that add nothing still cost work), block nesting.
MAX_LAYERS = MAX_REPEAT
MAX_EXPANSION_STEPS = 10 * MAX_LAYERS
MAX_BLOCK_DEPTH = 32


class _Expansion:
    """The state of one expansion."""

    __slots__ = (
        "blocks", "depths", "groups", "layers", "marked", "names", "nodes", "repeats", "scopes", "stack", "steps", "where"
    )  # fmt: skip

    def __init__(self, blocks: dict[str, Block], where: SourceMap, depths: Depths) -> None:
        self.blocks, self.where, self.depths = blocks, where, depths
        #: Repeats whose count stays symbolic, each laid out as one copy (see :class:`Repeat`).
        self.repeats: list[Repeat] = []
        self.nodes: list[Node] = []
        self.stack: list[str] = []
        self.names: set[str] = set()
        #: Entries expanded, layers or not: repeats of blocks that add nothing still cost work.
        self.steps = 0
        #: (call entry, its overrides applied, calling scope) -> its Scope: the copies of a repeated
        #: block alike share one, as they share values, so an evaluation binds their arguments once.
        self.scopes: dict[tuple[int, tuple[int, ...], int], Scope] = {}
        #: Whether a node runs only in training yet (until then no input needs checking for it).
        self.marked = False
        #: (layer entry, its overrides applied, list arguments) -> its layer, where the changed
        #: fields stand and whether it reads in_channels, made once.
        self.layers: dict[tuple[Any, ...], tuple[Layer, dict[str, YamlPath] | None, bool]] = {}
        #: Name prefix -> what it groups: a block call ("bottleneck") or repeated copies ("bottleneck x3").
        self.groups: dict[str, str] = {}


def expand(
    items: tuple[Item, ...], blocks: dict[str, Block], where: SourceMap, depths: Depths
) -> tuple[tuple[Node, ...], dict[str, str], tuple[Repeat, ...]]:
    """The flat list of nodes of a network whose top-level entries are ``items``, what each name
    prefix groups (block calls and repeats), and the repeats laid out as one copy because their
    count stays symbolic (``depths``: the file's symbols as counts see them); errors are placed
    with ``where``."""
    state = _Expansion(blocks, where, depths)
    _expand(items, None, "", (-1,), state, False)
    if state.nodes and state.nodes[-1].training_only:
        node = state.nodes[-1]
        raise SchemaError(
            "the network's output is its last layer, and this one runs only in training (training_only, "
            "or computed only from such layers): end with a layer that runs in inference",
            location=state.where.location(*node.path[:-1]),
            layer=f"layer {node.name} ({node.layer.kind})",
        )
    return tuple(state.nodes), state.groups, tuple(state.repeats)


def _expand(
    items: tuple[Item, ...],
    scope: Scope | None,
    prefix: str,
    sources: tuple[int, ...],
    state: _Expansion,
    training: bool,
    names: tuple[str, ...] = (INPUT,),
) -> int:
    """Expands ``items`` reading ``sources`` (by ``names``: a block's inputs, or ``input``);
    ``training``: inside a call marked training_only."""
    local: dict[str, int] = dict(zip(names, sources, strict=True))
    later = {item.name for item in items}
    last = sources[0]
    for item in items:
        try:
            outs = _expand_item(item, scope, prefix, _inputs(item, last, local, later, names), state, training)
        except CnncalcError as err:
            if err.location is not None:  # placed already, in a block this item calls
                raise
            # Point at the field at fault where there is one, else at the entry itself.
            where = (*item.path, *err.path) if err.path else item.path[:-1]
            label = f"layer {prefix}{item.name} ({item.kind})"
            raise SchemaError(err.reason, location=state.where.location(*where), layer=label) from None
        if len(outs) > 1:  # each copy by its name too (cell.1), as NASNet's next cell reads two of them
            local.update((f"{item.name}.{r}", out) for r, out in enumerate(outs))
        local[item.name] = last = outs[-1]
    return last


def _inputs(item: Item, last: int, local: dict[str, int], later: set[str], names: tuple[str, ...]) -> tuple[int, ...]:
    """The nodes an entry reads: those its ``from`` names, else the entry before it; ``names``:
    the inputs of the list."""
    if item.sources is None:
        return (last,)
    sources = []
    for ref in item.sources:
        if ref in local:
            sources.append(local[ref])
        elif ref in later:
            raise SchemaError(
                f"from: {ref!r} comes later; a layer reads only layers before it (no cycles)", path=("from",)
            )
        elif ref == INPUT:  # in a block of several inputs: name one of them
            raise SchemaError(
                f"from: 'input' is not an input of this block; its inputs: {', '.join(names)}", path=("from",)
            )
        else:
            known = list(local)  # the list's inputs and the layers before this one
            raise SchemaError(
                f"from: no layer named {ref!r} before this one{suggest(ref, known, foreign_names=False)}",
                path=("from",),
            )
    return tuple(sources)


def _count(item: Item, scope: Scope | None, depths: Depths) -> Any:
    """How many copies ``repeat`` makes, checked; and that every ``at`` index names one of them.
    A sympy expression where the count reads a symbol that stays symbolic."""
    if type(item.repeat) is int and not item.overrides:  # most entries: a number, read when written
        return item.repeat
    try:
        count = static(item.repeat, scope, "repeat", depths)
    except CnncalcError as err:
        raise SchemaError(err.reason, path=("repeat",)) from None
    if not isinstance(count, (bool, int)) and not count.free_symbols:  # a number from symbolic arithmetic
        count = int(count) if count.is_integer else count
    elif not isinstance(count, (bool, int)):  # symbolic: the copies laid out as one, counted count times
        if item.overrides:
            raise SchemaError(
                f"repeat: {_text(item.repeat)} stays symbolic, and first/last/at make the copies differ: the "
                f"totals have no closed form in {count_symbols(count)}; give {count_symbols(count)} a value (--set)",
                path=("repeat",),
            )
        return count
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= MAX_LAYERS:
        raise SchemaError(f"repeat must be a whole number from 0 to {MAX_LAYERS:,}, got {count!r}", path=("repeat",))
    seen: dict[int, int] = {}
    for which, _, where in item.overrides if count else ():
        if isinstance(which, int):
            copy = which + count if which < 0 else which
            if not 0 <= copy < count:
                copies = f"{count} cop{'y' if count == 1 else 'ies'}: 0 to {count - 1}, or -{count} to -1"
                raise SchemaError(f"at: copy {which} is out of range ({copies})", path=where)
            if copy in seen:
                raise SchemaError(f"at: {seen[copy]} and {which} are the same copy of {count}", path=where)
            seen[copy] = which
    return count


def _text(repeat: int | Expr) -> str:
    return repeat.text if isinstance(repeat, Expr) else str(repeat)


def _holds(when: bool | Expr, scope: Scope | None, depths: Depths) -> bool:
    try:
        return holds(when, scope, "when", depths)
    except SchemaError as err:
        raise SchemaError(err.reason, path=("when",)) from None


def _applied(item: Item, r: int, count: int) -> tuple[int, ...]:
    """The overrides (indices into ``item.overrides``) that change copy ``r`` of ``count``, in the
    order they apply: first, last, then at (a later one wins where two set the same field)."""
    copy = {"first": 0, "last": count - 1}
    return tuple(
        i
        for i, (which, _, _) in enumerate(item.overrides)
        if (copy[which] if isinstance(which, str) else which % count) == r
    )


def _expand_item(
    item: Item, scope: Scope | None, prefix: str, inputs: tuple[int, ...], state: _Expansion, training: bool
) -> list[int]:
    """The nodes of one entry; returns the output of each copy."""
    if item.when is not None and not _holds(item.when, scope, state.depths):
        # Left out: its first input takes its place (an optional shortcut becomes the identity,
        # an optional residual add passes the main path on).
        return [inputs[0]]
    count = _count(item, scope, state.depths)
    if type(count) is not int:
        return [_symbolic_repeat(item, count, scope, prefix, inputs, state, training)]
    if count == 0:
        return [inputs[0]]  # no copies: the input passes on, as for a layer left out
    outs = []
    training = training or item.training_only
    if count > 1:
        state.groups[f"{prefix}{item.name}"] = f"{item.kind} x{count}"
    # Without overrides every copy is alike: one layer for them all (a repeat of thousands stays cheap).
    alike = _layer(item, (), scope, state) if item.layer is not None and not item.overrides else None
    for r in range(count):
        state.steps += 1
        if state.steps > MAX_EXPANSION_STEPS:
            raise SchemaError(
                f"the network takes more than {MAX_EXPANSION_STEPS:,} steps to expand (repeats of repeats?)"
            )
        name = f"{prefix}{item.name}" + (f".{r}" if count > 1 else "")
        changes = _applied(item, r, count) if item.overrides else ()
        if item.layer is not None:
            made = alike or _layer(item, changes, scope, state)
            out = _add_node(item, *made, name, inputs, scope, state, training)
        else:
            out = _call(item, changes, scope, name, inputs, state, training)
        outs.append(out)
        # The next copy reads this one; a block of several inputs reads it and this one's inputs
        # but the last (NASNet's cells: x, prev -> the new cell, x).
        inputs = (out, *inputs[:-1]) if item.layer is None and len(inputs) > 1 else (out,)
    return outs


def _symbolic_repeat(
    item: Item, count: Any, scope: Scope | None, prefix: str, inputs: tuple[int, ...], state: _Expansion, training: bool
) -> int:
    """A repeat of ``count`` copies (a sympy expression) laid out as its first copy, recorded as a
    :class:`Repeat`; the copies chain, so they must read one input."""
    if len(inputs) > 1:
        raise SchemaError(
            f"repeat: {_text(item.repeat)} stays symbolic, and each copy of this block reads {len(inputs)} inputs "
            f"(the copies before it): they differ; give {count_symbols(count)} a value (--set)",
            path=("repeat",),
        )
    name = f"{prefix}{item.name}"
    state.groups[name] = f"{item.kind} x {count}"  # spaced, unlike "x3": a count such as 2*d - 1
    first = len(state.nodes)
    state.steps += 1
    copy = f"{name}.0"
    if item.layer is not None:
        out = _add_node(
            item, *_layer(item, (), scope, state), copy, inputs, scope, state, training or item.training_only
        )
    else:
        out = _call(item, (), scope, copy, inputs, state, training or item.training_only)
    if out < first:  # the copy adds no layer (a block whose entries are all left out)
        return out
    state.repeats.append(Repeat(name, count, first, out, inputs[0], item.path))
    return out


def _layer(
    item: Item, changes: tuple[int, ...], scope: Scope | None, state: _Expansion
) -> tuple[Layer, dict[str, YamlPath] | None, bool]:
    """The layer of one copy of ``item``: its fields with ``changes`` applied and list arguments
    spread (see cnncalc.scopes), where each changed field is written, and whether a field reads
    ``in_channels``. Made once per combination, so that copies alike share one layer object (and
    the evaluation's cache) and a repeat of thousands costs a lookup per copy."""
    lists = scope.lists if scope is not None else {}
    key = (id(item), changes, tuple(lists.items()) if lists else ())
    made = state.layers.get(key)
    if made is None:
        fields = dict(item.fields)
        changed: dict[str, YamlPath] = {}
        for i in changes:
            _, values, where = item.overrides[i]
            fields.update(values)
            changed.update(dict.fromkeys(values, where))
        layer = validate_layer(KINDS[item.kind], fields, item.overrides[changes[-1]][2]) if changes else item.layer
        assert layer is not None  # a layer entry has one
        layer = with_lists(layer, fields, lists) if lists else layer
        made = state.layers[key] = (layer, changed or None, _uses_in_channels(layer))
    return made


def _add_node(
    item: Item,
    layer: Layer,
    changed: dict[str, YamlPath] | None,
    uses: bool,
    name: str,
    inputs: tuple[int, ...],
    scope: Scope | None,
    state: _Expansion,
    training: bool,
) -> int:
    if len(state.nodes) >= MAX_LAYERS:
        raise SchemaError(f"the network expands to more than {MAX_LAYERS:,} layers")
    if name in state.names:
        raise SchemaError(f"the name {name!r} is already used by another layer (inside a block call?)")
    state.names.add(name)
    source_names = tuple("input" if i < 0 else state.nodes[i].name for i in inputs)
    only = training or (state.marked and _fed_by_training_only(inputs, state))
    state.marked = state.marked or only
    state.nodes.append(Node(name, layer, inputs, scope, item.path, uses, source_names, only, changed))
    return len(state.nodes) - 1


def _fed_by_training_only(inputs: tuple[int, ...], state: _Expansion) -> bool:
    """Whether a layer reading ``inputs`` is computed only from layers that run only in training
    (then it runs only in training too); an error where it mixes them with layers that run in
    inference, which could not run in inference at all."""
    flags = [i >= 0 and state.nodes[i].training_only for i in inputs]
    if not any(flags):
        return False
    if all(flags):
        return True
    side = next(state.nodes[i].name for i, flag in zip(inputs, flags, strict=True) if flag)
    raise SchemaError(
        f"reads {side!r}, which runs only in training, and layers that run in inference: "
        "mark this layer training_only too, or read only layers that run in inference",
        path=("from",),
    )


def _call(
    item: Item,
    changes: tuple[int, ...],
    scope: Scope | None,
    name: str,
    sources: tuple[int, ...],
    state: _Expansion,
    training: bool,
) -> int:
    block = state.blocks[item.kind]
    if item.kind in state.stack:
        chain = " -> ".join([*state.stack, item.kind])
        raise SchemaError(f"block {item.kind} calls itself ({chain})")
    if len(state.stack) >= MAX_BLOCK_DEPTH:
        raise SchemaError(f"blocks are nested more than {MAX_BLOCK_DEPTH} deep")
    inner = state.scopes.get((id(item), changes, id(scope)))
    if inner is None:
        args = {**block.defaults, **item.args}
        for i in changes:
            args.update(item.overrides[i][1])
        inner = state.scopes[(id(item), changes, id(scope))] = Scope(item.kind, args, scope, state.depths)
    state.groups.setdefault(name, item.kind)
    state.stack.append(item.kind)
    try:
        return _expand(block.items, inner, name + ".", sources, state, training, block.inputs)
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
        values: list[Any] = [*item.args.values(), item.repeat]
        for layer in (item.layer, *item.variants) if item.layer is not None else ():
            values += [getattr(layer, k) for k in type(layer).model_fields]
        values += [v for _, o, _ in item.overrides for v in o.values()] if item.layer is None else []
        for value in values:
            for v in value if isinstance(value, tuple) else (value,):
                if isinstance(v, Expr):
                    found.append(v)
    return found


def network(spec: Spec, depths: dict[str, Any] | None = None) -> Network:
    """The network a document describes, its blocks and repeats expanded; a ``repeat`` that reads a
    symbol of the file counts with its value in ``depths`` (a number, or None to keep it symbolic),
    else the symbol's default, else the symbol itself."""
    header = spec.header
    rationals = {k: v for k, v in header.rationals.items() if v is not None}
    reading = Depths({**dict.fromkeys(header.symbols), **rationals, **header.defaults, **(depths or {})})
    nodes, groups, repeats = expand(spec.items, spec.blocks, spec.where, reading)
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
        header.rationals,
        repeats,
        frozenset(reading.used),
    )


__all__ = [
    "MAX_BLOCK_DEPTH",
    "MAX_EXPANSION_STEPS",
    "MAX_LAYERS",
    "Network",
    "Node",
    "Repeat",
    "Scope",
    "count_symbols",
    "depth_values",
    "expand",
    "network",
]
