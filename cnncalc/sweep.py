"""Sweeps over symbol values: totals at every point of a grid, exact, from closed forms compiled once.

``arch.sweep(H=range(32, 1025, 32), W="H", k=[1, 2, 4], where="macs <= 4e8")``: the symbolic
totals of one evaluation (:func:`cnncalc.constraints.collect`) and the network's rules are compiled
into one integer program (:mod:`cnncalc.compiled`) that runs on numpy arrays when numpy is there, on
Python ints otherwise. Points where a rule fails are invalid, with the rule; ``where`` keeps the valid
points that meet it. The values per symbol are given as a whole number, a list, a range, text
``"32:1024:32"`` (both ends included) or ``"1,2,4"``, or an expression in other symbols (``"H"``,
``"2*H"``); symbols not given take their defaults.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from .compiled import INT64_SAFE, Program, has_numpy
from .constraints import Constraints, collect, constraints
from .engines import run_numpy, run_python
from .errors import CnncalcError, ExpressionError
from .expressions import Expr, parse, parse_condition
from .functions import call, sympy_number
from .network import Network
from .slices import MAX_SLICES, joined, network_at, rational_values, shown
from .symbolic import _sp, evaluate, floordiv, symbol

if TYPE_CHECKING:
    from .architecture import Architecture
    from .report import Summary

#: Totals a sweep shows and a condition can name.
TOTALS = ("params", "trainable_params", "macs", "flops", "activations", "neurons")
#: Memory totals (cnncalc.memory), in bytes, at the batch size B.
MEMORY = (
    "param_bytes", "buffer_bytes", "grad_bytes", "optimizer_bytes", "saved_bytes", "train_bytes", "peak_bytes", "infer_bytes"
)  # fmt: skip
#: The batch size's symbol, a sweep's extra axis when memory is asked for (default 1).
BATCH = "B"
#: Columns a sweep can show: the totals, the memory totals and the network's output shape.
COLUMNS = (*TOTALS, *MEMORY, "output")
#: Points one sweep may visit.
MAX_POINTS = 50_000_000


# --- what the values are ----------------------------------------------------------------------------


def _ints(name: str, text: str) -> list[int]:
    """ "32:1024:32" (ends included), "1,2,4" or "224" as a list of positive whole numbers."""
    try:
        if ":" in text:
            parts = [int(p) for p in text.split(":")]
            if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] < 1):
                raise ValueError
            values = list(range(parts[0], parts[1] + 1, parts[2] if len(parts) == 3 else 1))
        else:
            values = [int(p) for p in text.split(",")]
    except ValueError:
        raise CnncalcError(f"{name}={text}: give START:STOP[:STEP], a list 1,2,4 or a whole number") from None
    return values


def _axis(name: str, given: Any) -> list[int] | Expr:
    """One symbol's values: a list of ints, or an expression in other symbols."""
    if isinstance(given, str):
        text = given.strip()
        if text and (text[0].isdigit() and all(c.isdigit() or c in ":, " for c in text)):
            values = _ints(name, text.replace(" ", ""))
        else:
            try:
                return parse(text)
            except ExpressionError as err:
                raise CnncalcError(f"{name}={given}: {err.reason}") from None
    elif isinstance(given, bool):
        raise CnncalcError(f"{name}: give whole numbers, not {given!r}")
    elif isinstance(given, int):
        values = [given]
    else:
        values = list(given)
    if not values:
        raise CnncalcError(f"{name}={given}: the range is empty")
    bad = [v for v in values if isinstance(v, bool) or not isinstance(v, int) or v < 1]
    if bad:
        raise CnncalcError(f"{name}: values must be positive whole numbers, got {bad[0]!r}")
    return values


@dataclass(frozen=True, slots=True)
class Grid:
    """The points of a sweep: ``axes`` (symbol -> values; the grid is their product), ``derived``
    (symbol -> sympy expression in the axes' symbols) and ``fixed`` (symbol -> int)."""

    axes: dict[str, list[int]]
    derived: dict[str, Any]
    fixed: dict[str, Any]
    #: Rational symbols among ``fixed``: the summary holds them already (see :func:`run`).
    rational: frozenset[str] = frozenset()

    @property
    def size(self) -> int:
        return math.prod(len(v) for v in self.axes.values())


