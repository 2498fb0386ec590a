"""Results as data: frozen rows and totals (a :class:`Summary`), and substitution of symbols.

Values are ints (half-integers as floats, for receptive-field starts) in a numeric summary and may
be sympy expressions in a symbolic one. ``Summary.subs(H=224)`` substitutes into every expression,
so a symbolic summary with all values given equals the numeric summary at those values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from itertools import compress
from typing import Any, NamedTuple

from .errors import CnncalcError
from .layers import AXES
from .receptive import ReceptiveField
from .symbolic import Value, expand, free_symbols, replace_symbols, substitute, total

#: What every number counts; printed with every summary, in every format (for a 2-D network; see
#: :func:`conventions` for the others).
CONVENTIONS: dict[str, str] = {
    "params": "learnable parameters as nn.Module.parameters() counts them, bias included; "
    "BatchNorm running statistics are buffers, not parameters",
    "macs": "multiply-accumulates of conv and linear weights at batch 1, bias excluded; normalisation, "
    "activation and pooling count 0 (torchvision's GFLOPS column is this count; FLOPs = 2 x MACs)",
    "activations": "elements in each layer's output at batch 1",
    "neurons": "outputs of layers with weights (conv and linear), the count behind AlexNet's 650,000 neurons",
    "rf": "receptive field per axis [height, width] in input pixels: size; jump = input pixels between "
    "adjacent outputs; start = centre of the first output's field, input pixel centres at 0, 1, 2...; "
    "dilation counted; null where the output has no spatial axes or windows are not uniform",
    "fc_params": "parameters a dense layer between the same input and output volumes would need: "
    "in*out, + out when the layer has a bias",
    "local_params": "parameters of a locally connected layer (the same connections, no weight sharing): "
    "out*fan_in, + out when the layer has a bias",
}


#: Added to the rf convention where a field passes upsampling or a transposed convolution.
IRREGULAR = (
    "; past upsampling or a transposed convolution the outputs' fields differ (regular: false): size is "
    "the largest over outputs, jump the mean step, start the first output's centre"
)


def conventions(rank: int, irregular: bool = False) -> dict[str, str]:
    """:data:`CONVENTIONS` for a network with ``rank`` spatial axes (the axes named as they are),
    with the irregular-field rule where a field is irregular."""
    if rank in (0, 2) and not irregular:
        return CONVENTIONS
    rf = CONVENTIONS["rf"]
    if rank not in (0, 2):
        rf = rf.replace("[height, width]", "[" + ", ".join(AXES[rank]) + "]")
    return {**CONVENTIONS, "rf": rf + (IRREGULAR if irregular else "")}


class LayerRow(NamedTuple):
    """One layer's results, immutable. ``fc_params``/``local_params``/``rf`` are None where they do
    not apply."""

    name: str
    kind: str
    input: tuple[Value, ...]
    output: tuple[Value, ...]
    params: Value
    trainable_params: Value
    macs: Value
    activations: Value
    rf: ReceptiveField | None
    fc_params: Value | None
    local_params: Value | None
    #: Names of the layers this one reads ("input" for the network input).
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums over all layers; ``neurons`` sums the activations of layers with weights."""

    params: Value
    trainable_params: Value
    macs: Value
    activations: Value
    neurons: Value

    @classmethod
    def of(cls, rows: tuple[LayerRow, ...], weighted: list[bool], numeric: bool = False) -> Totals:
        """params, trainable params, MACs, activations: sums of the rows; neurons: the activations
        of the rows flagged in ``weighted`` (layers whose outputs are weighted sums). ``numeric``
        promises that every value is an int (then plain sums do)."""
        if numeric:
            columns = tuple(zip(*rows, strict=True)) if rows else ((),) * len(LayerRow._fields)
            activations = columns[7]
            return cls(
                params=sum(columns[4]),
                trainable_params=sum(columns[5]),
                macs=sum(columns[6]),
                activations=sum(activations),
                neurons=sum(compress(activations, weighted)),
            )
        return cls(
            params=expand(total([r.params for r in rows])),
            trainable_params=expand(total([r.trainable_params for r in rows])),
            macs=total([r.macs for r in rows]),
            activations=total([r.activations for r in rows]),
            neurons=total([r.activations for r, w in zip(rows, weighted, strict=True) if w]),
        )


def _map(value: Any, change: Callable[[Any], Any]) -> Any:
    """``change`` applied to every number or expression inside rows, fields and totals."""
    if isinstance(value, (ReceptiveField, LayerRow)):
        return type(value)(*(_map(v, change) for v in value))
    if isinstance(value, tuple):
        return tuple(_map(v, change) for v in value)
    if isinstance(value, Totals):
        return replace(value, **{f.name: _map(getattr(value, f.name), change) for f in fields(value)})
    if isinstance(value, (str, bool)):
        return value
    return change(value)


@dataclass(frozen=True)
class Summary:
    """Per-layer rows and totals for one architecture at given symbol values.

    ``values`` are the symbol values used; ``symbols`` the names still free.
    """

    name: str
    input: tuple[Value, ...]
    rows: tuple[LayerRow, ...]
    total: Totals
    values: dict[str, int]
    conventions: dict[str, str]
    #: Symbols declared multiples (``multiple_of``) in the file: substituted values must be too.
    multiples: dict[str, int] = field(default_factory=dict)

    @property
    def symbols(self) -> list[str]:
        """Names of the symbols still free in this summary, sorted."""
        names: set[str] = set()
        for row in self.rows:
            for item in (*row.output, row.params, row.macs):
                if type(item) is not int:  # numbers have none: most cells, and cheap to skip
                    names |= free_symbols(item)
        for item in self.input:
            names |= free_symbols(item)
        return sorted(names)

    def subs(self, **values: int) -> Summary:
        """This summary with symbols replaced by ``values`` (the rest stay symbolic)."""
        for name, value in values.items():
            m = self.multiples.get(name, 1)
            if value % m:
                raise CnncalcError(f"{name}={value} is not a multiple of {m}, as the file's symbols require")
        return self._mapped(lambda v: substitute(v, values), {**self.values, **values})

    def replace(self, mapping: dict[Any, Any]) -> Summary:
        """This summary with sympy symbols replaced per ``mapping`` (symbol -> expression)."""
        return self._mapped(lambda v: replace_symbols(v, mapping), self.values)

    def _mapped(self, change: Callable[[Any], Any], values: dict[str, int]) -> Summary:
        return Summary(
            name=self.name,
            input=_map(self.input, change),
            rows=_map(self.rows, change),
            total=_map(self.total, change),
            values=values,
            conventions=self.conventions,
            multiples=self.multiples,
        )

    def render(self, format: str = "text", columns: list[str] | None = None) -> str:
        """The summary as text, markdown, latex, csv or json (see ``cnncalc.render.FORMATS``),
        optionally only ``columns``."""
        from .render import render

        return render(self, format, columns)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract as Python data: ints, floats and sympy-syntax strings."""
        from .render.json import to_data

        return to_data(self)


__all__ = ["CONVENTIONS", "IRREGULAR", "LayerRow", "ReceptiveField", "Summary", "Totals", "conventions"]
