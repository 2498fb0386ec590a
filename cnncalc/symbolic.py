"""Numbers that may be symbolic: evaluation of expression trees, closed-form arithmetic, printing.
With :mod:`cnncalc.functions` (floors and the functions expressions call), the only modules that
know sympy.

Values are plain ``int`` in a numeric run (sympy is then never imported: it costs ~0.2 s) and sympy
expressions in a symbolic run. Layer rules use ordinary operators plus the helpers here
(``floordiv``, ``minimum``, ``equal``, ``half``), which stay on ints when both sides are ints.

Expressions in YAML fields are parsed by :mod:`cnncalc.expressions` (never eval, exec or sympify)
and evaluated here, exactly: a rational symbol's value (alpha = 7/20) makes Fractions on the way,
and a field's value must come out whole (``make_divisible(32*alpha, 8)``, not ``32*alpha``).
"""

from __future__ import annotations

from fractions import Fraction
from functools import cache
from typing import TYPE_CHECKING, Any, Union

from .errors import CnncalcError, ExpressionError
from .expressions import MAX_EXPONENT, MAX_MAGNITUDE, MAX_SYMBOLIC_EXPONENT, Expr, parse
from .functions import Rational, call, exact, integer_terms, is_number, sympy_number
from .functions import _sp as _sp
from .functions import ceildiv as ceildiv
from .functions import floordiv as floordiv
from .functions import simplify_integer as simplify_integer
from .functions import symbol as symbol

if TYPE_CHECKING:
    import sympy

#: A value: int in numeric runs; sympy.Expr where a symbol is involved.
Value = Union[int, "sympy.Expr"]

# --- evaluation --------------------------------------------------------------------------------

_NUMBERS = (int, Fraction, Rational)


def _check_size(value: Any, text: str) -> None:
    if type(value) in _NUMBERS and abs(value) > MAX_MAGNITUDE:
        raise ExpressionError(f"{text!r} is too large (limit 10**30)")


def evaluate(expr: Expr, values: dict[str, Any], symbolic: bool) -> Value:
    """The value of ``expr``: names take ``values``; missing names are symbols if ``symbolic``, errors
    else. On the way values may be Fractions (a rational symbol's 7/20, H/2); the result must be
    whole."""
    for name in expr.names:
        if name not in values and not symbolic:
            raise ExpressionError(
                f"{name} has no value: give one with --set {name}=... (in Python: summarize({name}=...)), "
                f"a default in `symbols:`, or ask for a symbolic summary"
            )
    result = _eval(expr.tree, values, expr.text)
    if isinstance(result, Fraction):
        if result.denominator != 1:
            rational = any(isinstance(values.get(n), Fraction) for n in expr.names)
            hint = ": round it (floor, ceil, round or make_divisible)" if rational else ""
            raise ExpressionError(f"{expr.text!r} is not a whole number ({result}){hint}")
        return int(result)
    return simplify_integer(result)


def _named(name: str, value: Any, text: str) -> Any:
    """A name's value: a number or sympy as it is; a float or text (values handed to an Env
    without the checks of a summary) exactly, by :func:`cnncalc.expressions.exact`."""
    if isinstance(value, bool):
        raise ExpressionError(f"{text!r}: {name} is true/false, not a number")
    if isinstance(value, (float, str)):
        try:
            return exact(value)
        except ValueError as err:
            raise ExpressionError(f"{text!r}: {name}: {err}") from None
    return value


def _eval(node: tuple[Any, ...], values: dict[str, Any], text: str) -> Any:
    op = node[0]
    if op == "num":
        return node[1]
    if op == "name":
        name = node[1]
        if name not in values:
            return symbol(name)
        value = values[name]
        return value if type(value) is int else _named(name, value, text)
    if op == "neg":
        return -_eval(node[1], values, text)
    if op == "call":
        result = call(node[1], [_eval(a, values, text) for a in node[2:]], text)
        _check_size(result, text)
        return result.numerator if type(result) is Fraction and result.denominator == 1 else result
    a = _eval(node[1], values, text)
    b = _eval(node[2], values, text)
    if op == "add":
        result = a + b
    elif op == "sub":
        result = a - b
    elif op == "mul":
        result = a * b
    elif op == "div":
        if is_number(b) and b == 0:
            raise ExpressionError(f"{text!r} divides by zero")
        if is_number(a) and is_number(b):
            result = Fraction(a, b) if type(a) is int and type(b) is int else Fraction(a) / b
        else:
            result = (sympy_number(a) if is_number(a) else a) / (sympy_number(b) if is_number(b) else b)
    elif op == "floordiv":
        if is_number(b) and b == 0:
            raise ExpressionError(f"{text!r} divides by zero")
        if (is_number(a) and is_number(b)) or not is_number(b) or b > 0:
            result = floordiv(a, b)
        else:
            result = _sp().floor(a / sympy_number(b))
    else:
        result = _power(a, b, text)
    _check_size(result, text)
    return result.numerator if type(result) is Fraction and result.denominator == 1 else result  # whole: an int


