"""What a counting convention is: per-layer rules that turn cnncalc's facts about a layer into the
number another tool prints for it (its MACs, FLOPs or Mult-Adds, and its parameters).

A :class:`Preset` holds one tool's rules; :func:`recount` applies them to a summary and returns a
summary of the same layers whose ``macs`` (and ``params``) columns are that tool's, with the tool's
rules as the stated conventions and the columns' headers naming the tool ("FLOPs (fvcore)"). Rules
see a layer's fields and shapes (a :class:`Facts`), never a renderer; renderers see only the
recounted summary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ..evaluate import _bound_values, scope_envs
from ..report import Summary, Totals
from ..symbolic import Env, Value, expand, product

if TYPE_CHECKING:
    from ..layers import Layer
    from ..network import Network
    from ..report import LayerRow


@dataclass(frozen=True, slots=True)
class Facts:
    """What a rule sees of one layer: its row (name, kind, shapes, cnncalc's counts), the layer
    (its fields), the shapes of all its inputs, and the values its fields resolve with.

    ``runs`` is False for a layer the tool never runs: one that runs only in training (an auxiliary
    head) where the tool counts an eval-mode forward (in the training view too, unless the preset
    counts the mode the model is in: :attr:`Preset.trains`), or, for a preset that drops them
    (:attr:`Preset.live_only`), one whose output never reaches the network's output."""

    row: LayerRow
    layer: Layer
    inputs: tuple[tuple[Value, ...], ...]
    env: Env
    runs: bool = True

    @property
    def kind(self) -> str:
        return self.row.kind

    @property
    def output(self) -> tuple[Value, ...]:
        return self.row.output

    @property
    def input(self) -> tuple[Value, ...]:
        """The (first) input's shape, channels first, no batch."""
        return self.inputs[0]

    @property
    def rank(self) -> int:
        """Spatial axes of the input: 0 (flat) to 3."""
        return len(self.inputs[0]) - 1

    def value(self, field: str) -> Value:
        """A one-value field (out_channels, groups...) resolved to a number or expression."""
        return self.env.resolve(getattr(self.layer, field))

    def values(self, field: str) -> tuple[Value, ...]:
        """A per-axis field (kernel_size, stride, padding...) resolved to one value per spatial axis
        of the layer's input."""
        raw = getattr(self.layer, field)
        rank = len(self.inputs[0]) - 1
        if isinstance(raw, tuple):
            return tuple(self.env.resolve(v) for v in raw)
        return (self.env.resolve(raw),) * rank

    @staticmethod
    def numel(shape: tuple[Value, ...]) -> Value:
        """Elements of a shape (batch 1)."""
        return product(shape)


#: A rule: one layer's count under a convention.
Rule = Callable[[Facts], Value]


@dataclass(frozen=True)
class Preset:
    """One tool's way of counting.

    ``ops`` gives each layer's count of the tool's operations (``unit``: "MACs", "FLOPs",
    "Mult-Adds"); ``params`` each layer's parameters where the tool counts them differently from
    ``nn.Module.parameters()`` (Keras counts BatchNorm's moving statistics), None where it does not;
    ``trainable`` each layer's trainable parameters where ``params`` adds some that are not (None:
    a trainable layer's are all its ``params``). ``rules`` state every rule in words, one line each,
    the way ``cnncalc conventions NAME`` prints them; ``differs`` says in one line why the total
    differs from cnncalc's MACs. ``live_only``: the tool traces a graph, so a layer whose output
    never reaches the network's output counts 0 (:attr:`Facts.runs` is False for it). ``label``
    heads the ops column ("FLOPs (fvcore)"; default "UNIT (TOOL)").
    :meth:`stated` is what a recounted summary says it counts.
    """

    name: str
    tool: str
    version: str
    unit: str
    rules: tuple[str, ...]
    differs: str
    ops: Rule
    params: Rule | None = None
    #: Whether the tool's count was compared with the real tool in this test suite (see the docs).
    verified: bool = True
    trainable: Rule | None = None
    live_only: bool = False
    #: The tool counts the forward of the mode the model is in: in the training view (train mode)
    #: layers that run only in training count; otherwise (the tool calls eval()) they never do.
    trains: bool = False
    label: str = ""
    #: The ops are cnncalc's MACs (Keras counts none): the MACs column keeps its header and convention.
    same_ops: bool = False
    #: How the tests check the preset, where not against the tool on every bundled and random network.
    checked: str = ""

    @property
    def header(self) -> str:
        """The ops column's header: :attr:`label`, or "UNIT (TOOL)"."""
        return self.label or f"{self.unit} ({self.tool})"

    @property
    def column(self) -> str:
        """The header of the column the preset changes: its ops' (or its params' where the ops are cnncalc's)."""
        return self.params_header if self.same_ops else self.header

    @property
    def params_header(self) -> str:
        """The params column's header where the preset counts parameters its own way."""
        return f"Params ({self.tool})"

    def describe(self) -> str:
        """The convention as one paragraph: tool, version, unit and rules."""
        return f"{self.unit} as {self.who} counts them: " + "; ".join(self.rules)

    def stated(self, what: str = "macs") -> str:
        """The convention a recounted summary states for ``what`` ("macs" or "params"): who counts
        and why it differs, with where the rules are."""
        rules = f"every rule: cnncalc conventions {self.name}"
        if what == "params":  # where the ops are cnncalc's, the difference is in the params
            why = f": {self.differs}" if self.same_ops else ""
            return f"parameters as {self.who} counts them{why} ({rules})"
        return f"{self.unit} as {self.who} counts them: {self.differs} ({rules})"

    @property
    def who(self) -> str:
        """The tool and its version: "fvcore 0.1.5.post20221221"."""
        return f"{self.tool} {self.version}".strip()


def live(net: Network) -> list[bool]:
    """Per node, whether the network's output (its last layer) depends on it."""
    reached = [False] * len(net.nodes)
    if reached:
        reached[-1] = True
    for j in range(len(net.nodes) - 1, -1, -1):
        if reached[j]:
            for i in net.nodes[j].inputs:
                if i >= 0:
                    reached[i] = True
    return reached


def facts(net: Network, summary: Summary, live_only: bool = False, trains: bool = False) -> list[Facts]:
    """The facts of every layer of ``summary`` (a summary of ``net``, numeric or symbolic); with
    ``live_only``, layers the output never reaches do not run; layers that run only in training run
    only with ``trains`` in a training view."""
    symbolic = bool(summary.symbols)
    env, _ = _bound_values(net, {k: v for k, v in summary.values.items() if k in net.symbol_names}, symbolic)
    scope_env = scope_envs(env)
    outputs = [row.output for row in summary.rows]
    reached = live(net) if live_only else [True] * len(net.nodes)
    out = []
    for node, row, reaches in zip(net.nodes, summary.rows, reached, strict=True):
        ins = tuple(summary.input if i < 0 else outputs[i] for i in node.inputs)
        scoped = scope_env(node.scope)
        if node.uses_in_channels:
            from ..spec import IN_CHANNELS

            scoped = Env({**scoped.values, IN_CHANNELS: ins[0][0]}, scoped.symbolic)
        # Most tools count an eval-mode forward, where a layer that runs only in training never runs
        runs = reaches and (not row.training_only or (trains and summary.training))
        out.append(Facts(row, node.layer, ins, scoped, runs))
    return out


def recount(net: Network, summary: Summary, preset: Preset) -> Summary:
    """``summary`` with its MACs column (and params, where the preset counts them otherwise) as
    ``preset`` counts them; the conventions and the columns' headers say so. ``summary`` must be
    of every layer (not a view): a view of the result collapses the recounted rows."""
    if len(summary.rows) != len(net.nodes):
        raise ValueError("recount needs the summary of every layer, before any view")
    symbolic = bool(summary.symbols)
    rows = []
    for f in facts(net, summary, preset.live_only, preset.trains):
        changes: dict[str, Any] = {"macs": preset.ops(f) if f.runs else 0}
        if preset.params is not None:
            params = preset.params(f)
            changes["params"] = params
            if preset.trainable is not None:
                changes["trainable_params"] = preset.trainable(f)
            else:
                changes["trainable_params"] = params if f.layer.trainable else f.row.trainable_params
        rows.append(f.row._replace(**changes))
    weighted = [False] * len(rows)  # neurons are kept from cnncalc's totals below
    total = Totals.of(tuple(rows), weighted, numeric=not symbolic, times=summary.times)
    # neurons are the same layers' activations as before: keep cnncalc's figure
    total = replace(total, neurons=summary.total.neurons, macs=expand(total.macs) if symbolic else total.macs)
    conventions, headers = dict(summary.conventions), {}
    if not preset.same_ops:
        conventions["macs"], headers["macs"] = preset.stated("macs"), preset.header
    if preset.params is not None:
        conventions["params"], headers["params"] = preset.stated("params"), preset.params_header
    return replace(summary, rows=tuple(rows), total=total, conventions=conventions, headers=headers)


__all__ = ["Facts", "Preset", "Rule", "facts", "live", "recount"]
