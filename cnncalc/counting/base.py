"""What a counting convention is: per-layer rules that turn cnncalc's facts about a layer into the
number another tool prints for it (its MACs, FLOPs or Mult-Adds, and its parameters).

A :class:`Preset` holds one tool's rules; :func:`recount` applies them to a summary and returns a
summary of the same layers whose ``macs`` (and ``params``) columns are that tool's, with the tool's
rules as the stated conventions. Rules see a layer's fields and shapes (a :class:`Facts`), never a
renderer; renderers see only the recounted summary.
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
    (its fields), the shapes of all its inputs, and the values its fields resolve with."""

    row: LayerRow
    layer: Layer
    inputs: tuple[tuple[Value, ...], ...]
    env: Env

    @property
    def kind(self) -> str:
        return self.row.kind

    @property
    def output(self) -> tuple[Value, ...]:
        return self.row.output

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
    ``nn.Module.parameters()`` (Keras counts BatchNorm's moving statistics), None where it does not.
    ``rules`` state every rule in words, one line each, the way ``cnncalc conventions NAME`` prints
    them; ``differs`` says in one line why the total differs from cnncalc's MACs.
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

    def describe(self) -> str:
        """The convention as one paragraph: tool, version, unit and rules."""
        return f"{self.unit} as {self.tool} {self.version} counts them: " + "; ".join(self.rules)


def facts(net: Network, summary: Summary) -> list[Facts]:
    """The facts of every layer of ``summary`` (a summary of ``net``, numeric or symbolic)."""
    symbolic = bool(summary.symbols)
    env, _ = _bound_values(net, {k: v for k, v in summary.values.items() if k in net.symbol_names}, symbolic)
    scope_env = scope_envs(env)
    outputs = [row.output for row in summary.rows]
    out = []
    for node, row in zip(net.nodes, summary.rows, strict=True):
        ins = tuple(summary.input if i < 0 else outputs[i] for i in node.inputs)
        scoped = scope_env(node.scope)
        if node.uses_in_channels:
            from ..spec import IN_CHANNELS

            scoped = Env({**scoped.values, IN_CHANNELS: ins[0][0]}, scoped.symbolic)
        out.append(Facts(row, node.layer, ins, scoped))
    return out


def recount(net: Network, summary: Summary, preset: Preset) -> Summary:
    """``summary`` with its MACs column (and params, where the preset counts them otherwise) as
    ``preset`` counts them; the conventions say so."""
    rows = []
    for f in facts(net, summary):
        changes: dict[str, Any] = {"macs": preset.ops(f)}
        if preset.params is not None:
            params = preset.params(f)
            changes["params"] = params
            changes["trainable_params"] = params if f.layer.trainable else f.row.trainable_params
        rows.append(f.row._replace(**changes))
    weighted = [(r.fc_params is not None) or r.kind in ("linear",) for r in summary.rows]
    total = Totals.of(tuple(rows), weighted, numeric=not summary.symbols)
    # neurons are the same layers' activations as before: keep cnncalc's figure
    total = replace(total, neurons=summary.total.neurons, macs=expand(total.macs) if summary.symbols else total.macs)
    conventions = {**summary.conventions, "macs": preset.describe()}
    if preset.params is not None:
        conventions["params"] = f"parameters as {preset.tool} {preset.version} counts them"
    return replace(summary, rows=tuple(rows), total=total, conventions=conventions)


__all__ = ["Facts", "Preset", "Rule", "facts", "recount"]
