"""Exact numbers, floors in closed form, and the pure functions expressions may call (floor, ceil,
round, min, max, make_divisible), on exact numbers and on sympy expressions. sympy is imported here
on first use only: a numeric run never pays for it.

:func:`exact` reads the values of rational symbols (0.35, "7/20") exactly, as :class:`Rational`.

Numbers are ints and Fractions (the values of rational symbols, such as 7/20 for a width of 0.35):
every function is exact, no float is involved. Symbolically floor, ceil, min and max have closed
forms; round and make_divisible of a symbolic value are refused (see :func:`call`).

Closed forms: sympy leaves ``floor(floor(H/2)/2)`` nested, which grows quadratically with depth.
:func:`floordiv` collapses it with floor((floor(u) + c)/n) = floor((u + c)/n) for integer c and
positive integer n, so a chain of any depth stays one ``floor((H + A)/S)``.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction
from functools import cache
from typing import TYPE_CHECKING, Any

from .errors import ExpressionError

if TYPE_CHECKING:
    import sympy


@cache
def _sp() -> Any:
    import sympy

    return sympy


@cache
def symbol(name: str) -> sympy.Symbol:
    """The sympy symbol for ``name``: a positive integer. Built directly, so ``E`` or ``I`` stay symbols."""
    return _sp().Symbol(name, integer=True, positive=True)


def simplify_integer(value: Any) -> Any:
    """A sympy number that is a whole number becomes an int; anything else is returned as it is."""
    if isinstance(value, int):
        return value
    if getattr(value, "is_Integer", False):
        return int(value)
    return value


def is_number(value: Any) -> bool:
    """Whether ``value`` is an exact number (int or Fraction; true/false are not numbers)."""
    return isinstance(value, (int, Fraction)) and not isinstance(value, bool)


def sympy_number(value: int | Fraction) -> Any:
    """An int or Fraction as a sympy Integer or Rational."""
    if isinstance(value, int):
        return _sp().Integer(value)
    return _sp().Rational(value.numerator, value.denominator)


# --- exact values of rational symbols ------------------------------------------------------------


class Rational(Fraction):
    """A rational symbol's value: a Fraction that prints as people write it, as a decimal where
    that is exact (0.35, 1.4) and as a fraction where it is not (1/3). Arithmetic on it gives
    plain Fractions."""

    def __str__(self) -> str:
        q, twos, fives = self.denominator, 0, 0
        while q % 2 == 0:
            q, twos = q // 2, twos + 1
        while q % 5 == 0:
            q, fives = q // 5, fives + 1
        if q != 1:
            return f"{self.numerator}/{self.denominator}"
        places = max(twos, fives)
        digits = str(abs(self.numerator) * 10**places // self.denominator).rjust(places + 1, "0")
        sign = "-" if self.numerator < 0 else ""
        return f"{sign}{digits[:-places]}.{digits[-places:]}" if places else f"{sign}{digits}"


def json_number(value: int | Fraction) -> int | float | str:
    """A symbol's value in JSON: an int as it is; a rational as a number where its decimal is exact
    (0.35), else as text ("1/3"), which a float would round."""
    if isinstance(value, int):
        return value
    text = str(Rational(value))
    return text if "/" in text else float(text)


_EXACT = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d{1,2}))?(?:/(\d+))?\Z")


def exact(value: object) -> int | Rational:
    """``value`` as an exact number: an int as it is, a Fraction, a float by its shortest repr
    (0.35 is 7/20, never the binary 0.34999...), or text: "0.35", "1.4", "7/20", "35e-2". Whole
    numbers come back as int, others as :class:`Rational`. ValueError for anything else (bools,
    infinities, other text)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is true/false, not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{value!r} is not a number")
        value = repr(value)
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        sign = -1 if text.startswith("-") else 1
        m = _EXACT.match(text.lstrip("+-")) if len(text) <= 40 else None
        if m is None:
            raise ValueError(f"{value!r} is not a number (such as 0.35 or 7/20)")
        number, exponent, denominator = m.groups()
        if denominator is not None and int(denominator) == 0:
            raise ValueError(f"{value!r} divides by zero")
        value = sign * Fraction(number) * Fraction(10) ** int(exponent or 0) / int(denominator or 1)
    if not isinstance(value, Fraction):
        raise ValueError(f"{value!r} is not a number (such as 0.35 or 7/20)")
    return int(value) if value.denominator == 1 else Rational(value)


