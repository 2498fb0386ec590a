"""The one column table every format prints: which columns exist, their headers and their cells.

A cell is raw data (an int, a float, a sympy expression, a shape tuple, None); each format turns
cells into text with its own printer. Ratios are derived here from the row's own numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..symbolic import to_text

if TYPE_CHECKING:  # the renderers see a summary only as a type: report imports them
    from ..report import LayerRow, Summary


class Column:
    """One column: its key (as in JSON), its header, what kind of cell it holds ("name", "shape",
    "count", "pair", "ratio") and how to get it. A plain class: cheaper to define than a dataclass."""

    __slots__ = ("get", "header", "key", "kind")

    def __init__(self, key: str, header: str, kind: str, get: Callable[[LayerRow], Any]) -> None:
        self.key, self.header, self.kind, self.get = key, header, kind, get


def _ratio(big: Any, small: Any) -> Any:
    """big/small: a float for numbers, a factored expression when symbolic."""
    if big is None or small in (None, 0):
        return None
    if isinstance(big, int) and isinstance(small, int):
        return big / small
    from ..symbolic import factor

    return factor(big / small)


def _start(rf: Any) -> Any:
    """The start, or why one start does not describe the field."""
    if not rf.regular:
        return "irregular"
    return rf.start if rf.aligned else "unaligned"


COLUMNS: tuple[Column, ...] = (
    Column("name", "Layer", "name", lambda r: r.name),
    Column("kind", "Kind", "name", lambda r: r.kind),
    Column("output", "Output", "shape", lambda r: r.output),
    Column("params", "Params", "count", lambda r: r.params),
    Column("macs", "MACs", "count", lambda r: r.macs),
    Column("activations", "Activations", "count", lambda r: r.activations),
    Column("rf", "RF", "pair", lambda r: r.rf and r.rf.size),
    Column("jump", "Jump", "pair", lambda r: r.rf and r.rf.jump),
    Column("start", "Start", "pair", lambda r: r.rf and _start(r.rf)),
    Column("fc_params", "FC params", "count", lambda r: r.fc_params),
    Column("fc_ratio", "FC/conv", "ratio", lambda r: _ratio(r.fc_params, r.params)),
    Column("local_params", "Local params", "count", lambda r: r.local_params),
    Column("local_ratio", "Local/conv", "ratio", lambda r: _ratio(r.local_params, r.params)),
)
BY_KEY = {c.key: c for c in COLUMNS}
#: Total cells per column key (the rest are blank in the total row).
TOTAL_KEYS = ("params", "macs", "activations")


def display(value: Any) -> str:
    """A symbolic value as people read it: sympy's text with ceilings as ceil (``ceil(H/32)``)."""
    return to_text(value, display=True)


def select(keys: list[str] | None, summary: Summary | None = None) -> tuple[Column, ...]:
    """The columns named in ``keys`` (in that order), or all of them (also for ``["all"]``), with
    the headers ``summary`` renames (a counting preset's: "FLOPs (fvcore)")."""
    if not keys or keys == ["all"]:
        chosen = COLUMNS
    else:
        unknown = [k for k in keys if k not in BY_KEY]
        if unknown:
            from ..errors import CnncalcError

            raise CnncalcError(f"unknown column {unknown[0]!r}; columns: {', '.join(BY_KEY)}")
        chosen = tuple(BY_KEY[k] for k in keys)
    renamed = summary.headers if summary is not None else {}
    if not renamed:
        return chosen
    return tuple(Column(c.key, renamed.get(c.key, c.header), c.kind, c.get) for c in chosen)


def texts(summary: Summary, columns: tuple[Column, ...], text: Callable[[Any, str], str]) -> list[list[str]]:
    """The layer rows' cells through ``text(value, kind)``, one list per row. Repeated blocks
    repeat whole rows, so a cell met before in a column of the same kind is formatted once:
    numbers and strings by value, anything else by identity (the memo holds the object, so its
    id is not reused while this runs)."""
    memo: dict[tuple[str, Any], tuple[Any, str]] = {}
    by_value = (int, float, str)
    out = []
    for row in summary.rows:
        cells = []
        for c in columns:
            value, kind = c.get(row), c.kind
            if kind == "name":  # names are unique
                cells.append(text(value, kind))
                continue
            key = (kind, value) if type(value) in by_value else (kind, id(value))
            known = memo.get(key)
            if known is None:
                known = memo[key] = (value, text(value, kind))
            cells.append(known[1])
        out.append(cells)
    return out