def _power(a: Any, b: Any, text: str) -> Any:
    """a**b for a whole exponent b from 0 to 64 (8 for a symbolic a), bounded in size."""
    if not isinstance(b, int) or b < 0:
        raise ExpressionError(f"{text!r}: an exponent must be a whole number from 0 to {MAX_EXPONENT}")
    if b > MAX_EXPONENT:
        raise ExpressionError(f"{text!r}: the exponent {b} is too large (limit {MAX_EXPONENT})")
    if is_number(a):
        bits = max(abs(a.numerator).bit_length(), a.denominator.bit_length()) - 1
        if bits > 0 and bits * b > 100:
            raise ExpressionError(f"{text!r} is too large or too precise (limit 10**30)")
    elif b > MAX_SYMBOLIC_EXPONENT:
        # a power of a sum expands to a huge polynomial when shapes are compared
        raise ExpressionError(f"{text!r}: a symbolic power may have an exponent up to {MAX_SYMBOLIC_EXPONENT}")
    return a**b


class Env:
    """What names mean in one evaluation: ``values`` given, the rest symbols (``symbolic``) or
    errors. Read-only by convention (a plain class: cheaper to define at start-up than a dataclass)."""

    __slots__ = ("symbolic", "values")

    def __init__(self, values: dict[str, Any], symbolic: bool) -> None:
        self.values, self.symbolic = values, symbolic

    def resolve(self, value: int | str | Expr) -> Value:
        """The value of a field: an int as it is, an :class:`Expr` (or expression text) evaluated."""
        if isinstance(value, int):
            return value
        if isinstance(value, Expr) and value.tree[0] == "name":  # a block argument or a symbol
            named = self.values.get(value.tree[1])
            if type(named) is int:
                return named
        return evaluate(parse(value) if isinstance(value, str) else value, self.values, self.symbolic)

    def field(self, name: str, value: int | str | Expr) -> Value:
        """:meth:`resolve` for the field ``name``: an error in it placed at the field and naming it."""
        try:
            return self.resolve(value)
        except CnncalcError as err:
            if err.path or err.location is not None:
                raise
            raise type(err)(f"{name}: {err.reason}", path=(name,)) from None


# --- arithmetic that stays closed-form ------------------------------------------------------------


def minimum(a: Value, b: Value) -> Value:
    """min(a, b), as sympy's Min when either side is symbolic."""
    if isinstance(a, int) and isinstance(b, int):
        return min(a, b)
    return simplify_integer(_sp().Min(a, b))


def _sign(expr: Any) -> int:
    """+1 if ``expr`` >= 0 and -1 if ``expr`` <= 0 wherever every symbol and every floor() in it is
    at least 1 (they are sizes and symbols of a valid network), 0 when that does not settle it.
    Each such atom a is written 1 + t with t >= 0; a polynomial in the t whose coefficients share
    one sign has that sign."""
    sp = _sp()
    atoms = [a for a in expr.atoms(sp.floor, sp.Symbol)]
    shifted = sp.expand(expr.xreplace({a: 1 + sp.Dummy(nonnegative=True) for a in atoms}))
    if not shifted.is_polynomial(*shifted.free_symbols):
        return 0
    coeffs = sp.Poly(shifted, *shifted.free_symbols).coeffs() if shifted.free_symbols else [shifted]
    if all(c >= 0 for c in coeffs):
        return 1
    if all(c <= 0 for c in coeffs):
        return -1
    return 0


