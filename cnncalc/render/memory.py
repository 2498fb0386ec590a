"""Memory figures as a text or Markdown table with totals in binary units, or as JSON (data in,
text out: see :mod:`cnncalc.memory`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..errors import CnncalcError
from ..symbolic import to_text

if TYPE_CHECKING:
    from ..memory import Memory

UNITS = (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10))


def human(value: Any) -> str:
    """Bytes in binary units (3.44 GiB), exact below 1 KiB; a formula in B as it is."""
    if not isinstance(value, int):
        (b, *more) = sorted(value.free_symbols, key=str)
        poly = value.as_poly(b) if not more else None
        if poly is None or poly.degree() != 1 or not all(c.is_Integer for c in poly.all_coeffs()):
            return to_text(value, display=True) + " bytes"
        a, c = (int(x) for x in poly.all_coeffs())
        return f"{human(a)} x {b}" + (f" + {human(c)}" if c else "")
    for unit, size in UNITS:
        if abs(value) >= size:
            return f"{value / size:,.2f} {unit}"
    return f"{value:,} bytes"


def _exact(value: Any) -> str:
    """The exact bytes after a rounded figure: " (553,430,176 bytes)", " (73355264*B + 2213720704 bytes)"."""
    if isinstance(value, int):
        return f" ({value:,} bytes)" if value >= 1024 else ""
    return f" ({to_text(value, display=True)} bytes)"


def _totals(m: Memory) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [
        ("parameters", m.param_bytes),
        ("buffers (BatchNorm running statistics)", m.buffer_bytes),
    ]
    if m.training:
        rows += [
            ("gradients", m.gradient_bytes),
            (f"optimizer state ({m.training})", m.optimizer_bytes),
            ("activations saved for backward", m.saved_bytes),
            ("training total", m.training_bytes),
        ]
    rows += [
        (f"inference activation peak (at {m.peak_layer})", m.activation_peak),
        ("inference total", m.inference_bytes),
    ]
    return rows


def _text(m: Memory, markdown: bool) -> str:
    batch = to_text(m.batch, display=True)
    mode = f"training with {m.training}" if m.training else "inference"
    title = f"{m.name}: memory at batch {batch}, {m.dtype}, {mode}"
    heads = ["Layer", "Kind", "Output", "Saved for backward"] if m.training else ["Layer", "Kind", "Output"]
    cells = [[r.name, r.kind, human(r.output_bytes) if r.output_bytes else "-"] for r in m.layers]
    if m.training:
        for c, r in zip(cells, m.layers, strict=True):
            c.append(human(r.saved_bytes) if r.saved_bytes else "-")
    totals = [(k, human(v) + _exact(v)) for k, v in _totals(m)]
    if markdown:
        lines = [
            f"**{title}**",
            "",
            "| " + " | ".join(heads) + " |",
            "|" + "|".join(["---", "---", *["---:"] * (len(heads) - 2)]) + "|",
        ]
        lines += ["| " + " | ".join(c) + " |" for c in cells]
        lines += ["", *(f"- {k}: {v}" for k, v in totals)]
        return "\n".join([*lines, "", *(f"- *{k}*: {v}" for k, v in m.conventions.items())]) + "\n"
    widths = [max(len(x) for x in col) for col in zip(heads, *cells, strict=True)]
    lines = [
        title,
        "",
        "  ".join(h.ljust(w) if i < 2 else h.rjust(w) for i, (h, w) in enumerate(zip(heads, widths, strict=True))),
    ]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(x.ljust(w) if i < 2 else x.rjust(w) for i, (x, w) in enumerate(zip(c, widths, strict=True)))
        for c in cells
    ]
    label = max(len(k) for k, _ in totals)
    lines += ["", *(f"{k.ljust(label)}  {v}" for k, v in totals)]
    return "\n".join([*lines, "", *(f"{k}: {v}" for k, v in m.conventions.items())]) + "\n"


def render_memory(m: Memory, format: str = "text") -> str:
    """``m`` as text, Markdown or JSON."""
    if format == "json":
        return json.dumps(m.to_dict(), indent=2) + "\n"
    if format not in ("text", "markdown"):
        raise CnncalcError(f"unknown format {format!r} for memory; formats: text, markdown, json")
    return _text(m, markdown=format == "markdown")


__all__ = ["human", "render_memory"]
