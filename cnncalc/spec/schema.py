"""JSON Schema of the YAML format, for editors' YAML validation (``cnncalc schema``)."""

from __future__ import annotations

from typing import Any

from ..layers import KINDS
from .document import Header

_NAME_LIST = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
_STRUCTURAL: dict[str, Any] = {
    "name": {"type": ["string", "integer"], "description": "the layer's name (default: kind prefix and a number)"},
    "from": {**_NAME_LIST, "description": "input layer name(s), or 'input'; default: the layer before"},
    "when": {
        "type": ["boolean", "string"],
        "description": "true, false or a condition on block arguments (downsample, stride > 1): false leaves "
        "the layer out",
    },
    "repeat": {"type": ["integer", "string"], "description": "n chained copies, named name.0 ... name.n-1"},
    "first": {"type": "object", "description": "field overrides for the first repeat"},
    "last": {"type": "object", "description": "field overrides for the last repeat"},
    "at": {
        "type": "object",
        "propertyNames": {"pattern": "^-?[0-9]+$"},
        "additionalProperties": {"type": "object"},
        "description": "field overrides by copy index (0 the first, -1 the last); later ones win: first, last, at",
    },
    "training_only": {
        "type": "boolean",
        "description": "runs only in training (an auxiliary head): params counted, MACs and activations "
        "only in the training view",
    },
}


_IMPORTS = {
    "type": "array",
    "items": {"type": "string", "pattern": "\\.ya?ml$"},
    "description": "YAML files of blocks (blocks:, imports:) whose blocks this file calls; paths relative to it",
}


def _blocks(layer_list: dict[str, Any]) -> dict[str, Any]:
    """The ``blocks:`` section: block names to ``{args, inputs, layers}``."""
    return {
        "type": "object",
        "description": "Reusable blocks, called like layer kinds",
        "additionalProperties": {
            "type": "object",
            "properties": {
                "args": {
                    "type": "object",
                    "description": "argument names and defaults (null: required); a default may be a list, "
                    "one value per spatial axis",
                },
                "inputs": {
                    "type": "array",
                    "items": {"type": "string"},
                    "minItems": 1,
                    "description": "names of the block's inputs, in the order a call gives them (from: [a, b])",
                },
                "layers": layer_list,
            },
            "required": ["layers"],
            "additionalProperties": False,
        },
    }


def json_schema() -> dict[str, Any]:
    """JSON Schema of the YAML format: top-level fields, and each layer as a bare kind or a
    one-key ``{kind: {fields}}`` mapping."""
    top = Header.model_json_schema()
    defs: dict[str, Any] = dict(top.pop("$defs", {}))
    kinds: dict[str, Any] = {}
    for kind, cls in sorted(KINDS.items()):
        fields = cls.model_json_schema()
        defs.update(fields.pop("$defs", {}))
        fields["properties"].update(_STRUCTURAL)
        fields["title"] = kind
        fields["description"] = (cls.__doc__ or "").strip()
        kinds[kind] = {"anyOf": [fields, {"type": "null"}]}
    # One object with a property per kind (rather than an anyOf of one-key objects) keeps editors'
    # completion useful and validation linear in the number of layers.
    defs["layer"] = {
        "anyOf": [
            {"type": "string", "description": "a kind, or a block, with default fields", "examples": sorted(KINDS)},
            {
                "type": "object",
                "properties": kinds,
                "additionalProperties": {"type": ["object", "null"], "description": "a call of a block under blocks:"},
                "minProperties": 1,
                "maxProperties": 1,
            },
        ]
    }
    layer_list = {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/layer"}}
    top["properties"]["layers"] = layer_list
    top["properties"]["imports"] = _IMPORTS
    top["properties"]["blocks"] = _blocks(layer_list)
    top["required"] = ["input", "layers"]
    top["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    top["title"] = "cnncalc architecture"
    if defs:
        top["$defs"] = defs
    return top


__all__ = ["json_schema"]
