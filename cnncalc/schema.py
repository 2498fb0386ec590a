"""The YAML format: safe loading with line numbers, and the pydantic model of an architecture.

YAML is composed by libyaml's safe loader into nodes, then built into plain data here so that
every value keeps its line and column, duplicate keys are errors, aliases cannot expand without
bound and no tag constructs a Python object. Pydantic then checks the data; its errors are turned
into one line naming the file, line, column, layer and what is wrong.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, StrictInt, ValidationError

from .blocks import IN_CHANNELS, EntryError, ExpansionError, Node, expand, expressions, read_blocks, read_items, suggest
from .errors import CnncalcError, Location, SchemaError
from .layers import KINDS, Int, Layer, counted
from .symbolic import Expr, is_name

if TYPE_CHECKING:
    from .report import Summary

#: Bounds on what one file may make cnncalc do (see "Errors and limits" in the README).
MAX_FILE_BYTES = 5 * 2**20
MAX_NODES = 200_000
MAX_NESTING = 64
_TOO_DEEP = f"the file is nested more than {MAX_NESTING} levels deep"

Path_ = tuple[str | int, ...]
Positions = dict[Path_, tuple[int, int]]
#: A path ending in KEY is the position of a mapping key rather than of its value.
KEY = "\0key"

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml composes ~5x faster
_STANDARD_TAGS = {"tag:yaml.org,2002:" + t for t in ("null", "bool", "int", "float", "str", "map", "seq", "timestamp")}


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


class Architecture(BaseModel):
    """A network as written in YAML: its name, input shape, default symbol values and layers.

    ``summarize(**values)`` computes a numeric summary (defaults from ``symbols`` filled in);
    ``summarize(symbolic=True)`` keeps every symbol without a given value as a symbol.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    name: str = Field(description="The network's name, shown in every summary")
    input: Annotated[tuple[Int, ...], counted((1, 2, 3), "[channels, height, width] or [features]")] = Field(
        description="[channels, height, width] (or [features]); integers or expressions"
    )
    symbols: Annotated[dict[str, StrictInt | SymbolSpec], AfterValidator(_check_symbols)] = Field(
        default_factory=dict,
        description="Symbols: a default value (a positive integer), or {default, multiple_of}",
    )

    _source: str = PrivateAttr(default="<string>")
    _positions: Positions = PrivateAttr(default_factory=dict)
    _nodes: tuple[Node, ...] = PrivateAttr(default=())
    _symbol_names: frozenset[str] = PrivateAttr(default=frozenset())

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

    @property
    def layers(self) -> tuple[Layer, ...]:
        """Every layer of the expanded network, in the order of :attr:`layer_names`."""
        return tuple(n.layer for n in self._nodes)

    @property
    def nodes(self) -> tuple[Node, ...]:
        """The expanded network: every layer with its full name, its inputs and its block scope."""
        return self._nodes

    @property
    def source(self) -> str:
        """The file this architecture came from ("<string>" for text or a dict)."""
        return self._source

    @property
    def layer_names(self) -> tuple[str, ...]:
        """Every layer's full name: given or numbered per kind (conv1, pool2), dotted inside blocks
        and repeats like PyTorch module paths (layer3.4.conv2)."""
        return tuple(n.name for n in self._nodes)

    @property
    def symbol_names(self) -> frozenset[str]:
        """Every symbol the file uses (input, fields outside block arguments) or gives a default for."""
        return self._symbol_names

    def location(self, *path: str | int) -> Location:
        """Where ``path`` (e.g. ``("layers", 3, "conv2d", "padding")``) stands, or its nearest parent."""
        while path:
            if path in self._positions:
                line, column = self._positions[path]
                return Location(self._source, line, column)
            path = path[:-1]
        return Location(self._source, *self._positions.get((), (None, None)))

    def summarize(self, *, symbolic: bool = False, **values: int) -> Summary:
        """Per-layer shapes, parameters, MACs, activations and receptive fields, with totals.

        Numeric (default): symbols take ``values``, else their defaults; every result is an int.
        ``symbolic=True``: symbols without a value in ``values`` stay symbols (sympy expressions).
        """
        from .graph import evaluate

        with _collector_paused():
            return evaluate(self, values, symbolic)

    def verify(self, sizes: Sequence[int] | None = None, *, device: str = "auto", **values: int) -> Any:
        """Build this network in PyTorch and compare every layer's shape, parameters and MACs with
        cnncalc's, at the defaults (or ``values``) and at each size in ``sizes`` for the input's
        height and width. Returns a ``Verification`` (``.agrees``, ``.runs``, ``.render()``).
        Needs PyTorch (``pip install "cnncalc[torch]"``)."""
        from .backends import torch_backend

        return torch_backend().verify(self, values or None, sizes, device=device)

    def to_torch(self, **values: int) -> Any:
        """This network as a PyTorch ``nn.Module`` at ``values`` (defaults from the file), with
        submodules at cnncalc's layer names (``model.get_submodule("layer2.0.downsample.0")``)."""
        from .backends import torch_backend

        return torch_backend().build(self, values or None)


