"""Layout of :func:`cnncalc.render.draw.draw`'s diagram, without matplotlib: which maps get a box,
how large, in which column, lane and band, and where the arrows run.

Columns follow the longest path from the input; lanes (rows of the grid) keep the main line
straight and step branches aside; bands wrap long networks. Every length is in inches, so the
figure is as large as its layout and fonts keep their size whatever the network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..symbolic import free_symbols, to_text

if TYPE_CHECKING:
    from ..report import Summary

#: Kinds that keep the map they are given (activations, normalisations, dropout) or only reshape it:
#: left out of the diagram, their arrows pass through.
HIDDEN = frozenset(
    {"relu", "relu6", "leakyrelu", "sigmoid", "tanh", "gelu", "silu", "hardswish", "hardsigmoid", "softmax"}
    | {"batchnorm1d", "batchnorm2d", "batchnorm3d", "layernorm2d", "layerscale", "localresponsenorm"}
    | {"dropout", "identity", "stochasticdepth", "channel_shuffle", "flatten"}
)
GAP, MARGIN, LANE_GAP, BAND_GAP = 0.38, 0.45, 0.22, 0.55  # inches
FONT, SMALL = 8.5, 7.5  # points: size lines, other lines
LINE = 0.155  # inches per label line
Point = tuple[float, float]
TIMES = "\u00d7"  # between the axes of a symbolic size, where an x would read as a letter


def text_width(text: str, points: float = SMALL) -> float:
    """Width of ``text`` in inches, an estimate (0.6 em a character: DejaVu Sans is about 0.55)."""
    return len(text) * points * 0.6 / 72


@dataclass
class Node:
    """One drawn map: what it is, its column and lane, and its box (inches)."""

    name: str
    kind: str
    shape: tuple[int, ...]  # at stand-in values where symbolic
    size: list[str]  # label lines: one, or one per axis for long symbolic sizes
    sources: list[str]
    col: int = 0
    lane: int = 0
    t: float = 0.0  # thickness along the flow: channels
    h: float = 0.0  # height: H (L for 1-D, the width of a flat output)
    o: float = 0.0  # oblique depth: W
    x: float = 0.0  # front face's left edge
    y: float = 0.0  # front face's centre
    below: float = 0.0  # top of the labels: under the lowest box of the lane

    @property
    def w(self) -> float:
        return self.t + self.o

    @property
    def lines(self) -> list[tuple[str, int]]:
        """Label lines under the box and their style: 0 size, 1 name, 2 kind."""
        tail = [(self.name, 1)] + ([] if self.kind == "input" else [(self.kind, 2)])
        return [(t, 0) for t in self.size] + tail

    @property
    def width(self) -> float:
        """Room the node needs across: its box or its widest label line."""
        return max(self.w, *(text_width(t, FONT if s == 0 else SMALL) for t, s in self.lines))


@dataclass
class Edge:
    """An arrow from ``u`` to ``v``: along lane ``out`` past the columns between them (None: none
    between), along lane ``into`` from the start of v's band when it comes from another band;
    ``link``: from a "from u" note there (u is not at the end of the band before)."""

    u: Node
    v: Node
    out: int | None = None
    into: int | None = None
    link: bool = False


@dataclass
class Diagram:
    """Nodes and edges laid out: ``bands`` of columns, ``band`` of each column, the cells
    (lane, column) taken by boxes and arrows, maps ``carried`` round to the next band (a route
    number each, counted per cut) and the left ``indent`` the notes need. :func:`place` fills in positions."""

    nodes: list[Node]
    edges: list[Edge]
    bands: list[range]
    taken: set[tuple[int, int]]
    band: dict[int, int] = field(default_factory=dict)
    carried: dict[str, int] = field(default_factory=dict)
    indent: float = 0.0
    grid: dict[str, Any] = field(default_factory=dict)


def numeric(summary: Summary) -> Summary:
    """``summary`` with stand-in values for free symbols: 224 for the input's spatial sizes, 1 for
    the others (channel multipliers), rounded up to a declared multiple."""
    free = summary.symbols
    if not free:
        return summary
    spatial = set().union(*(free_symbols(v) for v in summary.input[1:]))
    values = {}
    for name in free:
        m = summary.multiples.get(name, 1)
        values[name] = -(-(224 if name in spatial else 1) // m) * m
    return summary.subs(**values)


def shape_lines(shape: tuple[Any, ...]) -> list[str]:
    """A shape as label lines: "64x112x112"; symbolic with :data:`TIMES` between axes, an axis a
    line when long ("64 *", "ceil(H/2) *", "ceil(W/2)")."""
    parts = [to_text(v).replace("ceiling(", "ceil(") for v in shape]
    if all(type(v) is int for v in shape):
        return ["x".join(parts)]
    if len(f" {TIMES} ".join(parts)) <= 18:
        return [f" {TIMES} ".join(parts)]
    return [f"{p} {TIMES}" for p in parts[:-1]] + parts[-1:]


def _nodes(summary: Summary, stand_in: Summary) -> list[Node]:
    """The input and every row worth a box, each reading the shown rows its hidden sources read
    (every row when none is worth one)."""
    shown = [r.kind not in HIDDEN for r in summary.rows]
    if not any(shown):
        shown = [True] * len(summary.rows)
    nodes = [Node("input", "input", tuple(int(v) for v in stand_in.input), shape_lines(summary.input), [])]
    stands: dict[str, list[str]] = {"input": ["input"]}
    previous = "input"
    for row, num, keep in zip(summary.rows, stand_in.rows, shown, strict=True):
        sources = [n for s in (row.sources or (previous,)) for n in stands.get(s, [])]
        sources = list(dict.fromkeys(sources)) or [nodes[-1].name]
        if keep:
            output = tuple(int(v) for v in num.output)
            nodes.append(Node(row.name, row.kind, output, shape_lines(row.output), sources))
            sources = [row.name]
        stands[row.name], previous = sources, row.name
    return nodes


def _scale(value: float, top: float, low: float, high: float) -> float:
    """A length from ``low`` (value 1) to ``high`` (value ``top``) on a log scale."""
    return low + (high - low) * math.log(max(value, 1)) / math.log(max(top, 2))


def _size(nodes: list[Node]) -> None:
    """Box sizes: height from H (L), oblique depth from W, thickness from C, each on a log scale
    over the picture's range, so 224x224x3 and 7x7x512 are both legible; 1-D maps flat boxes
    (no depth), 3-D maps like 2-D (D is in the label), flat outputs thin bars."""
    maps = [n.shape for n in nodes if len(n.shape) > 1]
    flats = [n.shape[0] for n in nodes if len(n.shape) == 1]
    space = max((max(s[-2:] if len(s) > 2 else s[1:]) for s in maps), default=2)
    channels = max((s[0] for s in maps), default=2)
    for n in nodes:
        s = n.shape
        if len(s) == 1:
            n.t, n.h, n.o = 0.1, _scale(s[0], max(flats), 0.3, 1.4), 0.06
            continue
        n.t = _scale(s[0], channels, 0.06, 0.66)
        n.h = _scale(s[-2] if len(s) > 2 else s[1], space, 0.25, 1.8)
        n.o = _scale(s[-1], space, 0.08, 0.55) if len(s) > 2 else 0.05


def _offsets(first: int) -> list[int]:
    """0, then alternately ``first`` and ``-first`` steps further out."""
    return [0, *(s * k for k in range(1, 200) for s in (first, -first))]


def _grid(nodes: list[Node]) -> set[tuple[int, int]]:
    """Columns by longest path from the input; lanes following the deepest source, the longest
    way on first (the main line stays straight, branches step aside: below, above, further).
    Returns the cells (lane, column) taken."""
    by_name = {n.name: n for n in nodes}
    for n in nodes:  # rows come in order: sources first
        n.col = 1 + max((by_name[s].col for s in n.sources), default=-1)
    ahead = dict.fromkeys(by_name, 0)  # longest path on to an output
    for n in reversed(nodes):
        for s in n.sources:
            ahead[s] = max(ahead[s], ahead[n.name] + 1)
    taken: set[tuple[int, int]] = set()
    for n in sorted(nodes, key=lambda n: (n.col, -ahead[n.name])):
        want = max((by_name[s] for s in n.sources), key=lambda s: s.col).lane if n.sources else 0
        n.lane = next(want + d for d in _offsets(1) if (want + d, n.col) not in taken)
        taken.add((n.lane, n.col))
    return taken


def _bands(nodes: list[Node], max_columns: int) -> list[range]:
    """Columns cut into bands of at most ``max_columns``, of about even length, cut where fewest
    maps are carried across (between blocks rather than inside one)."""
    count = max(n.col for n in nodes) + 1
    if count <= max_columns:
        return [range(count)]
    total = math.ceil(count / max_columns)
    target = count / total
    spans = [(by.name, by.col, n.col) for n in nodes for by in nodes if by.name in n.sources]

    def carried(b: int) -> int:  # arrows from one map travel together
        return len({name for name, a, z in spans if a < b <= z})

    bands: list[range] = []
    start = 0
    while count - start > max_columns:  # the bands left must hold the columns left
        least = max(start + max(1, int(target * 0.7)), count - (total - len(bands) - 1) * max_columns)
        cuts = range(least, start + max_columns + 1)
        cut = min(cuts, key=lambda b: (carried(b), abs(b - start - target)))
        bands.append(range(start, cut))
        start = cut
    return [*bands, range(start, count)]


def _route(d: Diagram) -> None:
    """Arrows past columns run along a lane free over those columns (the source's, else the
    target's or the nearest free one, above first), shortest first so nested skips stack."""
    by_name = {n.name: n for n in d.nodes}
    d.edges = sorted((Edge(by_name[s], n) for n in d.nodes for s in n.sources), key=lambda e: e.v.col - e.u.col)

    def free(start: int, cols: range) -> int | None:
        if not cols:
            return None
        lane = next(start + k for k in _offsets(-1) if all((start + k, c) not in d.taken for c in cols))
        d.taken.update((lane, c) for c in cols)
        return lane

    for e in d.edges:
        a, b = d.bands[d.band[e.u.col]], d.bands[d.band[e.v.col]]
        if a is b:
            span = range(e.u.col + 1, e.v.col)
            e.out = free(e.u.lane if all((e.u.lane, c) not in d.taken for c in span) else e.v.lane, span)
            continue
        e.link = d.band[e.v.col] != d.band[e.u.col] + 1 or e.u.col != a.stop - 1
        e.into = free(e.v.lane, range(b.start, e.v.col))
        if e.link and e.into is None:  # v opens its band: its note stands in the margin
            d.indent = max(d.indent, text_width(f"from {e.u.name}") + 0.1)
        elif not e.link and e.u.name not in d.carried:  # numbered per cut: routes side by side
            d.carried[e.u.name] = 1 + sum(d.band[by_name[m].col] == d.band[e.u.col] for m in d.carried)


def diagram(summary: Summary, stand_in: Summary, max_columns: int) -> Diagram:
    """``summary``'s maps sized, in columns, lanes and bands, with arrows routed (not yet placed:
    see :func:`place`); ``stand_in`` is the summary at stand-in values (see :func:`numeric`)."""
    nodes = _nodes(summary, stand_in)
    _size(nodes)
    taken = _grid(nodes)
    bands = _bands(nodes, max(1, max_columns))
    d = Diagram(nodes, [], bands, taken, band={c: i for i, b in enumerate(bands) for c in b})
    _route(d)
    return d


def place(d: Diagram, top: float) -> None:
    """Positions: columns side by side within a band, lanes stacked by their tallest box and
    label, bands one under the other from ``top`` down. Fills ``d.grid``: column edges, lane
    centres, band tops, the bottom, the width and the x where bands start."""
    cols: dict[int, list[Node]] = {}
    for n in d.nodes:
        cols.setdefault(n.col, []).append(n)
    left: dict[int, float] = {}
    right: dict[int, float] = {}
    lanes: dict[tuple[int, int], float] = {}
    tops: list[float] = []
    y = top
    for i, band in enumerate(d.bands):
        x = MARGIN + d.indent
        for c in band:
            width = max(n.width for n in cols[c])
            left[c], right[c] = x, x + width
            for n in cols[c]:
                n.x = x + (width - n.w) / 2
            x += width + GAP
        tops.append(y)
        for lane in sorted({lane for lane, c in d.taken if c in band}):
            here = [n for c in band for n in cols[c] if n.lane == lane]
            up = max((n.h / 2 + n.o for n in here), default=0.08)
            low = max((n.h / 2 for n in here), default=0.08)
            lanes[(i, lane)] = y - up
            for n in here:
                n.y, n.below = y - up, y - up - low - 0.06
            y -= up + max((low + 0.06 + LINE * len(n.lines) for n in here), default=0.08)
            y -= LANE_GAP if here else 0.1
        y -= BAND_GAP - LANE_GAP
    width = max(right.values()) + GAP / 2
    d.grid = {"left": left, "right": right, "lanes": lanes, "tops": tops, "bottom": y + BAND_GAP - LANE_GAP}
    d.grid |= {"width": width, "start": MARGIN + d.indent - GAP / 2}


def corners(e: Edge, d: Diagram) -> list[Point]:
    """The corners of an arrow: out of u's box, along its lane (round the right margin, through
    the gap between bands and down the left margin when v is in the next band), into v's front."""
    left, right, lanes = d.grid["left"], d.grid["right"], d.grid["lanes"]
    bu, bv = d.band[e.u.col], d.band[e.v.col]
    start, end = (e.u.x + e.u.w, e.u.y), (e.v.x, e.v.y)
    after, before = right[e.u.col] + GAP / 2, left[e.v.col] - GAP / 2
    if e.link:
        y = lanes[(bv, e.into)] if e.into is not None else e.v.y
        return [(d.grid["start"] if e.into is not None else before, y), (before, y), (before, e.v.y), end]
    if bu == bv:
        y = lanes[(bu, e.out)] if e.out is not None else e.u.y
        return [start, (after, e.u.y), (after, y), (before, y), (before, e.v.y), end]
    k = d.carried[e.u.name]
    y2 = lanes[(bv, e.into)] if e.into is not None else e.v.y
    far, near = d.grid["width"] + 0.08 * k, MARGIN - GAP / 2 - 0.08 * k
    between = d.grid["tops"][bv] + BAND_GAP / 2 - 0.06 * k
    return [start, (far, e.u.y), (far, between), (near, between), (near, y2), (before, y2), (before, e.v.y), end]


__all__ = [
    "HIDDEN",
    "TIMES",
    "Diagram",
    "Edge",
    "Node",
    "corners",
    "diagram",
    "numeric",
    "place",
    "shape_lines",
    "text_width",
]
