"""One network's total under every counting convention, cnncalc's own first, each with the one-line
reason it differs from cnncalc's MACs: the answer to "why does my number differ from the paper's?"
(``cnncalc conventions FILE``, ``Architecture.conventions()``)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from ..symbolic import Value
from .base import Preset, recount

if TYPE_CHECKING:
    from ..network import Network
    from ..report import Summary


@dataclass(frozen=True, slots=True)
class Counted:
    """One convention's totals for the network: its operations (in ``unit``) and parameters."""

    name: str
    tool: str
    version: str
    unit: str
    header: str
    total: Value
    params: Value
    differs: str
    verified: bool


@dataclass(frozen=True)
class Conventions:
    """Every convention's totals for one network at one set of values (see :func:`conventions`)."""

    #: "ResNet50, input [3, 224, 224] (H=224, W=224)"
    title: str
    name: str
    values: dict[str, int | Fraction]
    rows: tuple[Counted, ...]

    def __getitem__(self, name: str) -> Counted:
        """The row of the convention called ``name``."""
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """Plain data: ints, and sympy-syntax strings for symbolic totals."""
        from ..render.conventions import table_data

        return table_data(self)

    def render(self, format: str = "text", width: int | None = None) -> str:
        """The table as text (fitting ``width``, the terminal's by default), markdown or json."""
        from ..render.conventions import render_table

        return render_table(self, format, width)

    def __str__(self) -> str:
        return self.render("text")


def conventions(net: Network, summary: Summary, presets: tuple[Preset, ...]) -> Conventions:
    """The totals of ``summary`` (of ``net``, every layer) under each of ``presets``."""
    from ..render.table import title

    rows = []
    for p in presets:
        total = recount(net, summary, p).total
        rows.append(
            Counted(p.name, p.tool, p.version, p.unit, p.header, total.macs, total.params, p.differs, p.verified)
        )
    return Conventions(title(summary), summary.name, dict(summary.values), tuple(rows))


__all__ = ["Conventions", "Counted", "conventions"]
