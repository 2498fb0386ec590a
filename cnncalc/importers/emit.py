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
        multiples = graph.multiples
        symbols = {
            k: {"default": v, "multiple_of": multiples[k]} if k in multiples else v for k, v in graph.symbols.items()
        }
        lines.append(f"symbols: {flow(symbols)}")
    return lines


def _multiples(graph: ImportedGraph) -> dict[str, int]:
    """The input sizes the network accepts only as multiples of some m > 1 (U-Net's concatenations:
    H % 16 == 0), found where the flat file has no symbolic summary without saying so: declared
    ``multiple_of`` then, as the zoo's file does, its closed forms are exact."""
    plain = replace(graph, notes=(), symbols={}, multiples={})
    text = "\n".join([*header_lines(plain), "layers:", *flat_lines(graph.layers)]) + "\n"
    try:
        arch = load(text)
        arch.summarize(symbolic=True)
        return {}
    except CnncalcError:
        pass
    try:
        sets = arch.constraints().sets
    except CnncalcError:
        return {}
    found = {}
    for name, default in graph.symbols.items():
        valid = sets.get(name)
        if valid is None or valid.modulus < 2 or default % valid.modulus:
            continue
        first, *rest = valid.classes
        if first is not None and first[1] is None and all(c is None for c in rest):
            found[name] = valid.modulus
    return found


def to_yaml(graph: ImportedGraph, blocks: bool = True) -> str:
    """The graph as a cnncalc YAML file: header, then ``blocks:`` for repeated submodules (unless
    ``blocks`` is false) and ``layers:`` (one entry a line). A file with blocks is kept only where
    its summary at the default sizes equals the flat file's, row by row; else the flat file is
    written, and says why."""
    graph = with_clean_names(graph)
    if not graph.layers:
        raise CnncalcError(f"{graph.name}: the imported network has no layers")
    if graph.symbols and not graph.multiples:
        graph = replace(graph, multiples=_multiples(graph))
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
