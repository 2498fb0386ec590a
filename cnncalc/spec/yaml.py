"""Safe YAML with positions: every value keeps its line and column.

YAML is composed by libyaml's safe loader into nodes, then built into plain data here so that
duplicate keys are errors, aliases cannot expand without bound and no tag constructs a Python object.
"""

from __future__ import annotations

from typing import Any

import yaml

from ..errors import CnncalcError, Location, SchemaError, YamlPath

#: Bounds on what one file may make cnncalc do (see "Errors and limits" in the README).
MAX_FILE_BYTES = 5 * 2**20
MAX_YAML_VALUES = 200_000
MAX_NESTING = 64
_TOO_DEEP = f"the file is nested more than {MAX_NESTING} levels deep"

Positions = dict[YamlPath, tuple[int, int]]
#: A path ending in KEY is the position of a mapping key rather than of its value.
KEY = "\0key"

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml composes ~5x faster
_STANDARD_TAGS = {"tag:yaml.org,2002:" + t for t in ("null", "bool", "int", "float", "str", "map", "seq", "timestamp")}


class SourceMap:
    """Where each value of one YAML document stands. A plain class (a dataclass costs half a
    millisecond of start-up to define; this one has two fields and one caller)."""

    __slots__ = ("positions", "source")

    def __init__(self, source: str = "<string>", positions: Positions | None = None) -> None:
        self.source = source
        self.positions: Positions = positions or {}

    def location(self, *path: str | int) -> Location:
        """Where ``path`` (e.g. ``("layers", 3, "conv2d", "padding")``) stands, or its nearest parent."""
        while path:
            if path in self.positions:
                line, column = self.positions[path]
                return Location(self.source, line, column)
            path = path[:-1]
        return Location(self.source, *self.positions.get((), (None, None)))

    def place(self, err: CnncalcError, within: YamlPath = ()) -> CnncalcError:
        """``err``, whose path is relative to ``within``, located at its value (or its key)."""
        moved = err.relocated(within=within)
        return moved.relocated(location=self.location(*moved.path, *((KEY,) if err.key else ())))


class _Builder:
    """Builds plain data from composed YAML nodes, recording each value's position."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.positions: Positions = {}
        self.count = 0
        self.scalars = yaml.constructor.SafeConstructor()

    def error(self, node: yaml.Node, message: str) -> SchemaError:
        return SchemaError(message, location=_at(node.start_mark, self.source))

    def build(self, node: yaml.Node, path: YamlPath) -> Any:
        self.count += 1
        if self.count > MAX_YAML_VALUES:
            raise self.error(node, f"the file expands to more than {MAX_YAML_VALUES:,} YAML values (an alias bomb?)")
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
            if self.count > MAX_YAML_VALUES:
                raise self.error(node, f"the file expands to more than {MAX_YAML_VALUES:,} YAML values (a merge bomb?)")
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
        if values > MAX_YAML_VALUES:  # the builder would count at least these
            message = f"the file expands to more than {MAX_YAML_VALUES:,} YAML values"
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


__all__ = ["KEY", "MAX_FILE_BYTES", "MAX_NESTING", "MAX_YAML_VALUES", "Positions", "SourceMap", "parse_yaml"]
