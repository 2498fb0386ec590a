"""Worked formulas (``cnncalc explain``): each quantity of a layer as a formula, the formula with the
layer's numbers in place, and the result.

No formula is written down here: each comes from running the computation on symbols. The layer's
own rule (``Layer.apply``) runs on a symbolic input (C_in, H_in, W_in) with the fields its kind
names in ``formula_symbols`` as symbols (k_h, s_h, p_h, C_out...); the receptive field is
:func:`cnncalc.receptive.window` on symbols (rf_h_in, jump_h_in, start_h_in); fc/local params are
:func:`cnncalc.evaluate.comparisons`. A variable the rule cannot take as a symbol (a broadcast size
of 1) stays a number. Every formula is checked against the summary before it is shown.

Names: inputs C_in, H_in, W_in (D_in, L_in; F_in flat; H_in1, H_in2 where a merge's inputs differ),
fields per ``formula_symbols`` (k_h, k_w), outputs C_out, H_out, W_out (F_out), rf_h, jump_h, start_h.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any, NamedTuple

from . import receptive
from .errors import CnncalcError
from .evaluate import _bound_values, comparisons, evaluate, scope_envs
from .expressions import parse
from .layers import AXES, Layer, Window
from .network import Network, Node
from .receptive import ReceptiveField
from .render.formulas import nice
from .report import LayerRow
from .spec import IN_CHANNELS, suggest
from .symbolic import Env, Value, free_symbols, is_symbolic, product, replace_symbols, symbol

#: Size names of a shape by its length (channels first): [F], [C, L], [C, H, W], [C, D, H, W].
SIZES: dict[int, tuple[str, ...]] = {1: ("F",), 2: ("C", "L"), 3: ("C", "H", "W"), 4: ("C", "D", "H", "W")}
#: Per-axis suffixes by spatial rank (k_h, k_w); a single axis needs none (k).
SUFFIXES: dict[int, tuple[str, ...]] = {1: ("",), 2: ("h", "w"), 3: ("d", "h", "w")}
_WORDS = {"F": "features", "C": "channels", **{w[0].upper(): f"size ({w})" for w in (*AXES[3], "length")}}
_AXIS_WORDS = {"": "", "d": " (depth)", "h": " (height)", "w": " (width)"}


@dataclass(frozen=True, slots=True)
class Variable:
    """A name in a layer's formulas, its value here and where it comes from ("kernel_size (height)")."""

    name: str
    symbol: Any
    value: Any
    meaning: str


@dataclass(frozen=True, slots=True)
class Quantity:
    """``formula`` (sympy, in the layer's variables) = ``value``, the summary's ``key`` (output, params,
    macs, activations, rf, jump, start, fc_params, local_params) at ``axis`` (output: channels first)."""

    name: str
    key: str
    axis: int | None
    formula: Any
    value: Any


@dataclass(frozen=True, slots=True)
class LayerFormulas:
    """A layer's worked quantities. ``numeric`` names formula fields its rule needed as numbers."""

    name: str
    kind: str
    inputs: tuple[tuple[Value, ...], ...]
    output: tuple[Value, ...]
    variables: tuple[Variable, ...]
    quantities: tuple[Quantity, ...]
    numeric: tuple[str, ...] = ()

    @property
    def values(self) -> dict[Any, Any]:
        """Symbol -> value for every variable: what the substituted line puts in the symbols' places."""
        return {v.symbol: v.value for v in self.variables}

    def __getitem__(self, name: str) -> Quantity:
        for q in self.quantities:
            if q.name == name:
                return q
        raise KeyError(f"{self.name} has no quantity {name!r}; it has {', '.join(q.name for q in self.quantities)}")

    def substituted(self, name: str, format: str = "text") -> str:
        """Quantity ``name``'s formula with the variables' values in place (text, latex or json)."""
        from .render.formulas import formula

        return formula(self[name].formula, format, self.values)


