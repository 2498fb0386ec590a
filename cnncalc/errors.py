"""Errors cnncalc raises: one located type whose message says where (file, line, column, layer) and
what is wrong.

Inner rules raise short messages, optionally with the YAML path of the field at fault *below* the
point where they are raised (``path=("padding",)``). As the error climbs out of a layer, a list or a
block, :meth:`CnncalcError.relocated` prefixes that path and fills in the layer and the location
once, so every message a user sees has the same shape:
``vgg16.yaml:12:5: layer conv3 (conv2d), input [64, 3, 3]: kernel 5x5 is larger than ...``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple, Self

#: A path into the YAML document: mapping keys and list indices (``("layers", 3, "conv2d", "padding")``).
YamlPath = tuple[str | int, ...]


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
    """Every error cnncalc reports about its input; ``str(err)`` is the full one-line message.

    ``reason`` is what is wrong; ``location`` and ``layer`` say where, once known; ``path`` is the
    YAML path of the value at fault relative to where the error has climbed so far, and ``key``
    whether it points at a mapping key rather than its value.
    """

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        layer: str | None = None,
        path: YamlPath = (),
        key: bool = False,
    ) -> None:
        self.reason = message
        self.location = location
        self.layer = layer
        self.path = path
        self.key = key
        super().__init__(self._format())

    def _format(self) -> str:
        parts = []
        if self.location is not None:
            parts.append(str(self.location))
        if self.layer:
            parts.append(self.layer)
        parts.append(self.reason)
        return ": ".join(parts)

    @property
    def field(self) -> str | None:
        """The field at fault when the path names one (its last key), else None."""
        last = self.path[-1] if self.path else None
        return last if isinstance(last, str) else None

    def relocated(self, *, location: Location | None = None, layer: str | None = None, within: YamlPath = ()) -> Self:
        """A copy placed one level further out: ``within`` is prefixed to the path; ``location``
        and ``layer`` are filled in where not set yet (the innermost knows best). Keeps the
        subclass and every attribute, whatever the subclass's constructor takes."""
        moved = type(self).__new__(type(self))  # no constructor call: subclasses may take other arguments
        moved.__dict__.update(self.__dict__)
        moved.location = self.location or location
        moved.layer = self.layer or layer
        moved.path = (*within, *self.path)
        moved.args = (moved._format(),)
        return moved

    def noted(self, text: str) -> Self:
        """A copy with ``text`` added to the reason (after a semicolon)."""
        moved = self.relocated()
        moved.reason = f"{self.reason}; {text}"
        moved.args = (moved._format(),)
        return moved


class SchemaError(CnncalcError):
    """The file is not a valid architecture: YAML syntax, unknown kind or field, wrong type."""


class ExpressionError(SchemaError):
    """An integer field holds text that is not a safe arithmetic expression, or has no value."""


class ShapeError(CnncalcError):
    """A layer cannot take the shape it receives (kernel larger than input, channel mismatch...)."""


# --- conditions ----------------------------------------------------------------------------------
# Where numbers break a rule a layer raises ShapeError; where the numbers are symbols the rule is a
# condition on them. cnncalc.constraints collects these from one symbolic evaluation: the rules note
# them here (a no-op unless a collection is under way) and go on as if they held.


class Condition(NamedTuple):
    """A rule on symbolic sizes: ``value >= 0`` (``relation`` "ge") or ``value == 0`` ("eq");
    ``what`` says which rule, ``path`` the field at fault; ``where`` is set by the evaluation (the
    node and its inputs)."""

    relation: str
    value: Any
    what: str
    path: YamlPath
    where: Any


class Collector:
    """The conditions noted while it is active (``with Collector() as c:``); ``where`` is the
    current layer, set by the evaluation."""

    __slots__ = ("conditions", "where")

    def __init__(self) -> None:
        self.conditions: list[Condition] = []
        self.where: Any = None

    def __enter__(self) -> Collector:
        _ACTIVE.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        _ACTIVE.remove(self)


_ACTIVE: list[Collector] = []


def collecting() -> Collector | None:
    """The collection under way, if any."""
    return _ACTIVE[-1] if _ACTIVE else None


def note(relation: str, value: Any, what: str, path: YamlPath = ()) -> bool:
    """Note that ``value >= 0`` ("ge") or ``value == 0`` ("eq") must hold; False when nothing collects."""
    if not _ACTIVE:
        return False
    c = _ACTIVE[-1]
    c.conditions.append(Condition(relation, value, what, path, c.where))
    return True


__all__ = [
    "CnncalcError",
    "Collector",
    "Condition",
    "ExpressionError",
    "Location",
    "SchemaError",
    "ShapeError",
    "YamlPath",
    "collecting",
    "note",
]
