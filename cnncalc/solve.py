"""The largest or smallest value of one symbol meeting a condition, exactly.

``arch.solve(maximize="k", where="params <= 5e6")``: the symbol's valid values (its exact set from
:mod:`cnncalc.constraints`) are searched from 1 up to ``upto`` with the compiled closed forms
(:mod:`cnncalc.sweep`), so the answer within that range is exact whatever the condition. Past the
range the answer rests on monotonicity, proven from the closed forms: totals built from sums,
products and floors of the sizes with non-negative coefficients never decrease as a symbol grows,
so ``params <= c`` holds on an initial run of values and ``macs >= c`` on a final one. A smallest
value needs nothing past the range; a largest one is exact when the condition is shown to hold
only on an initial run and fails somewhere in the range, or when the valid values end.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .compiled import INT64_SAFE, has_numpy
from .constraints import collect
from .errors import CnncalcError
from .periodic import IntSet
from .sweep import BATCH, TOTALS, Model, grid, memory_totals
from .symbolic import _sp, symbol

if TYPE_CHECKING:
    from .architecture import Architecture

#: How far a search goes by default.
UPTO = 1 << 20


@dataclass(frozen=True, slots=True)
class Solution:
    """The answer: ``value`` (None if no value in the range meets the condition), whether it is
    ``exact`` (else a bound: "at least"), why (``note``), and the totals at that value."""

    name: str
    symbol: str
    goal: str
    where: str
    value: int | None
    exact: bool
    note: str
    totals: dict[str, int]
    fixed: dict[str, int]
    upto: int
    derived: dict[str, str] = field(default_factory=dict)

    def render(self, format: str = "text") -> str:
        """The answer as a sentence with the totals, or as JSON."""
        if format == "json":
            return json.dumps(self.to_dict(), indent=2) + "\n"
        if format != "text":
            raise CnncalcError(f"unknown format {format!r} for solve; formats: text, json")
        fixed = ", ".join(
            [*(f"{k} = {v}" for k, v in self.derived.items()), *(f"{k} = {v}" for k, v in self.fixed.items())]
        )
        at = f" (at {fixed})" if fixed else ""
        if self.value is None:
            return (
                f"{self.name}: no {self.symbol} from 1 to {self.upto:,} meets {self.where}{at}\n{_folded(self.note)}\n"
            )
        which = "largest" if self.goal == "max" else "smallest"
        head = f"{self.name}: the {which} {self.symbol} with {self.where}{at} is {self.symbol} = {self.value}"
        if not self.exact:
            head = f"{self.name}: {self.symbol} >= {self.value} meets {self.where}{at}; no largest up to {self.upto:,}"
        totals = "\n".join(f"  {k}: {v:,}" for k, v in self.totals.items())
        return f"{head}\n{totals}\n{_folded(self.note)}\n"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "name": self.name,
            "symbol": self.symbol,
            "goal": self.goal,
            "where": self.where,
            "value": self.value,
            "exact": self.exact,
            "note": self.note,
            "totals": self.totals,
            "fixed": self.fixed,
            "derived": self.derived,
            "upto": self.upto,
        }

    def __str__(self) -> str:
        return self.render()


def _folded(text: str) -> str:
    """A sentence folded to the terminal's width (COLUMNS)."""
    import textwrap

    from .render.text import terminal_width

    return textwrap.fill(text, width=max(40, terminal_width()), break_on_hyphens=False)


# --- monotonicity -------------------------------------------------------------------------------------


def direction(e: Any, x: Any) -> int | None:
    """+1 if ``e`` never decreases as the positive integer ``x`` grows (sizes, products of sizes
    and floors with non-negative coefficients), -1 if it never increases, 0 if it does not depend
    on ``x``, None when that cannot be shown. Sizes are positive wherever the network is valid."""
    sp = _sp()
    if isinstance(e, int) or not e.has(x):
        return 0
    if e == x:
        return 1
    if isinstance(e, (sp.floor, sp.ceiling)):
        return direction(e.args[0], x)
    if e.is_Pow and e.exp.is_Integer and e.exp > 0:
        return direction(e.base, x) if _positive(e.base) else None
    if e.is_Add or isinstance(e, (sp.Max, sp.Min)):
        ways = {direction(a, x) for a in e.args} - {0}
        return None if None in ways or len(ways) > 1 else ways.pop()
    if e.is_Mul:
        coefficient, rest = e.as_coeff_Mul()
        factors = rest.args if rest.is_Mul else (rest,)
        if not all(_positive(f) and direction(f, x) in (0, 1) for f in factors):
            return None
        return 1 if coefficient > 0 else -1
    return None


def _positive(e: Any) -> bool:
    """Positive wherever the network is valid: symbols, sizes (floors of them), their products."""
    sp = _sp()
    if e.is_Symbol or e.is_positive:
        return True
    if isinstance(e, (sp.floor, sp.ceiling)) or e.is_Add:
        return True  # a size: at least 1 by the rules of a valid network
    if e.is_Pow:
        return bool(e.exp.is_Integer and e.exp > 0 and _positive(e.base))
    return bool(e.is_Mul and all(_positive(f) for f in e.args))


def closure(tree: Any, x: Any) -> str | None:
    """ "down" if the condition, true at a value, is true at every smaller one (a run from the
    start), "up" if true at every larger one, None if neither can be shown."""
    op = tree[0]
    if op == "cmp":
        relation, d = tree[1], direction(tree[2], x)
        if d == 0:
            return "both"
        if d is None or relation in ("eq", "ne"):
            return None
        grows_true = (relation in ("ge", "gt")) == (d > 0)
        return "up" if grows_true else "down"
    parts = [closure(t, x) for t in tree[1:]]
    if op == "not":
        return {"up": "down", "down": "up", "both": "both"}.get(parts[0] or "")
    kinds = set(parts) - {"both"}
    if None in kinds or len(kinds) > 1:
        return None
    return kinds.pop() if kinds else "both"