@dataclass(frozen=True)
class Explanation:
    """Worked formulas of some layers of a network at given values; ``title`` as a summary's."""

    title: str
    layers: tuple[LayerFormulas, ...]

    def __getitem__(self, name: str) -> LayerFormulas:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"no layer {name!r} explained{suggest(name, [x.name for x in self.layers])}")

    def render(self, format: str = "text", *, width: int = 80) -> str:
        """The formulas as text (fitting ``width`` columns), markdown, latex (align*) or json."""
        from .render.worked import render

        return render(self, format, width=width)

    def to_dict(self) -> dict[str, Any]:
        """The JSON output as Python data: per layer its variables and quantities (text and LaTeX)."""
        from .render.worked import to_data

        return to_data(self)

    def only(self, keys: str | tuple[str, ...] | list[str]) -> Explanation:
        """Only the quantities ``keys`` ("output,params", or a list: output, params, macs, activations,
        rf, jump, start, fc_params, local_params), with the variables they use: a slide's worth."""
        from .render.worked import only

        return only(self, keys)

    def __str__(self) -> str:
        return self.render("text")

    def __repr__(self) -> str:
        names = ", ".join(x.name for x in self.layers[:4]) + (", ..." if len(self.layers) > 4 else "")
        return f"<Explanation {self.title}: {len(self.layers)} layer{'s' * (len(self.layers) != 1)} ({names})>"

    def _repr_markdown_(self) -> str:
        return self.render("markdown")

    def _repr_latex_(self) -> str:
        from .render.worked import notebook_latex

        return notebook_latex(self)


# --- deriving a layer's formulas -----------------------------------------------------------------


class _Slot(NamedTuple):
    """A candidate variable: an axis of ``inputs`` (``field`` None) or a field (a name per item or None)."""

    field: str | None
    axis: int
    inputs: tuple[int, ...]
    names: tuple[str | None, ...]
    values: tuple[Any, ...]
    meanings: tuple[str, ...]


class _Case(NamedTuple):
    """One layer as the summary saw it: its rule, inputs, values, row and incoming field."""

    layer: Layer
    ins: tuple[tuple[Value, ...], ...]
    env: Env
    row: LayerRow
    field: ReceptiveField | None
    in_channels: bool
    sample: dict[Any, int]


#: A layer's quantities and the variables they use.
_Derived = tuple[tuple[Quantity, ...], tuple[Variable, ...]]


def _input_slots(ins: tuple[tuple[Value, ...], ...], apart: bool) -> list[_Slot]:
    """One slot per input axis: shared (H_in) where the inputs agree, else one each (H_in1, H_in2);
    ``apart``: channels one each even where they agree (a concatenation's C_in1 + C_in2)."""
    slots = []
    same_rank = all(len(x) == len(ins[0]) for x in ins)
    for axis in range(max(len(x) for x in ins)):
        if same_rank and all(x[axis] == ins[0][axis] for x in ins) and not (apart and axis == 0):
            size = SIZES[len(ins[0])][axis]
            slots.append(_Slot(None, axis, tuple(range(len(ins))), (f"{size}_in",), (ins[0][axis],),
                               (f"input {_WORDS[size]}",)))  # fmt: skip
            continue
        for j, x in enumerate(ins):
            if axis < len(x):
                size = SIZES[len(x)][axis]
                word = f"input {j + 1} {_WORDS[size]}"
                slots.append(_Slot(None, axis, (j,), (f"{size}_in{j + 1}",), (x[axis],), (word,)))
    return slots


def _per_axis(annotation: Any) -> bool:
    """Whether a field's type takes a list (one value per axis)."""
    if typing.get_origin(annotation) is tuple:
        return True
    return any(_per_axis(a) for a in typing.get_args(annotation))


