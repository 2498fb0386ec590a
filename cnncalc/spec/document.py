"""The document: a file's top-level fields checked by pydantic, its layer lists and blocks read, and
every error placed at its file, line and column. :func:`build` returns a :class:`Spec` (not yet
expanded into a network: see :mod:`cnncalc.network`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, ValidationError

from ..errors import SchemaError
from ..expressions import is_name
from ..layers import Int
from .entries import Block, Item, read_blocks, read_items
from .messages import first_error, suggest
from .yaml import KEY, Positions, SourceMap


class SymbolSpec(BaseModel):
    """A symbol's long form: ``{default: 256, multiple_of: 16}``. A multiple of m is treated as
    m times a positive integer, so sizes that halve four times stay exact symbolically (U-Net)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    default: StrictInt | None = Field(default=None, description="Default value (a positive integer)")
    multiple_of: StrictInt = Field(default=1, ge=1, description="The symbol is always a multiple of this")


def _check_symbols(value: dict[str, int | SymbolSpec]) -> dict[str, int | SymbolSpec]:
    for name, v in value.items():
        if not is_name(name):
            raise ValueError(f"{name!r} cannot name a symbol (use letters, digits and _)")
        default = v.default if isinstance(v, SymbolSpec) else v
        if default is not None and default < 1:
            raise ValueError(f"symbol {name} must be a positive integer, got {default}")
        if isinstance(v, SymbolSpec) and default is not None and default % v.multiple_of:
            raise ValueError(f"symbol {name}: the default {default} is not a multiple of {v.multiple_of}")
    return value


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
        """Default values of the symbols that have one."""
        out = {}
        for name, v in self.symbols.items():
            default = v.default if isinstance(v, SymbolSpec) else v
            if default is not None:
                out[name] = default
        return out

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
    where = SourceMap(source, positions or {})
    if not isinstance(data, Mapping):
        kind = "a list" if isinstance(data, list) else f"{type(data).__name__} {data!r}"[:60]
        raise SchemaError(
            f"an architecture is a mapping with name, input and layers, not {kind}", location=where.location()
        )
    data = dict(data)
    top_fields = [*Header.model_fields, "blocks", "layers"]
    for key in data:
        if key not in top_fields:
            message = f"{key!r} is not a top-level field{suggest(str(key), top_fields)}"
            raise SchemaError(message, location=where.location(key, KEY))
    if "name" not in data:
        data["name"] = Path(source).stem if source != "<string>" else "network"
    try:
        if data.get("blocks") is not None and not isinstance(data["blocks"], Mapping):
            raise SchemaError("blocks must be a mapping of block names to {args, layers}", path=("blocks",))
        blocks = read_blocks(data.get("blocks"))
    except SchemaError as err:
        raise where.place(err) from None  # block paths start at "blocks"
    try:
        items = read_items(data.get("layers"), blocks and {k: b.defaults for k, b in blocks.items()}, ("layers",))
    except SchemaError as err:
        raise where.place(err, ("layers",)) from None
    try:
        header = Header.model_validate({k: v for k, v in data.items() if k not in ("blocks", "layers")})
    except ValidationError as exc:
        loc, message = first_error(exc, top_fields)
        raise SchemaError(f"{'.'.join(map(str, loc))} {message}", location=where.location(*loc)) from None
    return Spec(header, items, blocks, where)


__all__ = ["Header", "Spec", "SymbolSpec", "build"]