def grid(arch: Architecture, values: Mapping[str, Any], batch: bool = False, held: Network | None = None) -> Grid:
    """The grid ``values`` describe, with the file's defaults for the other symbols (and the
    batch size B, 1 by default, where ``batch``). Rational symbols keep the value the summary
    was evaluated at: that of ``held`` (from :func:`cnncalc.slices.network_at`), else their defaults."""
    names = arch.symbol_names | ({BATCH} if batch else set())
    unknown = [n for n in values if n not in names]
    if unknown:
        choices = ", ".join(sorted(names)) or "none"
        raise CnncalcError(f"{arch.name} has no symbol {unknown[0]!r} (its symbols: {choices})")
    rational = (held or arch.network).rationals
    for n, v in values.items():
        if n in rational and rational_values(n, v) != [rational[n]]:
            raise CnncalcError(f"{n} is rational: held at {rational[n]} here, it takes other values in sweeps only")
    parsed = {n: _axis(n, v) for n, v in values.items() if n not in rational}
    parsed.update({n: [v] for n, v in rational.items() if v is not None})
    axes = {n: v for n, v in parsed.items() if isinstance(v, list) and len(v) > 1}
    fixed = {n: v[0] for n, v in parsed.items() if isinstance(v, list) and len(v) == 1}
    exprs = {n: v for n, v in parsed.items() if isinstance(v, Expr)}
    for n in [*(n for n in arch.symbols if n in names), *sorted(names - set(arch.symbols))]:
        if n in parsed:
            continue
        if n == BATCH and n not in arch.symbol_names:
            fixed[n] = 1
            continue
        if n not in arch.defaults:
            raise CnncalcError(f"{n} has no default: give its values (--set {n}=...)")
        fixed[n] = arch.defaults[n]
    derived: dict[str, Any] = {}
    pending = dict(exprs)
    while pending:  # each expression over the axes, the fixed values and expressions already known
        ready = {n: e for n, e in pending.items() if e.names <= set(axes) | set(fixed) | set(derived)}
        if not ready:
            n, e = next(iter(pending.items()))
            missing = sorted(e.names - set(axes) - set(fixed) - set(derived) - set(pending))
            why = (
                f"{', '.join(missing)} is not a symbol of {arch.name}"
                if missing
                else "the expressions refer to each other"
            )
            raise CnncalcError(f"{n}={e.text}: {why}")
        for n, e in ready.items():
            known = {**fixed, **{k: symbol(k) for k in axes}, **derived}
            derived[n] = evaluate(e, known, True)
            del pending[n]
    if math.prod(len(v) for v in axes.values()) > MAX_POINTS:
        raise CnncalcError(f"the grid has over {MAX_POINTS:,} points: narrow a range or take a larger step")
    return Grid(axes, derived, fixed, frozenset(rational))


# --- the compiled network -------------------------------------------------------------------------------


def where_expr(condition: Expr, names: Mapping[str, Any]) -> list[tuple[str, Any]] | Any:
    """The tree of a parsed condition with names replaced by their closed forms: comparisons
    become ("cmp", relation, lhs - rhs), and/or/not stay."""

    def num(node: tuple[Any, ...]) -> Any:
        sp = _sp()
        op = node[0]
        if op == "num":
            v = node[1]
            return sp.Rational(v.numerator, v.denominator) if isinstance(v, Fraction) else sp.Integer(v)
        if op == "name":
            if node[1] not in names:
                raise CnncalcError(f"{condition.text!r}: unknown name {node[1]!r} (names: {', '.join(names)})")
            return sp.Integer(names[node[1]]) if isinstance(names[node[1]], int) else names[node[1]]
        if op == "neg":
            return -num(node[1])
        if op == "call":
            value = call(node[1], [num(a) for a in node[2:]], condition.text)
            return sympy_number(value) if isinstance(value, (int, Fraction)) else value
        a, b = num(node[1]), num(node[2])
        if op in ("div", "floordiv", "mod") and b == 0:
            raise CnncalcError(f"{condition.text!r} divides by zero")
        ops: dict[str, Callable[[], Any]] = {
            "add": lambda: a + b,
            "sub": lambda: a - b,
            "mul": lambda: a * b,
            "div": lambda: a / b,
            "floordiv": lambda: floordiv(a, b),
            "mod": lambda: a - b * floordiv(a, b),
            "pow": lambda: a**b,
        }
        limit = 64 if a.is_Number else 8  # 2**30 bytes; a symbolic power stays small
        if op == "pow" and not (b.is_Integer and 0 <= b <= limit):
            raise CnncalcError(f"{condition.text!r}: an exponent must be a whole number from 0 to {limit}")
        return ops[op]()

    def walk(node: tuple[Any, ...]) -> Any:
        if node[0] == "cmp":
            return ("cmp", node[1], num(node[2]) - num(node[3]))
        return (node[0], *(walk(n) for n in node[1:]))

    return walk(condition.tree)


