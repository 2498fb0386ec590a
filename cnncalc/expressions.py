"""Expressions in YAML fields: a small restricted recursive-descent parser and its tree (no sympy).

:func:`parse` reads integer literals, names, ``+ - * / // **`` and parentheses into a tree of
tuples; user text never reaches eval, exec or sympify. :mod:`cnncalc.symbolic` evaluates the trees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import ExpressionError

#: Bounds that keep hostile input cheap: an expression is short, shallow and its numbers small.
MAX_EXPRESSION_LENGTH = 200
MAX_DEPTH = 40
MAX_EXPONENT = 64
MAX_SYMBOLIC_EXPONENT = 8
MAX_MAGNITUDE = 10**30

_TOKEN = re.compile(r"\s*(?:(\d+)|([A-Za-z_][A-Za-z0-9_]*)|(\*\*|//|[-+*/()]))")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


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

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        stripped = text.rstrip()
        while pos < len(stripped):
            m = _TOKEN.match(stripped, pos)
            if m is None:
                bad = stripped[pos:].lstrip()[:1]
                raise ExpressionError(
                    f"{text!r} is not an arithmetic expression: unexpected {bad!r} "
                    "(allowed: whole numbers, names, + - * / // ** and parentheses)"
                )
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
        while self.peek() in ("*", "/", "//"):
            op = self.take()[1]
            node = ({"*": "mul", "/": "div", "//": "floordiv"}[op], node, self.unary())
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


__all__ = ["MAX_MAGNITUDE", "Expr", "is_name", "parse"]
