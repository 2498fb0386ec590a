"""The symbolic core: the restricted expression parser and closed-form floor division.

Every expected value is either mathematics checked by brute force with Python's own integer
division (an independent computation) or a closed form stated in the project's issue.
"""

from __future__ import annotations

import pytest
import sympy

from cnncalc.errors import ExpressionError
from cnncalc.symbolic import ceildiv, evaluate, floordiv, parse, symbol

H = symbol("H")


def value(text: str, **values: int) -> object:
    return evaluate(parse(text), values, symbolic=False)


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("64", {}, 64),
        ("64*k", {"k": 2}, 128),
        ("2**3 + 1", {}, 9),
        ("-(3 - 5)", {}, 2),
        ("H // 2 + 1", {"H": 7}, 4),
        ("(H + 31) / 32", {"H": 225}, 8),
        ("2 ** 3 ** 2", {}, 512),  # right-associative, as in Python
        ("7 - 2 - 1", {}, 4),  # left-associative
    ],
)
def test_parse_and_evaluate(text: str, values: dict[str, int], expected: int) -> None:
    assert value(text, **values) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("__import__('os').system('touch pwned')", r"unexpected \"'\""),
        ("a.b", r"unexpected '\.'"),
        ("1 +", "ends too early"),
        ("(1 + 2", r"missing '\)'"),
        ("1 2", "unexpected '2'"),
        ("", "empty expression"),
        ("2 ** 100", "exponent 100 is too large"),
        ("10 ** 40", "too large"),
        ("7 / 2", r"not a whole number \(7/2\)"),
        ("1 / 0", "divides by zero"),
        ("x", "x has no value"),
        ("(" * 50 + "1" + ")" * 50, "nested too deeply"),
        ("1.5", r"unexpected '\.'"),
        ("lambda: 1", "unexpected ':'"),
    ],
)
def test_bad_expressions_are_rejected_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        value(text)


def test_names_that_sympy_knows_stay_plain_symbols() -> None:
    # E, I, S, N and beta mean constants or functions to sympify; here they are positive integers.
    for name in ("E", "I", "S", "N", "beta", "lambda_", "pi", "oo"):
        result = evaluate(parse(f"2*{name}"), {}, symbolic=True)
        assert result == 2 * sympy.Symbol(name, integer=True, positive=True)
        assert evaluate(parse(f"2*{name}"), {name: 5}, symbolic=False) == 10


def _brute_chain(h: int, steps: list[tuple[int, int]]) -> int:
    for c, n in steps:
        h = (h + c) // n
    return h


@pytest.mark.parametrize(
    "steps",
    [
        [(0, 2)] * 5,  # five 2x2 pools: floor(H/32)
        [(-1, 4), (-1, 2), (-1, 2), (-1, 2)],
        [(3, 2), (-5, 3), (7, 5)],
    ],
)
def test_chains_collapse_to_one_floor_and_stay_exact(steps: list[tuple[int, int]]) -> None:
    x: object = H
    for c, n in steps:
        x = floordiv(x + c, n)
    # one floor deep: floor((H + A)/S)
    floors = list(sympy.sympify(x).atoms(sympy.floor))
    assert len(floors) == 1 and not floors[0].args[0].atoms(sympy.floor)
    for h in range(1, 400):
        assert x.subs(H, h) == _brute_chain(h, steps)


def test_five_halvings_are_floor_h_over_32() -> None:
    x: object = H
    for _ in range(5):
        x = floordiv(x, 2)
    assert x == sympy.floor(H / 32)


def test_ceildiv_matches_integer_ceiling() -> None:
    x = ceildiv(floordiv(H + 1, 2), 3)
    for h in range(1, 200):
        assert x.subs(H, h) == -(-((h + 1) // 2) // 3)


def test_multiples_divide_exactly() -> None:
    assert floordiv(4 * H + 8, 4) == H + 2
    assert floordiv(2 * floordiv(H, 2), 2) == floordiv(H, 2)


W = symbol("W")
K = symbol("k")
MONOMIALS = [
    7,
    H,
    sympy.floor((H + 31) / 32),
    64 * sympy.floor(H / 2) * sympy.floor(W / 2),
    -3 * H * W,
    sympy.floor(H / 4) ** 2,
    sympy.floor(H / 4) * sympy.floor(W / 4),
    sympy.Rational(1, 2) * H * W,
    H / 3,
    2 * H + 1,
    K * (K + 1),
    -H,
]


@pytest.mark.parametrize("value", MONOMIALS, ids=str)
@pytest.mark.parametrize("k", [-2, 0, 1, 3, 64, 2048])
def test_scale_is_sympys_own_product(k: int, value: object) -> None:
    from cnncalc.symbolic import scale

    ours, theirs = scale(k, value), k * value  # type: ignore[operator]
    assert ours == theirs and hash(ours) == hash(theirs), (ours, theirs)
    tree = [sympy.srepr(sympy.Integer(v) if isinstance(v, int) else v) for v in (ours, theirs)]
    assert tree[0] == tree[1]  # the same tree, not just equal


def test_totals_gather_equal_monomials_exactly() -> None:
    from cnncalc.symbolic import product, total

    terms = [product((c, a, b)) for c in (1, 64, 256, 3) for a, b in ((H, W), (sympy.floor(H / 2), sympy.floor(W / 2)))]
    terms += [5, H / 2, H / 2, 2 * H + 1, -64 * H * W]
    expected = sympy.Add(*terms)
    result = total(terms)
    assert sympy.expand(result - expected) == 0
    assert result.subs({H: 37, W: 11}) == sum(t.subs({H: 37, W: 11}) if hasattr(t, "subs") else t for t in terms)
