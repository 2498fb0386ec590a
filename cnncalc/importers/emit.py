"""An imported graph as a cnncalc YAML file (text a person reads and edits) and as an
:class:`~cnncalc.architecture.Architecture` loaded from that very text, so the file written and the
network summarized never differ. Repeated submodules become blocks (see :mod:`.repeat`)."""

from __future__ import annotations

from dataclasses import replace

from ..architecture import Architecture, load
from ..errors import CnncalcError
from .graph import INPUT, ImportedGraph
from .repeat import block_lines
from .text import clean_name, flat_lines, flow


def with_clean_names(graph: ImportedGraph) -> ImportedGraph:
    """``graph`` with every layer name clean, unique and not ``input`` (suffixes _1, _2, ...), and
    every source renamed to match."""
    taken: set[str] = {INPUT}
    renamed: dict[str, str] = {INPUT: INPUT}
    layers = []
    for layer in graph.layers:
        base = clean_name(layer.name)
        name, n = base, 0
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name)
        missing = [s for s in layer.sources if s not in renamed]
        if missing:
            raise CnncalcError(f"imported layer {layer.name!r} reads {missing[0]!r}, which no earlier layer is")
        layers.append(replace(layer, name=name, sources=tuple(renamed[s] for s in layer.sources)))
        renamed[layer.name] = name
    return replace(graph, layers=tuple(layers))


def header_lines(graph: ImportedGraph) -> list[str]:
    """Comments (the notes), then name, input and symbols."""
    lines = [f"# {line}" if line else "#" for note in graph.notes for line in note.splitlines()]
    lines.append(f"name: {flow(graph.name)}")
    lines.append(f"input: {flow(list(graph.input))}")
    if graph.symbols:
        lines.append(f"symbols: {flow(dict(graph.symbols))}")
    return lines


def to_yaml(graph: ImportedGraph, blocks: bool = True) -> str:
    """The graph as a cnncalc YAML file: header, then ``blocks:`` for repeated submodules (unless
    ``blocks`` is false) and ``layers:`` (one entry a line). A file with blocks is kept only where
    its summary at the default sizes equals the flat file's, row by row; else the flat file is
    written, and says why."""
    graph = with_clean_names(graph)
    if not graph.layers:
        raise CnncalcError(f"{graph.name}: the imported network has no layers")
    flat = "\n".join([*header_lines(graph), "layers:", *flat_lines(graph.layers)]) + "\n"
    if not blocks:
        return flat
    body = block_lines(graph)
    if body[0] == "layers:":  # no block found: the flat file
        return flat
    text = "\n".join([*header_lines(graph), *body]) + "\n"
    if _same(text, flat):
        return text
    note = "Written flat: its repeated submodules as blocks did not summarize as the flat network (please report it)"
    return (
        "\n".join([*header_lines(replace(graph, notes=(*graph.notes, note))), "layers:", *flat_lines(graph.layers)])
        + "\n"
    )


def _rows(text: str) -> list[tuple[object, ...]] | None:
    """Each row's output, params, MACs and receptive field at the default sizes (None: an error)."""
    try:
        summary = load(text).summarize()
    except CnncalcError:
        return None
    return [(r.output, r.params, r.macs, r.rf) for r in summary.rows]


def _same(blocks: str, flat: str) -> bool:
    """Whether the file with blocks summarizes as the flat one (or the flat one has no summary at
    its defaults either: then the error the user sees is the network's, not the blocks')."""
    flat_rows = _rows(flat)
    return flat_rows is None or _rows(blocks) == flat_rows


def to_architecture(graph: ImportedGraph, blocks: bool = True) -> Architecture:
    """The architecture of :func:`to_yaml`'s text (loaded from it: what is written is what is summarized)."""
    return load(to_yaml(graph, blocks))


__all__ = ["clean_name", "to_architecture", "to_yaml", "with_clean_names"]
