"""The YAML format: safe loading with positions, messages for people, the pydantic document, the
bundled zoo and the JSON Schema. Nothing here evaluates a network."""

from __future__ import annotations

from .blocks import Block
from .document import Header, Spec, SymbolSpec, build
from .entries import IN_CHANNELS, INPUT, Item
from .messages import suggest
from .sources import bundled, bundled_dir, exists, find_bundled, not_found, read_text
from .yaml import MAX_FILE_BYTES, MAX_NESTING, MAX_YAML_VALUES, SourceMap, parse_yaml

__all__ = [
    "INPUT",
    "IN_CHANNELS",
    "MAX_FILE_BYTES",
    "MAX_NESTING",
    "MAX_YAML_VALUES",
    "Block",
    "Header",
    "Item",
    "SourceMap",
    "Spec",
    "SymbolSpec",
    "build",
    "bundled",
    "bundled_dir",
    "exists",
    "find_bundled",
    "not_found",
    "parse_yaml",
    "read_text",
    "suggest",
]
