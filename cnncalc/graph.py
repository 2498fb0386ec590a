"""Evaluation: threads shapes and receptive fields through an architecture's expanded nodes.

Each layer's rule (``Layer.apply``) sees only its input shapes; this module adds what needs the
whole graph (receptive fields, the dense and locally-connected comparisons, totals) and places every
error at its file, line and layer.

Receptive fields follow Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional Neural
Networks" (Distill, 2019): for a window of effective kernel k, stride s and left padding p,
size' = size + (k-1)*jump, jump' = jump*s, start' = start + ((k-1)/2 - p)*jump. A merge takes the
largest size over its inputs; inputs that disagree on jump or start make it unaligned.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .blocks import IN_CHANNELS, Node, Scope
from .errors import CnncalcError, ShapeError
from .layers import KEEP, FieldError, Window
from .report import CONVENTIONS, LayerRow, ReceptiveField, Summary, Totals
from .symbolic import Env, Expr, Value, equal, half, maximum, product, scale, shape_text, stand_in, symbol

if TYPE_CHECKING:
    from .schema import Architecture

#: Receptive-field state of one output: (size, jump, 2*start) per axis, and whether aligned.
RF = tuple[tuple[Value, Value], tuple[Value, Value], tuple[Value, Value], bool]
#: One layer's results for given inputs and argument values: receptive-field step, whether it has
#: weights, kind, output, params, trainable params, MACs, activations, dense and local comparisons.
_Measured = tuple[Any, bool, str, tuple[Value, ...], Value, Value, Value, Value, Value | None, Value | None]


def scope_envs(base: Env) -> Callable[[Scope | None], Env]:
    """For one evaluation: the Env each block scope sees. Block arguments are evaluated where the
    block is called; the body sees them and the file's symbols (lexical scope)."""
    envs: dict[int, Env] = {}  # the copies of a repeated block share one Scope, so one Env

    def scope_env(scope: Scope | None) -> Env:
        if scope is None:
            return base
        cached = envs.get(id(scope))
        if cached is None:
            caller = scope_env(scope.caller)
            bound = {k: _bind(v, caller) for k, v in scope.args.items()}
            cached = envs[id(scope)] = Env({**base.values, **bound}, base.symbolic)
        return cached

    return scope_env


def _bind(value: Any, caller: Env) -> Any:
    """A block argument's value in its caller: true/false passes through, also by name (an
    argument handed on: ``hs: hs``); anything else is evaluated."""
    if isinstance(value, bool):
        return value
    if isinstance(value, Expr) and value.tree[0] == "name" and isinstance(caller.values.get(value.tree[1]), bool):
        return caller.values[value.tree[1]]
    return caller.resolve(value)


def _label(name: str, kind: str, inputs: list[tuple[Value, ...]]) -> str:
    # Built only for an error: printing symbolic shapes costs more than evaluating the layer.
    return f"layer {name} ({kind}), input {' and '.join(shape_text(x) for x in inputs)}"


def _merge_rf(fields: list[RF | None], shapes: tuple[tuple[Value, ...], ...]) -> RF | None:
    """The largest field over the inputs; unaligned when their jumps or starts differ. Jump and
    start come from an input that is not broadcast (a squeeze-and-excitation gate [C, 1, 1] has
    one unit: its jump says nothing about the grid it multiplies)."""
    known: list[RF] = []
    for f in fields:
        if f is None:
            return None
        known.append(f)
    principal = known[0]  # when no input is broadcast (residual adds, concatenations)
    grid = shapes[0][1:]
    for x in shapes:
        if x[1:] != grid:
            spatial = [x[1:] for x in shapes]
            widest = max(
                range(len(known)), key=lambda i: sum(1 for v in spatial[i] if not (isinstance(v, int) and v == 1))
            )
            principal = known[widest]
            break
    jump, start2 = principal[1], principal[2]
    aligned = True
    for f in known:
        if not (
            f[3]
            and (f[1] == jump or (equal(f[1][0], jump[0]) and equal(f[1][1], jump[1])))
            and (f[2] == start2 or (equal(f[2][0], start2[0]) and equal(f[2][1], start2[1])))
        ):
            aligned = False
            break
    return ((_largest([f[0][0] for f in known]), _largest([f[0][1] for f in known])), jump, start2, aligned)


