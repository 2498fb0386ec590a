"""``imports:``: blocks shared between files. A file lists YAML files of blocks (paths relative to
it; for text or a dict, to the working directory), each a mapping with ``blocks:`` and optionally
its own ``imports:``; their blocks are called like the file's own. Files are read, never executed.

Every position stays in its own file: the blocks of an imported file carry paths that start with
a key naming it (``FILE + its path``), and :class:`Sources` finds them there, so an error in an
imported block names that file, its line and the layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import Location, SchemaError
from .blocks import Block, read_blocks
from .entries import Head
from .sources import read_text
from .yaml import KEY, Positions, SourceMap, parse_yaml

#: The most files one load may read through imports (a bound, as on every input).
MAX_IMPORTS = 64
#: The fields of an imported file.
FIELDS = ("blocks", "imports")
#: The first item of a path into an imported file ("\0" cannot be a YAML key: control characters
#: are refused), followed by the file's path.
FILE = "\0"


class Sources(SourceMap):
    """Where each value of a file and of the files it imports stands: a path starting with an
    imported file's key is looked up in that file."""

    __slots__ = ("files",)

    def __init__(self, source: str = "<string>", positions: Positions | None = None) -> None:
        super().__init__(source, positions)
        self.files: dict[str, SourceMap] = {}

    def location(self, *path: str | int) -> Location:
        if path and isinstance(path[0], str) and path[0] in self.files:
            return self.files[path[0]].location(*path[1:])
        return super().location(*path)


class _Reading:
    """The state of one load's imports: the files read (their blocks, with the blocks of their own
    imports) and where each block is defined, for messages about names defined twice."""

    def __init__(self, where: Sources) -> None:
        self.where = where
        self.seen: dict[Path, dict[str, Block]] = {}
        self.defined: dict[int, str] = {}  # id(block) -> "file:line"


def _base(source: str) -> Path:
    return Path(source).parent if source != "<string>" else Path.cwd()


def read_imports(raw: Any, where: Sources) -> dict[str, Block]:
    """The blocks a file's ``imports:`` make visible (those of the files it lists, and of theirs)."""
    return _imports(
        raw, where, Path(where.source).resolve() if where.source != "<string>" else None, (), _Reading(where)
    )


def _imports(
    raw: Any, where: SourceMap, path: Path | None, stack: tuple[Path, ...], state: _Reading
) -> dict[str, Block]:
    if raw is None:
        return {}
    if not isinstance(raw, list) or not all(isinstance(p, str) and p.strip() for p in raw):
        raise SchemaError(
            f"imports must be a list of YAML files of blocks, such as [blocks/resnet.yaml], got {raw!r}",
            location=where.location("imports"),
        )
    visible: dict[str, Block] = {}
    for i, name in enumerate(raw):
        at = where.location("imports", i)
        if not name.endswith((".yaml", ".yml")):
            raise SchemaError(f"imports: {name!r} is not a YAML file (.yaml or .yml)", location=at)
        target = (_base(where.source) / name).resolve()
        chain = [*stack, *([path] if path else []), target]
        if target in chain[:-1]:
            names = " -> ".join(p.name for p in chain[chain.index(target) :])
            raise SchemaError(f"imports: {name} is imported again by itself ({names})", location=at)
        if target not in state.seen:
            if len(state.seen) >= MAX_IMPORTS:
                raise SchemaError(f"imports: more than {MAX_IMPORTS} files are imported", location=at)
            state.seen[target] = _read(target, name, at, tuple(chain[:-1]), state)
        for block_name, block in state.seen[target].items():
            other = visible.get(block_name)
            if other is not None and other is not block:
                raise SchemaError(
                    f"imports: {name} defines block {block_name!r} ({state.defined[id(block)]}), and so does "
                    f"another import ({state.defined[id(other)]}); a name means one block",
                    location=at,
                )
            visible[block_name] = block
    return visible


def _read(target: Path, name: str, at: Location, stack: tuple[Path, ...], state: _Reading) -> dict[str, Block]:
    """The blocks of the file ``target`` (imported as ``name`` at ``at``) and of its imports."""
    try:
        text = read_text(target)
    except SchemaError as err:
        raise SchemaError(f"imports: {name}: {err.reason}", location=at) from None
    data, positions = parse_yaml(text, str(target))
    own = SourceMap(str(target), positions)
    if not isinstance(data, Mapping):
        raise SchemaError("an imported file is a mapping with blocks (and imports)", location=own.location())
    for key in data:
        if key not in FIELDS:
            raise SchemaError(
                f"{key!r} is not a field of an imported file ({', '.join(FIELDS)}): it shares blocks only",
                location=own.location(key, KEY),
            )
    visible = _imports(data.get("imports"), own, target, stack, state)
    key = FILE + str(target)
    state.where.files[key] = own
    known: dict[str, Head] = {k: b.head for k, b in visible.items()}
    try:
        blocks = read_blocks(data.get("blocks"), known, origin=(key,))
    except SchemaError as err:
        raise own.place(err) from None
    for block_name, block in blocks.items():
        line = own.location("blocks", block_name, KEY)
        state.defined[id(block)] = f"{target.name}:{line.line}"
        if block_name in visible:
            raise SchemaError(
                f"block {block_name} is imported already ({state.defined[id(visible[block_name])]}); "
                "a name means one block",
                location=line,
            )
    return {**visible, **blocks}


def merged(imported: dict[str, Block], own: dict[str, Block], where: SourceMap) -> dict[str, Block]:
    """A file's blocks with those it imports; an error where it defines an imported name again."""
    for name in own:
        if name in imported:
            origin = imported[name].path[0]
            file = Path(str(origin)[len(FILE) :]).name if str(origin).startswith(FILE) else "an import"
            raise SchemaError(
                f"block {name} is imported already (from {file}); a name means one block",
                location=where.location("blocks", name, KEY),
            )
    return {**imported, **own}


__all__ = ["FILE", "MAX_IMPORTS", "Sources", "merged", "read_imports"]
