"""The records of an expanded network (see :mod:`cnncalc.network`): its nodes, the repeats laid out
as one copy because their count stays symbolic, and the network itself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .errors import YamlPath
from .functions import exact
from .layers import Layer
from .scopes import Scope
from .spec import SourceMap

# The records below are plain classes with slots, read-only by convention: a frozen dataclass costs
# about 0.7 ms of start-up to define, a noticeable part of a 0.17 s `cnncalc summarize`.


class Node:
    """One layer of the expanded network: its full name, the layer, the indices of the nodes it
    reads (-1: the network input), the block scope its fields see, where it is written, whether a
    field reads ``in_channels``, the names of the nodes in ``inputs`` ("input" for the input) and
    whether it runs only in training (marked ``training_only``, or computed only from such layers)."""

    __slots__ = ("changed", "inputs", "layer", "name", "path", "scope", "sources", "training_only", "uses_in_channels")

    def __init__(
        self,
        name: str,
        layer: Layer,
        inputs: tuple[int, ...],
        scope: Scope | None,
        path: YamlPath,
        uses_in_channels: bool = False,
        sources: tuple[str, ...] = (),
        training_only: bool = False,
        changed: dict[str, YamlPath] | None = None,
    ) -> None:
        self.name, self.layer, self.inputs, self.scope, self.path = name, layer, inputs, scope, path
        self.uses_in_channels, self.sources, self.training_only = uses_in_channels, sources, training_only
        #: Fields an override (first, last, at) sets for this copy -> the override's path in the entry.
        self.changed = changed

    def field_path(self, path: YamlPath) -> YamlPath:
        """The YAML path of ``path`` (a field, and below) where it is written for this node: in the
        override that sets the field for this copy, if one does, else in the entry."""
        if path and self.changed and path[0] in self.changed:
            return (*self.path, *self.changed[path[0]], *path)
        return (*self.path, *path)


class Repeat:
    """A repeat whose count is an expression in symbols kept symbolic (``repeat: d``): laid out as
    its first copy, nodes ``first`` to ``last``, reading node ``source``; the summary counts
    ``count`` copies of it. Valid where the copies are identical (each keeps its input's shape and
    the receptive field's jump), which evaluation checks."""

    __slots__ = ("count", "first", "last", "name", "path", "source")

    def __init__(self, name: str, count: Any, first: int, last: int, source: int, path: YamlPath) -> None:
        self.name, self.count, self.first, self.last, self.source, self.path = name, count, first, last, source, path


def count_symbols(count: Any) -> str:
    """ "d" or "d, e": the symbols a symbolic ``repeat`` count reads, for messages."""
    return ", ".join(sorted(str(s) for s in count.free_symbols))


class Network:
    """An expanded network: what evaluation needs, and where each value of its file stands. A plain
    class with slots, read-only by convention (a dataclass costs start-up time to define)."""

    __slots__ = (
        "defaults", "depth_names", "groups", "input", "multiples", "name", "nodes", "rationals", "repeats",
        "symbol_names", "where",
    )  # fmt: skip

    def __init__(
        self,
        name: str,
        input: tuple[Any, ...],
        defaults: dict[str, int],
        multiples: dict[str, int],
        symbol_names: frozenset[str],
        nodes: tuple[Node, ...],
        where: SourceMap,
        groups: dict[str, str] | None = None,
        rationals: dict[str, Any] | None = None,
        repeats: tuple[Repeat, ...] = (),
        depth_names: frozenset[str] = frozenset(),
    ) -> None:
        self.name, self.input, self.defaults, self.multiples = name, input, defaults, multiples
        #: Symbols declared rational (width multipliers) and their exact defaults (None: none).
        self.rationals = rationals or {}
        #: Every symbol the file uses (input, fields outside block arguments) or gives a default for.
        self.symbol_names = symbol_names
        self.nodes, self.where = nodes, where
        #: Name prefix -> the block call or repeat it names, for views that collapse them.
        self.groups = groups or {}
        #: Repeats laid out as one copy, their count symbolic; the symbols repeat counts read.
        self.repeats, self.depth_names = repeats, depth_names

    @property
    def rank(self) -> int:
        """Spatial axes of the input: 0 (flat features), 1 ([C, L]), 2 ([C, H, W]) or 3 ([C, D, H, W])."""
        return len(self.input) - 1


def depth_values(net: Network, values: Mapping[str, Any], symbolic: bool) -> dict[str, Any] | None:
    """The values to lay ``net``'s document out with for ``values`` (symbols its counts and
    conditions read: a whole number, a rational symbol's exact value, or None to keep a count
    symbolic: a list to sweep, or ``symbolic`` without a value); None where that is the layout
    ``net`` has (the defaults)."""
    base = {k: net.rationals[k] if k in net.rationals else net.defaults.get(k) for k in net.depth_names}
    depths: dict[str, Any] = {}
    for name in sorted(net.depth_names):
        given = values.get(name, base[name] if name in net.rationals or not symbolic else None)
        if name in net.rationals:
            try:
                depths[name] = exact(given)
            except ValueError:
                depths[name] = None  # evaluation says what is wrong with the value
        else:
            depths[name] = given if isinstance(given, int) and not isinstance(given, bool) else None
    return None if depths == base else depths


__all__ = ["Network", "Node", "Repeat", "count_symbols", "depth_values"]
