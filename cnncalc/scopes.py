"""Block scopes: the arguments of one block call, and what is known of them before any evaluation -
``repeat`` counts and ``when`` conditions, read from arguments alone, and list-valued arguments
(``k: [1, 7]``) spread over a layer's per-axis field (``kernel_size: k``).

A list argument ``k`` of n values is bound as n names ``k#0`` ... ``k#{n-1}`` (no name a file can
write), each evaluated where the block is called like any argument; a field that is exactly ``k``
becomes the tuple of those names, so every later stage sees an ordinary per-axis field.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from .errors import SchemaError
from .expressions import Expr
from .layers import Layer
from .spec import suggest


class Scope:
    """The arguments of one block call; ``caller`` is the scope its argument expressions see;
    ``lists`` the list-valued arguments and their lengths. Compared by identity: the copies of a
    repeated block alike share one. A plain class with slots (cheaper to define than a dataclass)."""

    __slots__ = ("args", "block", "caller", "lists")

    def __init__(self, block: str, args: dict[str, Any], caller: Scope | None, depths: Depths) -> None:
        self.block, self.caller = block, caller
        self.args, self.lists = _spread(args, caller, depths)


def element(name: str, i: int) -> Expr:
    """The name bound to value ``i`` of the list argument ``name``."""
    bound = f"{name}#{i}"
    return Expr(f"{name}[{i}]", ("name", bound), frozenset((bound,)))


def _spread(args: dict[str, Any], caller: Scope | None, depths: Depths) -> tuple[dict[str, Any], dict[str, int]]:
    """``args`` with a list argument handed on by name (``k: k``) as the caller's elements, and
    the lengths of the list arguments; an error where a list is used in an expression."""
    outer = caller.lists if caller is not None else {}
    lists: dict[str, int] = {}
    spread = dict(args)
    for key, value in args.items():
        if isinstance(value, Expr) and value.tree[0] in CONDITIONS:
            try:
                spread[key] = holds(value, caller, key, depths)
            except SchemaError as err:
                raise SchemaError(err.reason, path=(key,)) from None
            continue
        parts = value if isinstance(value, tuple) else (value,)
        used = sorted({n for v in parts if isinstance(v, Expr) for n in v.names} & set(outer))
        if isinstance(value, Expr) and used and value.tree == ("name", used[0]):
            spread[key] = tuple(element(used[0], i) for i in range(outer[used[0]]))
        elif used:
            raise SchemaError(
                f"{key}: {used[0]} is a list argument ({outer[used[0]]} values): hand it on alone ({key}: {used[0]})",
                path=(key,),
            )
        if isinstance(spread[key], tuple):
            lists[key] = len(spread[key])
    return spread, lists


def with_lists(layer: Layer, fields: dict[str, Any], lists: dict[str, int]) -> Layer:
    """``layer`` (written with ``fields``) with each field that is exactly a list argument made
    the tuple of that argument's elements; an error where a field cannot take the list."""
    updates: dict[str, Any] = {}
    for key in type(layer).model_fields:
        value = getattr(layer, key)
        parts = value if isinstance(value, tuple) else (value,)
        used = sorted({n for v in parts if isinstance(v, Expr) for n in v.names} & set(lists))
        if not used:
            continue
        name, n = used[0], lists[used[0]]
        if not isinstance(value, Expr) or value.tree != ("name", name):
            raise SchemaError(
                f"{key}: {name} is a list argument ({n} values): use it alone, as {key}: {name}", path=(key,)
            )
        try:
            type(layer).model_validate({**fields, key: [1] * n})  # the field takes n values
        except Exception:
            raise SchemaError(
                f"{key} does not take a list of {n} values (the list argument {name})", path=(key,)
            ) from None
        updates[key] = tuple(element(name, i) for i in range(n))
    return layer.model_copy(update=updates) if updates else layer


class Depths:
    """The file's symbols as ``repeat`` counts read them: ``values`` maps each symbol to its
    number, or to None where it stays symbolic (a count in closed form, see cnncalc.network);
    ``used`` collects the symbols a count read."""

    __slots__ = ("used", "values")

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.used: set[str] = set()


def static(value: Any, scope: Scope | None, what: str, depths: Depths) -> Any:
    """The value of ``value`` (a ``repeat``) from block arguments and, through ``depths``, the
    file's symbols: an int (or a bool), or a sympy expression where a symbol stays symbolic."""
    if isinstance(value, (bool, int)):
        return value
    if value.tree[0] == "name":
        return _lookup(value.tree[1], scope, what, depths)
    from .symbolic import evaluate

    values = {name: _lookup(name, scope, what, depths) for name in value.names}
    if any(isinstance(v, bool) for v in values.values()):
        raise SchemaError(f"{what}: {value.text!r} needs number arguments, not true/false")
    symbolic = not all(isinstance(v, (int, Fraction)) for v in values.values())
    return evaluate(value, values, symbolic=symbolic)


