"""The document: a file's top-level fields checked by pydantic, its layer lists and blocks read, and
every error placed at its file, line and column. :func:`build` returns a :class:`Spec` (not yet
expanded into a network: see :mod:`cnncalc.network`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
)

from ..errors import SchemaError
from ..expressions import FUNCTIONS, is_name
from ..functions import Rational, exact
from ..layers import Int
from .blocks import Block, read_blocks
from .entries import Item, read_items
from .imports import Sources, merged, read_imports
from .messages import first_error, suggest
from .yaml import KEY, Positions, SourceMap


class SymbolSpec(BaseModel):
    """A symbol's long form: ``{default: 256, multiple_of: 16}``. A multiple of m is treated as
    m times a positive integer, so sizes that halve four times stay exact symbolically (U-Net).
    ``{default: 1, rational: true}``: a width multiplier taking positive rationals (0.35, 7/20),
    exactly; it is always a number, also in symbolic summaries."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    default: StrictInt | StrictFloat | StrictStr | None = Field(
        default=None, description="Default value (a positive integer; for a rational symbol also 0.35 or '7/20')"
    )
    multiple_of: StrictInt = Field(default=1, ge=1, description="The symbol is always a multiple of this")
    rational: StrictBool = Field(
        default=False, description="The symbol takes positive rational values (a width multiplier such as 0.35)"
    )


def _check_symbols(value: dict[str, int | SymbolSpec]) -> dict[str, int | SymbolSpec]:
    for name, v in value.items():
        if not is_name(name):
            raise ValueError(f"{name!r} cannot name a symbol (use letters, digits and _)")
        if name in FUNCTIONS:
            raise ValueError(f"{name!r} names a function ({FUNCTIONS[name][2]}), not a symbol: choose another name")
        default = v.default if isinstance(v, SymbolSpec) else v
        if isinstance(v, SymbolSpec) and v.rational:
            _check_rational(name, v)
            continue
        if default is not None and not isinstance(default, int):
            raise ValueError(f"symbol {name} must be a positive integer, got {default!r} (or declare it rational)")
        if default is not None and default < 1:
            raise ValueError(f"symbol {name} must be a positive integer, got {default}")
        if isinstance(v, SymbolSpec) and default is not None and default % v.multiple_of:
            raise ValueError(f"symbol {name}: the default {default} is not a multiple of {v.multiple_of}")
    return value


def _check_rational(name: str, spec: SymbolSpec) -> None:
    if spec.multiple_of != 1:
        raise ValueError(f"symbol {name}: multiple_of applies to whole-number symbols, not to a rational one")
    if spec.default is not None:
        try:
            number = exact(spec.default)
        except ValueError as err:
            raise ValueError(f"symbol {name}: the default {err}") from None
        if number <= 0:
            raise ValueError(f"symbol {name} must be positive, got {spec.default!r}")


_INPUT_RANKS = (
    "[features], [channels, length], [channels, height, width] or [channels, depth, height, width]; no batch axis"
)


def _check_input(value: Any) -> Any:
    if isinstance(value, list) and not 1 <= len(value) <= 4:
        raise ValueError(f"needs 1 to 4 values ({_INPUT_RANKS}), got {value}")
    return value


class Header(BaseModel):
    """A file's top-level fields: its name, input shape and symbols."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="The network's name, shown in every summary")
    input: Annotated[tuple[Int, ...], BeforeValidator(_check_input)] = Field(
        description="[channels, height, width], [channels, length], [channels, depth, height, width] or "
        "[features]; integers or expressions. The number of spatial axes decides the rank of the network"
    )
    symbols: Annotated[dict[str, StrictInt | SymbolSpec], AfterValidator(_check_symbols)] = Field(
        default_factory=dict,
        description="Symbols: a default value (a positive integer), or {default, multiple_of}",
    )

    @property
    def defaults(self) -> dict[str, int]:
        """Default values of the symbols that have one, where it is a whole number (a rational
        symbol's default of 1 included; see :attr:`rationals` for all of theirs)."""
        out = {}
        for name, v in self.symbols.items():
            default = (None if v.default is None else exact(v.default)) if isinstance(v, SymbolSpec) else v
            if isinstance(default, int):
                out[name] = default
        return out

    @property
    def rationals(self) -> dict[str, int | Rational | None]:
        """The symbols declared ``rational: true`` and their exact defaults (None: no default)."""
        return {
            k: None if v.default is None else exact(v.default)
            for k, v in self.symbols.items()
            if isinstance(v, SymbolSpec) and v.rational
        }

    @property
    def multiples(self) -> dict[str, int]:
        """Symbols declared ``multiple_of`` something other than 1."""
        return {k: v.multiple_of for k, v in self.symbols.items() if isinstance(v, SymbolSpec) and v.multiple_of > 1}


class Spec:
    """A checked document: the header, the top-level entries, the blocks and where each value
    stands. A plain class with slots: cheaper to define at start-up than a dataclass."""

    __slots__ = ("blocks", "header", "items", "where")

    def __init__(self, header: Header, items: tuple[Item, ...], blocks: dict[str, Block], where: SourceMap) -> None:
        self.header, self.items, self.blocks, self.where = header, items, blocks, where


def build(data: Any, positions: Positions | None = None, source: str = "<string>") -> Spec:
    """A :class:`Spec` from plain data (as parsed from YAML), or a SchemaError saying where."""
    where = Sources(source, positions or {})
    if not isinstance(data, Mapping):
        kind = "a list" if isinstance(data, list) else f"{type(data).__name__} {data!r}"[:60]
        raise SchemaError(
            f"an architecture is a mapping with name, input and layers, not {kind}", location=where.location()
        )
    data = dict(data)
    top_fields = [*Header.model_fields, "imports", "blocks", "layers"]
    for key in data:
        if key not in top_fields:
            message = f"{key!r} is not a top-level field{suggest(str(key), top_fields)}"
            raise SchemaError(message, location=where.location(key, KEY))
    if "blocks" in data and set(data) <= {"blocks", "imports"}:
        raise SchemaError(
            "a file of blocks only, not a network (no input, no layers): import it from one (imports: [file])",
            location=where.location(),
        )
    if "name" not in data:
        data["name"] = Path(source).stem if source != "<string>" else "network"
    imported = read_imports(data.get("imports"), where)
    try:
        if data.get("blocks") is not None and not isinstance(data["blocks"], Mapping):
            raise SchemaError("blocks must be a mapping of block names to {args, layers}", path=("blocks",))
        own = read_blocks(data.get("blocks"), {k: b.head for k, b in imported.items()})
    except SchemaError as err:
        raise where.place(err) from None  # block paths start at "blocks"
    blocks = merged(imported, own, where)
    try:
        items = read_items(data.get("layers"), {k: b.head for k, b in blocks.items()}, ("layers",))
    except SchemaError as err:
        raise where.place(err, ("layers",)) from None
    try:
        header = Header.model_validate({k: v for k, v in data.items() if k not in ("imports", "blocks", "layers")})
    except ValidationError as exc:
        loc, message = first_error(exc, top_fields)
        raise SchemaError(f"{'.'.join(map(str, loc))} {message}", location=where.location(*loc)) from None
    return Spec(header, items, blocks, where)


__all__ = ["Header", "Spec", "SymbolSpec", "build"]