def maximum(*values: Value) -> Value:
    """The largest of ``values``. Symbolically the difference of two values decides where its sign
    is settled (see _sign); otherwise max(a, b) = a + Max(b - a, 0), where b - a cancels what the
    two share, so chains of merges grow by one small term each instead of doubling."""
    if all(isinstance(v, int) for v in values):
        return max(values)
    sp = _sp()
    result = values[0]
    for v in values[1:]:
        diff = sp.expand(v - result)
        sign = (1 if diff > 0 else -1) if diff.is_number else _sign(diff)
        if sign > 0:
            result = v
        elif sign == 0:
            result = result + sp.Max(diff, 0)
    return simplify_integer(result)


def equal(a: Value, b: Value) -> bool:
    """Whether a == b for every value of the symbols (False when that cannot be shown)."""
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    if a == b:
        return True
    sp = _sp()
    diff = a - b
    if isinstance(diff, int):
        return diff == 0
    names = sorted(diff.free_symbols, key=str)
    # Two sample points settle most "no" answers at once; expand only what survives them.
    for base in (7, 12):
        point = {s: sp.Integer(base + 3 * i) for i, s in enumerate(names)}
        if diff.xreplace(point) != 0:
            return False
    return bool(sp.expand(diff) == 0)


def half(value: Value) -> Value | float:
    """value/2: an int when even, a float (exact: a half-integer) when odd, sympy when symbolic."""
    if isinstance(value, int):
        return value // 2 if value % 2 == 0 else value / 2
    return simplify_integer(value / 2)


def _monomial(value: Any) -> tuple[int, tuple[Any, ...]] | None:
    """(c, factors) when a sympy ``value`` is c*f1*f2*... with an integer c (a canonical Mul keeps
    its one number first), else None (sums, rational coefficients)."""
    if value.is_Mul:
        first = value.args[0]
        if not first.is_Number:
            return 1, value.args
        return (int(first), value.args[1:]) if first.is_Integer else None
    if value.is_Symbol or value.is_Pow or isinstance(value, _sp().floor):
        return 1, (value,)
    return None


def scale(k: int, value: Value) -> Value:
    """k*value for an int k. A monomial c*m becomes (k*c)*m without sympy sorting m's factors
    again: a network multiplies few feature-map areas by many channel counts, and each sympy
    product costs tens of microseconds. Equal (==, hash) to sympy's own k*value."""
    if isinstance(value, int):
        return k * value
    if k == 1:
        return value
    if k == 0:
        return 0
    parts = _monomial(value)
    if parts is None:
        return k * value  # sums (k distributes over them) and rational coefficients: sympy's rules
    return _from_monomial(k * parts[0], parts[1])


def _from_monomial(coefficient: int, factors: tuple[Any, ...]) -> Value:
    """coefficient*f1*f2*... from canonical factors, without sympy's re-sorting."""
    sp = _sp()
    if coefficient == 0:
        return 0
    if coefficient == 1:
        return factors[0] if len(factors) == 1 else sp.Mul._from_args(factors)
    return sp.Mul._from_args((sp.Integer(coefficient), *factors))


def product(values: tuple[Value, ...] | list[Value]) -> Value:
    """The product of ``values``: ints multiplied as ints, the symbolic factors in one sympy
    product, then scaled (C*H*W for a [C, H, W] shape is one sympy product, H*W)."""
    whole = 1
    rest: Any = None
    for v in values:
        if type(v) is int:
            whole *= v
        else:
            rest = v if rest is None else rest * v
    return whole if rest is None else scale(whole, rest)


def total(values: list[Value]) -> Value:
    """The sum of ``values``: ints added as ints, the symbolic rest in one sympy Add (adding one
    at a time would rebuild the sum at every step)."""
    whole = 0
    rest: list[Any] = []
    for v in values:
        if type(v) is int:
            whole += v
        else:
            rest.append(v)
    if not rest:
        return whole
    # Repeated blocks give the very same terms: count them first (sympy objects cache their
    # hashes). Then terms c*m with equal factors m (one feature-map area times many channel
    # counts) are gathered in ints, so that sympy adds each distinct monomial once.
    counts: dict[Any, int] = {}
    for v in rest:
        counts[v] = counts.get(v, 0) + 1
    coefficients: dict[tuple[Any, ...], int] = {}
    others: list[Any] = []
    for v, n in counts.items():
        parts = _monomial(v)
        if parts is None:
            others.append(v if n == 1 else n * v)
        else:
            coefficients[parts[1]] = coefficients.get(parts[1], 0) + parts[0] * n
    terms = [_from_monomial(c, factors) for factors, c in coefficients.items() if c]
    return simplify_integer(_sp().Add(whole, *terms, *others))