class Model:
    """The totals, output shape and rules of a network compiled for one grid (and a condition):
    ``run(values)`` returns the rules' tests, the condition's test and the columns, per point."""

    def __init__(
        self,
        summary: Summary,
        limits: Constraints,
        points: Grid,
        columns: Sequence[str],
        where: str | None,
        vector: bool,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.limits = limits
        sp = _sp()
        subs = {symbol(n): sp.Integer(v) for n, v in points.fixed.items() if n not in points.rational}
        subs.update({symbol(n): e for n, e in points.derived.items()})

        def put(value: Any) -> Any:
            return value if isinstance(value, int) else value.xreplace(subs)

        t = summary.total
        totals = {"params": t.params, "trainable_params": t.trainable_params, "macs": t.macs}
        totals.update(flops=2 * t.macs, activations=t.activations, neurons=t.neurons, **(extra or {}))
        totals = {k: put(v) for k, v in totals.items()}
        self.program = program = Program(list(points.axes), vector)
        self.labels = [f"{r.layer}: {r.condition}" for r in self.limits.rules]
        tests = [program.test(r.relation, put(r.value)) for r in self.limits.rules]
        for n, e in points.derived.items():  # an expression's value must be a positive whole number
            self.labels += [f"{n} = {e} is not a whole number", f"{n} = {e} is below 1"]
            tests += [program.test("eq", e - sp.floor(e)), program.test("ge", e - 1)]
        self.n_tests = len(tests)
        self.condition = where
        self.totals = totals
        outputs = list(tests)
        self.where_tree: Any = None
        if where is not None:
            names = {**{n: symbol(n) for n in points.axes}, **points.derived, **points.fixed, **totals}
            self.where_tree = where_expr(parse_condition(where), names)
            outputs.append(self._logic(self.where_tree))
        self.columns = [c for c in columns if c != "output"]
        outputs += [program.value(totals[c]) for c in self.columns]
        self.output = [put(d) for d in summary.rows[-1].output] if "output" in columns else []
        outputs += [program.value(d) for d in self.output]
        outputs += [program.value(e) for e in points.derived.values()]
        self.function = program.build(outputs)

    def totals_at(self, value: int) -> dict[str, int]:
        """Every total at one value of the grid's single swept symbol (exact, from the closed forms)."""
        (x,) = [s for s in self.program.order]
        point = {symbol(x): value}
        return {k: int(v) if isinstance(v, int) else int(v.xreplace(point)) for k, v in self.totals.items()}

    def _logic(self, node: Any) -> str:
        if node[0] == "cmp":
            return self.program.test(node[1], node[2])
        return self.program.logic(node[0], [self._logic(n) for n in node[1:]])


def memory_totals(
    arch: Architecture,
    summary: Summary,
    columns: Sequence[str],
    where: str | None,
    dtype: str,
    training: str | None,
    net: Network | None = None,
) -> dict[str, Any]:
    """The memory totals (closed forms in the sizes and the batch B) where the columns or the
    condition name one, else nothing; ``net``: the network ``summary`` is of (default ``arch``'s)."""
    used = set(columns) | (set(parse_condition(where).names) if where else set())
    if not used & set(MEMORY):
        return {}
    needs = used & {"train_bytes", "grad_bytes", "optimizer_bytes"}
    if needs and training is None:
        raise CnncalcError(f"{sorted(needs)[0]} needs a training optimizer: --training sgd|momentum|adam|adamw")
    from .memory import memory

    batch = symbol(BATCH) if BATCH not in arch.symbol_names else 1
    return memory(net or arch.network, summary, batch=batch, dtype=dtype, training=training).totals()


def _magnitude(model: Model, points: Grid) -> int:
    """The largest result at the grid's two corners (sizes and totals grow with the symbols):
    above :data:`INT64_SAFE`, numpy works on exact Python ints instead of int64."""
    biggest = 0
    for corner in (min, max):
        out = model.function(*(corner(v) for v in points.axes.values()))
        biggest = max([biggest, *(abs(int(v)) for v in out if not isinstance(v, bool))])
    return biggest


# --- running a sweep ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sweep:
    """The results of a sweep, column by column (``data``): each swept or derived symbol, ``valid``,
    ``reason`` (the first rule an invalid point breaks, else ""), each total asked for and ``output``
    (the network's output shape). Rows are the valid points meeting ``where``, or every point when
    there is no condition. A sequence of rows (dicts); ``to_pandas()``, ``render(format)``."""

    name: str
    symbols: tuple[str, ...]
    columns: tuple[str, ...]
    data: dict[str, Any]
    points: int
    invalid: dict[str, int]
    fixed: dict[str, int]
    where: str | None
    engine: str
    seconds: float
    keys: tuple[str, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.data["valid"])

    def __getitem__(self, i: int) -> dict[str, Any]:
        valid = bool(self.data["valid"][i])
        counted = (*self.columns, "output")  # meaningless where the point is invalid
        return {k: _plain(self.data[k][i]) if valid or k not in counted else None for k in self.keys}

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self[i] for i in range(len(self)))

    @property
    def rows(self) -> list[dict[str, Any]]:
        """Every row as a dict (symbol values, valid, reason, the totals, output)."""
        return list(self)

    def to_pandas(self) -> Any:
        """A pandas DataFrame with one column per key (needs pandas: ``pip install "cnncalc[pandas]"``)."""
        try:
            import pandas as pd
        except ImportError:
            raise CnncalcError('to_pandas needs pandas: pip install "cnncalc[pandas]"') from None
        return pd.DataFrame(self.rows, columns=list(self.keys))

    def render(self, format: str = "text") -> str:
        """The rows as a text table, Markdown, CSV or JSON."""
        from .render.sweep import render_sweep

        return render_sweep(self, format)

    def __str__(self) -> str:
        return self.render("text")

    def _repr_markdown_(self) -> str:
        return self.render("markdown")


