"""Exact sets of positive integers defined by conditions on floor expressions.

A size in a network is built from its input size x by sums, integer multiples and floors of
rational multiples: floor((a*x + b)/s) and nestings of it. Such an expression e is *quasi-affine*:
there is a period P and a slope m with e(x + P) = e(x) + m*P for every x (P makes every floor's
argument move by a whole number). So along each residue class x = r + t*P (t = 0, 1, 2, ...) the
expression is exactly affine in t, and a condition e >= 0 or e == 0 holds on a half-line, a single
point, everything or nothing of that class. :func:`solve` uses this to turn a condition into an
exact :class:`IntSet` - a modulus and, per residue, an interval - with no sampling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .errors import CnncalcError
from .symbolic import _sp

#: A residue class's values: (lowest, highest or None for no bound), or None when empty.
Interval = tuple[int, int | None] | None

#: Larger periods are not worth enumerating (a network would need strides multiplying past this).
MAX_MODULUS = 1 << 16
#: The longest period :func:`solve` enumerates, residue by residue (real networks: 32, 64, 96...).
MAX_PERIOD = 1 << 12


class NotPeriodic(ValueError):
    """The expression is not quasi-affine in the symbol (a product of sizes, another symbol, max)."""


@dataclass(frozen=True, slots=True)
class IntSet:
    """A set of positive integers: for each residue r modulo ``modulus``, the values x = r (mod
    modulus) with lo <= x <= hi (``classes[r]``; hi None means no upper bound)."""

    modulus: int
    classes: tuple[Interval, ...]

    @classmethod
    def everything(cls) -> IntSet:
        """Every positive integer."""
        return cls(1, ((1, None),))

    def __contains__(self, x: int) -> bool:
        c = self.classes[x % self.modulus]
        return c is not None and c[0] <= x and (c[1] is None or x <= c[1])

    def __and__(self, other: IntSet) -> IntSet:
        m = math.lcm(self.modulus, other.modulus)
        if m > MAX_MODULUS:
            raise NotPeriodic(f"a period of {m} is too long to enumerate")
        classes: list[Interval] = []
        for r in range(m):
            a, b = self.classes[r % self.modulus], other.classes[r % other.modulus]
            if a is None or b is None:
                classes.append(None)
                continue
            lo = max(a[0], b[0], 1)
            lo += (r - lo) % m  # the first value >= lo in this class
            highs = [h for h in (a[1], b[1]) if h is not None]
            hi = None if not highs else min(highs) - (min(highs) - r) % m
            classes.append(None if hi is not None and hi < lo else (lo, hi))
        return IntSet(m, tuple(classes)).reduced()

    def reduced(self) -> IntSet:
        """The same set over the smallest modulus that describes it."""
        m = self.modulus
        for d in sorted(d for d in range(1, m) if m % d == 0):
            candidate = IntSet(d, tuple(_coarser(self.classes[r::d]) for r in range(d)))
            if all(_same(candidate.classes[r % d], self.classes[r], r, m) for r in range(m)):
                return candidate
        return self

    @property
    def empty(self) -> bool:
        return all(c is None for c in self.classes)

    @property
    def bounded(self) -> bool:
        """Whether the set is finite."""
        return all(c is None or c[1] is not None for c in self.classes)

    def minimum(self) -> int | None:
        """The smallest member, None for the empty set."""
        lows = [c[0] for c in self.classes if c is not None]
        return min(lows) if lows else None

    def largest(self, upto: int | None) -> int | None:
        """The largest member up to ``upto`` (None: no bound; None if there is none)."""
        tops = []
        for r, c in enumerate(self.classes):
            if c is None:
                continue
            top = c[1] if upto is None else upto if c[1] is None else min(c[1], upto)
            if top is None:  # no bound asked for, and this class has none
                return None
            top -= (top - r) % self.modulus
            if top >= c[0]:
                tops.append(top)
        return max(tops) if tops else None

    def members(self, upto: int) -> list[int]:
        """The members up to ``upto``, in order."""
        return [x for x in range(1, upto + 1) if x in self]

    def describe(self, name: str) -> str:
        """The set as conditions on ``name``: "H >= 63", "H % 16 == 0", "H >= 2 and H % 4 in {1, 3}",
        with a list of the values below the regular part where there are such."""
        m = self.modulus
        ends = [c[1] for c in self.classes if c is not None and c[1] is not None]
        regular = {r: c[0] for r, c in enumerate(self.classes) if c is not None and c[1] is None}
        if not regular:
            return f"{name} in {{{_listed(self.members(max(ends)))}}}" if ends else "no value"
        # From `start` on, the set is the regular residues: past every bounded class, and late
        # enough that each regular class has begun (its first value from there is in it).
        start = max([1, *(lo - m + 1 for lo in regular.values()), *(e + 1 for e in ends)])
        natural = start == 1
        start = min(lo if lo >= start else lo + (start - lo + m - 1) // m * m for lo in regular.values())
        parts = [] if natural else [f"{name} >= {start}"]
        if len(regular) < m:
            rs = sorted(regular)
            parts.append(f"{name} % {m} == {rs[0]}" if len(rs) == 1 else f"{name} % {m} in {{{_listed(rs)}}}")
        text = " and ".join(parts) or f"any {name} >= 1"
        below = [] if natural else self.members(start - 1)
        return f"{text}, or {name} in {{{_listed(below)}}}" if below else text

    def relation(self, name: str) -> Any:
        """The set as a sympy condition on the integer symbol ``name``."""
        sp = _sp()
        x = sp.Symbol(name, integer=True, positive=True)
        parts = []
        for r, c in enumerate(self.classes):
            if c is None:
                continue
            terms = [x >= c[0]] + ([x <= c[1]] if c[1] is not None else [])
            if self.modulus > 1:
                terms.append(sp.Eq(sp.Mod(x, self.modulus), r))
            parts.append(sp.And(*terms))
        return sp.Or(*parts) if parts else sp.false

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the modulus and, per residue, [lowest, highest or null] or null."""
        return {"modulus": self.modulus, "classes": [None if c is None else list(c) for c in self.classes]}