def expand(value: Value) -> Value:
    """A symbolic sum multiplied out (a parameter count as a polynomial in the widths: DenseNet's
    4*k*(63*k/4 + 8) + ... becomes one short quadratic in k); numbers as they are."""
    if isinstance(value, int):
        return value
    return simplify_integer(_sp().expand(value))


def free_symbols(value: Any) -> set[str]:
    """Names of the symbols in ``value`` (empty for numbers)."""
    if isinstance(value, (int, float, Fraction)) or value is None:
        return set()
    return {s.name for s in value.free_symbols}


@cache
def stand_in(name: str, multiple: int) -> sympy.Symbol:
    """The positive integer q that stands for name/multiple inside a symbolic evaluation."""
    return _sp().Symbol(f"{name}_over_{multiple}", integer=True, positive=True)


def substitute(value: Any, values: dict[str, Any]) -> Any:
    """``value`` with symbols replaced by ``values``; whole-number results become ints, halves floats."""
    return replace_symbols(value, {symbol(k): sympy_number(v) for k, v in values.items()})


def replace_symbols(value: Any, mapping: dict[Any, Any]) -> Any:
    """``value`` with sympy symbols replaced per ``mapping`` (numbers or expressions)."""
    if value is None or isinstance(value, (int, float, Fraction)):
        return value
    result = value.xreplace(mapping)
    if result.is_Integer:
        return int(result)
    if result.is_Rational:
        return int(result.p) / int(result.q)
    return result


@cache
def _pretty_floor(f: Any) -> Any:
    """floor(u) over a common denominator, or a ceiling where it is exactly one: floor((P + s - 1)/s)
    = ceil(P/s) for integer P (ResNet's floor((H + 31)/32) is ceil(H/32))."""
    sp = _sp()
    arg = sp.factor_terms(f.args[0])
    num, den = sp.fraction(arg)
    if den.is_Integer and den > 1 and num.is_Add:
        c, rest = num.as_coeff_Add()
        if c == den - 1 and integer_terms(rest):
            return sp.ceiling(rest / den, evaluate=False)
    return sp.floor(arg, evaluate=False)


def pretty(value: Any) -> Any:
    """``value`` with floor arguments over a common denominator, and ceilings where they are
    ceilings, for printing: floor(H/4 - 3/4) prints as floor((H - 3)/4), floor(H/32 + 31/32) as
    ceil(H/32). The same number; only its printed form changes."""
    floors = value.atoms(_sp().floor)
    if not floors:
        return value
    return value.xreplace({f: _pretty_floor(f) for f in floors})


def to_text(value: Any, display: bool = False) -> str:
    """A value in sympy's own syntax (``floor((H - 31)/32)``, ``ceiling(H/32)``), or the number as
    digits; ``display``: for people (``ceil(H/32)``, as in Python's math)."""
    if isinstance(value, (int, float, Fraction)):
        return str(value)
    text = str(_sp().sstr(pretty(value)))
    return text.replace("ceiling(", "ceil(") if display else text


def shape_text(shape: tuple[Any, ...]) -> str:
    """[64, 224, 224] as text for messages, symbols as people read them (ceil(H/2))."""
    return "[" + ", ".join(to_text(v, display=True) for v in shape) + "]"


def to_latex(value: Any) -> str:
    """A value through sympy's LaTeX printer (numbers as digits)."""
    if isinstance(value, (int, float, Fraction)):
        return str(value)
    return str(_sp().latex(pretty(value)))


def factor(value: Any) -> Any:
    """``value`` factored (sympy's factor), e.g. for a ratio of two polynomials."""
    return simplify_integer(_sp().factor(value))


def is_symbolic(value: Any) -> bool:
    """Whether ``value`` (or any item of a tuple) is a sympy expression rather than a number."""
    if isinstance(value, tuple):
        return any(is_symbolic(v) for v in value)
    return not (value is None or isinstance(value, (int, float, Fraction, str)))