def total_cells(summary: Summary, columns: tuple[Column, ...]) -> list[Any]:
    """The total row's raw cells: sums under params, MACs and activations, None elsewhere."""
    return [getattr(summary.total, c.key) if c.key in TOTAL_KEYS else None for c in columns]


def same_pair(value: Any) -> bool:
    """Whether per-axis values are all equal, so one number can stand for them."""
    return isinstance(value, tuple) and len(value) >= 1 and all(v == value[0] for v in value)


def title(summary: Summary) -> str:
    """ "VGG16, input [3, 224, 224] (H=224, W=224)": the network, its input and symbol values."""
    shape = "[" + ", ".join(to_text(v, display=True) for v in summary.input) + "]"
    values = ", ".join(f"{k}={v}" for k, v in sorted(summary.values.items()))
    free = summary.symbols
    parts = [f"{summary.name}, input {shape}"]
    if values:
        parts.append(f"({values})")
    if free:
        parts.append(f"symbolic in {', '.join(free)}")
    return " ".join(parts)


def cell_text(
    value: Any,
    kind: str,
    *,
    number: Callable[[int], str] = lambda n: f"{n:,}",
    expr: Callable[[Any], str] | None = None,
    times: str = "x",
) -> str | None:
    """A cell as text: ints through ``number``, symbolic values through ``expr`` (sympy's printer,
    ceilings as ceil, by default), shapes and per-axis values joined by ``times`` (AxB), equal
    per-axis values as one value; None stays None."""
    expr = expr or display
    if value is None:
        return None
    if kind == "name":
        return str(value)
    if kind == "shape":
        return times.join(_factor(_scalar(v, str, expr)) for v in value)
    if kind == "pair":
        if isinstance(value, str):
            return value
        if same_pair(value):
            return _scalar(value[0], number, expr)
        return times.join(_factor(_scalar(v, number, expr)) for v in value)
    if kind == "ratio":
        if isinstance(value, float):
            return (f"{round(value):,}" if value >= 10 else f"{value:.2f}") + times
        return expr(value)
    return _scalar(value, number, expr)


def _factor(text: str) -> str:
    """A compound value among per-axis sizes in parentheses: 32x(H - 1)x(2*W), not 32xH - 1x2*W."""
    depth = 0
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and ch in " */":
            return f"({text})"
    return text


def _scalar(value: Any, number: Callable[[int], str], expr: Callable[[Any], str]) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return number(value)
    if isinstance(value, float):
        return f"{value:g}" if value.is_integer() else str(value)
    return expr(value)


def si(n: int) -> str:
    """1,234,567,890 as "1.23 G" (K, M, G, T), for reading magnitudes at a glance."""
    for factor, unit in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K")):
        if abs(n) >= factor:
            hundredths = round(n * 100 / factor) if abs(n) < 10**300 else n * 100 // factor
            return f"{hundredths // 100:,}.{hundredths % 100:02d} {unit}"
    return str(n)


def total_lines(
    summary: Summary, number: Callable[[int], str] = lambda n: f"{n:,}", expr: Callable[[Any], str] | None = None
) -> list[tuple[str, str]]:
    """(label, text) for each total, with MACs also in G for the numeric case."""
    t = summary.total

    def show(v: Any) -> str:
        return cell_text(v, "count", number=number, expr=expr) or ""

    macs = show(t.macs)
    if isinstance(t.macs, int):
        macs += f" ({si(t.macs)})"
    params = show(t.params)
    if t.trainable_params != t.params:
        params += f" ({show(t.trainable_params)} trainable)"
    return [
        (summary.headers.get("params", "params"), params),
        (summary.headers.get("macs", "MACs"), macs),
        ("activations", show(t.activations)),
        ("neurons", show(t.neurons)),
    ]
