"""Pictures for slides: feature maps as boxes, left to right (:func:`draw`, the LeNet/AlexNet/VGG
lecture figures; branching networks as a layered graph laid out by :mod:`.layout`), and per-layer
bars or the receptive field against depth (:func:`plot`). matplotlib is imported only when a
picture is made, and never through pyplot: no global backend or figure state is touched.
"""

from __future__ import annotations

import io
import math
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CnncalcError
from ..layers import AXES, KINDS
from .layout import FONT, LINE, MARGIN, SMALL, Diagram, Edge, Node, Point, corners, diagram, numeric, place
from .layout import shape_lines as shape_lines
from .layout import text_width as text_width

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ..report import Summary

MISSING = 'matplotlib is not installed; install it with: pip install "cnncalc[plot]"'
#: Box and bar colours by what a layer does (see :func:`category`).
COLOURS = {
    "input": "#d9d9d9",
    "convolution": "#9ecae1",
    "pooling": "#fdae6b",
    "upsampling": "#a1d99b",
    "merge": "#fee08b",
    "normalisation": "#fcc5c0",
    "fully connected": "#bcbddc",
    "block": "#6baed6",
    "other": "#e0e0e0",
}
#: What :func:`plot` can show, and its axis label.
METRICS = {
    "params": "parameters",
    "macs": "multiply-accumulates",
    "activations": "activations",
    "rf": "receptive field",
}
Target = str | PathLike[str] | None


def _require() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise CnncalcError(MISSING) from None


def category(kind: str) -> str:
    """What a layer of ``kind`` does, for its colour: convolution, pooling, merge, block..."""
    if kind in COLOURS:
        return kind
    if kind in ("add", "mul", "concat"):
        return "merge"
    if "norm" in kind:
        return "normalisation"
    if "transpose" in kind or kind == "upsample":
        return "upsampling"
    if kind == "linear":
        return "fully connected"
    for word, name in (("conv", "convolution"), ("pool", "pooling")):
        if kind.startswith(word) or (word in kind and kind in KINDS):
            return name
    return "other" if kind in KINDS else "block"


def draw(summary: Summary, path: Target = None, *, title: str | None = None, max_columns: int = 14) -> bytes | None:
    """The network as the lecture figures draw it: each feature map a box whose height, depth and
    thickness follow H, W and C (log scale), labelled with its size and the layer that made it,
    arrows between maps, flat outputs as thin bars; branches as a left-to-right graph, wrapped
    into bands of at most ``max_columns`` columns. Written to ``path`` (.png, .svg, .pdf); PNG
    bytes when ``path`` is None. Pass ``summary.view(depth=...)`` for big networks."""
    _require()
    from matplotlib.figure import Figure

    stand_in = numeric(summary)
    d = diagram(summary, stand_in, max_columns)
    headline, legend = _headline(summary, stand_in), list(dict.fromkeys(category(n.kind) for n in d.nodes))
    place(d, -0.95)
    words = max(text_width(headline, 9), _legend_width(legend), text_width(title or summary.name, 13))
    width = max(d.grid["width"] + 0.08 * max(d.carried.values(), default=0) + 0.3, words + 2 * MARGIN)
    beside = text_width(headline, 9) + _legend_width(legend) + 0.6 <= width - 2 * MARGIN
    if not beside:  # the colour key gets a line of its own
        place(d, -1.25)
    height = 0.1 - d.grid["bottom"]
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0, width)
    ax.set_ylim(-height, 0)
    ax.set_axis_off()
    ax.text(MARGIN, -0.22, title or summary.name, fontsize=13, weight="bold", va="top")
    ax.text(MARGIN, -0.52, headline, fontsize=9, color="#505050", va="top")
    _legend(ax, legend, width - MARGIN if beside else MARGIN + _legend_width(legend), -0.52 if beside else -0.82)
    for n in d.nodes:
        _box(ax, n)
    for e in d.edges:
        _arrow(ax, corners(e, d))
        if e.link:
            _note(ax, e, d)
    return _save(fig, path, 150)


def _note(ax: Axes, e: Edge, d: Diagram) -> None:
    """ "from u" where the arrow of a map carried far starts: on its lane at the band's start, or
    in the margin over the arrow into v when v opens its band."""
    style: dict[str, Any] = {"fontsize": SMALL, "style": "italic", "color": "#404040", "zorder": 4}
    if e.into is None:
        ax.text(d.grid["left"][e.v.col] - 0.24, e.v.y + 0.03, f"from {e.u.name}", ha="right", va="bottom", **style)
    else:
        y = d.grid["lanes"][(d.band[e.v.col], e.into)]
        box = {"facecolor": "white", "edgecolor": "none", "pad": 1.0}
        ax.text(d.grid["start"], y, f"from {e.u.name}", ha="left", va="center", bbox=box, **style)


