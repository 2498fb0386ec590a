"""How wide a LaTeX table is and how it is made to fit a page, for :mod:`cnncalc.render.latex`.

Widths are estimated from Computer Modern's character widths (cmr10 and cmmi10, widened for the
smaller design sizes): within a few percent of what pdflatex sets, for numbers, names and sympy's
formulas (the tests compile every bundled network and check that no box is overfull). A table too
wide for the page leaves out columns in the text table's order (:data:`DROP_ORDER`), and formulas
that are still too wide wrap between terms and bracketed factors.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache

from .table import Column
from .text import DROP_ORDER

_SPECIAL = {ch: "\\" + ch for ch in "&%$#_{}"} | {
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "\\": r"\textbackslash{}",
}


def escape(text: str) -> str:
    """Text with LaTeX's special characters escaped."""
    return "".join(_SPECIAL.get(ch, ch) for ch in text)


# --- widths --------------------------------------------------------------------------------------

#: Character widths of Computer Modern Roman (cmr10) in em.
_TEXT_EM: dict[str, float] = {
    ch: width
    for chars, width in (
        (".,:;!il'[]|", 0.278),
        ("fj", 0.306),
        (" -", 0.333),
        ("t()", 0.389),
        ("rs", 0.394),
        ("Ice", 0.444),
        ("0123456789ago/?*", 0.5),
        ("kqvxy", 0.528),
        ("Sbdhnpu_", 0.556),
        ("ZJ", 0.611),
        ("w", 0.722),
        ("ABCDEFGHKLNOPQRTUVXY&", 0.778),
        ("m%", 0.833),
        ("M", 0.917),
        ("W", 1.028),
    )
    for ch in chars
}
#: Math letters are italic (cmmi10), a little wider, with their italic correction.
_MATH_EM = {**_TEXT_EM, **dict.fromkeys("ABCDEFGHKLNOPQRSUVXYZ", 0.92), "T": 0.75, "W": 1.1, "M": 1.05}
_BINARY = 0.778 + 2 * 4 / 18  # + - \times with a medium space either side (none in script style)
_THIN = 3 / 18  # the thin space TeX puts beside a \left...\right group or a fraction, in text style
_COMMANDS = {"times": _BINARY, "cdot": _BINARY, ",": 0.167, " ": 0.333, "dots": 1.0, "ldots": 1.0, "_": 0.556}
_COMMANDS |= dict.fromkeys(("lfloor", "rfloor", "lceil", "rceil"), 0.45) | dict.fromkeys(
    ("allowbreak", "left", "right"), 0.0
)
_GREEK = {"alpha", "beta", "gamma", "delta", "epsilon", "lambda", "mu", "sigma", "tau", "theta", "kappa", "rho"}
#: Widening of Computer Modern's smaller design sizes, per em (cmr8 is 6% wider than cmr10).
DESIGN = {11.0: 1.0, 10.0: 1.0, 9.0: 1.03, 8.0: 1.06, 7.0: 1.14, 6.0: 1.2, 5.0: 1.3}
#: The size of a fraction's parts and of exponents at each text size (LaTeX's math sizes).
_SCRIPT = {11.0: 8.0, 10.0: 7.0, 9.0: 6.0, 8.0: 6.0, 7.0: 5.0, 6.0: 5.0, 5.0: 5.0}
#: A \left or \right delimiter around a fraction comes from cmex10, which pdflatex sets at 10pt
#: whatever the size (4.72pt for a ceiling bracket).
_DELIMITER = 4.72
_TOKEN = re.compile(r"\\[A-Za-z]+|\\.|.", re.DOTALL)


def _math_pt(tokens: Iterator[str], pt: float, text: bool, closing: str = "") -> float:
    """Width in pt of math tokens up to ``closing`` (a closing brace, or the end) at size ``pt``,
    in text style (``text``) or in a fraction's or an exponent's smaller style."""
    unit, width = pt * DESIGN[pt], 0.0
    for token in tokens:
        if token == closing:
            break
        if token == "{":
            inner = _math_pt(tokens, pt, text, "}")
            width += 0.278 * unit if abs(inner - 0.445 * unit) < 1e-9 else inner  # {,} is a plain comma
        elif token == r"\frac":
            top, bottom = _argument(tokens, _SCRIPT[pt]), _argument(tokens, _SCRIPT[pt])
            width += max(top, bottom) + 0.24 * unit + (_THIN * unit if text else 0)
        elif token in ("^", "_"):
            width += _argument(tokens, _SCRIPT[pt]) + 0.05 * unit
        elif token in (r"\left", r"\right"):
            delimiter = next(tokens, "")
            width += 0.12 * unit if delimiter == "." else _DELIMITER
            width += _THIN * unit if text and token == r"\right" else 0
        elif token.startswith("\\"):
            name = token[1:]
            em = _COMMANDS.get(name, 0.6 if name in _GREEK else 0.5 * len(name) + 0.167 if name.isalpha() else 0.5)
            width += (0.778 if not text and name in ("times", "cdot") else em) * unit
        elif token in "+-=<>":
            spaced = text and token in "+-"
            width += (_BINARY if spaced else 0.778 + (2 * 5 / 18 if text and token in "=<>" else 0)) * unit
        elif token == ",":
            width += 0.445 * unit
        elif not token.isspace():
            width += _MATH_EM.get(token, 0.6) * unit
    return width