def _plain(value: Any) -> Any:
    """numpy scalars and rows as Python ints, bools, strings and tuples."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    return tuple(int(v) for v in value) if isinstance(value, (list, tuple)) else value


def run(
    arch: Architecture,
    values: Mapping[str, Any],
    *,
    columns: Sequence[str] = ("params", "macs", "activations"),
    where: str | None = None,
    engine: str = "auto",
    progress: Callable[[int, int], None] | None = None,
    dtype: str = "float32",
    training: str | None = None,
) -> Sweep:
    """The sweep of ``arch`` over ``values`` (see the module's docstring); ``engine`` "numpy",
    "python" or "auto" (numpy when installed); ``progress(done, total)`` after each chunk; the
    memory totals in ``dtype`` with the ``training`` optimizer, at the batch size B."""
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise CnncalcError(f"unknown column {unknown[0]!r}; columns: {', '.join(COLUMNS)}")
    if engine not in ("auto", "numpy", "python"):
        raise CnncalcError(f"unknown engine {engine!r}; engines: auto, numpy, python")
    vector = has_numpy() if engine == "auto" else engine == "numpy"
    if vector and not has_numpy():
        raise CnncalcError('the numpy engine needs numpy: pip install "cnncalc[fast]"')
    given = {n: rational_values(n, v) for n, v in values.items() if n in arch.network.rationals}
    slices = [dict(zip(given, c, strict=True)) for c in itertools.product(*given.values())]
    if len(slices) > MAX_SLICES:
        raise CnncalcError(f"{len(slices)} values of rational symbols: at most {MAX_SLICES}, one evaluation each")
    options = (columns, where, vector, progress, dtype, training)
    # a repeat's count swept (repeat: d) stays symbolic; a rational symbol's value may change the layout
    parts = [_slice(arch, {**values, **at}, network_at(arch.layout({**values, **at}), at), *options) for at in slices]
    swept = [n for n, v in given.items() if len(v) > 1]
    return joined(parts, slices, swept) if swept else parts[0]


def _slice(
    arch: Architecture,
    values: Mapping[str, Any],
    net: Network,
    columns: Sequence[str],
    where: str | None,
    vector: bool,
    progress: Callable[[int, int], None] | None,
    dtype: str,
    training: str | None,
) -> Sweep:
    """The sweep of ``net`` (``arch``'s, its rational symbols at one value each) over ``values``."""
    summary, _ = collect(net)
    extra = memory_totals(arch, summary, columns, where, dtype, training, net)
    points = grid(arch, values, batch=bool(extra), held=net)
    limits = arch.constraints() if net is arch.network else constraints(net)
    start = time.perf_counter()
    scalar = Model(summary, limits, points, columns, where, vector=False, extra=extra)
    if vector and points.axes:
        model = Model(summary, limits, points, columns, where, vector=True, extra=extra)
        huge = _magnitude(scalar, points) > INT64_SAFE
        data, invalid = run_numpy(model, points, huge, progress)
    else:
        data, invalid = run_python(scalar, points, progress)
    keys = (*points.axes, *points.derived, "valid", "reason", *scalar.columns, *(("output",) if scalar.output else ()))
    return Sweep(
        name=arch.name,
        symbols=(*points.axes, *points.derived),
        columns=tuple(c for c in columns if c in keys),
        data=data,
        points=points.size,
        invalid=invalid,
        fixed={k: shown(v) for k, v in points.fixed.items()},
        where=where,
        engine="numpy" if vector and points.axes else "python",
        seconds=time.perf_counter() - start,
        keys=keys,
    )
