"""HTML: one self-contained page (inline CSS, no script, no network) and a fragment for notebooks.

The page has the title, the totals, an optional diagram (inline SVG), the table (a caption, a sticky
header, a total row) and the counting conventions; the fragment is the table and totals under a
``<style>`` whose rules all start with ``.cnncalc``, for Jupyter's ``_repr_html_``. Every text goes
through :func:`html.escape`: names in YAML files are user text.
"""

from __future__ import annotations

import re
from html import escape
from typing import TYPE_CHECKING, Any

from ..symbolic import is_symbolic, to_text
from .table import BY_KEY, Column, cell_text, select, texts, title, total_cells, total_lines

if TYPE_CHECKING:  # the renderers see a summary only as a type: report imports them
    from ..report import Summary

#: Rules for everything inside ``.cnncalc`` (page and fragment); colours as variables, dark when
#: the reader's system is. The table scrolls in its own box so the header and the total row stick.
CSS = """\
.cnncalc {
  --fg: #1f2328; --muted: #59636e; --bg: #ffffff; --zebra: #f5f7f9; --head: #e9edf1; --line: #d1d9e0;
  --hover: #fff5c2; --code: #0a4fa8; --irregular: #8a4600; --irregular-bg: #ffefdb;
  --unaligned: #6f3bc4; --unaligned-bg: #f3e9ff;
  color: var(--fg); background: var(--bg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
}
@media (prefers-color-scheme: dark) {
  .cnncalc {
    --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117; --zebra: #151b23; --head: #212830; --line: #3d444d;
    --hover: #2d2a14; --code: #79c0ff; --irregular: #f0b45a; --irregular-bg: #3a2812;
    --unaligned: #d2a8ff; --unaligned-bg: #2e2142;
  }
}
.cnncalc code { font: 0.92em/1.3 ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", monospace; }
.cnncalc .scroll {
  overflow: auto; max-height: var(--table-height, 36em); max-width: 100%;
  border: 1px solid var(--line); border-radius: 6px;
}
.cnncalc table { border-collapse: separate; border-spacing: 0; font-size: 0.93em; font-variant-numeric: tabular-nums; }
.cnncalc caption { caption-side: top; text-align: left; padding: 0.5em 0.75em; font-weight: 600; }
.cnncalc th, .cnncalc td {
  padding: 0.22em 0.5em; white-space: nowrap; text-align: left; background: var(--bg); vertical-align: top;
}
.cnncalc .num { text-align: right; }
.cnncalc thead th {
  position: sticky; top: 0; z-index: 2; background: var(--head); border-bottom: 1px solid var(--line);
  font-weight: 600; vertical-align: bottom;
}
.cnncalc thead th[title] { text-decoration: underline dotted var(--muted); text-underline-offset: 3px; cursor: help; }
.cnncalc tbody th:first-child, .cnncalc tfoot th { position: sticky; left: 0; z-index: 1; font-weight: 500; }
.cnncalc thead th:first-child { left: 0; z-index: 3; }
.cnncalc tbody tr:nth-child(even) > * { background: var(--zebra); }
.cnncalc tbody tr:hover > * { background: var(--hover); }
.cnncalc tbody .kind { color: var(--muted); }
.cnncalc tbody .na { color: var(--muted); text-align: right; }
.cnncalc td code { color: var(--code); }
.cnncalc tfoot th, .cnncalc tfoot td {
  position: sticky; bottom: 0; background: var(--head); border-top: 1px solid var(--line); font-weight: 600;
}
.cnncalc tfoot th { z-index: 3; }
.cnncalc tfoot code { white-space: normal; }
.cnncalc tfoot.long th, .cnncalc tfoot.long td { bottom: auto; }  /* tall symbolic sums: not kept in view */
.cnncalc .flag { border-radius: 4px; padding: 0 0.35em; font-size: 0.88em; font-weight: 600; }
.cnncalc .irregular { color: var(--irregular); background: var(--irregular-bg); }
.cnncalc .unaligned { color: var(--unaligned); background: var(--unaligned-bg); }
.cnncalc .flag[title] { cursor: help; }
.cnncalc dl.totals { display: flex; flex-wrap: wrap; gap: 0.6em; margin: 0.8em 0; padding: 0; }
.cnncalc dl.totals > div {
  flex: 1 1 12em; min-width: 0; border: 1px solid var(--line); border-radius: 6px; padding: 0.45em 0.8em;
}
.cnncalc dl.totals dt { color: var(--muted); font-size: 0.85em; }
.cnncalc dl.totals dd { margin: 0; font-size: 1.15em; font-weight: 600; overflow-wrap: anywhere; }
.cnncalc dl.totals dd code { font-weight: 500; font-size: 0.8em; }
.cnncalc .conventions { color: var(--muted); padding-left: 1.2em; max-width: 60em; }
.cnncalc .conventions li { margin: 0.25em 0; }
.cnncalc .conventions b { color: var(--fg); }
.cnncalc details > summary { cursor: pointer; color: var(--muted); margin-top: 0.5em; }
.cnncalc .shown { color: var(--muted); margin: 0.4em 0; }
.cnncalc figure { margin: 1em 0; }
.cnncalc figure svg { max-width: 100%; height: auto; background: #ffffff; border-radius: 6px; }
.cnncalc figcaption { color: var(--muted); font-size: 0.9em; }
@media print {
  .cnncalc { --fg: #000000; --muted: #444444; --bg: #ffffff; --zebra: #f2f2f2; --head: #e6e6e6; --hover: #ffffff;
    --code: #000000; --irregular: #000000; --irregular-bg: #ffffff; --unaligned: #000000; --unaligned-bg: #ffffff;
    font-size: 9pt; }
  .cnncalc .scroll { overflow: visible; max-height: none; border: 0; }
  .cnncalc thead th, .cnncalc tbody th:first-child, .cnncalc tfoot th, .cnncalc tfoot td { position: static; }
  .cnncalc thead { display: table-header-group; }
  .cnncalc tfoot { display: table-row-group; }  /* the total once, at the end */
  .cnncalc thead th[title] { text-decoration: none; }
  .cnncalc tr { break-inside: avoid; }
  .cnncalc .flag { border: 1px solid #888888; }
}
"""

