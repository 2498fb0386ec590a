"""Closed forms compiled once into exact integer arithmetic, for sweeps over many values.

A symbolic total such as ResNet-50's MACs, 14417920*floor((H + 31)/32)*floor((W + 31)/32) + ...,
becomes Python source in which every rational is scaled to whole numbers and every floor is an
integer division: floor((H + 31)/32) is ``(H + 31) // 32``. No float is involved, so results are
exact at any size (``lambdify`` with ``math`` divides in floats and gets floors wrong for large
values). The same source runs on Python ints or, vectorised, on numpy integer arrays; each floor
is computed once and shared by the expressions that use it.

The source is generated from sympy trees only (never from user text) and compiled with
``compile``; the names in it are the symbols, renamed ``v_<name>``, and temporaries ``t<n>``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .errors import CnncalcError
from .expressions import is_name
from .symbolic import _sp

#: Results above this use exact Python integers in numpy (object arrays) instead of int64.
INT64_SAFE = 1 << 53


class _Emitter:
    """Writes the statements of one compiled function: floors become temporaries."""

    def __init__(self, names: Sequence[str], vector: bool) -> None:
        self.names = set(names)
        self.vector = vector
        self.lines: list[str] = []
        self.temps: dict[Any, str] = {}

    def scaled(self, e: Any) -> tuple[str, int]:
        """(code, D) where ``code`` computes D*e exactly as an integer."""
        sp = _sp()
        if e.is_Integer:
            return str(int(e)), 1
        if e.is_Rational:
            return str(int(e.p)), int(e.q)
        if e.is_Symbol:
            if e.name not in self.names:
                raise CnncalcError(f"{e.name} has no value")
            return f"v_{e.name}", 1
        if isinstance(e, (sp.floor, sp.ceiling)):
            return self.temp(e), 1
        if e.is_Add:
            parts = [self.scaled(a) for a in e.args]
            d = math.lcm(*(q for _, q in parts))
            return " + ".join(_times(d // q, c) for c, q in parts), d
        if e.is_Mul:
            parts = [self.scaled(a) for a in e.args]
            factors = [f"({c})" if " " in c else c for c, _ in parts if c != "1"] or ["1"]
            return "*".join(factors), math.prod(q for _, q in parts)
        if e.is_Pow and e.exp.is_Integer and e.exp >= 0:
            c, q = self.scaled(e.base)
            return f"({c})**{int(e.exp)}", q ** int(e.exp)
        if isinstance(e, (sp.Max, sp.Min)):
            parts = [self.scaled(a) for a in e.args]
            d = math.lcm(*(q for _, q in parts))
            args = [_times(d // q, c) for c, q in parts]
            fn = ("maximum" if isinstance(e, sp.Max) else "minimum") if self.vector else type(e).__name__.lower()
            call = f"{fn}({args[0]}, {args[1]})"
            for a in args[2:]:
                call = f"{fn}({call}, {a})"
            return call, d
        raise CnncalcError(f"cannot compile {e} into exact integer arithmetic")

    def temp(self, e: Any) -> str:
        """A temporary holding floor(arg) or ceiling(arg), computed once."""
        name = self.temps.get(e)
        if name is None:
            c, q = self.scaled(e.args[0])
            name = self.temps[e] = f"t{len(self.temps)}"
            is_floor = isinstance(e, _sp().floor)
            if q == 1:
                self.lines.append(f"{name} = {c}")
            else:
                self.lines.append(f"{name} = ({c}) // {q}" if is_floor else f"{name} = -(-({c}) // {q})")
        return name

    def whole(self, e: Any) -> str:
        """Code for an integer-valued expression (a total)."""
        if isinstance(e, int):
            return str(e)
        c, q = self.scaled(e)
        return c if q == 1 else f"({c}) // {q}"


def _times(k: int, code: str) -> str:
    return code if k == 1 else f"{k}*({code})" if " " in code else f"{k}*{code}"


def has_numpy() -> bool:
    """Whether numpy can be imported (the ``fast`` extra)."""
    try:
        import numpy  # noqa: F401
    except ImportError:
        return False
    return True


_OPS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<", "eq": "==", "ne": "!="}


class Program(_Emitter):
    """A function under construction: add integer values (:meth:`value`), tests (:meth:`test`,
    :meth:`logic`), then :meth:`build` it. Tests are Python bools, or numpy bool arrays (``vector``)."""

    def __init__(self, names: Sequence[str], vector: bool = False) -> None:
        bad = [n for n in names if not is_name(n)]
        if bad:  # symbol names are identifiers by the schema; this guards the generated source
            raise CnncalcError(f"{bad[0]!r} is not a name")
        super().__init__(names, vector)
        self.order = tuple(names)

    def value(self, e: Any) -> str:
        """Code for the integer-valued expression ``e``, kept in a temporary."""
        return self._keep(self.whole(e))

    def test(self, relation: str, e: Any) -> str:
        """Code for ``e <relation> 0`` (relation ge, gt, le, lt, eq, ne), exact for rational ``e``."""
        if isinstance(e, int):
            return self._keep(
                repr(bool({"ge": e >= 0, "gt": e > 0, "le": e <= 0, "lt": e < 0, "eq": e == 0, "ne": e != 0}[relation]))
            )
        c, _ = self.scaled(e)  # the scale D > 0 keeps the sign
        return self._keep(f"({c}) {_OPS[relation]} 0")

    def logic(self, op: str, codes: Sequence[str]) -> str:
        """Code for and/or of ``codes``, or not of one."""
        if op == "not":
            return self._keep(f"~{codes[0]}" if self.vector else f"not {codes[0]}")
        joiner = {"and": " & ", "or": " | "}[op] if self.vector else f" {op} "
        return self._keep(joiner.join(f"({c})" for c in codes))

    def _keep(self, code: str) -> str:
        name = f"r{len(self.lines)}"
        self.lines.append(f"{name} = {code}")
        return name

    def build(self, outputs: Sequence[str]) -> Callable[..., tuple[Any, ...]]:
        """The function of the names given at construction returning ``outputs`` (codes from above)."""
        params = ", ".join(f"v_{n}" for n in self.order)
        body = [*self.lines, f"return ({', '.join(outputs)}{',' if len(outputs) == 1 else ''})"]
        self.source = f"def compiled({params}):\n" + "\n".join(f"    {line}" for line in body) + "\n"
        scope: dict[str, Any] = {"__builtins__": {"max": max, "min": min}}
        if self.vector:
            import numpy as np

            scope.update(maximum=np.maximum, minimum=np.minimum)
        # The source is generated here from sympy trees: names are checked identifiers, the rest
        # integer literals and operators. No user text reaches it (conditions are parsed by
        # cnncalc.expressions into trees first).
        exec(compile(self.source, "<cnncalc.compiled>", "exec"), scope)
        function: Callable[..., tuple[Any, ...]] = scope["compiled"]
        return function


def compile_exact(
    expressions: Mapping[str, Any], names: Sequence[str], vector: bool = False
) -> Callable[..., dict[str, Any]]:
    """A function of ``names`` (keywords) returning each of ``expressions`` (integer-valued, sympy
    or int), exactly: on ints, or on numpy integer arrays when ``vector``."""
    program = Program(names, vector)
    keys = list(expressions)
    function = program.build([program.value(expressions[k]) for k in keys])

    def run(**values: Any) -> dict[str, Any]:
        return dict(zip(keys, function(*(values[n] for n in names)), strict=True))

    return run


__all__ = ["INT64_SAFE", "Program", "compile_exact", "has_numpy"]
