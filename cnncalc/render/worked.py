"""Worked formulas (:class:`cnncalc.explain.Explanation`, data) as text, Markdown, LaTeX and JSON: per
layer a heading, the values it takes ("with ..."), then label = formula = substituted = value, parts
that say nothing new left out, long lines broken between parts, then terms.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from ..errors import CnncalcError
from ..symbolic import free_symbols, is_symbolic, to_text
from .formulas import formula, in_place, label_latex, latex_name, nice, pieces, value_latex, value_text

if TYPE_CHECKING:  # the renderers see an explanation only as a type: explain imports them
    from ..explain import Explanation, LayerFormulas, Quantity

FORMATS = ("text", "markdown", "latex", "json")


#: The quantities by the summary's keys, in their order.
KEYS = ("output", "params", "macs", "activations", "rf", "jump", "start", "fc_params", "local_params")


def only(explanation: Explanation, keys: str | tuple[str, ...] | list[str]) -> Explanation:
    """``explanation`` with only the quantities of ``keys`` and the variables they use (a view)."""
    from dataclasses import replace

    wanted = [k.strip() for k in keys.split(",") if k.strip()] if isinstance(keys, str) else list(keys)
    unknown = [k for k in wanted if k not in KEYS]
    if unknown or not wanted:
        raise CnncalcError(f"unknown quantity {unknown[0] if unknown else ''!r}; quantities: {', '.join(KEYS)}")
    layers = []
    for layer in explanation.layers:
        kept = tuple(q for q in layer.quantities if q.key in wanted)
        used = set().union(*(free_symbols(q.formula) for q in kept))
        layers.append(replace(layer, quantities=kept, variables=tuple(v for v in layer.variables if v.name in used)))
    return replace(explanation, layers=tuple(layers))


def _parts(layer: LayerFormulas, q: Quantity, format: str) -> tuple[list[str] | None, list[str] | None, list[str]]:
    """(formula, substituted, value) as pieces; the first two None where they say nothing new: a
    formula that is its label (C_out = C_out), a substituted line that is one value or the result."""
    formula_ = pieces(q.formula, format)
    line: list[str] | None = pieces(q.formula, format, layer.values)
    value = pieces(nice(q.value), format)
    if getattr(q.formula, "is_Symbol", False) or line == formula_ or _digits(line or []) == _digits(value):
        line = None
    same = formula_ == [latex_name(q.name) if format == "latex" else q.name] or _digits(formula_) == _digits(value)
    return None if same else formula_, line, value


def _digits(part: list[str]) -> list[str]:
    """Pieces without thousands separators: 4096 and 4,096 say the same."""
    return [re.sub(r"\{?,\}?", "", p) for p in part]


def _given(layer: LayerFormulas, latex: bool) -> list[str]:
    """ "H_in = W_in = 224", "k_d = 3, k_h = k_w = 7 (kernel_size)": the variables taken from the
    layer, its input and the incoming field, equal neighbours written once, each origin named once."""
    from .latex_fit import escape

    groups: list[tuple[str, list[tuple[Any, list[str]]]]] = []
    for v in layer.variables:
        if v.meaning.startswith("output"):
            continue  # computed above as quantities
        origin = v.meaning.split(" (")[0]  # kernel_size (height) and (width) are one origin
        if not groups or groups[-1][0] != origin:
            groups.append((origin, []))
        chain = groups[-1][1]
        if chain and chain[-1][0] == v.value:
            chain[-1][1].append(v.name)
        else:
            chain.append((v.value, [v.name]))
    out = []
    for origin, chain in groups:
        for i, (value, names) in enumerate(chain):
            shown = [latex_name(n) if latex else n for n in names]
            text = " = ".join([*shown, in_place(value, latex, wrap=False)])
            text = f"${text}$" if latex else text
            last = i == len(chain) - 1 and not origin.startswith(("input", "incoming"))
            out.append(f"{text} ({escape(origin) if latex else origin})" if last else text)
    return out


def _shape(x: tuple[Any, ...], latex: bool) -> str:
    return "[" + ", ".join(str(v) if isinstance(v, int) else (value_latex if latex else value_text)(v) for v in x) + "]"


def _heading(layer: LayerFormulas, latex: bool, width: int = 0) -> list[str]:
    """ "conv1 (conv2d): [3, 224, 224] -> [64, 224, 224]" (inputs of a merge joined by "and"), the
    output on a line of its own where the line would be wider than ``width``."""
    if latex:
        from .latex_fit import escape

        ins = "$ and $".join(_shape(x, True) for x in layer.inputs)
        return [rf"\textbf{{{escape(layer.name)}}} ({escape(layer.kind)}): ${ins} \to {_shape(layer.output, True)}$"]
    ins = " and ".join(_shape(x, False) for x in layer.inputs)
    first, out = f"{layer.name} ({layer.kind}): {ins}", f"-> {_shape(layer.output, False)}"
    return [f"{first} {out}"] if not width or len(first) + len(out) < width else [first, "  " + out]


def _visible(tex: str) -> int:
    """About how many characters wide LaTeX source is set (commands, braces and spaces take none)."""
    return len(re.sub(r"\\(?:left|right|mathrm|text|frac)|[{}\s_^]|\\(?=[a-z])", "", re.sub(r"\\cdot", "*", tex)))


def _pack(parts: list[list[str]], room: int, size: Any = len) -> list[list[str]]:
    """Rows of tokens for label = part = part...: "=" starts a part. All on one row where they fit;
    else the formula alone on the first, the rest packed on the next rows (a part that does not fit
    a row breaks between its pieces, its terms)."""
    rows: list[list[str]] = [[]]
    used = 0
    alone = sum(2 + sum(size(p) + 1 for p in part) for part in parts) > room
    for i, part in enumerate(parts):
        if i > 0 and (used + 2 + sum(size(p) + 1 for p in part) > room or (alone and i == 1)):
            rows.append([])
            used = 0
        rows[-1].append("=")
        used += 2
        for piece in part:
            if used + size(piece) + 1 > room and rows[-1][-1] != "=":
                rows.append([])
                used = 3
            rows[-1].append(piece)
            used += size(piece) + 1
    return rows


def _chunks(part: list[str], room: int) -> list[str]:
    """Text pieces longer than ``room`` broken after their products' stars (a term may be long)."""
    out = []
    for piece in part:
        chunks = [""]
        for factor in re.split(r"(?<=\*)", piece):
            if chunks[-1] and len(chunks[-1]) + len(factor) > room:
                chunks.append("")
            chunks[-1] += factor
        out += chunks
    return out