#: Rules for the stand-alone page only (the fragment must not style the notebook around it).
PAGE_CSS = """\
:root { color-scheme: light dark; }
html, body { margin: 0; background: #ffffff; }
@media (prefers-color-scheme: dark) { html, body { background: #0d1117; } }
main.cnncalc { --table-height: calc(100vh - 3em); max-width: 1480px; margin: 0 auto; padding: 1.25em 1.25em 3em; }
main.cnncalc caption { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); }
main.cnncalc h1 { font-size: 1.6em; margin: 0 0 0.1em; }
main.cnncalc h2 { font-size: 1.1em; margin: 1.6em 0 0.4em; }
main.cnncalc .input { color: var(--muted); margin: 0; }
main.cnncalc footer { color: var(--muted); font-size: 0.85em; margin-top: 2em; }
@page { size: landscape; margin: 1cm; }
@media print { main.cnncalc { max-width: none; padding: 0; } }
"""

#: The text shown where a cell does not apply (no receptive field, no dense comparison).
NOT_APPLICABLE = "\u2013"

#: Why a receptive-field start is a word, not a number (the cell's tooltip).
FLAGS = {
    "irregular": "past upsampling or a transposed convolution the outputs' fields differ: "
    "RF is the largest over outputs, jump the mean step, start the first output's centre",
    "unaligned": "the inputs of a merge disagree on jump or centre: RF is the largest over them, "
    "no single start describes the field",
}

#: The convention that explains each column (its header's tooltip).
EXPLAINED_BY = {
    "params": "params",
    "macs": "macs",
    "activations": "activations",
    "rf": "rf",
    "jump": "rf",
    "start": "rf",
    "fc_params": "fc_params",
    "fc_ratio": "fc_params",
    "local_params": "local_params",
    "local_ratio": "local_params",
}

_CODE_OPEN, _CODE_CLOSE = "\x00", "\x01"


def _cell(value: Any, kind: str) -> str:
    """A cell's inner HTML: escaped text, symbolic values in ``<code>``, a flag for a field that one
    start does not describe."""
    if value is None:
        return NOT_APPLICABLE
    if kind == "pair" and isinstance(value, str):
        why = FLAGS.get(value, "")
        return f'<span class="flag {escape(value)}" title="{escape(why)}">{escape(value)}</span>'
    text = escape(cell_text(value, kind, times="\u00d7") or "")
    return f"<code>{text}</code>" if kind != "name" and is_symbolic(value) else text


def _td(inner: str, column: Column) -> str:
    """The cell element: the layer name is the row's header, counts and shapes align right."""
    if column.key == "name":
        return f'<th scope="row">{inner}</th>'
    if inner == NOT_APPLICABLE:
        return f'<td class="na">{inner}</td>'
    if column.kind == "name":
        return f'<td class="kind">{inner}</td>'
    return f'<td class="num">{inner}</td>'


def _header(column: Column, conventions: dict[str, str]) -> str:
    """A column header; its tooltip is the convention behind the column's numbers."""
    why = conventions.get(EXPLAINED_BY.get(column.key, ""), "")
    tip = f' title="{escape(why)}"' if why else ""
    align = "" if column.kind == "name" else ' class="num"'
    return f'<th scope="col"{align}{tip}>{escape(column.header)}</th>'