def _argument(tokens: Iterator[str], pt: float) -> float:
    """Width in pt of the next argument, in script style at ``pt``: a braced group or one token."""
    for token in tokens:
        if token.isspace():
            continue
        return _math_pt(tokens, pt, False, "}") if token == "{" else _math_pt(iter([token]), pt, False)
    return 0.0


@cache
def width(cell: str, pt: float) -> float:
    """Estimated width in pt of a cell (text with $math$) in Computer Modern at ``pt``."""
    unit, out = pt * DESIGN[pt], 0.0
    for i, part in enumerate(cell.split("$")):
        if i % 2:
            out += _math_pt(iter(_TOKEN.findall(part)), pt, True)
            continue
        for token in _TOKEN.findall(part):
            if token.startswith("\\"):
                out += _COMMANDS.get(token[1:], 0.0 if token[1:].isalpha() else 0.6) * unit
            elif token not in "{}":
                out += _TEXT_EM.get(token, 0.6) * unit
    return out


_BREAK = r"\allowbreak "
_OPERATORS = {"+", "-", "=", r"\times", ","}
_GROUPS = {r"\left", r"\frac"}


@cache
def split(cell: str) -> tuple[str, ...]:
    """A cell cut where a line may break: a name after its dots; a formula after a binary operator
    and between bracketed factors (\\left...\\right) or fractions, outside any braces (TeX breaks
    math only at its outer level)."""
    if not cell.startswith("$"):
        return tuple(p for p in re.split(r"(?<=\.)", cell) if p)
    tokens = _TOKEN.findall(cell[1:-1])
    pieces, piece, depth, last, closed = [], "", 0, "", False
    for i, token in enumerate(tokens):
        if depth == 0 and token == " " and piece:
            following = next((t for t in tokens[i + 1 :] if t != " "), "")
            if last in _OPERATORS or (following not in _OPERATORS and (closed or following in _GROUPS)):
                pieces.append(piece)
                piece = ""
                continue
        if token != " ":
            closed = last == r"\right" and depth == 0
            last = token
        depth += (token in ("{", r"\left")) - (token in ("}", r"\right"))
        piece += token
    return (*pieces, piece) if piece else tuple(pieces)


def breakable(cell: str) -> str:
    """``cell`` with \\allowbreak where :func:`split` cuts it (TeX breaks math after operators by
    itself)."""
    pieces = split(cell)
    if not cell.startswith("$"):
        return _BREAK.join(pieces)
    out = pieces[0]
    for before, piece in itertools.pairwise(pieces):
        out += (" " if before.rstrip().endswith(tuple(_OPERATORS)) else " " + _BREAK) + piece
    return f"${out}$"


def _pieces(cell: str, pt: float) -> list[float]:
    """Widths in pt of the pieces of ``cell`` that cannot break."""
    return [width(f"${p}$" if cell.startswith("$") else p, pt) for p in split(cell)]


# --- pages and tables ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Size:
    """A font size command, its size and its baseline skip in pt."""

    command: str
    pt: float
    skip: float


@dataclass(frozen=True, slots=True)
class Page:
    """What a table must fit: the text width, the height one page or frame gives a table's rows,
    the font of a single table and the fonts a long one may use (largest first)."""

    width: float
    height: float
    short: Size
    long: tuple[Size, ...]
    tabcolsep: float


#: article (10pt): \linewidth 345pt, \textheight 550pt (35 rows at \small, with caption and notes);
#: beamer (11pt, sans serif): \linewidth 307pt, a frame's body about 200pt under its title.
PAGES: dict[str, Page] = {
    "article": Page(
        345.0,
        385.0,
        Size(r"\small", 9.0, 11.0),
        (Size(r"\footnotesize", 8.0, 9.5), Size(r"\scriptsize", 7.0, 8.0)),
        3.0,
    ),
    "beamer": Page(
        307.0, 196.0, Size(r"\scriptsize", 8.0, 9.5), (Size(r"\scriptsize", 8.0, 9.5), Size(r"\tiny", 6.0, 7.0)), 3.0
    ),
}
#: A name column wider than this share of the line wraps (at dots) in a long table.
NAME_SHARE = 0.3
MARGIN = 0.97  # of the width: the estimate's error
_FRAC = re.compile(r"\\frac")