def _wrap_items(items: list[str], first: str, indent: str, width: int) -> list[str]:
    lines = [first]
    for i, item in enumerate(items):
        text = item + ("," if i < len(items) - 1 else "")
        if len(lines[-1]) + 1 + len(text) > width:
            lines.append(indent + text)
        else:
            lines[-1] += " " + text
    return lines


def text(explanation: Explanation, width: int = 80) -> str:
    """The formulas as aligned text within ``width`` columns: per layer its heading, the values it
    takes ("with ..."), then each quantity as label = formula = substituted = value."""
    lines = [explanation.title]
    for layer in explanation.layers:
        lines += ["", *_heading(layer, False, width)]
        given = _given(layer, False)
        if given:
            lines += _wrap_items(given, "  with", "    ", width)
        column = 2 + max(len(q.name) for q in layer.quantities)  # the "=" stands one after
        for q in layer.quantities:
            room = width - column - 1
            rows = _pack([_chunks(p, room - 5) for p in _parts(layer, q, "text") if p is not None], room)
            for r, row in enumerate(rows):
                start = f"  {q.name:<{column - 2}}" if r == 0 else " " * column + ("" if row[0] == "=" else "   ")
                lines.append(start + " " + " ".join(row))
    return "\n".join(lines) + "\n"


def markdown(explanation: Explanation) -> str:
    """The formulas as Markdown: a heading and a table (quantity, formula, with the numbers, value)
    per layer; formulas as code spans."""
    lines = [f"**{explanation.title}**"]
    for layer in explanation.layers:
        lines += ["", f"#### {_heading(layer, False)[0].replace('->', '→')}", ""]
        given = _given(layer, False)
        if given:
            lines += ["with " + ", ".join(re.sub(r"^(.*?)( \(\w+\))?$", r"`\1`\2", g) for g in given), ""]
        lines += ["| quantity | formula | with the numbers | value |", "| --- | --- | --- | ---: |"]
        for q in layer.quantities:
            formula_, line, value = (None if p is None else " ".join(p) for p in _parts(layer, q, "text"))
            cells = [q.name, formula_, line, value]
            lines.append("| " + " | ".join("" if c is None else f"`{c}`" for c in cells[:3]))
            lines[-1] += f" | {f'`{value}`' if is_symbolic(q.value) else value} |"
    return "\n".join(lines) + "\n"


#: About how many characters of math fit a row of an align* in an article or a beamer frame.
LATEX_ROOM = 46


