"""The lines of an emitted file: names made valid, values in YAML's flow style, one entry a line."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from .graph import INPUT, ImportedLayer

#: What a cnncalc name may hold (cnncalc.spec.entries): letters, digits, _ and "."; dots are kept
#: only where a block's copies make them (layer1.0.conv1), so every written name is a plain word.
_NOT_NAME = re.compile(r"[^0-9A-Za-z_]+")


def clean_name(text: str) -> str:
    """``text`` as a cnncalc name: module-path dots and other characters -> "_" (``layer1.0.conv1``
    -> ``layer1_0_conv1``, ONNX's ``/conv1/Conv`` -> ``conv1_Conv``)."""
    name = _NOT_NAME.sub("_", text).strip("_")
    return name or "layer"


def flow(value: Any) -> str:
    """One YAML value on one line (flow style), quoted where YAML would read it otherwise."""
    text: str = yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1 << 30)
    return text.removesuffix("\n...\n").removesuffix("\n")


def entry_line(kind: str, fields: Mapping[str, Any], indent: str = "  ") -> str:
    """``- kind`` or ``- kind: {field: value, ...}``, one line."""
    if not fields:
        return f"{indent}- {kind}"
    return f"{indent}- {kind}: {flow(dict(fields))}"


def layer_fields(layer: ImportedLayer, previous: str) -> dict[str, Any]:
    """The layer's fields as written: its own, then ``from`` where it reads anything but the layer
    before it (``previous``), then its name."""
    fields = dict(layer.fields)
    if layer.sources != (previous,):
        fields["from"] = layer.sources[0] if len(layer.sources) == 1 else list(layer.sources)
    fields["name"] = layer.name
    return fields


def flat_lines(layers: Iterable[ImportedLayer], previous: str = INPUT, indent: str = "  ") -> list[str]:
    """The layers one entry a line, each reading the one before unless ``from`` says otherwise."""
    lines = []
    for layer in layers:
        lines.append(entry_line(layer.kind, layer_fields(layer, previous), indent))
        previous = layer.name
    return lines


__all__ = ["clean_name", "entry_line", "flat_lines", "flow", "layer_fields"]
