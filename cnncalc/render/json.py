"""JSON, the contract for scripts: whole numbers as integers, symbolic values as sympy-syntax strings."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..functions import json_number
from ..symbolic import to_text

if TYPE_CHECKING:  # the renderers see a summary only as a type: report imports them
    from ..report import LayerRow, Summary


def _value(v: Any) -> Any:
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, tuple):
        return [_value(x) for x in v]
    return to_text(v)


def _row(row: LayerRow) -> dict[str, Any]:
    rf = None
    if row.rf is not None:
        rf = {
            "size": _value(row.rf.size),
            "jump": _value(row.rf.jump),
            "start": _value(row.rf.start),
            "aligned": row.rf.aligned,
        }
        if not row.rf.regular:  # only then: the JSON of a network without upsampling is unchanged
            rf["regular"] = False
    data = {
        "name": row.name,
        "kind": row.kind,
        "from": list(row.sources),
        "input": _value(row.input),
        "output": _value(row.output),
        "params": _value(row.params),
        "trainable_params": _value(row.trainable_params),
        "macs": _value(row.macs),
        "activations": _value(row.activations),
        "rf": rf,
        "fc_params": _value(row.fc_params),
        "local_params": _value(row.local_params),
    }
    if row.training_only:  # only then: the JSON of a network without such layers is unchanged
        data["training_only"] = True
    return data


def to_data(summary: Summary) -> dict[str, Any]:
    """The summary as JSON-ready data (see the README's JSON contract)."""
    t = summary.total
    data: dict[str, Any] = {
        "name": summary.name,
        "input": _value(summary.input),
        "values": {k: json_number(v) for k, v in sorted(summary.values.items())},
        "symbols": summary.symbols,
        "layers": [_row(r) for r in summary.rows],
        "total": {
            "params": _value(t.params),
            "trainable_params": _value(t.trainable_params),
            "macs": _value(t.macs),
            "activations": _value(t.activations),
            "neurons": _value(t.neurons),
        },
        "conventions": summary.conventions,
    }
    for layer, times in zip(data["layers"], summary.times, strict=False):
        if times != 1:  # a repeat with a symbolic count: the row is its first copy, the totals count all
            layer["times"] = _value(times)
    if summary.headers:  # a counting preset's (only then: cnncalc's own JSON is unchanged)
        data["headers"] = dict(summary.headers)
    return data


def render(summary: Summary, columns: list[str] | None = None) -> str:
    """The summary as indented JSON (``columns`` does not apply: the contract has every field)."""
    return json.dumps(to_data(summary), indent=2) + "\n"