def _field_slot(layer: Layer, name: str, spec: str | tuple[str, ...], env: Env, rank: int) -> _Slot | None:
    """The slot of field ``name`` (its values resolved in ``env``), or None where it is no number."""
    raw = getattr(layer, name)
    items = raw if isinstance(raw, tuple) else (raw,)
    if any(isinstance(v, (str, bool, float)) for v in items) or all(v is None for v in items):
        return None  # "same", a flag, or a default such as a pool's stride (None: the kernel)
    values = tuple(None if v is None else env.resolve(v) for v in items)
    info = type(layer).model_fields[name]
    if name in layer.formula_optional and all(v == info.default for v in values):
        return None
    if isinstance(spec, tuple):
        names: tuple[str | None, ...] = spec
        meanings = tuple(f"{name} ({n.split('_', 1)[-1]})" for n in spec)
    elif _per_axis(info.annotation):
        suffixes = SUFFIXES.get(rank, ())
        names = tuple(f"{spec}_{s}" if s else spec for s in suffixes)
        meanings = tuple(f"{name}{_AXIS_WORDS[s]}" for s in suffixes)
    else:
        names, meanings = (spec,), (name,)
    if len(values) == 1:
        values = values * len(names)
    if len(values) != len(names):
        return None  # a list of the wrong length: the rule itself says so
    names = tuple(None if v is None else n for n, v in zip(names, values, strict=True))
    return _Slot(name, 0, (), names, values, meanings)


def _slots(case: _Case, apart: bool = False) -> list[_Slot]:
    """Every candidate variable of ``case``: its input sizes, then its kind's formula fields."""
    rank = case.layer.rank or len(case.ins[0]) - 1
    slots = _input_slots(case.ins, apart)
    for name, spec in type(case.layer).formula_symbols.items():
        slot = _field_slot(case.layer, name, spec, case.env, rank)
        if slot is not None:
            slots.append(slot)
    return slots


def _run(case: _Case, chosen: tuple[_Slot, ...]) -> tuple[Any, list[list[Value]], list[Variable]] | None:
    """The layer's rule with the ``chosen`` slots as symbols: (effect, inputs, variables), or None."""
    xs = [list(x) for x in case.ins]
    update: dict[str, Any] = {}
    bound: dict[str, Any] = {}
    variables: list[Variable] = []
    for slot in chosen:
        items: list[Any] = []
        for name, value, meaning in zip(slot.names, slot.values, slot.meanings, strict=True):
            if name is None:
                items.append(None)
                continue
            sym = symbol(name)
            variables.append(Variable(name, sym, value, meaning))
            if slot.field is None:
                for j in slot.inputs:
                    xs[j][slot.axis] = sym
            key = f"__explain_{len(bound)}"  # no block argument or symbol is called so
            bound[key] = sym
            items.append(parse(key))
        if slot.field is not None:
            per_item = isinstance(getattr(case.layer, slot.field), tuple) or len(items) > 1
            update[slot.field] = tuple(items) if per_item else items[0]
    env = Env({**case.env.values, **bound}, case.env.symbolic)
    if case.in_channels:
        env.values[IN_CHANNELS] = xs[0][0]
    layer = case.layer.model_copy(update=update) if update else case.layer
    try:
        ins = [tuple(x) for x in xs]
        effect = layer.apply(ins[0], env) if len(ins) == 1 else layer.apply_many(ins, env)
    except (CnncalcError, TypeError, ValueError, ArithmeticError):
        return None  # a rule comparing or branching on this value: it stays a number
    return effect, xs, variables


def _outputs(case: _Case, effect: Any) -> tuple[list[Quantity], list[Variable], dict[Any, Any]]:
    """Output sizes as quantities; compound ones also as variables (H_out) that shorten the rest."""
    out, row = effect.output, case.row
    quantities, variables, names = [], [], {}
    for i, (v, actual) in enumerate(zip(out, row.output, strict=True)):
        size = SIZES[len(out)][i]
        quantities.append(Quantity(f"{size}_out", "output", i, nice(v), actual))
        if i and is_symbolic(v) and not v.is_Symbol:  # a spatial floor(...) gets a name of its own
            sym = symbol(f"{size}_out")
            names[v] = sym
            variables.append(Variable(f"{size}_out", sym, actual, f"output {_WORDS[size]}"))
    return quantities, variables, names