def _latex_rows(layer: LayerFormulas, q: Quantity) -> list[str]:
    """One quantity as align* rows: label &= formula = substituted = value, parts and long parts'
    terms moved to rows of their own (each row within about :data:`LATEX_ROOM` characters)."""
    parts = [p for p in _parts(layer, q, "latex") if p is not None]
    rows = _pack(parts, LATEX_ROOM - _visible(label_latex(q.name)) // 2, _visible)
    out = []
    for r, row in enumerate(rows):
        start = label_latex(q.name) + " " if r == 0 else ""
        start += "&" if row[0] == "=" else r"&\qquad "
        out.append(start + " ".join(row) + r" \\")
    return out


def latex(explanation: Explanation) -> str:
    """The formulas as LaTeX for an article or a beamer frame: per layer a heading line and an
    ``align*`` of its quantities (needs amsmath, which beamer loads)."""
    # \allowdisplaybreaks in a group: a layer's align* may break across pages, nothing else changes.
    lines = [
        r"% Requires \usepackage{amsmath}",
        f"% Worked formulas: {explanation.title}",
        r"\begingroup\allowdisplaybreaks",
    ]
    for layer in explanation.layers:
        given = _given(layer, True)
        heading = _heading(layer, True)[0] + (", with " + ", ".join(given) if given else "")
        rows = [row for q in layer.quantities for row in _latex_rows(layer, q)]
        rows[-1] = rows[-1].removesuffix(r" \\")
        lines += ["", r"\noindent " + heading, r"\begin{align*}", *("  " + row for row in rows), r"\end{align*}"]
    return "\n".join([*lines, r"\endgroup"]) + "\n"


def notebook_latex(explanation: Explanation) -> str:
    """What a notebook typesets (MathJax, KaTeX): one ``aligned`` block in display math."""
    rows = []
    for layer in explanation.layers:
        # The heading's text and math parts: \text around the words, the shapes as math (no "->" in text).
        parts = _heading(layer, True)[0].split("$")
        row = "&" + "".join(rf"\text{{{p}}}" if i % 2 == 0 else p for i, p in enumerate(parts) if p) + r" \\"
        rows.append(re.sub(r"\\text\{\\textbf\{(.*?)\}", r"\\textbf{\1}\\text{", row))  # MathJax: no \textbf in \text
        rows += [row for q in layer.quantities for row in _latex_rows(layer, q)]
    return "$$\n\\begin{aligned}\n" + "\n".join(rows).removesuffix(r" \\") + "\n\\end{aligned}\n$$\n"


def _plain(value: Any) -> Any:
    """A value as JSON: an int, a float (a half), or a sympy-syntax string."""
    if value is None or isinstance(value, (int, float)):
        return value
    return float(value) if getattr(value, "is_Number", False) or hasattr(value, "denominator") else to_text(value)


def to_data(explanation: Explanation) -> dict[str, Any]:
    """The explanation as JSON-ready data: per layer its variables and quantities, each with its
    formula and substituted line in sympy's syntax and in LaTeX, and its value."""
    layers = []
    for layer in explanation.layers:
        values = layer.values
        quantities = [
            {"quantity": q.name, "key": q.key, "axis": q.axis, "formula": formula(q.formula, "json"),
             "substituted": formula(q.formula, "json", values), "value": _plain(q.value),
             "latex": {"formula": formula(q.formula, "latex"), "substituted": formula(q.formula, "latex", values),
                       "value": value_latex(q.value)}}
            for q in layer.quantities
        ]  # fmt: skip
        layers.append({
            "name": layer.name, "kind": layer.kind, "inputs": [[_plain(v) for v in x] for x in layer.inputs],
            "output": [_plain(v) for v in layer.output],
            "variables": [{"name": v.name, "value": _plain(v.value), "meaning": v.meaning} for v in layer.variables],
            "numeric": list(layer.numeric), "quantities": quantities,
        })  # fmt: skip
    return {"title": explanation.title, "layers": layers}


def render(explanation: Explanation, format: str = "text", *, width: int = 80) -> str:
    """``explanation`` in ``format``: text (within ``width`` columns), markdown, latex or json."""
    if format == "text":
        return text(explanation, width)
    if format == "markdown":
        return markdown(explanation)
    if format == "latex":
        return latex(explanation)
    if format == "json":
        return json.dumps(to_data(explanation), indent=2) + "\n"
    raise CnncalcError(f"unknown format {format!r} for explain; formats: {', '.join(FORMATS)}")


__all__ = ["FORMATS", "KEYS", "latex", "markdown", "notebook_latex", "render", "text", "to_data"]