def header(column: Column) -> str:
    """A header; two words stacked (FC / params), so a header is no wider than its numbers."""
    words = column.header.split(" ")
    if len(words) == 1:
        return escape(column.header)
    align = "l" if column.kind == "name" else "r"
    return rf"\begin{{tabular}}[b]{{@{{}}{align}@{{}}}}" + r"\\".join(escape(w) for w in words) + r"\end{tabular}"


@dataclass
class Table:
    """A table's cells as LaTeX, and the choices that make it fit."""

    columns: tuple[Column, ...]
    rows: list[list[str]]
    total: list[str] | None
    size: Size
    dropped: list[Column] = field(default_factory=list)
    #: Column index -> width in pt of a column whose cells wrap (names at dots, formulas between
    #: terms and factors).
    wrap: dict[int, float] = field(default_factory=dict)

    def spec(self, tabularx: bool = False) -> str:
        """The column specification: names left, numbers right, wrapping columns as p{...}."""
        parts = []
        for i, c in enumerate(self.columns):
            if i == 0 and tabularx:
                parts.append(r">{\raggedright\arraybackslash}X")
            elif i in self.wrap:
                side = "right" if c.kind == "name" else "left"
                parts.append(rf">{{\ragged{side}\arraybackslash}}p{{{self.wrap[i]:.1f}pt}}")
            else:
                parts.append("l" if c.kind == "name" else "r")
        return "@{}" + "".join(parts) + "@{}"

    def stretch(self) -> list[str]:
        """Taller rows when cells hold fractions, so brackets around them do not touch."""
        tall = any(_FRAC.search(x) for row in self.rows for x in row)
        return [r"\renewcommand{\arraystretch}{1.5}"] if tall else []

    def head(self) -> str:
        return " & ".join(header(c) for c in self.columns) + r" \\"

    def lines(self, rows: list[list[str]], tabularx: bool = False) -> list[str]:
        wrap = set(self.wrap) | ({0} if tabularx else set())
        return [" & ".join(breakable(x) if i in wrap else x for i, x in enumerate(r)) + r" \\" for r in rows]

    def foot(self) -> list[str]:
        return [] if self.total is None else [r"\midrule", " & ".join(self.total) + r" \\"]

    def cells(self, i: int) -> set[str]:
        """Column ``i``'s distinct cells, the total's among them."""
        found = {row[i] for row in self.rows}
        return found | {self.total[i]} if self.total is not None else found

    def keep(self, keep: list[int], wrap: dict[int, float]) -> None:
        """Only the columns ``keep`` (indices), those in ``wrap`` wrapping at their widths."""
        self.dropped = [c for i, c in enumerate(self.columns) if i not in keep]
        self.wrap = {keep.index(i): w for i, w in wrap.items()}
        self.columns = tuple(self.columns[i] for i in keep)
        self.rows = [[row[i] for i in keep] for row in self.rows]
        if self.total is not None:
            self.total = [self.total[i] for i in keep]


def _fill(natural: list[float], floor: list[float], room: float) -> list[float]:
    """Widths no wider than ``natural`` nor narrower than ``floor`` that share ``room``: every
    column wider than a common cap is cut to it (or to its floor), the largest cap that fits."""

    def used(cap: float) -> float:
        return sum(min(n, max(f, cap)) for n, f in zip(natural, floor, strict=True))

    low, high = 0.0, max(natural, default=0.0)
    for _ in range(40):
        mid = (low + high) / 2
        low, high = (mid, high) if used(mid) <= room else (low, mid)
    return [min(n, max(f, low)) for n, f in zip(natural, floor, strict=True)]


@dataclass
class _Fitter:
    """A table's column widths in pt at each size (widest cell; widest piece that cannot break),
    and the width it must fit."""

    table: Table
    page: Page
    target: float
    wrap: bool
    _widths: dict[float, tuple[list[float], list[float]]] = field(default_factory=dict)

    def widths(self, pt: float) -> tuple[list[float], list[float]]:
        """Each column's natural width and floor (its widest unbreakable piece) in pt at ``pt``."""
        if pt not in self._widths:
            natural, floor = [], []
            for i, c in enumerate(self.table.columns):
                head = max(width(escape(w), pt) for w in c.header.split(" "))
                cells = self.table.cells(i)
                natural.append(max([head, *(width(x, pt) for x in cells)]))
                floor.append(max([head, *(w for x in cells for w in _pieces(x, pt))]))
            self._widths[pt] = natural, floor
        return self._widths[pt]

    def layout(self, keep: list[int], size: Size, formulas: bool) -> tuple[float, dict[int, float]]:
        """The width of columns ``keep`` at ``size``, and the columns that wrap (with ``formulas``,
        wide formulas too, sharing what the others leave)."""
        natural, floor = self.widths(size.pt)
        widths = {i: natural[i] for i in keep}
        wrapped: dict[int, float] = {}
        if self.wrap and widths[0] > self.page.width * NAME_SHARE:
            wrapped[0] = widths[0] = max(self.page.width * NAME_SHARE, floor[0] + 1)
        padding = 2 * self.page.tabcolsep * (len(keep) - 1)
        if formulas and sum(widths.values()) + padding > self.target:
            can = [i for i in keep if i and self.table.columns[i].kind != "name" and floor[i] < natural[i]]
            room = self.target - padding - sum(w for i, w in widths.items() if i not in can)
            cut = _fill([natural[i] for i in can], [floor[i] + 1 for i in can], room)
            for i, w in zip(can, cut, strict=True):
                if w < widths[i]:
                    wrapped[i] = widths[i] = w
        return sum(widths.values()) + padding, wrapped

    def best(self, keep: list[int], sizes: tuple[Size, ...], formulas: bool) -> tuple[Size, dict[int, float]] | None:
        """The largest size at which columns ``keep`` fit, and the columns that wrap there."""
        for size in sizes:
            total, wrapped = self.layout(keep, size, formulas)
            if total <= self.target:
                return size, wrapped
        return None