def table(summary: Summary, columns: list[str] | None = None) -> str:
    """The ``<table>`` (caption, head, one body row per layer, a total row in the foot) in its
    scrolling box."""
    cols = select(columns, summary)
    lines = [
        '<div class="scroll">',
        '<table class="layers">',
        f"<caption>{escape(title(summary))}</caption>",
        "<thead><tr>" + "".join(_header(c, summary.conventions) for c in cols) + "</tr></thead>",
        "<tbody>",
    ]
    for row, cells in zip(summary.rows, texts(summary, cols, _cell), strict=True):
        tds = "".join(_td(inner, c) for inner, c in zip(cells, cols, strict=True))
        lines.append(f'<tr id="layer-{escape(row.name)}">{tds}</tr>')
    sums = total_cells(summary, cols)
    foot = ["" if value is None else _cell(value, c.kind) for value, c in zip(sums, cols, strict=True)]
    long = ' class="long"' if is_symbolic(tuple(sums)) else ""  # tall sums: the row does not stick
    align = ["" if c.kind == "name" else ' class="num"' for c in cols]
    total = "".join(f"<td{a}>{inner}</td>" for inner, a in zip(foot[1:], align[1:], strict=True))
    lines += ["</tbody>", f'<tfoot{long}><tr><th scope="row">Total</th>{total}</tr></tfoot>', "</table>", "</div>"]
    if summary.shown:  # a view: some layers collapsed or hidden
        lines.append(f'<p class="shown">Rows: {escape(summary.shown)}; totals are of the whole network.</p>')
    return "\n".join(lines)


def totals(summary: Summary) -> str:
    """The totals as a definition list (symbolic ones in ``<code>``)."""
    marked = total_lines(summary, expr=lambda v: _CODE_OPEN + to_text(v, display=True) + _CODE_CLOSE)
    items = []
    for label, value in marked:
        text = escape(value).replace(_CODE_OPEN, "<code>").replace(_CODE_CLOSE, "</code>")
        items.append(f"<div><dt>Total {escape(label)}</dt><dd>{text}</dd></div>")
    return '<dl class="totals">\n' + "\n".join(items) + "\n</dl>"


def conventions(summary: Summary) -> str:
    """What every number counts, one list item per convention."""
    items = []
    for key, text in summary.conventions.items():
        known = BY_KEY.get(key)
        name = summary.headers.get(key, known.header) if known else key.replace("_", " ").capitalize()
        items.append(f"<li><b>{escape(name)}</b>: {escape(text)}</li>")
    return '<ul class="conventions">\n' + "\n".join(items) + "\n</ul>"


def diagram(svg: str, summary: Summary) -> str:
    """The drawing (an SVG document from the drawing renderer) inline, in ``<figure id="diagram">``;
    its XML declaration and doctype, meaningless inside HTML, are dropped."""
    body = re.sub(r"\A\s*(<\?xml[^>]*\?>\s*)?(<!DOCTYPE[^>]*>\s*)?", "", svg, flags=re.IGNORECASE)
    caption = f"<figcaption>{escape(summary.name)}: the layers and their outputs</figcaption>"
    return f'<figure id="diagram">\n{body.strip()}\n{caption}\n</figure>'


def fragment(summary: Summary, columns: list[str] | None = None) -> str:
    """The table, totals and (folded) conventions as an HTML fragment for a notebook's
    ``_repr_html_``: no ``<html>`` or ``<body>``, styles scoped to ``.cnncalc``."""
    return "\n".join(
        [
            '<div class="cnncalc">',
            f"<style>\n{CSS}</style>",
            table(summary, columns),
            totals(summary),
            "<details><summary>Conventions</summary>",
            conventions(summary),
            "</details>",
            "</div>",
        ]
    )


def render(summary: Summary, columns: list[str] | None = None, diagram_svg: str | None = None) -> str:
    """A complete HTML page: title, totals, the diagram when ``diagram_svg`` is given, the table and
    the conventions. Self-contained: inline CSS, no script, and a content security policy that lets
    the page load nothing."""
    heading = escape(title(summary))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        'img-src data:">',
        '<meta name="generator" content="cnncalc">',
        f"<title>{heading}</title>",
        f"<style>\n{CSS}{PAGE_CSS}</style>",
        "</head>",
        "<body>",
        '<main class="cnncalc">',
        "<header>",
        f"<h1>{escape(summary.name)}</h1>",
        f'<p class="input">{escape(title(summary).removeprefix(summary.name + ", "))}</p>',
        "</header>",
        totals(summary),
    ]
    if diagram_svg is not None:
        parts.append(diagram(diagram_svg, summary))
    parts += [
        table(summary, columns),
        '<section id="conventions">',
        "<h2>Conventions</h2>",
        conventions(summary),
        "</section>",
        "<footer>Computed by cnncalc from the architecture alone.</footer>",
        "</main>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


__all__ = ["CSS", "fragment", "render"]