def _lookup(name: str, scope: Scope | None, what: str, depths: Depths) -> Any:
    """A name's value where it is read: a block argument (evaluated where the block is called),
    else, through ``depths``, a symbol of the file (block bodies see them: lexical scope)."""
    if scope is not None and name in scope.args:
        value = scope.args[name]
        if isinstance(value, tuple):
            raise SchemaError(f"{what}: {name} is a list argument ({len(value)} values), not a single value")
        return static(value, scope.caller, what, depths)
    if name in depths.values:  # a file symbol
        depths.used.add(name)
        found = depths.values[name]
        if found is None:  # kept symbolic: sympy only now, as most files never get here
            from .symbolic import symbol

            return symbol(name)
        return found
    if scope is None:
        hint = f": declare it with a default ({name}: 3)" if what == "repeat" else ""
        raise SchemaError(f"{what}: {name} is not a symbol of the file{hint}")
    known = suggest(name, list(scope.args), foreign_names=False)
    raise SchemaError(f"{what}: {name} is not an argument of block {scope.block}{known} nor a symbol of the file")


def holds(condition: bool | Expr, scope: Scope | None, what: str, depths: Depths) -> bool:
    """Whether a ``when`` (or a condition handed to a block as an argument, ``what``) holds:
    true/false, or a condition on block arguments and, through ``depths``, the file's symbols
    (``stride > 1``, ``make_divisible(c*alpha, 8) == make_divisible(out*alpha, 8)``), its names
    true/false arguments or, in comparisons, numbers."""
    if isinstance(condition, bool):
        return condition
    if condition.tree[0] not in (*CONDITIONS, "name"):
        raise SchemaError(f"{what}: {condition.text!r} is a number, not true/false")
    return _truth(condition.tree, scope, condition.text, what, depths)


#: The tree nodes of a condition (cnncalc.expressions.parse_condition), besides a bare name.
CONDITIONS = ("cmp", "and", "or", "not")


def _truth(tree: tuple[Any, ...], scope: Scope | None, text: str, what: str, depths: Depths) -> bool:
    op = tree[0]
    if op == "not":
        return not _truth(tree[1], scope, text, what, depths)
    if op == "and":
        return _truth(tree[1], scope, text, what, depths) and _truth(tree[2], scope, text, what, depths)
    if op == "or":
        return _truth(tree[1], scope, text, what, depths) or _truth(tree[2], scope, text, what, depths)
    if op == "cmp":
        a, b = _number(tree[2], scope, text, what, depths), _number(tree[3], scope, text, what, depths)
        return {"lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b, "eq": a == b, "ne": a != b}[tree[1]]
    value = _lookup(tree[1], scope, what, depths)  # a bare name: the parser lets nothing else through
    if not isinstance(value, bool):
        shown = repr(tree[1]) if text == tree[1] else f"{tree[1]!r} in {text!r}"
        raise SchemaError(f"{what}: {shown} must be a true/false argument, got {value!r} (compare it: {tree[1]} > 1)")
    return value


def _number(tree: tuple[Any, ...], scope: Scope | None, text: str, what: str, depths: Depths) -> Fraction:
    """An arithmetic part of a condition, exactly, its names whole-number arguments."""
    op = tree[0]
    if op == "num":
        return Fraction(tree[1])
    if op == "name":
        value = _lookup(tree[1], scope, what, depths)
        if isinstance(value, bool):
            raise SchemaError(f"{what}: {tree[1]} is true/false, not a number, in {text!r}")
        if not isinstance(value, (int, Fraction)):  # a symbol kept symbolic (a count in closed form)
            raise SchemaError(f"{what}: {text!r} reads {tree[1]}, which has no value here: give it one (--set)")
        return Fraction(value)
    if op == "neg":
        return -_number(tree[1], scope, text, what, depths)
    if op == "call":
        from .functions import call

        args = [_number(t, scope, text, what, depths) for t in tree[2:]]
        return Fraction(call(tree[1], [int(a) if a.denominator == 1 else a for a in args], text))
    a, b = _number(tree[1], scope, text, what, depths), _number(tree[2], scope, text, what, depths)
    if op in ("div", "floordiv", "mod") and b == 0:
        raise SchemaError(f"{what}: {text!r} divides by zero")
    if op == "pow" and not (b.denominator == 1 and 0 <= b <= 64):
        raise SchemaError(f"{what}: {text!r}: an exponent must be a whole number from 0 to 64")
    if op == "add":
        return a + b
    if op == "sub":
        return a - b
    if op == "mul":
        return a * b
    if op == "div":
        return a / b
    if op == "floordiv":
        return Fraction(a // b)
    if op == "mod":
        return a - b * (a // b)
    return a ** int(b)  # pow


__all__ = ["Depths", "Scope", "element", "holds", "static", "with_lists"]
