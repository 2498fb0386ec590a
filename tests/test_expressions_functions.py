"""The pure functions of expressions (floor, ceil, round, min, max, make_divisible) and exact values.

Every expected value is an independent computation: Python's own math.floor, math.ceil, round,
min and max on Fractions, brute force over a range of sizes for the closed forms, and
torchvision's ``_make_divisible`` as written in torchvision/models/_utils.py (below, verbatim in
its arithmetic: floats). Added test time: about 2 s.
"""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest
import sympy

from cnncalc.errors import ExpressionError
from cnncalc.expressions import parse, parse_condition
from cnncalc.functions import Rational, exact, exact_values, make_divisible
from cnncalc.symbolic import evaluate, symbol

H, W = symbol("H"), symbol("W")


def torchvision_make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """torchvision/models/_utils.py ``_make_divisible``, in floats as torchvision computes it."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


def value(text: str, **values: object) -> object:
    return evaluate(parse(text), dict(values), symbolic=False)


def closed(text: str, **values: object) -> object:
    return evaluate(parse(text), dict(values), symbolic=True)


# --- numbers ------------------------------------------------------------------------------------------


def test_functions_on_numbers_are_pythons() -> None:
    rng = random.Random(4)
    for _ in range(300):
        x = Fraction(rng.randint(-400, 400), rng.randint(1, 12))
        y = Fraction(rng.randint(-400, 400), rng.randint(1, 12))
        for text, expected in (
            ("floor(x)", math.floor(x)),
            ("ceil(x)", math.ceil(x)),
            ("round(x)", round(x)),  # Python's: halves to even
            ("floor(min(x, y, 2*x))", math.floor(min(x, y, 2 * x))),
            ("ceil(max(x, y, 2*x))", math.ceil(max(x, y, 2 * x))),
        ):
            assert evaluate(parse(text), {"x": Rational(x), "y": Rational(y)}, symbolic=False) == expected, (text, x, y)
    assert value("max(H // 2, 3)", H=5) == max(5 // 2, 3)


def test_round_halves_to_even_as_python_does() -> None:
    assert [value(f"round({n}/2)") for n in (1, 3, 5, 7, -1, -3)] == [round(n / 2) for n in (1, 3, 5, 7, -1, -3)]


@pytest.mark.parametrize("divisor", [1, 3, 8, 16])
def test_make_divisible_is_torchvisions_where_floats_are_exact(divisor: int) -> None:
    # Quarters, eighths and halves of whole numbers are exact in binary floating point, so
    # torchvision's float arithmetic and cnncalc's exact one must agree on them.
    for eighths in range(1, 4000):
        v = Fraction(eighths, 8)
        assert make_divisible(v, divisor) == torchvision_make_divisible(float(v), divisor), v
        assert value(f"make_divisible(v, {divisor}, 2)", v=Rational(v)) == torchvision_make_divisible(
            float(v), divisor, 2
        )


def test_make_divisible_is_exact_where_torchvision_multiplies_in_floats() -> None:
    # torchvision computes c * width_mult in floats: 720 * 0.35 is 251.99999999999997 there, so
    # int(v + 4) is 255 and the width 248; exactly, 720 * 7/20 = 252, int(256) gives 256.
    assert 720 * 0.35 < 252
    assert torchvision_make_divisible(720 * 0.35, 8) == 248
    assert value("make_divisible(720*alpha, 8)", alpha=Rational(7, 20)) == 256


def test_fractions_on_the_way_a_whole_number_at_the_end() -> None:
    assert value("H/2*2", H=225) == 225
    assert value("floor(H/3) + ceil(H/3)", H=224) == 74 + 75
    with pytest.raises(ExpressionError, match=r"'H/2' is not a whole number \(225/2\)$"):
        value("H/2", H=225)
    with pytest.raises(ExpressionError, match=r"'32\*alpha' is not a whole number \(56/5\): round it"):
        value("32*alpha", alpha=Rational(7, 20))


def test_floats_and_text_in_an_env_are_read_exactly() -> None:
    # Values handed to an Env directly (the PyTorch backend does): 0.35 is 7/20, never 0.34999...
    assert value("make_divisible(40*alpha, 8)", alpha=0.35) == make_divisible(Fraction(14), 8)
    assert value("floor(20*alpha)", alpha="0.35") == 7


# --- closed forms -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "brute"),
    [
        ("floor(H/3)", lambda h: h // 3),
        ("floor(floor(H/2)/3)", lambda h: (h // 2) // 3),
        ("ceil(H/4)", lambda h: -(-h // 4)),
        ("ceil((H + 1)/3) + floor(H/5)", lambda h: -(-(h + 1) // 3) + h // 5),
        ("floor(7*H/20)", lambda h: 7 * h // 20),
        ("ceil(ceil(H/2)/2)", lambda h: math.ceil(math.ceil(h / 2) / 2)),
        ("max(H // 2, 7)", lambda h: max(h // 2, 7)),
        ("min(H, 3, H // 4 + 1)", lambda h: min(h, 3, h // 4 + 1)),
        ("round(2*H)", lambda h: 2 * h),
    ],
)
def test_closed_forms_are_the_brute_force(text: str, brute: object) -> None:
    form = closed(text)
    assert not isinstance(form, int)
    for h in range(1, 300):
        assert form.subs(H, h) == brute(h), (text, h)  # type: ignore[attr-defined, operator]


def test_floors_of_floors_stay_one_floor_deep() -> None:
    assert closed("floor(floor(H/2)/3)") == sympy.floor(H / 6)
    assert closed("ceil(H/2)") == sympy.floor((H + 1) / 2)  # ceil(x/n) = floor((x + n - 1)/n)
    assert closed("floor(H*alpha)", alpha=Rational(7, 20)) == sympy.floor(7 * H / 20)


def test_min_and_max_keep_sympys_min_and_max() -> None:
    assert closed("max(H, W // 2)") == sympy.Max(H, sympy.floor(W / 2))
    assert closed("min(H, 3)") == sympy.Min(H, 3)


@pytest.mark.parametrize(
    ("text", "name"), [("round(H/2)", "H"), ("make_divisible(H, 8)", "H"), ("make_divisible(16*k, 8)", "k")]
)
def test_step_functions_of_symbols_ask_for_values(text: str, name: str) -> None:
    with pytest.raises(ExpressionError, match=rf"has no closed form here.*give {name} a value \(--set {name}=\.\.\.\)"):
        closed(text)


# --- parsing ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("floor", r"floor is a function, not a value: call it, floor\(x\)"),
        ("2*max + 1", r"max is a function, not a value"),
        ("ceiling(H)", r"ceiling\(\.\.\.\) is not a function cnncalc knows \(did you mean ceil\?"),
        ("eval(1)", r"eval\(\.\.\.\) is not a function cnncalc knows"),
        ("__import__(1)", r"is not a function cnncalc knows"),
        ("H(2)", r"H\(\.\.\.\) is not a function"),
        ("floor(1, 2)", r"floor takes 1 argument, not 2: floor\(x\)"),
        ("floor()", r"floor takes 1 argument, not 0"),
        ("max(1)", r"max takes at least 2 arguments, not 1"),
        ("make_divisible(8)", r"make_divisible takes 2 or 3 arguments, not 1"),
        ("make_divisible(1, 2, 3, 4)", r"make_divisible takes 2 or 3 arguments, not 4"),
        ("max(1, 2", r"missing '\)' after the arguments of max"),
        ("max(1,)", r"unexpected '\)'"),
        ("1, 2", r"unexpected ','"),
        ("make_divisible(20, 0)", r"the divisor of make_divisible must be a positive whole number, got 0"),
        ("make_divisible(20, 5/2)", r"the divisor of make_divisible must be a positive whole number, got 5/2"),
    ],
)
def test_bad_calls_are_refused_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message):
        value(text)


def test_conditions_call_functions_and_refuse_mixing() -> None:
    tree = parse_condition("max(params, macs) <= 4e8").tree
    assert tree == ("cmp", "le", ("call", "max", ("name", "params"), ("name", "macs")), ("num", 400_000_000))
    with pytest.raises(ExpressionError, match=r"take numbers: max\(\.\.\.\) mixes them"):
        parse_condition("max(a < b, 1) > 0")


# --- exact values ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("given", [0.35, "0.35", "7/20", "35e-2", " 0.350 ", Fraction(7, 20)])
def test_exact_reads_a_decimal_as_written(given: object) -> None:
    assert exact(given) == Fraction(7, 20)
    assert str(exact(given)) == "0.35"


def test_exact_prints_decimals_where_finite_and_fractions_else() -> None:
    assert [str(exact(v)) for v in ("1.4", "3/4", "1/3", "10/4", "2.0", "1/8")] == [
        "1.4",
        "0.75",
        "1/3",
        "2.5",
        "2",
        "0.125",
    ]
    assert exact("2.0") == 2 and type(exact("2.0")) is int


@pytest.mark.parametrize("given", [True, "abc", "1/0", float("nan"), float("inf"), "0x10", "1e999", None])
def test_exact_refuses_what_is_not_a_number(given: object) -> None:
    with pytest.raises(ValueError, match=r"not a number|divides by zero|true/false"):
        exact(given)


def test_exact_values_lists_and_ranges_include_both_ends() -> None:
    assert exact_values("0.25:1:0.25") == [Fraction(1, 4), Fraction(1, 2), Fraction(3, 4), 1]
    assert exact_values("0.35,0.5,1.4") == [Fraction(7, 20), Fraction(1, 2), Fraction(7, 5)]
    assert exact_values([0.75, "1"]) == [Fraction(3, 4), 1]
    with pytest.raises(ValueError, match="positive step"):
        exact_values("0:1:0")
    with pytest.raises(ValueError, match="limit 64"):
        exact_values("0.01:1:0.01", 64)