# --- YAML with positions -------------------------------------------------------------------------


class _Builder:
    """Builds plain data from composed YAML nodes, recording each value's position."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.positions: Positions = {}
        self.count = 0
        self.scalars = yaml.constructor.SafeConstructor()

    def error(self, node: yaml.Node, message: str) -> SchemaError:
        return SchemaError(message, location=_at(node.start_mark, self.source))

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.error(node, f"the file expands to more than {MAX_NODES:,} YAML values (an alias bomb?)")
        if len(path) > MAX_NESTING:
            raise self.error(node, _TOO_DEEP)
        self.positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if node.tag not in _STANDARD_TAGS:
            raise self.error(node, f"the YAML tag {node.tag!r} is not allowed (only plain YAML data)")
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in self._pairs(node):
                if not isinstance(key_node, yaml.ScalarNode):
                    raise self.error(key_node, "a mapping key must be a plain value, not a list or mapping")
                if key_node.tag not in _STANDARD_TAGS:
                    raise self.error(key_node, f"the YAML tag {key_node.tag!r} is not allowed (only plain YAML data)")
                try:
                    key = self.scalars.construct_object(key_node)
                except (yaml.YAMLError, ValueError, OverflowError) as err:
                    raise self.error(key_node, f"cannot read the key {key_node.value[:40]!r}: {err}") from None
                if not isinstance(key, (str, int)) or isinstance(key, bool):
                    key = str(key_node.value)
                if key in result:
                    raise self.error(key_node, f"duplicate key {key!r} (each key may appear once)")
                self.positions[(*path, key, KEY)] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                result[key] = self.build(value_node, (*path, key))
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        if node.tag == "tag:yaml.org,2002:timestamp":
            return node.value  # a date-like name (2001-12-14) is text here, not a datetime
        try:
            return self.scalars.construct_object(node)
        except (yaml.YAMLError, ValueError, OverflowError) as err:
            raise self.error(node, f"cannot read the value {node.value[:40]!r}: {err}") from None

    def _pairs(self, node: yaml.MappingNode) -> list[tuple[yaml.Node, yaml.Node]]:
        """The mapping's pairs with YAML merge keys (<<: *anchor) expanded, own keys first."""
        own, merged = [], []
        for key_node, value_node in node.value:
            self.count += 1  # merges expand before build() sees them: count them here too
            if self.count > MAX_NODES:
                raise self.error(node, f"the file expands to more than {MAX_NODES:,} YAML values (a merge bomb?)")
            if key_node.tag == "tag:yaml.org,2002:merge":
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for src in sources:
                    if not isinstance(src, yaml.MappingNode):
                        raise self.error(src, "a merge key (<<) needs a mapping")
                    merged.extend(self._pairs(src))
            else:
                own.append((key_node, value_node))
        keys = {k.value for k, _ in own if isinstance(k, yaml.ScalarNode)}
        return own + [(k, v) for k, v in merged if not isinstance(k, yaml.ScalarNode) or k.value not in keys]


#: Above this bound on the nesting depth the events are scanned before composing: libyaml composes
#: recursively in C (PyYAML 6.0.3 crashed at 200,000 levels) and some builds stop at 1,000 levels
#: with their own message; the scan answers the same way on every build.
_SCAN_ABOVE = 500