def _field(case: _Case, step: Any) -> tuple[list[Quantity], list[Variable]] | None:
    """The receptive field through a window ``step`` per axis: size, jump, start (None: no window)."""
    if type(step) is not Window:
        return None
    rank = len(step.kernel)
    incoming, outgoing = case.field, case.row.rf
    assert incoming is not None and outgoing is not None
    suffixes = ["_" + s if s else "" for s in SUFFIXES[rank]]
    state: list[list[Any]] = [[], [], []]
    variables = []
    for k, (word, values) in enumerate((("rf", incoming.size), ("jump", incoming.jump), ("start", incoming.start))):
        for suffix, value in zip(suffixes, values, strict=True):
            sym = symbol(f"{word}{suffix}_in")
            exact = Fraction(value) if isinstance(value, float) else value
            variables.append(Variable(f"{word}{suffix}_in", sym, exact, f"incoming {word}{_AXIS_WORDS[suffix[1:]]}"))
            state[k].append(2 * sym if word == "start" else sym)
    sizes, jumps, starts2, _ = receptive.window((tuple(state[0]), tuple(state[1]), tuple(state[2]), True), step)
    starts = receptive.halves(starts2)
    quantities = []
    for key, formulas, actual in (("rf", sizes, outgoing.size), ("jump", jumps, outgoing.jump),
                                  ("start", starts, outgoing.start)):  # fmt: skip
        quantities += [
            Quantity(f"{key}{suffix}", key, i, nice(f), a)
            for i, (suffix, f, a) in enumerate(zip(suffixes, formulas, actual, strict=True))
        ]
    return quantities, variables


def _attempt(case: _Case, chosen: tuple[_Slot, ...], step: Any) -> _Derived | None:
    """Every quantity with the ``chosen`` slots as symbols; None where a formula misses the summary."""
    ran = _run(case, chosen)
    if ran is None:
        return None
    effect, xs, variables = ran
    quantities, named, short = _outputs(case, effect)
    variables += named
    activations = product(effect.output)
    fc, local = comparisons(effect, tuple(xs[0]), activations)
    row = case.row
    quantities.append(Quantity("params", "params", None, nice(effect.params), row.params))
    for name, key, formula, actual in (
        ("MACs", "macs", effect.macs, row.macs),
        ("activations", "activations", activations, row.activations),
        ("fc_params", "fc_params", fc, row.fc_params),
        ("local_params", "local_params", local, row.local_params),
    ):
        if formula is not None and actual is not None:
            quantities.append(Quantity(name, key, None, nice(replace_symbols(formula, short)), actual))
    if type(step) is Window and case.field is not None and row.rf is not None:
        field = _field(case, effect.rf)
        if field is None:
            return None
        quantities += field[0]
        variables += field[1]
    values = {v.symbol: v.value for v in variables}
    if not all(_agrees(q.formula, values, q.value, case.sample) for q in quantities):
        return None
    used = set().union(*(free_symbols(q.formula) for q in quantities))
    return tuple(quantities), tuple(v for v in variables if v.name in used)


def _agrees(formula: Any, values: dict[Any, Any], actual: Any, sample: dict[Any, int]) -> bool:
    """Whether ``formula`` at ``values`` is ``actual``; symbolic ones compared at ``sample``."""
    got = values.get(formula, formula) if getattr(formula, "is_Symbol", False) else replace_symbols(formula, values)
    if isinstance(got, Fraction):
        got = float(got)
    if got == actual:
        return True
    if is_symbolic(got) or is_symbolic(actual):
        got, actual = replace_symbols(got, sample), replace_symbols(actual, sample)
    return bool(got == actual)


