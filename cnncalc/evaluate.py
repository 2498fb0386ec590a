"""Evaluation: threads shapes, counts and receptive fields through a network's expanded nodes into a
:class:`~cnncalc.report.Summary`.

Each layer's rule (``Layer.apply``) sees only its input shapes; this module adds what needs the
whole graph (receptive fields, the dense and locally-connected comparisons, totals) and places every
error at its file, line and layer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from . import receptive
from .errors import CnncalcError, ShapeError, collecting, note
from .expressions import Expr
from .functions import exact
from .layers import KEEP, Effect, Window
from .network import Network, Node, Repeat, Scope, count_symbols
from .receptive import ReceptiveField
from .report import LayerRow, Summary, Totals, conventions
from .scopes import element
from .spec import IN_CHANNELS
from .symbolic import Env, Value, equal, product, scale, shape_text, stand_in, symbol

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
            bound = {}
            for k, v in scope.args.items():
                if isinstance(v, tuple):  # a list argument: its values bound one by one (cnncalc.scopes)
                    bound.update({element(k, i).tree[1]: _bind(e, caller) for i, e in enumerate(v)})
                else:
                    bound[k] = _bind(v, caller)
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


def _label(name: str, kind: str, inputs: tuple[tuple[Value, ...], ...]) -> str:
    # Built only for an error: printing symbolic shapes costs more than evaluating the layer.
    return f"layer {name} ({kind}), input {' and '.join(shape_text(x) for x in inputs)}"


def _placed(err: CnncalcError, net: Network, node: Node, inputs: tuple[tuple[Value, ...], ...]) -> CnncalcError:
    """``err`` raised by ``node``'s rule, at the field it names (else at the layer's entry)."""
    where = net.where.location(*node.field_path(err.path)) if err.path else net.where.location(*node.path[:-1])
    return err.relocated(location=where, layer=_label(node.name, node.layer.kind, inputs))


def _bound_values(net: Network, values: dict[str, Any], symbolic: bool) -> tuple[Env, dict[Any, Any]]:
    """The Env of one evaluation (given values, then defaults unless symbolic) and the stand-ins
    for symbols declared multiples (name = m*q for a positive integer q, so that floors of name/m,
    name/(m/2)... are exact), to be replaced back at the end. Symbols declared rational take
    positive rationals, exactly (0.35, "7/20", Fraction(7, 20)), and keep their defaults also in
    a symbolic evaluation: their closed forms would be step functions (make_divisible)."""
    checked: dict[str, Any] = {}
    for name, value in values.items():
        shown = repr(value) if isinstance(value, (str, bool)) else str(value)  # 7/20, not Fraction(7, 20)
        if name not in net.symbol_names:
            choices = ", ".join(sorted(net.symbol_names)) or "none"
            raise CnncalcError(
                f"{net.name} has no symbol {name!r} (its symbols: {choices})", location=net.where.location()
            )
        if name in net.rationals:
            try:
                checked[name] = number = exact(value)
            except ValueError:
                number = 0
            if number <= 0:
                raise CnncalcError(f"the value of {name} must be a positive number such as 0.35 or 7/20, got {shown}")
        elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
            hint = "" if isinstance(value, int) else f" ({name} is whole: the file does not declare it rational)"
            raise CnncalcError(f"the value of {name} must be a positive integer, got {shown}{hint}")
        else:
            checked[name] = value
    rational = {k: v for k, v in net.rationals.items() if v is not None}
    bound: dict[str, Any] = {**rational, **checked} if symbolic else {**net.defaults, **rational, **checked}
    unbound = sorted(k for k in net.rationals if k not in bound)
    if symbolic and unbound:
        raise CnncalcError(
            f"{unbound[0]} is rational and has no value: give it one (--set {unbound[0]}=0.75); a rational "
            "symbol stays a number in symbolic summaries too"
        )
    stand_ins: dict[Any, Any] = {}
    for name, m in net.multiples.items():
        given = bound.get(name)
        if isinstance(given, int) and given % m:
            raise CnncalcError(f"{name}={given} is not a multiple of {m}, as the file's symbols require")
        if given is None and symbolic and collecting() is None:  # conditions are collected on the symbol itself
            q = stand_in(name, m)
            bound[name] = m * q
            stand_ins[q] = symbol(name) / m
    return Env(bound, symbolic), stand_ins


def _input_shape(net: Network, env: Env) -> tuple[Value, ...]:
    shape: tuple[Value, ...] = ()
    for i, v in enumerate(net.input):
        try:
            dim = env.resolve(v)
        except CnncalcError as err:
            raise err.relocated(location=net.where.location("input", i), layer="input") from None
        if isinstance(dim, int) and dim < 1:
            raise ShapeError(f"input size {dim} must be at least 1", location=net.where.location("input", i))
        if not isinstance(dim, int) and dim.free_symbols != {dim}:  # an expression such as H - 10
            note("ge", dim - 1, "input size at least 1", ("input", i))
        shape = (*shape, dim)
    return shape


def comparisons(
    effect: Effect, x: tuple[Value, ...], activations: Value, multiply: Callable[[tuple[Value, ...]], Value] = product
) -> tuple[Value | None, Value | None]:
    """(fc_params, local_params) of a layer with weights on a spatial input ``x``, else (None, None):
    per output unit its weights and its bias, fc = (prod(x) + 1)*activations densely and
    local = (fan_in + 1)*activations locally (no + 1 without a bias). Also what ``explain`` runs."""
    if effect.fan_in is None or len(x) < 2:
        return None, None
    per_unit, bias = (1, activations) if effect.bias else (0, 0)
    fan_in, dense_in = effect.fan_in, multiply(x)
    local = scale(fan_in + per_unit, activations) if type(fan_in) is int else fan_in * activations + bias
    fc = scale(dense_in + per_unit, activations) if type(dense_in) is int else dense_in * activations + bias
    return fc, local


def _measurer(net: Network, symbolic: bool) -> Callable[[Node, tuple[tuple[Value, ...], ...], Env], _Measured]:
    """The function that gives one layer's results for given inputs and values (a closure, not a
    callable object: called for every distinct layer, and a closure call is cheaper)."""
    multiply = product if symbolic else math.prod  # numeric: every value is an int
    collector = collecting() if symbolic else None

    def measure(node: Node, ins: tuple[tuple[Value, ...], ...], env: Env) -> _Measured:
        layer = node.layer
        if collector is not None:
            collector.where = (node, ins)
        try:
            if node.uses_in_channels:
                env = Env({**env.values, IN_CHANNELS: ins[0][0]}, symbolic)
            effect = layer.apply(ins[0], env) if len(ins) == 1 else layer.apply_many(list(ins), env)
        except CnncalcError as err:
            raise _placed(err, net, node, ins) from None
        activations = multiply(effect.output)
        fc, local = comparisons(effect, ins[0], activations, multiply)
        params = effect.params
        trainable = params if layer.trainable else 0
        return (effect.rf, effect.fan_in is not None, layer.kind, effect.output, params, trainable, effect.macs, activations, fc, local)  # fmt: skip

    return measure


def evaluate(net: Network, values: dict[str, int], symbolic: bool, training: bool = False) -> Summary:
    """The summary of ``net``: numeric (symbols take ``values``, then defaults) or symbolic; layers
    that run only in training count 0 MACs and 0 activations unless ``training`` (the training view).

    Long for a reason: this loop is the hot path of every summary (ResNet-152: 517 layers in about
    a millisecond), so it keeps its state in locals rather than in calls.
    """
    env, stand_ins = _bound_values(net, values, symbolic)
    if net.repeats and not symbolic:
        raise _no_count(net, net.repeats[0])
    network_input = _input_shape(net, env)
    ends: dict[int, list[Repeat]] = {}  # nested repeats may end at one node: inner ones first
    for r in net.repeats:
        ends.setdefault(r.last, []).append(r)
    input_rf = receptive.initial(len(network_input) - 1)
    scope_env = scope_envs(env)
    measure = _measurer(net, symbolic)
    shapes: list[tuple[Value, ...]] = []
    fields: list[receptive.State] = []
    rows: list[LayerRow] = []
    weighted: list[bool] = []
    # Repeated blocks repeat work: a layer object shared by the copies, the same input shapes and
    # equal argument values give the same effect. Keyed on those, ResNet-152's 50 bottlenecks cost
    # little more than its 4 distinct ones (numeric and symbolic alike). A hit gives the row's
    # values but its name, input, receptive field and sources.
    done: dict[tuple[Any, ...], _Measured] = {}
    scopes: dict[int, tuple[Env, int]] = {}  # id(scope) -> its Env and the id of its values
    env_ids: dict[tuple[Any, ...], int] = {}  # equal values, one id
    new_row = tuple.__new__  # a LayerRow without the NamedTuple's Python-level __new__: rows are many
    step, window, halves = receptive.step, receptive.window, receptive.halves
    previous_rf: receptive.State = None
    previous_field: ReceptiveField | None = None
    irregular = False  # a field past upsampling: the conventions then say how it is reported
    hidden = False  # a layer that runs only in training: the conventions then say how it counts
    for node in net.nodes:
        scoped = scopes.get(id(node.scope))
        if scoped is None:
            try:
                scope_values = scope_env(node.scope)
            except CnncalcError as err:  # a block argument without a value, met where it is used
                ins = tuple(network_input if i < 0 else shapes[i] for i in node.inputs)
                raise _placed(err, net, node, ins) from None
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
            rf = input_rf if first < 0 else fields[first]
            effect = measured[0]
            if effect is not KEEP:
                # A window on a regular field is most steps: stepped here without the dispatch
                # (type() is tuple means regular; mypy does not narrow on it, and cast() costs a call).
                regular = type(effect) is Window and type(rf) is tuple
                rf = window(rf, effect) if regular else step(rf, effect)  # type: ignore[arg-type]
        else:
            # Merges read two inputs nearly always: unrolled (a generator costs a frame per item).
            if len(inputs) == 2:
                a, b = inputs
                ins = (network_input if a < 0 else shapes[a], network_input if b < 0 else shapes[b])
                inputs_rf = [input_rf if a < 0 else fields[a], input_rf if b < 0 else fields[b]]
            else:
                ins = tuple([network_input if i < 0 else shapes[i] for i in inputs])
                inputs_rf = [input_rf if i < 0 else fields[i] for i in inputs]
            x = ins[0]
            key = (id(node.layer), ins, scoped[1])
            measured = done.get(key)
            if measured is None:
                measured = done[key] = measure(node, ins, scoped[0])
            rf = step(receptive.merge(inputs_rf, ins), measured[0])
        if rf is not previous_rf:  # layers that keep the field share the object
            previous_rf = rf
            if type(rf) is tuple:  # regular: made here, a row of a named tuple without its __new__
                previous_field = new_row(ReceptiveField, (rf[0], rf[1], halves(rf[2]), rf[3], True))
            else:
                previous_field = receptive.report(rf)
                irregular = irregular or (previous_field is not None and not previous_field.regular)
        _, weights, kind, out, params, trainable, macs, activations, fc, local = measured
        if node.training_only:
            hidden = True
            if not training:  # not run in inference: its weights count, its work and outputs do not
                macs = activations = 0
        if ends and len(shapes) in ends:  # the last node of a repeat laid out as one copy
            for repeat in ends[len(shapes)]:
                rf = _repeated(net, repeat, out, rf, shapes, fields, network_input, input_rf)
        shapes.append(out)
        fields.append(rf)
        row = (node.name, kind, x, out, params, trainable, macs, activations, previous_field, fc, local, node.sources, node.training_only)  # fmt: skip
        rows.append(new_row(LayerRow, row))
        weighted.append(weights)
    row_tuple = tuple(rows)
    times = _times(net) if net.repeats else ()
    stated = conventions(len(network_input) - 1, irregular, training if hidden else None)
    if times:
        stated["repeat"] = _REPEATS.format(", ".join(f"{r.name} ({net.groups[r.name]})" for r in net.repeats))
    summary = Summary(
        name=net.name,
        input=network_input,
        rows=row_tuple,
        total=Totals.of(row_tuple, weighted, numeric=not symbolic, times=times),
        values={k: v for k, v in env.values.items() if isinstance(v, (int, Fraction))},  # rationals: 0.35
        conventions=stated,
        multiples=net.multiples,
        groups=net.groups,
        training=training,
        times=times,
    )
    return summary.replace(stand_ins) if stand_ins else summary


#: Said with a summary whose repeats have a symbolic count.
_REPEATS = (
    "repeats with a symbolic count, {}: each copy keeps its input's shape and the receptive field's "
    "jump, so the copies are alike; the rows show the first copy, the totals count every copy, and "
    "the receptive field after the repeat grows by one copy's growth per copy"
)


def _no_count(net: Network, repeat: Repeat) -> CnncalcError:
    names = count_symbols(repeat.count)
    return CnncalcError(
        f"repeat: {repeat.count} copies, and {names} has no value: give it one (--set "
        f"{names.split(',')[0]}=3, or a default in symbols), or ask for a symbolic summary",
        location=net.where.location(*repeat.path, "repeat"),
        layer=f"layer {repeat.name} ({net.groups[repeat.name]})",
    )


def _repeated(
    net: Network,
    repeat: Repeat,
    out: tuple[Value, ...],
    rf: receptive.State,
    shapes: list[tuple[Value, ...]],
    fields: list[receptive.State],
    network_input: tuple[Value, ...],
    input_rf: receptive.State,
) -> receptive.State:
    """The field after ``repeat``'s copies, from its first copy's output (``out``, ``rf``); an
    error where the copies are not alike (a copy changes the shape or the field's jump): the
    totals then have no closed form in the count."""
    source = repeat.source
    before = network_input if source < 0 else shapes[source]
    before_rf = input_rf if source < 0 else fields[source]
    names = count_symbols(repeat.count)
    if len(before) != len(out) or not all(equal(a, b) for a, b in zip(before, out, strict=True)):
        why = f"a copy takes {shape_text(before)} to {shape_text(out)}"
    else:
        after = receptive.repeated(before_rf, rf, repeat.count)
        if after is not None or before_rf is None:
            return after
        why = "a copy changes the receptive field's jump"
    raise CnncalcError(
        f"repeat: {repeat.count} copies are not alike ({why}), so the totals have no closed form in "
        f"{names}: give {names} a value (--set {names.split(',')[0]}=3)",
        location=net.where.location(*repeat.path, "repeat"),
        layer=f"layer {repeat.name} ({net.groups[repeat.name]})",
    )


def _times(net: Network) -> tuple[Value, ...]:
    """How many times each node counts: the product of the counts of the repeats it is in."""
    times: list[Value] = [1] * len(net.nodes)
    for r in net.repeats:
        for i in range(r.first, r.last + 1):
            times[i] = times[i] * r.count
    return tuple(times)


__all__ = ["comparisons", "evaluate", "scope_envs"]