def _nesting_bound(text: str) -> int:
    """An upper bound on the depth of collections: each flow level needs a bracket, and each block
    level needs a deeper column (a sequence may sit at its key's column, so two levels a column)."""
    longest = max(map(len, text.splitlines()), default=0)
    return 2 * longest + 2 + text.count("[") + text.count("{")


def _at(mark: Any, source: str) -> Location:
    """Where a YAML mark points, 1-based (the file alone without a mark)."""
    return Location(source, mark.line + 1, mark.column + 1) if mark is not None else Location(source)


def _scan(text: str, source: str) -> None:
    """Refuse too deep or too large documents from the event stream, which libyaml parses without
    recursion, before anything is composed."""
    depth = values = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.NodeEvent):  # a scalar, an alias or a collection's start
            values += 1
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            # The root mapping is depth 1; a value MAX_NESTING keys below it is the builder's limit.
            if depth > MAX_NESTING + 1:
                raise SchemaError(_TOO_DEEP, location=_at(event.start_mark, source))
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        if values > MAX_NODES:  # the builder would count at least these
            message = f"the file expands to more than {MAX_NODES:,} YAML values"
            raise SchemaError(message, location=_at(event.start_mark, source))


def parse_yaml(text: str, source: str = "<string>") -> tuple[Any, Positions]:
    """Plain data and positions from YAML text, loaded safely."""
    try:
        if _nesting_bound(text) > _SCAN_ABOVE:
            _scan(text, source)
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as err:
        where = _at(err.problem_mark or err.context_mark, source)
        problem = err.problem or err.context or "invalid YAML"
        if "nesting depth" in problem:  # a libyaml build with its own depth limit
            raise SchemaError(_TOO_DEEP, location=where) from None
        raise SchemaError(f"invalid YAML: {problem}", location=where) from None
    except yaml.reader.ReaderError as err:
        line = text.count("\n", 0, err.position) + 1
        column = err.position - (text.rfind("\n", 0, err.position) + 1) + 1
        char = f"U+{err.character:04X}" if isinstance(err.character, int) else repr(err.character)
        hint = " (NUL bytes: is the file UTF-16?)" if err.character in (0, "\0") else ""
        raise SchemaError(
            f"invalid YAML: control characters are not allowed ({char}){hint}", location=Location(source, line, column)
        ) from None
    except yaml.YAMLError as err:
        raise SchemaError(f"invalid YAML: {' '.join(str(err).split())}", location=Location(source)) from None
    except RecursionError:
        raise SchemaError(_TOO_DEEP, location=Location(source)) from None
    if node is None:
        raise SchemaError("the file is empty: an architecture needs name, input and layers", location=Location(source))
    builder = _Builder(source)
    try:
        return builder.build(node, ()), builder.positions
    except RecursionError:
        raise SchemaError(_TOO_DEEP, location=Location(source)) from None


# --- validation ------------------------------------------------------------------------------------


_TYPE_TAGS = {"int", "str", "float", "bool", "tuple", "list", "dict", "none", "literal", "union"}
_INT_ERRORS = {"int_type", "int_from_float", "int_parsing", "string_type", "tuple_type"}
_RANK = {"extra_forbidden": 0, "value_error": 1, "too_long": 2, "too_short": 2, "missing": 3, "literal_error": 4}


def _explain(err: Any, all_types: set[str]) -> str:
    """One pydantic error as a short sentence."""
    kind = err["type"]
    value = err.get("input")
    if kind == "extra_forbidden":
        return "is not a field"
    if kind == "missing":
        return "is required"
    if kind in _INT_ERRORS and err["loc"][:1] == ("symbols",):
        return f"must be a whole number, got {value!r} (or {{default: N, multiple_of: M}})"
    if kind in _INT_ERRORS and all_types <= _INT_ERRORS and "int_type" in all_types | {"int_from_float"}:
        return f"must be a whole number or an expression such as 64*k, got {value!r}"
    if kind == "bool_type":
        return f"must be true or false, got {value!r}"
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        return msg[len("Value error, ") :]
    text = f"{msg[0].lower()}{msg[1:]}"
    if value is not None and not isinstance(value, (dict, list, tuple)):
        return f"{text}, got {value!r}"
    return text