# --- the search -----------------------------------------------------------------------------------------


def solve(
    arch: Architecture,
    where: str,
    *,
    maximize: str | None = None,
    minimize: str | None = None,
    values: Mapping[str, Any] | None = None,
    upto: int = UPTO,
    dtype: str = "float32",
    training: str | None = None,
) -> Solution:
    """The largest (``maximize``) or smallest (``minimize``) value of a symbol with ``where``
    (a condition on totals and symbols), the other symbols at ``values`` or their defaults."""
    if (maximize is None) == (minimize is None):
        raise CnncalcError("give one symbol to maximize or to minimize")
    name = maximize or minimize or ""
    goal = "max" if maximize else "min"
    given = dict(values or {})
    summary, _ = collect(arch.layout({**given, name: None}))  # the symbol solved for stays symbolic
    extra = memory_totals(arch, summary, (), where, dtype, training)
    if name not in arch.symbol_names and not (extra and name == BATCH):
        choices = ", ".join(sorted(arch.symbol_names)) or "none"
        raise CnncalcError(f"{arch.name} has no symbol {name!r} (its symbols: {choices})")
    if name in given:
        raise CnncalcError(f"{name} is what is solved for: do not give it a value")
    if upto < 1:
        raise CnncalcError(f"upto must be at least 1, got {upto}")
    points = grid(arch, {**given, name: "1:2"}, batch=bool(extra))
    if list(points.axes) != [name]:
        raise CnncalcError(f"solve searches {name} alone: give the other symbols single values or expressions")
    limits = arch.constraints()
    scalar = Model(summary, limits, points, TOTALS, where, vector=False, extra=extra)
    vector = Model(summary, limits, points, TOTALS, where, vector=True, extra=extra) if has_numpy() else None
    kind = closure(scalar.where_tree, symbol(name))
    value, searched, failed = _search(scalar, vector, goal, kind == "down", upto)
    valid = limits.sets.get(name) or IntSet.everything()  # the batch B: any positive value
    exact, note = _verdict(name, goal, value, valid, searched, failed, kind)
    totals = {} if value is None else scalar.totals_at(value)
    derived = {k: str(v) for k, v in given.items() if k in points.derived}
    return Solution(arch.name, name, goal, where, value, exact, note, totals, points.fixed, searched, derived)


def _chunks(upto: int) -> Iterator[tuple[int, int]]:
    """1..1024, then ranges doubling in length, up to ``upto``."""
    lo, size = 1, 1024
    while lo <= upto:
        yield lo, min(upto, lo + size - 1)
        lo, size = lo + size, size * 2


def _test(scalar: Model, vector: Model | None, lo: int, hi: int) -> tuple[list[int], list[int]]:
    """The values in lo..hi that are valid and meet the condition, and those valid that do not."""
    if vector is None:
        outs = [(x, scalar.function(x)) for x in range(lo, hi + 1)]
        valid = [(x, out[scalar.n_tests]) for x, out in outs if all(out[: scalar.n_tests])]
        return [x for x, ok in valid if ok], [x for x, ok in valid if not ok]
    import numpy as np

    big = max(abs(int(v)) for v in scalar.function(hi) if not isinstance(v, bool)) > INT64_SAFE
    xs = np.arange(lo, hi + 1, dtype=np.int64).astype(object if big else np.int64)
    out = [np.broadcast_to(v, xs.shape) for v in vector.function(xs)]
    ok = np.logical_and.reduce([o.astype(bool) for o in out[: vector.n_tests]]) if vector.n_tests else True
    meets = out[vector.n_tests].astype(bool)
    return xs[ok & meets].tolist(), xs[ok & ~meets].tolist()


def _search(scalar: Model, vector: Model | None, goal: str, monotone: bool, upto: int) -> tuple[int | None, int, bool]:
    """Walk 1..upto in growing chunks: a smallest value stops at the first hit; a largest one, for
    a condition true on an initial run, at the first valid value past a hit where it fails.
    Returns the value, how far the search went and whether it stopped at such a failure."""
    best = None
    for lo, hi in _chunks(upto):
        hits, misses = _test(scalar, vector, lo, hi)
        if hits and goal == "min":
            return hits[0], hi, False
        best = hits[-1] if hits else best
        if goal == "max" and monotone and best is not None and any(m > best for m in misses):
            return best, hi, True
    return best, upto, False


def _verdict(
    name: str, goal: str, value: int | None, valid: IntSet, searched: int, failed: bool, kind: str | None
) -> tuple[bool, str]:
    """Whether the answer holds past the searched range, and the reason in words."""
    span = f"searched {name} = 1..{searched:,} exactly"
    if goal == "min":
        return value is not None, f"{span}; the smallest value needs nothing past it"
    if valid.bounded and valid.largest(None) == valid.largest(searched):
        return value is not None, f"{span}; {name} has no valid value past it ({valid.describe(name)})"
    if value is None:
        return False, f"{span}; nothing is known past it"
    if failed:
        return True, (
            f"{span}; the condition holds on an initial run of {name} (the totals never decrease) "
            f"and fails past {value:,}, so no larger {name} meets it"
        )
    why = "" if kind == "down" else f" (the condition is not shown monotone in {name})"
    return False, f"{span}; the condition still holds at {name} = {value:,}{why}: larger values may meet it"


__all__ = ["UPTO", "Solution", "closure", "direction", "solve"]