def _largest(values: list[Value]) -> Value:
    for v in values:
        if type(v) is not int:
            return maximum(*values)
    return max(values)


def _halves(doubled: tuple[Value, Value]) -> tuple[Value | float, Value | float]:
    """The start of a field from twice the start (kept doubled so that it stays an integer)."""
    a, b = doubled
    if type(a) is int and type(b) is int and not (a | b) & 1:
        return (a >> 1, b >> 1)
    return (half(a), half(b))


def _step(rf: RF | None, step: Any) -> RF | None:
    """The field after one layer: a window grows it (Araujo et al.), KEEP leaves it, anything
    else (FLAT, UNKNOWN) ends it."""
    if type(step) is not Window:
        return rf if step is KEEP else None
    if rf is None:
        return None
    (s0, s1), (j0, j1), (t0, t1), aligned = rf
    (k0, k1), (q0, q1), (p0, p1) = step
    return (
        (s0 + (k0 - 1) * j0, s1 + (k1 - 1) * j1),
        (j0 * q0, j1 * q1),
        (t0 + (k0 - 1 - 2 * p0) * j0, t1 + (k1 - 1 - 2 * p1) * j1),
        aligned,
    )


def evaluate(arch: Architecture, values: dict[str, int], symbolic: bool) -> Summary:
    """The summary of ``arch``: numeric (symbols take ``values``, then defaults) or symbolic."""
    known = arch.symbol_names
    for name, value in values.items():
        if name not in known:
            choices = ", ".join(sorted(known)) or "none"
            raise CnncalcError(f"{arch.name} has no symbol {name!r} (its symbols: {choices})", location=arch.location())
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise CnncalcError(f"the value of {name} must be a positive integer, got {value!r}")
    bound: dict[str, Any] = dict(values) if symbolic else {**arch.defaults, **values}
    multiples = arch.multiples
    stand_ins: dict[Any, Any] = {}
    for name, m in multiples.items():
        given = bound.get(name)
        if isinstance(given, int) and given % m:
            raise CnncalcError(f"{name}={given} is not a multiple of {m}, as the file's symbols require")
        if given is None and symbolic:
            # name = m*q for a positive integer q: floors of name/m, name/(m/2)... become exact.
            q = stand_in(name, m)
            bound[name] = m * q
            stand_ins[q] = symbol(name) / m
    env = Env(bound, symbolic)

    shape: tuple[Value, ...] = ()
    for i, v in enumerate(arch.input):
        try:
            dim = env.resolve(v)
        except CnncalcError as err:
            raise err.at(arch.location("input", i), "input") from None
        if isinstance(dim, int) and dim < 1:
            raise ShapeError(f"input size {dim} must be at least 1", location=arch.location("input", i))
        shape = (*shape, dim)
    network_input = shape
    input_rf: RF | None = ((1, 1), (1, 1), (0, 0), True) if len(shape) == 3 else None

    scope_env = scope_envs(env)
    shapes: list[tuple[Value, ...]] = []
    fields: list[RF | None] = []
    rows: list[LayerRow] = []
    weighted: list[bool] = []
    # Repeated blocks repeat work: a layer object shared by the copies, the same input shapes and
    # equal argument values give the same effect. Keyed on those, ResNet-152's 50 bottlenecks cost
    # little more than its 4 distinct ones (numeric and symbolic alike). A hit gives the row's
    # values but its name, input, receptive field and sources.
    done: dict[tuple[Any, ...], _Measured] = {}
    scopes: dict[int, tuple[Env, int]] = {}  # id(scope) -> its Env and the id of its values
    env_ids: dict[tuple[Any, ...], int] = {}  # equal values, one id

    multiply = product if symbolic else math.prod  # numeric: every value is an int

    def measure(node: Node, ins: tuple[tuple[Value, ...], ...], node_env: Env) -> _Measured:
        layer = node.layer
        try:
            if node.uses_in_channels:
                node_env = Env({**node_env.values, IN_CHANNELS: ins[0][0]}, symbolic)
            effect = layer.apply(ins[0], node_env) if len(ins) == 1 else layer.apply_many(list(ins), node_env)
        except FieldError as err:
            raise err.at(arch.location(*node.path, err.field or ""), _label(node.name, layer.kind, list(ins))) from None
        except CnncalcError as err:
            raise err.at(arch.location(*node.path[:-1]), _label(node.name, layer.kind, list(ins))) from None
        activations = multiply(effect.output)
        fc = local = None
        if effect.fan_in is not None and len(ins[0]) == 3:
            # Per output unit: its weights (fan_in locally, the whole input densely) and its bias.
            per_unit, bias = (1, activations) if effect.bias else (0, 0)
            fan_in, dense_in = effect.fan_in, multiply(ins[0])
            local = scale(fan_in + per_unit, activations) if type(fan_in) is int else fan_in * activations + bias
            fc = scale(dense_in + per_unit, activations) if type(dense_in) is int else dense_in * activations + bias
        return (
            effect.rf,
            effect.fan_in is not None,
            layer.kind,
            effect.output,
            effect.params,
            effect.params if layer.trainable else 0,
            effect.macs,
            activations,
            fc,
            local,
        )

    new_row = tuple.__new__  # a LayerRow without the NamedTuple's Python-level __new__: rows are many
    previous_rf: RF | None = None
    previous_field: ReceptiveField | None = None
    for node in arch.nodes:
        scoped = scopes.get(id(node.scope))
        if scoped is None:
            try:
                scope_values = scope_env(node.scope)
            except CnncalcError as err:  # a block argument without a value, met where it is used
                ins = tuple(network_input if i < 0 else shapes[i] for i in node.inputs)
                raise err.at(arch.location(*node.path[:-1]), _label(node.name, node.layer.kind, list(ins))) from None
            # Unsorted: copies of one block list their values in the same order, and only they share layers.
            env_id = env_ids.setdefault(tuple(scope_values.values.items()), len(env_ids))
            scoped = scopes[id(node.scope)] = (scope_values, env_id)
        inputs = node.inputs
        if len(inputs) == 1:  # the common case, kept cheap
            first = inputs[0]
            x = network_input if first < 0 else shapes[first]
            key = (id(node.layer), x, scoped[1])
            measured = done.get(key)
            if measured is None:
                measured = done[key] = measure(node, (x,), scoped[0])
            step = measured[0]
            rf = input_rf if first < 0 else fields[first]
            if step is not KEEP:
                rf = _step(rf, step)
        else:
            ins = tuple(network_input if i < 0 else shapes[i] for i in inputs)
            x = ins[0]
            key = (id(node.layer), ins, scoped[1])
            measured = done.get(key)
            if measured is None:
                measured = done[key] = measure(node, ins, scoped[0])
            rf = _step(_merge_rf([input_rf if i < 0 else fields[i] for i in inputs], ins), measured[0])
        if rf is not previous_rf:  # layers that keep the field share the object
            previous_rf = rf
            previous_field = None if rf is None else new_row(ReceptiveField, (rf[0], rf[1], _halves(rf[2]), rf[3]))
        _, weights, kind, out, params, trainable, macs, activations, fc, local = measured
        shapes.append(out)
        fields.append(rf)
        rows.append(
            new_row(
                LayerRow,
                (
                    node.name,
                    kind,
                    x,
                    out,
                    params,
                    trainable,
                    macs,
                    activations,
                    previous_field,
                    fc,
                    local,
                    node.sources,
                ),
            )
        )
        weighted.append(weights)

    row_tuple = tuple(rows)
    summary = Summary(
        name=arch.name,
        input=network_input,
        rows=row_tuple,
        total=Totals.of(row_tuple, weighted, numeric=not symbolic),
        values={k: v for k, v in env.values.items() if isinstance(v, int)},
        conventions=CONVENTIONS,
        multiples=multiples,
    )
    return summary.replace(stand_ins) if stand_ins else summary
