"""Errors cnncalc raises: one line that says where (file, line, column, layer) and what is wrong.

Inner rules raise short messages; the loader and the evaluator add the location once, at the
boundary, so every message a user sees has the same shape:
``vgg16.yaml:12:5: layer conv3 (conv2d), input [64, 3, 3]: kernel 5x5 is larger than ...``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Location:
    """Where something stands in a YAML source: file (or "<string>"), 1-based line and column."""

    file: str = "<string>"
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}:{self.column or 1}"


class CnncalcError(Exception):
    """Base class of every error cnncalc reports about its input; ``str(err)`` is the full message."""

    def __init__(self, message: str, *, location: Location | None = None, layer: str | None = None):
        self.reason = message
        self.location = location
        self.layer = layer
        super().__init__(self._format())

    def _format(self) -> str:
        parts = []
        if self.location is not None:
            parts.append(str(self.location))
        if self.layer:
            parts.append(self.layer)
        parts.append(self.reason)
        return ": ".join(parts)

    def at(self, location: Location | None, layer: str | None = None) -> CnncalcError:
        """A copy of this error placed at ``location`` and ``layer`` (kept if already set)."""
        return type(self)(
            self.reason,
            location=self.location or location,
            layer=self.layer or layer,
        )


class SchemaError(CnncalcError):
    """The file is not a valid architecture: YAML syntax, unknown kind or field, wrong type."""


class ExpressionError(SchemaError):
    """An integer field holds text that is not a safe arithmetic expression, or has no value."""


class ShapeError(CnncalcError):
    """A layer cannot take the shape it receives (kernel larger than input, channel mismatch...)."""