def _clean(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """A pydantic error location without the union-member tags it adds (``function-after[...]``)."""
    # The first item is the field's own name, whatever it is ("int" or "list[x]" included).
    return loc[:1] + tuple(
        p
        for p in loc[1:]
        if isinstance(p, int) or ("[" not in p and p not in _TYPE_TAGS and not p.startswith("function"))
    )


def first_error(exc: ValidationError, allowed: list[str]) -> tuple[tuple[Any, ...], str]:
    errors = exc.errors()
    # A union reports one error per member; show the most specific one about the first field.
    errors.sort(key=lambda e: _RANK.get(e["type"], 5))
    err = errors[0]
    loc = _clean(err["loc"])
    same_field = {e["type"] for e in errors if _clean(e["loc"]) == loc}
    message = _explain(err, same_field)
    if err["type"] == "extra_forbidden" and loc:
        message += suggest(str(loc[-1]), allowed)
    return loc, message


def build(data: Any, positions: Positions | None = None, source: str = "<string>") -> Architecture:
    """An :class:`Architecture` from plain data (as parsed from YAML), or a SchemaError saying where."""
    positions = positions or {}

    def where(*path: str | int) -> Location:
        while path and path not in positions:
            path = path[:-1]
        line, column = positions.get(path, (None, None))
        return Location(source, line, column)

    if not isinstance(data, Mapping):
        kind = "a list" if isinstance(data, list) else f"{type(data).__name__} {data!r}"[:60]
        raise SchemaError(f"an architecture is a mapping with name, input and layers, not {kind}", location=where())
    data = dict(data)
    top_fields = [*Architecture.model_fields, "blocks", "layers"]
    for key in data:
        if key not in top_fields:
            raise SchemaError(
                f"{key!r} is not a top-level field{suggest(str(key), top_fields)}", location=where(key, KEY)
            )
    if "name" not in data:
        data["name"] = Path(source).stem if source != "<string>" else "network"
    try:
        if data.get("blocks") is not None and not isinstance(data["blocks"], Mapping):
            raise EntryError("blocks must be a mapping of block names to {args, layers}", ("blocks",))
        blocks = read_blocks(data.get("blocks"))
        items = read_items(data.get("layers"), blocks and {k: b.defaults for k, b in blocks.items()}, ("layers",))
    except EntryError as err:
        path = ("blocks",) if err.subpath[:1] == ("blocks",) else ("layers",)
        full = err.subpath if path == ("blocks",) else (*path, *err.subpath)
        raise SchemaError(err.reason, location=where(*full, *((KEY,) if err.key else ())), layer=err.label) from None
    try:
        arch = Architecture.model_validate({k: v for k, v in data.items() if k not in ("blocks", "layers")})
    except ValidationError as exc:
        loc, message = first_error(exc, top_fields)
        raise SchemaError(f"{'.'.join(map(str, loc))} {message}", location=where(*loc)) from None
    try:
        nodes = expand(items, blocks)
    except ExpansionError as err:
        raise SchemaError(err.reason, location=where(*err.path), layer=err.label) from None
    names = set(arch.symbols)
    for value in arch.input:
        if isinstance(value, Expr):
            names |= value.names
    for expr in expressions(items):
        names |= expr.names
    for block in blocks.values():
        for expr in expressions(block.items):
            names |= expr.names - set(block.defaults)
    arch._source = source
    arch._positions = positions
    arch._nodes = nodes
    arch._symbol_names = frozenset(names - {IN_CHANNELS})
    return arch


# --- sources ---------------------------------------------------------------------------------------


def bundled_dir() -> Path:
    """The folder of bundled architectures: inside the installed package, or the checkout's."""
    here = Path(__file__).resolve().parent
    inside = here / "architectures"
    return inside if inside.is_dir() else here.parent / "architectures"


def bundled() -> dict[str, Path]:
    """Bundled architecture names (file stems) and their files."""
    folder = bundled_dir()
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))} if folder.is_dir() else {}