def exact_values(given: object, limit: int = 10_000) -> list[int | Rational]:
    """A rational symbol's values, exactly: a number (0.35, "7/20", a Fraction), a list of them, or
    text: "0.35,0.5,1.4" or START:STOP[:STEP] ("0.25:1.5:0.25", both ends included, step 1 by
    default). ValueError for anything else, an empty range, or over ``limit`` values."""
    if isinstance(given, str) and ":" in given:
        parts = [exact(p) for p in given.split(":")]
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] <= 0):
            raise ValueError(f"{given!r} is not START:STOP[:STEP] with a positive step")
        start, stop, step = (*parts, 1)[:3]
        count = math.floor((stop - start) / step) + 1
        if count > limit:
            raise ValueError(f"{given!r} has {count:,} values (limit {limit:,})")
        values = [exact(start + i * step) for i in range(count)]
    elif isinstance(given, str):
        values = [exact(p) for p in given.split(",")]
    elif isinstance(given, (list, tuple, range)):
        values = [exact(v) for v in given]
    else:
        values = [exact(given)]
    if not values or len(values) > limit:
        raise ValueError(f"{given!r}: give 1 to {limit:,} values")
    return values


# --- floors in closed form --------------------------------------------------------------------------


def floordiv(num: Any, den: Any) -> Any:
    """floor(num/den) for a positive integer ``den``, collapsing nested floors into one."""
    if is_number(num) and is_number(den):
        return int(num // den)
    sp = _sp()
    if den == 1:
        return num
    num = sympy_number(num) if is_number(num) else num
    terms = num.args if num.is_Add else (num,)
    floors = [t for t in terms if isinstance(t, sp.floor)]
    den_ok = isinstance(den, int) or (den.is_integer and den.is_positive)
    if len(floors) == 1 and den_ok:
        rest = sp.Add(*[t for t in terms if t is not floors[0]])
        if rest.is_integer:
            # floor((floor(u) + c)/n) = floor((u + c)/n): keeps any chain one floor deep.
            return _floor((floors[0].args[0] + rest) / den)
    if not floors and isinstance(den, int):
        coeffs = [c for c, _ in (t.as_coeff_Mul() for t in terms)]
        if all(c.is_Integer and int(c) % den == 0 for c in coeffs):
            return simplify_integer(sp.expand(num / den))
    return _floor(num / den)


def _floor(arg: Any) -> Any:
    sp = _sp()
    if arg.is_Number:
        return int(sp.floor(arg))
    # Integer coefficients on integer symbols make an integer; asking sympy's assumptions the same
    # question costs ~0.3 ms a call, most of a symbolic run.
    if all(c.is_Integer for c in arg.as_coefficients_dict().values()) and integer_terms(arg):
        return simplify_integer(arg)
    # The argument is already canonical here; skipping floor's evaluation saves ~1 ms a call.
    return sp.floor(arg, evaluate=False)


def integer_terms(arg: Any) -> bool:
    """Whether ``arg`` is built from integer symbols (floors included) by sums, products and
    non-negative whole powers, so that integer coefficients make it an integer."""
    sp = _sp()
    if not all(a.is_integer for a in arg.atoms(sp.Symbol)):
        return False
    return all(p.exp.is_Integer and p.exp >= 0 for p in arg.atoms(sp.Pow))


def ceildiv(num: Any, den: Any) -> Any:
    """ceil(num/den) = floor((num + den - 1)/den) for integer num and positive integer den."""
    return floordiv(num + den - 1, den)


# --- the functions of expressions ---------------------------------------------------------------------


def make_divisible(v: int | Fraction, divisor: int, min_value: int | None = None) -> int:
    """torchvision's ``_make_divisible`` (torchvision/models/_utils.py, after the TF MobileNet
    code), exactly: new = max(min_value, int(v + divisor/2) // divisor * divisor), min_value
    defaulting to divisor, plus divisor where new < 0.9*v (rounding must not lose over 10%).
    int() truncates towards zero; 0.9*v is compared exactly, not in floats. In integers: v = p/q,
    v + divisor/2 = (2p + divisor*q)/(2q), new < 0.9*v if 10*new*q < 9*p (no Fraction is made:
    a MobileNet calls this hundreds of times a summary)."""
    p, q = v.numerator, v.denominator
    n, m = 2 * p + divisor * q, 2 * q
    truncated = n // m if n >= 0 else -(-n // m)
    new = max(divisor if min_value is None else min_value, truncated // divisor * divisor)
    return new + divisor if 10 * new * q < 9 * p else new


def call(name: str, args: list[Any], text: str) -> Any:
    """The value of ``name(*args)`` (a function of :data:`cnncalc.expressions.FUNCTIONS`): exact on
    numbers (round is Python's, halves to even: round(5/2) = 2, as torchvision's ``round``); on
    sympy expressions floor and ceil in closed form (nested floors collapsed), min and max as
    sympy's Min and Max. round and make_divisible of a symbolic value are refused with a request
    for values: their closed forms are step functions (make_divisible a Piecewise with a
    correction branch) that would fill every total with unreadable terms."""
    if all(type(a) is int for a in args):  # the common case, kept cheap
        return _numeric(name, args, text)
    numbers = [n for n in (_exact(a) for a in args) if n is not None]
    if len(numbers) == len(args):
        return _numeric(name, numbers, text)
    sp = _sp()
    args = [sympy_number(a) if is_number(a) else a for a in args]
    if name in ("min", "max"):
        return simplify_integer((sp.Min if name == "min" else sp.Max)(*args))
    (x,) = args[:1]
    if name == "round" and len(args) == 1 and x.is_integer:
        return simplify_integer(x)
    if name in ("floor", "ceil"):
        num, den = sp.fraction(sp.together(x))
        if not (den.is_Integer and den > 0):
            return sp.floor(x) if name == "floor" else sp.ceiling(x)
        if name == "floor":
            return floordiv(num, int(den))
        if num.is_integer:
            return ceildiv(num, int(den))
        return sp.ceiling(x)
    names = sorted({str(s) for a in args for s in a.free_symbols})
    example = " ".join(f"--set {n}=..." for n in names)
    raise ExpressionError(
        f"{text!r}: {name}() of {', '.join(names)} has no closed form here (a step function): "
        f"give {' and '.join(names)} a value ({example})"
    )


def _exact(value: Any) -> int | Fraction | None:
    """``value`` as an int or Fraction when it is a number (sympy numbers included), else None."""
    if isinstance(value, (int, Fraction)):
        return None if isinstance(value, bool) else value
    if getattr(value, "is_Rational", False):
        return int(value) if value.is_Integer else Fraction(int(value.p), int(value.q))
    return None


def _numeric(name: str, args: list[int | Fraction], text: str) -> int | Fraction:
    if name == "floor":
        return math.floor(args[0])
    if name == "ceil":
        return math.ceil(args[0])
    if name == "round":
        return round(args[0])
    if name == "min":
        return min(args)
    if name == "max":
        return max(args)
    v, divisor, *rest = args
    if not (isinstance(divisor, int) and divisor >= 1):
        raise ExpressionError(f"{text!r}: the divisor of make_divisible must be a positive whole number, got {divisor}")
    least = rest[0] if rest else divisor
    if not isinstance(least, int):
        raise ExpressionError(f"{text!r}: the min_value of make_divisible must be a whole number, got {least}")
    return make_divisible(v, divisor, least)


__all__ = [
    "Rational",
    "call",
    "ceildiv",
    "exact",
    "exact_values",
    "floordiv",
    "integer_terms",
    "is_number",
    "json_number",
    "make_divisible",
    "simplify_integer",
    "symbol",
    "sympy_number",
]