def _derive(case: _Case, step: Any) -> tuple[_Derived, tuple[str, ...]]:
    """The formulas with every variable the rule runs on (all at once, else one slot at a time: those
    that break it stay numbers), and the fields left numeric."""
    for apart in (True, False) if len(case.ins) > 1 else (False,):  # concat's C_in1 + C_in2, add's C_in
        slots = _slots(case, apart)
        best = _attempt(case, tuple(slots), step)
        if best is not None:
            return best, ()
    chosen: list[_Slot] = []
    best = _attempt(case, (), step)
    if best is None:  # the summary's own computation: it cannot miss itself
        raise CnncalcError(f"layer {case.row.name}: its formulas do not reproduce its row (please report it)")
    for slot in slots:
        trial = _attempt(case, (*chosen, slot), step)
        if trial is not None:
            chosen.append(slot)
            best = trial
    numeric = tuple(dict.fromkeys(s.field for s in slots if s.field is not None and s not in chosen))
    return best, numeric


# --- a network's layers --------------------------------------------------------------------------


def _select(net: Network, names: tuple[str, ...]) -> list[int]:
    """Indices of the nodes ``names`` asks for (all when none): full names, or blocks (layer1.0)."""
    every = [n.name for n in net.nodes]
    if not names:
        return list(range(len(every)))
    chosen: dict[int, None] = {}
    for name in names:
        found = [i for i, full in enumerate(every) if full == name or full.startswith(name + ".")]
        if not found:
            hint = suggest(name, every) or " (cnncalc summarize lists its layers)"
            raise CnncalcError(f"{net.name} has no layer {name!r}{hint}", location=net.where.location())
        chosen.update(dict.fromkeys(found))
    return sorted(chosen)


def _incoming(node: Node, rows: tuple[LayerRow, ...], rank: int) -> ReceptiveField | None:
    """The regular field a single-input layer reads (None past upsampling, flat or unknown)."""
    if len(node.inputs) != 1:
        return None
    first = node.inputs[0]
    if first < 0:
        return ReceptiveField((1,) * rank, (1,) * rank, (0,) * rank) if rank else None
    field = rows[first].rf
    return field if field is not None and field.regular else None


def explain(net: Network, names: tuple[str, ...], values: dict[str, int], symbolic: bool) -> Explanation:
    """The worked formulas of the layers ``names`` (all when empty) of ``net`` at ``values``
    (numeric, defaults filled in) or symbolic, as :meth:`Architecture.summarize` takes them."""
    from .render.table import title

    summary = evaluate(net, values, symbolic, training=True)  # training-only layers: their work when run
    chosen = _select(net, names)
    env, stand_ins = _bound_values(net, values, symbolic)
    scope_env = scope_envs(env)
    rows = summary.rows
    # Where two symbolic results are compared: the defaults, else a multiple of 64.
    sample = {symbol(n): net.defaults.get(n, 64 * net.multiples.get(n, 1)) for n in net.symbol_names}
    done: dict[tuple[Any, ...], LayerFormulas] = {}  # copies of a repeated block: derived once
    layers = []
    for i in chosen:
        node, row = net.nodes[i], rows[i]
        ins = tuple(summary.input if j < 0 else rows[j].output for j in node.inputs)
        field = _incoming(node, rows, net.rank)
        key = (id(node.layer), ins, field, id(node.scope))
        known = done.get(key)
        if known is None:
            scoped = {k: replace_symbols(v, stand_ins) if is_symbolic(v) else v  # H, not 16*H_over_16
                      for k, v in scope_env(node.scope).values.items()}  # fmt: skip
            local = Env({**scoped, IN_CHANNELS: ins[0][0]} if node.uses_in_channels else scoped, symbolic)
            case = _Case(node.layer, ins, local, row, field, node.uses_in_channels, sample)
            ran = _run(case, ())
            (quantities, variables), numeric = _derive(case, None if ran is None else ran[0].rf)
            known = done[key] = LayerFormulas(row.name, row.kind, ins, row.output, variables, quantities, numeric)
        layers.append(known if known.name == row.name else replace(known, name=row.name))
    return Explanation(title(summary), tuple(layers))


__all__ = ["Explanation", "LayerFormulas", "Quantity", "Variable", "explain"]
