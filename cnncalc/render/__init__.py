"""Renderers: one function per output format, each taking a Summary (never a layer).

``FORMATS`` maps a format name to its function; the CLI's ``--format`` choices come from it.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import CnncalcError
from ..report import Summary
from . import csv, json, latex, markdown, text

Renderer = Callable[[Summary, "list[str] | None"], str]

FORMATS: dict[str, Renderer] = {
    "text": text.render,
    "markdown": markdown.render,
    "latex": latex.render,
    "csv": csv.render,
    "json": json.render,
}


def render(summary: Summary, format: str = "text", columns: list[str] | None = None) -> str:
    """``summary`` in ``format`` (text, markdown, latex, csv, json), optionally only ``columns``."""
    try:
        renderer = FORMATS[format]
    except KeyError:
        raise CnncalcError(f"unknown format {format!r}; formats: {', '.join(FORMATS)}") from None
    return renderer(summary, columns)


__all__ = ["FORMATS", "render"]