def fit(table: Table, page: Page, sizes: tuple[Size, ...], *, wrap: bool, drop: bool, width: float = 0.0) -> None:
    """Choose the font size, the columns left out and the columns that wrap so ``table`` fits
    ``width`` (the page's by default): columns are left out in :data:`DROP_ORDER` (``drop``) while
    the table is too wide at every size, and those left out before the last may come back if they
    fit; when even the remaining columns are too wide, formulas wrap (``wrap``, which also wraps a
    name column wider than :data:`NAME_SHARE` of the line at its dots)."""
    fitter = _Fitter(table, page, (width or page.width) * MARGIN, wrap)
    keys = [c.key for c in table.columns]
    keep, dropped = list(range(len(keys))), []
    chosen = fitter.best(keep, sizes, False)
    while chosen is None and drop:
        optional = [keys.index(k) for k in DROP_ORDER if k in keys and keys.index(k) in keep]
        if not optional:
            break
        keep.remove(optional[0])
        dropped.append(optional[0])
        chosen = fitter.best(keep, sizes, False)
    if chosen is not None:
        for i in reversed(dropped[:-1]):  # the last one left out made room: those before it may fit again
            again = fitter.best(sorted([*keep, i]), sizes, False)
            if again is None:
                break
            keep, chosen = sorted([*keep, i]), again
    else:  # too wide with every optional column left out: formulas wrap (or the table stays too wide)
        chosen = fitter.best(keep, sizes, wrap) or (sizes[-1], fitter.layout(keep, sizes[-1], wrap)[1])
    table.size = chosen[0]
    table.keep(keep, chosen[1])


# --- heights -------------------------------------------------------------------------------------


def row_height(table: Table, row: list[str], size: Size) -> float:
    """Estimated height in pt of a row at ``size``: a fraction makes a line taller, wrapped cells
    take lines."""
    line = size.skip * (1.7 if any(_FRAC.search(c) for c in row) else 1.0)
    lines = 1
    for i, room in table.wrap.items():
        count, used = 1, 0.0
        for w in _pieces(row[i], size.pt):
            if used and used + w > room:
                count, used = count + 1, 0.0
            used += w
        lines = max(lines, count)
    return line * lines


def height(table: Table, size: Size) -> float:
    """Estimated height in pt of the table's rows at ``size``."""
    return sum(row_height(table, row, size) for row in table.rows)


def _cut(heights: list[float], budget: float) -> list[int]:
    """Where runs of rows of ``heights`` start, each run at most ``budget`` tall (or one row)."""
    starts, used = [0], 0.0
    for i, h in enumerate(heights):
        if i > starts[-1] and used + h > budget:
            starts.append(i)
            used = 0.0
        used += h
    return starts


def chunks(table: Table, budget: float, tail: float = 0.0) -> list[list[list[str]]]:
    """The rows cut into runs that each fit ``budget`` pt at the table's size (for frames), the
    last with ``tail`` pt to spare (for totals and notes), as even as they can be: 22 rows in two
    frames are 11 and 11, not 20 and 2."""
    heights = [*(row_height(table, row, table.size) for row in table.rows), tail]
    starts = _cut(heights, budget)
    low, high = min(max(heights[:-1], default=0.0), budget), budget
    for _ in range(30):  # the least budget that needs no more runs than the full one
        mid = (low + high) / 2
        low, high = (low, mid) if len(_cut(heights, mid)) <= len(starts) else (mid, high)
    starts = [i for i in _cut(heights, high) if i < len(table.rows)]  # not a run of the tail alone
    return [table.rows[a:b] for a, b in itertools.pairwise([*starts, len(table.rows)])]