def _listed(values: list[int], limit: int = 12) -> str:
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (f", ... ({len(values)} values)" if len(values) > limit else "")


def _coarser(classes: tuple[Interval, ...]) -> Interval:
    """One interval for the union of the finer classes (for :meth:`IntSet.reduced` to compare)."""
    if any(c is None for c in classes):
        return None
    lows = [c[0] for c in classes if c is not None]
    highs = [c[1] for c in classes if c is not None]
    return (min(lows), None if any(h is None for h in highs) else max(h for h in highs if h is not None))


def _same(coarse: Interval, fine: Interval, r: int, m: int) -> bool:
    """Whether the coarse class, restricted to r mod m, is the fine class."""
    if coarse is None or fine is None:
        return coarse is None and fine is None
    lo = coarse[0] + (r - coarse[0]) % m
    hi = None if coarse[1] is None else coarse[1] - (coarse[1] - r) % m
    return (lo, hi) == fine


# --- solving -------------------------------------------------------------------------------------


def period(expr: Any, x: Any) -> tuple[int, Any]:
    """(P, m) with expr(x + P) = expr(x) + m*P for every integer x; :class:`NotPeriodic` otherwise."""
    sp = _sp()
    if not expr.has(x):
        if expr.free_symbols:
            raise NotPeriodic(f"{expr} holds other symbols")
        return 1, sp.Integer(0)
    if expr == x:
        return 1, sp.Integer(1)
    if expr.is_Add:
        parts = [period(a, x) for a in expr.args]
        return math.lcm(*(p for p, _ in parts)), sum((m for _, m in parts), sp.Integer(0))
    if expr.is_Mul:
        coefficient, rest = expr.as_coeff_Mul()
        if rest.is_Mul:  # a product of sizes, or a size times another symbol
            raise NotPeriodic(f"{expr} is not linear in {x}")
        p, m = period(rest, x)
        return p, coefficient * m
    if isinstance(expr, (sp.floor, sp.ceiling)):
        p, m = period(expr.args[0], x)
        return p * int(sp.Rational(m * p).q), m  # the argument then moves by whole numbers
    raise NotPeriodic(f"{expr} is not a floor of a linear expression in {x}")


def solve(relation: str, expr: Any, x: Any) -> IntSet:
    """The positive integers x where ``expr >= 0`` (relation "ge") or ``expr == 0`` ("eq"), exactly."""
    p, slope = period(expr, x)
    if p > MAX_PERIOD:
        raise NotPeriodic(f"a period of {p} is too long to enumerate")
    step = int(slope * p)  # expr(x + p) - expr(x): a whole number, since expr is integer-valued
    classes: list[Interval] = [None] * p
    at = _evaluator(expr, x, p)
    for r0 in range(1, p + 1):  # x = r0 + t*p for t = 0, 1, 2, ...: expr = a + step*t
        a = at(r0)
        t_range = _solutions(relation, a, step)
        if t_range is not None:
            lo, hi = t_range
            classes[r0 % p] = (r0 + lo * p, None if hi is None else r0 + hi * p)
    return IntSet(p, tuple(classes)).reduced()


def _evaluator(expr: Any, x: Any, p: int) -> Any:
    """expr at an integer x: by substitution for a short period, else compiled once into integer
    arithmetic (a period of thousands of residues would take seconds by substitution)."""
    if p > 64:
        from .compiled import compile_exact

        try:
            run = compile_exact({"e": expr}, [x.name])
        except CnncalcError:
            pass
        else:
            return lambda r: int(run(**{x.name: r})["e"])
    return lambda r: int(expr.xreplace({x: r}))


def _solutions(relation: str, a: int, b: int) -> tuple[int, int | None] | None:
    """The t >= 0 with a + b*t >= 0 ("ge") or == 0 ("eq"), as (first, last or None), or None."""
    if relation == "eq":
        if b == 0:
            return (0, None) if a == 0 else None
        t, rest = divmod(-a, b)
        return (t, t) if rest == 0 and t >= 0 else None
    if b > 0:
        return (max(0, -(a // b)), None)  # t >= ceil(-a/b)
    if b == 0:
        return (0, None) if a >= 0 else None
    return (0, a // -b) if a >= 0 else None


__all__ = ["MAX_MODULUS", "MAX_PERIOD", "IntSet", "NotPeriodic", "period", "solve"]