def _box(ax: Axes, n: Node) -> None:
    """A prism: front face t x h, top and side faces slanting back by o, labels underneath."""
    from matplotlib.colors import to_rgb
    from matplotlib.patches import Polygon

    colour = to_rgb(COLOURS[category(n.kind)])
    x, y, t, h, o = n.x, n.y - n.h / 2, n.t, n.h, n.o
    faces = [
        ([(x, y), (x + t, y), (x + t, y + h), (x, y + h)], 1.0),
        ([(x, y + h), (x + t, y + h), (x + t + o, y + h + o), (x + o, y + h + o)], 1.12),
        ([(x + t, y), (x + t + o, y + o), (x + t + o, y + h + o), (x + t, y + h)], 0.8),
    ]
    for points, shade in faces:
        face = tuple(min(1.0, c * shade) for c in colour)
        ax.add_patch(Polygon(points, closed=True, facecolor=face, edgecolor="#404040", linewidth=0.6, zorder=3))
    styles: list[dict[str, Any]] = [
        {"fontsize": FONT, "weight": "bold"},
        {"fontsize": SMALL},
        {"fontsize": SMALL, "color": "#707070"},
    ]
    for i, (line, style) in enumerate(n.lines):
        ax.text(x + n.w / 2, n.below - LINE * i, line, ha="center", va="top", zorder=4, **styles[style])


def _arrow(ax: Axes, points: list[Point]) -> None:
    xs, ys = zip(*points, strict=True)
    ax.plot(xs[:-1], ys[:-1], color="#505050", linewidth=0.9, zorder=2, solid_joinstyle="miter")
    props = {"arrowstyle": "-|>", "color": "#505050", "linewidth": 0.9, "shrinkA": 0, "shrinkB": 0}
    ax.annotate("", xy=points[-1], xytext=points[-2], arrowprops=props, zorder=2)


def _headline(summary: Summary, stand_in: Summary) -> str:
    """ "input 3x224x224 · 138 M params · 15.5 G MACs": totals where numbers, and the stand-in
    values the boxes are drawn at where symbolic."""
    t = summary.total
    parts = [f"input {' '.join(shape_lines(summary.input))}"]
    parts += [f"{_si(v)} {unit}" for v, unit in ((t.params, "params"), (t.macs, "MACs")) if isinstance(v, int)]
    if stand_in is not summary:
        at = ", ".join(f"{k}={v}" for k, v in sorted(stand_in.values.items()) if k not in summary.values)
        parts.append(f"symbolic in {', '.join(summary.symbols)}; boxes drawn at {at}")
    return "  \u00b7  ".join(parts)


def _si(n: float) -> str:
    for factor, unit in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= factor:
            return f"{n / factor:.3g} {unit}"
    return f"{n:g}"


def _legend_width(names: list[str]) -> float:
    return sum(0.3 + text_width(n) for n in names)


def _legend(ax: Axes, names: list[str], right: float, y: float) -> None:
    """Colour keys in one line, right-aligned at ``right``."""
    from matplotlib.patches import Rectangle

    x = right - _legend_width(names)
    for name in names:
        ax.add_patch(Rectangle((x, y - 0.13), 0.13, 0.13, facecolor=COLOURS[name], edgecolor="#404040", linewidth=0.5))
        ax.text(x + 0.18, y - 0.065, name, fontsize=SMALL, va="center")
        x += 0.3 + text_width(name)


def _save(fig: Figure, path: Target, dpi: float) -> bytes | None:
    """``fig`` to ``path`` in the format its suffix names, or as PNG bytes; reproducible files (no
    dates, fixed SVG ids), SVG text kept as text. PNGs are capped near 40 megapixels."""
    import matplotlib

    fmt = "png" if path is None else Path(path).suffix.lower().lstrip(".")
    if fmt not in ("png", "svg", "pdf"):
        raise CnncalcError(f"cannot write {path}: a picture's name ends in .png, .svg or .pdf")
    w, h = fig.get_size_inches()
    dpi = min(dpi, math.sqrt(40e6 / (w * h)))
    metadata: dict[str, Any] = {"svg": {"Date": None}, "pdf": {"CreationDate": None}, "png": {}}[fmt]
    out = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "cnncalc", "pdf.fonttype": 42}):
        fig.savefig(out, format=fmt, dpi=dpi, metadata=metadata, facecolor="white")
    if path is None:
        return out.getvalue()
    Path(path).write_bytes(out.getvalue())
    return None


def plot(summary: Summary, y: str = "params", path: Target = None, *, log: bool | None = None) -> bytes | None:
    """Per-layer bars of ``y`` (params, macs, activations; a log axis when values span more than
    three decades, unless ``log`` says), or for ``rf`` the receptive-field size against layer index,
    marking irregular fields and layers without one. Written to ``path`` or returned as PNG bytes."""
    if y not in METRICS:
        raise CnncalcError(f"unknown y {y!r}; choose one of {', '.join(METRICS)}")
    _require()
    from matplotlib.figure import Figure

    stand_in = numeric(summary)
    longest = max((len(r.name) for r in summary.rows), default=0)  # tick labels stand under the axis
    width = min(16.0, max(8.0, 2.0 + 0.14 * len(summary.rows)))
    fig = Figure(figsize=(width, 4.2 + longest * 0.06), layout="constrained")
    ax = fig.add_subplot()
    headline = _rf(ax, stand_in, bool(log)) if y == "rf" else _bars(ax, summary, stand_in, y, log)
    ax.set_title(headline, fontsize=12, loc="left")
    ax.spines[["top", "right"]].set_visible(False)
    return _save(fig, path, 150)


