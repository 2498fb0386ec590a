"""Expressions in YAML fields: a small restricted recursive-descent parser and its tree (no sympy).

:func:`parse` reads integer literals, names, ``+ - * / // **``, parentheses and calls of the pure
functions in :data:`FUNCTIONS` into a tree of tuples; user text never reaches eval, exec or
sympify. :mod:`cnncalc.symbolic` evaluates the trees.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

from .errors import ExpressionError

#: Bounds that keep hostile input cheap: an expression is short, shallow and its numbers small.
MAX_EXPRESSION_LENGTH = 200
MAX_DEPTH = 40
MAX_EXPONENT = 64
MAX_SYMBOLIC_EXPONENT = 8
MAX_MAGNITUDE = 10**30

_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z0-9_]*)|(\*\*|//|[-+*/(),]))")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

#: The pure functions an expression may call: name -> (fewest arguments, most arguments, usage).
#: A call is the tree node ("call", name, arg1, arg2, ...); cnncalc.symbolic evaluates it.
FUNCTIONS: dict[str, tuple[int, int, str]] = {
    "floor": (1, 1, "floor(x)"),
    "ceil": (1, 1, "ceil(x)"),
    "round": (1, 1, "round(x)"),
    "min": (2, MAX_DEPTH, "min(a, b, ...)"),
    "max": (2, MAX_DEPTH, "max(a, b, ...)"),
    "make_divisible": (2, 3, "make_divisible(v, divisor) or make_divisible(v, divisor, min_value)"),
}


@dataclass(frozen=True, slots=True)
class Expr:
    """A parsed arithmetic expression: its source text, its tree of tuples and the names it uses."""

    text: str
    tree: tuple[Any, ...]
    names: frozenset[str]

    def __str__(self) -> str:
        return self.text


class _Parser:
    """expr := term (('+'|'-') term)* ; term := unary (('*'|'/'|'//') unary)* ;
    unary := ('+'|'-') unary | power ; power := atom ('**' unary)? ; atom := INT | NAME | '(' expr ')'
    """

    TOKEN = _TOKEN
    #: The operators of a term, and the tree node of each.
    PRODUCTS: ClassVar[dict[str, str]] = {"*": "mul", "/": "div", "//": "floordiv"}
    WHAT = "an arithmetic expression"
    ALLOWED = "whole numbers, names, + - * / // **, parentheses and " + ", ".join(FUNCTIONS) + " calls"

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        stripped = text.rstrip()
        while pos < len(stripped):
            m = self.TOKEN.match(stripped, pos)
            if m is None:
                bad = stripped[pos:].lstrip()[:1]
                raise ExpressionError(f"{text!r} is not {self.WHAT}: unexpected {bad!r} (allowed: {self.ALLOWED})")
            number, name, op = m.groups()
            if number is not None:
                self.tokens.append(("num", number))
            elif name is not None:
                self.tokens.append(("name", name))
            else:
                self.tokens.append(("op", op))
            pos = m.end()
        self.i = 0
        self.depth = 0
        self.names: set[str] = set()

    def peek(self) -> str | None:
        return self.tokens[self.i][1] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        if self.i >= len(self.tokens):
            raise ExpressionError(f"{self.text!r} ends too early")
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def parse(self) -> tuple[Any, ...]:
        if not self.tokens:
            raise ExpressionError("an empty expression has no value")
        tree = self.expr()
        if self.i != len(self.tokens):
            raise ExpressionError(f"{self.text!r}: unexpected {self.tokens[self.i][1]!r}")
        return tree

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(f"{self.text[:40]!r}... is nested too deeply (limit {MAX_DEPTH})")

    def expr(self) -> tuple[Any, ...]:
        node = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()[1]
            node = ("add" if op == "+" else "sub", node, self.term())
        return node

    def term(self) -> tuple[Any, ...]:
        node = self.unary()
        while self.peek() in self.PRODUCTS:
            op = self.take()[1]
            node = (self.PRODUCTS[op], node, self.unary())
        return node

    def unary(self) -> tuple[Any, ...]:
        if self.peek() in ("+", "-"):
            op = self.take()[1]
            self.nest()
            operand = self.unary()
            self.depth -= 1
            return ("neg", operand) if op == "-" else operand
        return self.power()

    def power(self) -> tuple[Any, ...]:
        base = self.atom()
        if self.peek() == "**":
            self.take()
            self.nest()
            exponent = self.unary()
            self.depth -= 1
            return ("pow", base, exponent)
        return base

    def atom(self) -> tuple[Any, ...]:
        kind, text = self.take()
        if kind == "num":
            if len(text) > 31:
                raise ExpressionError(f"the number {text[:20]}... is too large (limit 10**30)")
            return ("num", int(text))
        if kind == "name":
            if self.peek() == "(":
                return self.call(text)
            if text in FUNCTIONS:
                raise ExpressionError(
                    f"{self.text!r}: {text} is a function, not a value: call it, {FUNCTIONS[text][2]}"
                )
            self.names.add(text)
            return ("name", text)
        if text == "(":
            self.nest()
            node = self.expr()
            self.depth -= 1
            if self.peek() != ")":
                raise ExpressionError(f"{self.text!r}: missing ')'")
            self.take()
            return node
        raise ExpressionError(f"{self.text!r}: unexpected {text!r}")

    def call(self, name: str) -> tuple[Any, ...]:
        """name '(' expr (',' expr)* ')' for a name of :data:`FUNCTIONS`, with its number of arguments."""
        if name not in FUNCTIONS:
            close = difflib.get_close_matches(name.lower(), FUNCTIONS, n=1)
            hint = f"did you mean {close[0]}? " if close else ""
            raise ExpressionError(
                f"{self.text!r}: {name}(...) is not a function cnncalc knows ({hint}functions: {', '.join(FUNCTIONS)})"
            )
        self.take()  # "("
        self.nest()
        args = [] if self.peek() == ")" else [self.expr()]
        while self.peek() == "," and args:
            self.take()
            args.append(self.expr())
        if self.peek() != ")":
            raise ExpressionError(f"{self.text!r}: missing ')' after the arguments of {name}")
        self.take()
        self.depth -= 1
        fewest, most, usage = FUNCTIONS[name]
        if not fewest <= len(args) <= most:
            raise ExpressionError(f"{self.text!r}: {name} takes {_count(fewest, most)}, not {len(args)}: {usage}")
        return ("call", name, *args)


def _count(fewest: int, most: int) -> str:
    """ "1 argument", "2 or 3 arguments", "at least 2 arguments"."""
    if fewest == most:
        return f"{fewest} argument{'s' if fewest > 1 else ''}"
    return f"{fewest} or {most} arguments" if most == fewest + 1 else f"at least {fewest} arguments"


# --- conditions ------------------------------------------------------------------------------------

_CONDITION_TOKEN = re.compile(
    r"\s*(?:(\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(\*\*|//|<=|>=|==|!=|[-+*/%()<>,]))"
)
_COMPARISONS = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne"}
_WORDS = ("and", "or", "not")


class _ConditionParser(_Parser):
    """cond := conj ('or' conj)* ; conj := neg ('and' neg)* ; neg := 'not' neg | cmp ;
    cmp := expr (('<'|'<='|'>'|'>='|'=='|'!=') expr)* (chains: 1 <= k <= 4) ; numbers may be
    decimal or scientific (4e8), read exactly; '%' is the remainder; '(' holds a condition or an
    expression."""

    TOKEN = _CONDITION_TOKEN
    PRODUCTS: ClassVar[dict[str, str]] = {**_Parser.PRODUCTS, "%": "mod"}
    WHAT = "a condition"
    ALLOWED = "numbers, names, + - * / // % **, comparisons < <= > >= == !=, and, or, not, parentheses, functions"

    #: Whether a bare name may be true/false (a block argument in ``when``) as well as a number.
    flags = False

    def parse(self) -> tuple[Any, ...]:
        tree = super().parse()
        if _kind(tree, self.flags) == "num":
            raise ExpressionError(f"{self.text!r} is not a condition: compare something (macs <= 4e8)")
        return tree

    def expr(self) -> tuple[Any, ...]:
        return self._joined("or", self.conj)

    def conj(self) -> tuple[Any, ...]:
        return self._joined("and", self.neg)

    def _joined(self, word: str, operand: Callable[[], tuple[Any, ...]]) -> tuple[Any, ...]:
        """operand (word operand)*, joined to the left."""
        node = operand()
        while self.peek() == word:
            self.take()
            node = (word, node, operand())
        return node

    def neg(self) -> tuple[Any, ...]:
        if self.peek() == "not":
            self.take()
            self.nest()
            node = ("not", self.neg())
            self.depth -= 1
            return node
        return self.comparison()

    def comparison(self) -> tuple[Any, ...]:
        left = self.sum()
        links = []
        while self.peek() in _COMPARISONS:
            op = _COMPARISONS[self.take()[1]]
            right = self.sum()
            links.append((op, left, right))
            left = right
        if not links:
            return left
        node: tuple[Any, ...] = ("cmp", *links[0])
        for link in links[1:]:
            node = ("and", node, ("cmp", *link))
        return node

    def sum(self) -> tuple[Any, ...]:
        return _Parser.expr(self)  # arithmetic: the expression of the plain parser

    def atom(self) -> tuple[Any, ...]:
        kind, text = self.tokens[self.i] if self.i < len(self.tokens) else ("", "")
        if kind == "num" and not text.isdigit():
            self.take()
            mantissa, _, exponent = text.lower().partition("e")
            if len(mantissa) > 31 or (exponent and abs(int(exponent)) > 30):
                raise ExpressionError(f"the number {text[:20]} is too large or too precise (limit 10**30)")
            value = Fraction(text)
            if abs(value) > MAX_MAGNITUDE:
                raise ExpressionError(f"the number {text} is too large (limit 10**30)")
            return ("num", int(value) if value.denominator == 1 else value)
        if kind == "name" and text in _WORDS:
            raise ExpressionError(f"{self.text!r}: unexpected {text!r}")
        return super().atom()


def _kind(tree: tuple[Any, ...], flags: bool = False) -> str:
    """ "bool" or "num", checking that and/or/not take conditions and arithmetic takes numbers;
    with ``flags`` a bare name is "any" (a true/false value or a number: its use decides)."""
    op = tree[0]
    if op == "name" and flags:
        return "any"
    if op in ("num", "name"):
        return "num"
    parts = tree[1:] if op != "cmp" else tree[2:4]
    kinds = [_kind(t, flags) for t in parts if isinstance(t, tuple)]
    wanted = "bool" if op in ("and", "or", "not") else "num"
    if any(k not in (wanted, "any") for k in kinds):
        what = "and, or, not combine comparisons" if wanted == "bool" else "arithmetic and comparisons take numbers"
        raise ExpressionError(f"{what}: {_text(tree)} mixes them")
    return "bool" if op in ("and", "or", "not", "cmp") else "num"


def _text(tree: tuple[Any, ...]) -> str:
    return {
        "and": "'and'",
        "or": "'or'",
        "not": "'not'",
        "cmp": f"a comparison ({tree[1] if len(tree) > 1 else ''})",
        "call": f"{tree[1] if len(tree) > 1 else ''}(...)",
    }.get(tree[0], f"'{tree[0]}'")


def parse_condition(text: str, flags: bool = False) -> Expr:
    """Parse a condition such as ``"macs <= 4e8 and params <= 5e6"`` (see :class:`_ConditionParser`)
    into an :class:`Expr`; never evaluates code. ``and``, ``or`` and ``not`` are words, not names.
    ``flags``: names may also stand for true/false values (``when: downsample and stride > 1``)."""
    if len(text) > 4 * MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"a condition of {len(text)} characters is too long (limit {4 * MAX_EXPRESSION_LENGTH})")
    parser = _ConditionParser(text)
    parser.flags = flags
    tree = parser.parse()
    return Expr(text.strip(), tree, frozenset(parser.names))


def parse(text: str) -> Expr:
    """Parse ``text`` (e.g. ``"64*k"``, ``"H // 2 + 1"``) into an :class:`Expr`; never evaluates code."""
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"an expression of {len(text)} characters is too long (limit {MAX_EXPRESSION_LENGTH})")
    parser = _Parser(text)
    tree = parser.parse()
    return Expr(text.strip(), tree, frozenset(parser.names))


def is_name(text: str) -> bool:
    """Whether ``text`` can name a symbol (an identifier of letters, digits and underscores)."""
    return _NAME.match(text) is not None


__all__ = ["FUNCTIONS", "MAX_MAGNITUDE", "Expr", "is_name", "parse", "parse_condition"]
