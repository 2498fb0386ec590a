"""Results as data: frozen rows and totals (a :class:`Summary`), and substitution of symbols.

Values are ints (half-integers as floats, for receptive-field starts) in a numeric summary and may
be sympy expressions in a symbolic one. ``Summary.subs(H=224)`` substitutes into every expression,
so a symbolic summary with all values given equals the numeric summary at those values.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from fractions import Fraction
from itertools import compress
from typing import Any, NamedTuple

from .errors import CnncalcError
from .layers import AXES
from .receptive import ReceptiveField
from .symbolic import Value, expand, free_symbols, replace_symbols, substitute, to_text, total

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


#: Added where layers run only in training (``training_only``): what the totals count of them, in
#: the default (inference) summary and in the training view.
TRAINING_ONLY = {
    False: "layers marked training_only (auxiliary heads), and layers computed only from them, run only in "
    "training (PyTorch's train mode): their params count, their MACs and activations are 0 here, as in "
    "inference; the training view (summarize(training=True), --training) counts them",
    True: "training view: layers marked training_only (auxiliary heads), and layers computed only from them, "
    "count their MACs and activations as in a training forward; in inference they count params only",
}


def conventions(rank: int, irregular: bool = False, training: bool | None = None) -> dict[str, str]:
    """:data:`CONVENTIONS` for a network with ``rank`` spatial axes (the axes named as they are),
    with the irregular-field rule where a field is irregular and, where layers run only in training,
    the rule for them (``training``: None where there are none, else whether this is the training view)."""
    if rank in (0, 2) and not irregular and training is None:
        return CONVENTIONS
    rf = CONVENTIONS["rf"]
    if rank not in (0, 2):
        rf = rf.replace("[height, width]", "[" + ", ".join(AXES[rank]) + "]")
    stated = {**CONVENTIONS, "rf": rf + (IRREGULAR if irregular else "")}
    if training is not None:
        stated["training_only"] = TRAINING_ONLY[training]
    return stated


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
    #: Runs only in training (an auxiliary head): MACs and activations 0 unless the training view.
    training_only: bool = False


@dataclass(frozen=True, slots=True)
class Totals:
    """Sums over all layers; ``neurons`` sums the activations of layers with weights."""

    params: Value
    trainable_params: Value
    macs: Value
    activations: Value
    neurons: Value

    @classmethod
    def of(
        cls, rows: tuple[LayerRow, ...], weighted: list[bool], numeric: bool = False, times: tuple[Value, ...] = ()
    ) -> Totals:
        """params, trainable params, MACs, activations: sums of the rows; neurons: the activations
        of the rows flagged in ``weighted`` (layers whose outputs are weighted sums). ``numeric``
        promises that every value is an int (then plain sums do). ``times``: how many times each
        row counts (the copies of a repeat whose count is symbolic; empty: once each)."""
        if times:
            from .views import counted

            rows = tuple(counted(r, t) for r, t in zip(rows, times, strict=True))
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
    values: dict[str, int | Fraction]
    conventions: dict[str, str]
    #: Symbols declared multiples (``multiple_of``) in the file: substituted values must be too.
    multiples: dict[str, int] = field(default_factory=dict)
    #: Name prefix -> the block call or repeat it names ("bottleneck x3"), for views.
    groups: dict[str, str] = field(default_factory=dict, repr=False)
    #: What a view shows, said under its table ("" for every layer: see :meth:`view`).
    shown: str = ""
    #: Column headers a counting preset renames (``{"macs": "FLOPs (fvcore)"}``; see cnncalc.counting).
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    #: The training view: layers that run only in training count their MACs and activations.
    training: bool = False
    #: How many times each row counts in the totals: the copies of a repeat whose count stays
    #: symbolic (``repeat: d``), whose first copy the rows show; empty where every row counts once.
    times: tuple[Value, ...] = field(default=(), repr=False)

    @property
    def symbols(self) -> list[str]:
        """Names of the symbols still free in this summary, sorted."""
        names: set[str] = set()
        for row in self.rows:
            for item in (*row.output, row.params, row.macs):
                if type(item) is not int:  # numbers have none: most cells, and cheap to skip
                    names |= free_symbols(item)
        for item in (*self.input, *self.times):
            if type(item) is not int:
                names |= free_symbols(item)
        return sorted(names)

    @property
    def training_only(self) -> tuple[str, ...]:
        """The layers (or blocks: the shortest name prefixes all of whose rows do) that run only in
        training, in order: ("AuxLogits",) for Inception v3."""
        flags: dict[str, bool] = {}
        for row in self.rows:
            parts = row.name.split(".")
            for n in range(1, len(parts) + 1):
                prefix = ".".join(parts[:n])
                flags[prefix] = flags.get(prefix, True) and row.training_only
        found: list[str] = []
        for prefix, only in flags.items():
            if only and not any(prefix.startswith(f + ".") for f in found):
                found.append(prefix)
        return tuple(found)

    def subs(self, **values: int) -> Summary:
        """This summary with symbols replaced by ``values`` (the rest stay symbolic)."""
        for name, value in values.items():
            m = self.multiples.get(name, 1)
            if value % m:
                raise CnncalcError(f"{name}={value} is not a multiple of {m}, as the file's symbols require")
        return self._mapped(lambda v: substitute(v, values), {**self.values, **dict(values)})

    def replace(self, mapping: dict[Any, Any]) -> Summary:
        """This summary with sympy symbols replaced per ``mapping`` (symbol -> expression)."""
        return self._mapped(lambda v: replace_symbols(v, mapping), self.values)

    def _mapped(self, change: Callable[[Any], Any], values: dict[str, int | Fraction]) -> Summary:
        rows, total, input = _map(self.rows, change), _map(self.total, change), _map(self.input, change)
        times = _map(self.times, change)
        return dataclasses.replace(self, input=input, rows=rows, total=total, values=values, times=times)

    def view(
        self, *, depth: int | None = None, hide: Iterable[str] | str = (), only: Iterable[str] | str = ()
    ) -> Summary:
        """This summary with blocks below ``depth`` collapsed into one row each (their output,
        summed params/MACs/activations, their receptive field) and layers of the kinds or families
        in ``hide`` left out (or only those in ``only`` kept). Totals never change."""
        from .views import view

        rows, shown = view(self.rows, self.groups, depth=depth, hide=_words(hide), only=_words(only), times=self.times)
        times: tuple[Value, ...] = ()
        if self.times:  # a merged row holds its copies' sums already: it counts once
            counted = {r.name: t for r, t in zip(self.rows, self.times, strict=True)}
            times = tuple(counted.get(r.name, 1) for r in rows)
        return dataclasses.replace(self, rows=tuple(rows), shown=shown, times=times)

    def render(
        self,
        format: str = "text",
        columns: list[str] | None = None,
        *,
        depth: int | None = None,
        hide: Iterable[str] | str = (),
        only: Iterable[str] | str = (),
        **options: Any,
    ) -> str:
        """The summary in ``format`` (text, markdown, latex, csv, json, html: ``cnncalc.render.FORMATS``),
        optionally only ``columns``, of the view given by ``depth``/``hide``/``only`` (see
        :meth:`view`); ``options`` go to the format (LaTeX: fit, long, caption, notes)."""
        from .render import render

        shown = self.view(depth=depth, hide=hide, only=only) if depth or hide or only else self
        return render(shown, format, columns, **options)

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per row, with plain values (shapes as tuples, symbolic values as sympy
        expressions): ``pandas.DataFrame(summary.to_records())`` is :meth:`to_pandas`."""
        records = []
        for r in self.rows:
            rf = r.rf
            records.append(
                {
                    "name": r.name,
                    "kind": r.kind,
                    "input": r.input,
                    "output": r.output,
                    "params": r.params,
                    "trainable_params": r.trainable_params,
                    "macs": r.macs,
                    "activations": r.activations,
                    "rf": None if rf is None else rf.size,
                    "jump": None if rf is None else rf.jump,
                    "start": None if rf is None else rf.start,
                    "aligned": None if rf is None else rf.aligned,
                    "regular": None if rf is None else rf.regular,
                    "fc_params": r.fc_params,
                    "local_params": r.local_params,
                    "from": r.sources,
                }
            )
        return records

    def to_pandas(self) -> Any:
        """The rows as a pandas DataFrame indexed by layer name (needs pandas)."""
        try:
            import pandas
        except ImportError:
            raise CnncalcError('pandas is not installed; install it with: pip install "cnncalc[pandas]"') from None
        return pandas.DataFrame(self.to_records()).set_index("name")

    def __repr__(self) -> str:
        from .render.table import si

        t = self.total
        params = f"{t.params:,}" if type(t.params) is int else str(t.params)
        unit = self.headers.get("macs", "MACs")
        if type(t.macs) is int:
            macs = f"{si(t.macs)} {unit}"
        else:  # a closed form can run to hundreds of characters: named, not printed, in a repr
            text = to_text(t.macs, display=True)
            macs = f"{text} {unit}" if len(text) <= 40 else f"{unit} in closed form"
        at = _values_text(self.values)
        tail = f" at {at}" if at else ""
        free = self.symbols
        if free:
            tail += f", symbolic in {', '.join(free)}"
        shape = "[" + ", ".join(str(v) for v in self.input) + "]"
        view = f", {len(self.rows)} rows ({self.shown})" if self.shown else ""
        if self.training:
            view += ", training view"
        return f"<Summary {self.name} {shape}: {params} params, {macs}{tail}{view}>"

    def __str__(self) -> str:
        return self.render("text")

    def _repr_markdown_(self) -> str:
        return self.render("markdown")

    def _repr_html_(self) -> str:
        from .render.html import fragment

        return fragment(self)

    def _repr_latex_(self) -> str:
        from .render.notebook import latex_array

        return latex_array(self)

    def to_dict(self) -> dict[str, Any]:
        """The JSON contract as Python data: ints, floats and sympy-syntax strings."""
        from .render.json import to_data

        return to_data(self)


def _values_text(values: dict[str, int | Fraction]) -> str:
    """ "H=W=224, k=2": symbol values, equal ones written once."""
    by_value: dict[int | Fraction, list[str]] = {}
    for name, value in sorted(values.items()):
        by_value.setdefault(value, []).append(name)
    return ", ".join("=".join(names) + f"={value}" for value, names in by_value.items())


def _words(value: Iterable[str] | str) -> tuple[str, ...]:
    """ "relu,batchnorm2d" or ["relu", ...] as a tuple of words."""
    if isinstance(value, str):
        return tuple(w.strip() for w in value.split(",") if w.strip())
    return tuple(value)


__all__ = [
    "CONVENTIONS",
    "IRREGULAR",
    "TRAINING_ONLY",
    "LayerRow",
    "ReceptiveField",
    "Summary",
    "Totals",
    "conventions",
]