def _ticks(ax: Axes, names: list[str]) -> None:
    """Row names under the x axis, one in k when there are too many to read."""
    step = max(1, math.ceil(len(names) * 0.14 / ax.get_figure().get_figwidth()))  # type: ignore[union-attr]
    ax.set_xticks(range(0, len(names), step), names[::step], rotation=90, fontsize=7)
    ax.set_xlim(-0.7, len(names) - 0.3)
    ax.set_xlabel("layer" + (f" (one name in {step} shown)" if step > 1 else ""))


def _bars(ax: Axes, summary: Summary, stand_in: Summary, y: str, log: bool | None) -> str:
    """Bars of ``y`` per row, coloured by kind; rows with none are left out (said under the axis)."""
    from matplotlib.patches import Patch
    from matplotlib.ticker import EngFormatter

    rows = [r for r in stand_in.rows if getattr(r, y) > 0]
    values = [float(getattr(r, y)) for r in rows]
    kinds = [category(r.kind) for r in rows]
    ax.bar(range(len(rows)), values, color=[COLOURS[k] for k in kinds], edgecolor="#404040", linewidth=0.4)
    if log if log is not None else max(values, default=1) > 1000 * min(values, default=1):
        ax.set_yscale("log")
    else:
        ax.yaxis.set_major_formatter(EngFormatter(sep=" "))
    _ticks(ax, [r.name for r in rows])
    if len(rows) < len(stand_in.rows):
        ax.set_xlabel(ax.get_xlabel() + f"; {len(stand_in.rows) - len(rows)} layers with no {METRICS[y]} left out")
    ax.set_ylabel(METRICS[y])
    keys = dict.fromkeys(kinds)
    handles = [Patch(facecolor=COLOURS[k], edgecolor="#404040", label=k) for k in keys]
    ax.legend(handles=handles, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    total = getattr(stand_in.total, y)
    text = f"{total:,} ({_si(total)})"
    if stand_in is not summary:  # a symbolic total is a long sum: its value at the stand-ins instead
        text += " at " + ", ".join(f"{k}={v}" for k, v in sorted(stand_in.values.items()) if k not in summary.values)
    return f"{summary.name}: {METRICS[y]} per layer, total {text}"


def _rf(ax: Axes, stand_in: Summary, log: bool) -> str:
    """Receptive-field size per row (one line per group of axes that agree), irregular fields and
    rows without one marked, the input's size dashed."""
    rows = stand_in.rows
    fields = [(i, r.rf) for i, r in enumerate(rows) if r.rf is not None]
    xs = [i for i, _ in fields]
    rank = max((len(rf.size) for _, rf in fields), default=0)
    series: dict[tuple[float, ...], list[str]] = {}
    for axis in range(rank):
        series.setdefault(tuple(float(rf.size[axis]) for _, rf in fields), []).append(AXES[rank][axis])
    for sizes, names in series.items():
        label = "field size" if len(series) == 1 else " = ".join(names)
        ax.plot(xs, sizes, marker="o" if len(rows) <= 80 else "", markersize=3, label=label)
    odd = [(i, float(max(rf.size))) for i, rf in fields if not rf.regular]
    if odd:
        ox, oy = zip(*odd, strict=True)
        ax.scatter(ox, oy, s=40, facecolors="none", edgecolors="#d62728", label="irregular field", zorder=3)
    none = [i for i, r in enumerate(rows) if r.rf is None]
    if none:
        ax.scatter(none, [0] * len(none), marker="x", color="#808080", label="no field (flat output)")
    spatial = max((int(v) for v in stand_in.input[1:]), default=0)
    if spatial:  # the input's size, labelled on its line: the legend stays clear of it
        ax.axhline(spatial, color="#808080", linestyle="--", linewidth=0.8)
        where = ("axes fraction", "data")
        ax.annotate(f"input size {spatial}", (1.0, spatial), xycoords=where, ha="right", va="bottom", fontsize=8)
    if log:
        ax.set_yscale("log")
    else:
        ax.set_ylim(top=1.3 * max([spatial, *(max(rf.size) for _, rf in fields)]))
    _ticks(ax, [r.name for r in rows])
    ax.set_ylabel("receptive field (input pixels)")
    ax.legend(fontsize=8, loc="upper left")
    if not fields:
        return f"{stand_in.name}: no receptive fields (flat input)"
    size, name = max(((max(rf.size), rows[i].name) for i, rf in fields), key=lambda p: p[0])
    return f"{stand_in.name}: receptive field by layer (largest {size} px, at {name})"


__all__ = ["COLOURS", "METRICS", "MISSING", "category", "draw", "plot"]
