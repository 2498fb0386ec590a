"""Renderers: one function per output format, each taking a Summary (never a layer).

``FORMATS`` maps a format name to its function; the CLI's ``--format`` choices come from it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import CnncalcError

if TYPE_CHECKING:  # the renderers see a summary only as a type: report imports them
    from ..report import Summary

Renderer = Callable[..., str]

#: Format name -> the module whose ``render`` writes it; a module is imported when first used
#: (a command prints one format: the others' imports, json's and csv's, would only cost start-up).
FORMATS: dict[str, str] = {
    "text": "text",
    "markdown": "markdown",
    "latex": "latex",
    "csv": "csv",
    "json": "json",
    "html": "html",
}


def renderer(format: str) -> Renderer:
    """The function that writes ``format``."""
    try:
        module = FORMATS[format]
    except KeyError:
        raise CnncalcError(f"unknown format {format!r}; formats: {', '.join(FORMATS)}") from None
    found: Renderer = importlib.import_module(f"{__name__}.{module}").render
    return found


def render(summary: Summary, format: str = "text", columns: list[str] | None = None, **options: Any) -> str:
    """``summary`` in ``format`` (text, markdown, latex, csv, json, html), optionally only
    ``columns``; ``options`` are the format's own (text: width; latex: fit, long, caption, notes;
    csv: notes)."""
    write = renderer(format)
    return write(summary, columns, **options) if options else write(summary, columns)


__all__ = ["FORMATS", "render", "renderer"]