def _exists(path: Path) -> bool:
    """Whether ``path`` exists; False for names the system cannot even look up (too long)."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def read_text(path: Path) -> str:
    """A file's text, with a clear error for a missing file, a folder, a huge file or non-UTF-8 bytes."""
    where = Location(str(path))
    if not _exists(path):
        raise SchemaError("no such file", location=where)
    if path.is_dir():
        raise SchemaError("is a folder, not a YAML file", location=where)
    if not path.is_file():
        # a FIFO would block and /dev/zero never ends; st_size says 0 for both
        raise SchemaError("is not a regular file (a pipe or a device?)", location=where)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SchemaError(f"the file has {size:,} bytes; the limit is {MAX_FILE_BYTES:,}", location=where)
        raw = path.read_bytes()
    except OSError as err:
        raise SchemaError(f"cannot read the file: {err.strerror}", location=where) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise SchemaError(
            f"not UTF-8 text (byte 0x{raw[err.start]:02x} at offset {err.start})", location=where
        ) from None


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Loading and evaluating make many small objects, in trees without cycles, and free none
    until the end: Python's cyclic collector would rescan them again and again (load time per
    layer doubled from 1,000 to 10,000 layers), and in a process holding a large heap (torch
    imported) each full collection scans all of it. Reference counting still frees garbage."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load(source: str | Path | Mapping[str, Any]) -> Architecture:
    """An architecture from a file path, a bundled name (``"vgg16"``), YAML text or a dict."""
    with _collector_paused():
        return _load(source)


def _load(source: str | Path | Mapping[str, Any]) -> Architecture:
    if isinstance(source, Mapping):
        return build(source)
    if isinstance(source, Path):
        return _load_file(source)
    if not isinstance(source, str):
        raise SchemaError(f"load() takes a path, a bundled name, YAML text or a dict, not {type(source).__name__}")
    looks_like_path = "\n" not in source and source.strip().endswith((".yaml", ".yml"))
    if "\n" in source or (":" in source and not looks_like_path and not _exists(Path(source))):
        if len(source.encode()) > MAX_FILE_BYTES:
            raise SchemaError(f"the text has more than {MAX_FILE_BYTES:,} bytes")
        data, positions = parse_yaml(source)
        return build(data, positions)
    path = Path(source)
    if looks_like_path or "/" in source or _exists(path):
        return _load_file(path)
    zoo = bundled()
    if source in zoo:
        return _load_file(zoo[source])
    raise not_found(source)


def not_found(source: str) -> SchemaError:
    """The error for a name that is neither a file nor a bundled architecture."""
    return SchemaError(
        f"{source!r} is neither a file nor a bundled architecture{suggest(source, list(bundled()))}; "
        "`cnncalc list` shows the bundled ones"
    )


def _load_file(path: Path) -> Architecture:
    text = read_text(path)
    data, positions = parse_yaml(text, str(path))
    return build(data, positions, str(path))


__all__ = ["Architecture", "CnncalcError", "SchemaError", "build", "bundled", "load", "parse_yaml"]


_NAME_LIST = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
_STRUCTURAL: dict[str, Any] = {
    "name": {"type": ["string", "integer"], "description": "the layer's name (default: kind prefix and a number)"},
    "from": {**_NAME_LIST, "description": "input layer name(s), or 'input'; default: the layer before"},
    "when": {"type": ["boolean", "string"], "description": "a block argument: false leaves the layer out"},
    "repeat": {"type": ["integer", "string"], "description": "n chained copies, named name.0 ... name.n-1"},
    "first": {"type": "object", "description": "field overrides for the first repeat"},
}


def json_schema() -> dict[str, Any]:
    """JSON Schema of the YAML format: top-level fields, and each layer as a bare kind or a
    one-key ``{kind: {fields}}`` mapping."""
    top = Architecture.model_json_schema()
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
    top["properties"]["blocks"] = {
        "type": "object",
        "description": "Reusable blocks, called like layer kinds",
        "additionalProperties": {
            "type": "object",
            "properties": {
                "args": {"type": "object", "description": "argument names and defaults (null: required)"},
                "layers": layer_list,
            },
            "required": ["layers"],
            "additionalProperties": False,
        },
    }
    top["required"] = ["input", "layers"]
    top["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    top["title"] = "cnncalc architecture"
    if defs:
        top["$defs"] = defs
    return top
