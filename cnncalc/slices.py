"""Sweeps over rational symbols (width multipliers), in slices: a rational symbol is never a sympy
symbol (its closed forms would be step functions), so a sweep evaluates the network once per value
of it, compiles each slice's closed forms in the other symbols, and joins the slices' rows."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import replace
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from .errors import CnncalcError
from .functions import exact_values
from .network import Network

if TYPE_CHECKING:
    from .sweep import Sweep

#: Values of rational symbols one sweep may take (each costs a symbolic evaluation).
MAX_SLICES = 64


def rational_values(name: str, given: Any) -> list[Any]:
    """A rational symbol's values (see :func:`cnncalc.expressions.exact_values`), each positive."""
    try:
        values = exact_values(given, MAX_SLICES)
    except (ValueError, TypeError) as err:
        raise CnncalcError(
            f"{name}={given}: {err}; {name} is rational: give numbers (0.35), a list 0.35,0.5,1.4 or "
            "START:STOP:STEP (0.25:1.5:0.25)"
        ) from None
    if min(values) <= 0:
        raise CnncalcError(f"{name}: values must be positive, got {min(values)}")
    return values


def network_at(net: Network, values: Mapping[str, Any]) -> Network:
    """``net`` with its rational symbols at ``values``: the network a sweep slice evaluates (a
    rational symbol is never a sympy symbol: its closed forms would be step functions)."""
    if all(net.rationals.get(n) == v for n, v in values.items()):
        return net
    rationals = {**net.rationals, **values}
    return Network(net.name, net.input, net.defaults, net.multiples, net.symbol_names, net.nodes, net.where, net.groups, rationals, net.repeats, net.depth_names)  # fmt: skip


def shown(value: Any) -> Any:
    """A value of a sweep's table: a whole number as an int, a fraction as a float (for display
    and JSON; the evaluation was exact)."""
    return value if not isinstance(value, Fraction) else float(value)


def joined(parts: list[Sweep], slices: list[dict[str, Any]], swept: list[str]) -> Sweep:
    """The sweeps of the slices as one, the swept rational symbols' columns first (see :func:`shown`)."""
    data: dict[str, Any] = {}
    for key, column in parts[0].data.items():
        pieces = [p.data[key] for p in parts]
        if isinstance(column, list):
            data[key] = list(itertools.chain(*pieces))
        else:
            import numpy as np

            data[key] = np.concatenate(pieces)
    for n in swept:
        data[n] = [shown(at[n]) for p, at in zip(parts, slices, strict=True) for _ in p]
    invalid: dict[str, int] = {}
    for p in parts:
        for reason, count in p.invalid.items():
            invalid[reason] = invalid.get(reason, 0) + count
    first = parts[0]
    return replace(
        first,
        symbols=(*swept, *first.symbols),
        data=data,
        points=sum(p.points for p in parts),
        invalid=invalid,
        fixed={k: v for k, v in first.fixed.items() if k not in swept},
        seconds=sum(p.seconds for p in parts),
        keys=(*swept, *first.keys),
    )


__all__ = ["MAX_SLICES", "joined", "network_at", "rational_values", "shown"]
