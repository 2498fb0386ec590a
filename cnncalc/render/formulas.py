"""Formulas as a lecture writes them, for worked formulas (:mod:`cnncalc.render.worked` lays them out).

Formulas print through sympy's own printers, subclassed only to put each variable's value in its
symbol's place (the substituted line) and to write the textbook's order: factors k_h*k_w*C_in*C_out,
terms H_in + 2*p_h - k_h. :func:`nice` gives a formula the form a lecture writes, the same value:
floor((A + s)/s) as floor(A/s) + 1, a dilation gathered as d*(k - 1), ceilings as in the summaries.
"""

from __future__ import annotations

import re
from fractions import Fraction
from functools import cache, lru_cache
from typing import Any

from ..symbolic import _sp, is_symbolic, pretty, to_latex, to_text

#: The order of factors in a product and of terms in a sum, by a symbol's base name (its letters
#: before the axis suffix, with _in or _out); names not listed follow, alphabetically.
FACTOR_ORDER = ("d", "k", "C_in", "F_in", "D_in", "H_in", "W_in", "L_in", "rf", "start", "jump", "C_out", "F_out",
                "D_out", "H_out", "W_out", "L_out", "o", "f", "n", "s", "p", "op", "g")  # fmt: skip
TERM_ORDER = ("rf", "start", "D_in", "H_in", "W_in", "L_in", "C_in", "F_in", "jump", "p", "d", "k", "op", "C_out",
              "F_out", "o", "f", "n", "g", "s")  # fmt: skip
#: Labels of the quantities that are words, not symbols.
WORDS = {"params": "params", "MACs": "MACs", "activations": "activations", "fc_params": "FC params",
         "local_params": "local params"}  # fmt: skip


def _base(name: str) -> str:
    """k_h -> k, H_in -> H_in, H_in2 -> H_in, rf_h_in -> rf: the name without its axis."""
    parts = name.split("_")
    io = next((p.rstrip("0123456789") for p in parts[1:] if p.rstrip("0123456789") in ("in", "out")), "")
    return f"{parts[0]}_{io}" if io and parts[0] in ("C", "F", "D", "H", "W", "L") else parts[0]


def _rank(expr: Any, order: tuple[str, ...]) -> tuple[int, bool, str]:
    """Where ``expr`` goes: its first symbol's place in ``order``; the network's own symbols (H, W)
    after, plain ones before compound ones (192*H*W*floor(...)*floor(...))."""
    ranks = sorted((order.index(b), s.name) if b in order else (len(order), "") for s in expr.free_symbols
                   for b in (_base(s.name),))  # fmt: skip
    first = ranks[0] if ranks else (len(order) + 1, "")
    return first[0], first[0] >= len(order) and not expr.is_Symbol, first[1] or str(expr)


def _degree(term: Any) -> int:
    return sum(term.as_powers_dict().values()) if term.is_Mul or term.is_Pow else 1


def arranged(expr: Any) -> Any:
    """``expr`` rebuilt unevaluated in the textbook's order: by :data:`FACTOR_ORDER`/:data:`TERM_ORDER`,
    numbers first in a product and last in a sum, a sum led by a positive term (k - 2p - 1)."""
    sp = _sp()
    if not isinstance(expr, sp.Basic) or expr.is_Atom:
        return expr
    args = [arranged(a) for a in expr.args]
    if expr.is_Add:
        terms = sorted(args, key=lambda t: (t.is_Number, *_rank(t, TERM_ORDER), -_degree(t)))
        lead = next((t for t in terms if not t.could_extract_minus_sign()), terms[0])
        return sp.Add(lead, *(t for t in terms if t is not lead), evaluate=False)
    if expr.is_Mul:
        return sp.Mul(*sorted(args, key=lambda f: (not f.is_Number, *_rank(f, FACTOR_ORDER))), evaluate=False)
    return expr.func(*args, evaluate=False)


def _gathered(expr: Any) -> Any:
    """A sum with a symbol's terms gathered where they share it: H + 2p - d*k + d - 1 becomes
    H + 2p - d*(k - 1) - 1 (the sign taken out so that the sum inside starts positive)."""
    sp = _sp()
    for s in sorted(expr.free_symbols, key=lambda s: s.name):
        c = expr.coeff(s)
        if c.is_Add and not c.has(s):
            signs = [t.could_extract_minus_sign() for t in sp.Add.make_args(c) if not t.is_Number]
            inner = -c if 2 * sum(signs) > len(signs) else c  # 1 - k as -(k - 1)
            sign = -1 if inner is not c else 1
            return _gathered(sp.expand(expr - c * s)) + sp.Mul(sign, s, inner)
    return expr


def nice(value: Any) -> Any:
    """``value`` as a lecture writes it, the same number: floor((A + s)/s) as floor(A/s) + 1 where
    that takes a term away, shared factors gathered (d*(k - 1)), and the common denominators and
    ceilings of :func:`cnncalc.symbolic.pretty`."""
    return _nice(value) if is_symbolic(value) else value


@lru_cache(maxsize=4096)  # the layers of a kind share their formulas: one conv2d's are every conv2d's
def _nice(value: Any) -> Any:
    sp = _sp()
    value = pretty(value)
    better = {}
    for f in value.atoms(sp.floor):
        num, den = sp.fraction(sp.together(f.args[0]))
        if den.is_Number or not num.is_Add:
            continue
        rest = sp.expand(num - den)
        if len(sp.Add.make_args(rest)) < len(sp.Add.make_args(sp.expand(num))):
            better[f] = sp.floor(_gathered(rest) / den, evaluate=False) + 1
    return value.xreplace(better) if better else value


def latex_name(name: str) -> str:
    """A variable's name in LaTeX: H_in as H_{\\mathrm{in}}, rf_h_in as \\mathrm{rf}_{h,\\mathrm{in}}."""
    base, *subs = name.split("_")
    head = base if len(base) == 1 else rf"\mathrm{{{base}}}"
    parts = [re.sub(r"^([a-z]{2,})(\d*)$", r"\\mathrm{\1}\2", s) for s in subs]
    return f"{head}_{{{','.join(parts)}}}" if parts else head


def label_latex(name: str) -> str:
    """A quantity's label in LaTeX: a word as text, a symbol as :func:`latex_name`."""
    return rf"\text{{{WORDS[name]}}}" if name in WORDS else latex_name(name)


def _number_latex(n: int) -> str:
    return f"{n:,}".replace(",", "{,}")


def value_text(value: Any) -> str:
    """A result as text: 1,792; 1.5; an expression as the summaries print it (ceil(H/32))."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.15g}"
    return to_text(value, display=True)


def value_latex(value: Any) -> str:
    """A result in LaTeX: 1{,}792; an expression through sympy's printer."""
    if isinstance(value, int) and not isinstance(value, bool):
        return _number_latex(value)
    if isinstance(value, float):
        return f"{value:.15g}"
    return re.sub(r"(?<![\d.])\d{4,}(?![\d.])", lambda m: _number_latex(int(m.group())), to_latex(value))


def in_place(value: Any, latex: bool, display: bool = True, wrap: bool = True) -> str:
    """A variable's value as it stands in a substituted formula: digits without separators in text
    (3*224*224), and in parentheses (``wrap``) where it is a sum, a product or negative; ``display``
    False: sympy's own syntax (ceiling, not ceil)."""
    if getattr(value, "is_Number", False) or isinstance(value, (int, float, Fraction)):
        v = int(value) if isinstance(value, int) or getattr(value, "is_Integer", False) else float(value)
        text = (_number_latex(v) if latex else str(v)) if isinstance(v, int) else f"{v:.15g}"
        return f"({text})" if v < 0 and wrap else text
    text = value_latex(value) if latex else value_text(value) if display else to_text(value)
    compound = wrap and (value.is_Add or value.is_Mul or value.is_Pow)
    return (rf"\left({text}\right)" if latex else f"({text})") if compound else text


@cache
def _printers() -> tuple[type, type]:
    """sympy's str and LaTeX printers, in the given order, with values in their symbols' places."""
    from sympy.printing.latex import LatexPrinter
    from sympy.printing.str import StrPrinter

    class Text(StrPrinter):  # type: ignore[misc]
        def __init__(self, values: dict[Any, str], display: bool = True) -> None:
            super().__init__({"order": "none"})
            self.values, self.display = values, display

        def _print_Symbol(self, expr: Any) -> str:
            return str(self.values.get(expr, expr.name))

        def _print_ceiling(self, expr: Any) -> str:
            return f"{'ceil' if self.display else 'ceiling'}({self._print(expr.args[0])})"

        def _print_Min(self, expr: Any) -> str:
            return ("min(" if self.display else "Min(") + ", ".join(self._print(a) for a in expr.args) + ")"

    class Latex(LatexPrinter):  # type: ignore[misc]
        def __init__(self, values: dict[Any, str]) -> None:
            # Numbers side by side need a dot: 3 \cdot 3, (3 - 1) \cdot 1; symbols do not (k_h k_w).
            super().__init__({"order": "none", "mul_symbol": "dot" if values else None})
            self.values = values

        def _print_Symbol(self, expr: Any, style: str = "plain") -> str:
            return str(self.values.get(expr, latex_name(expr.name)))

    return Text, Latex


def pieces(expr: Any, format: str = "text", values: dict[Any, Any] | None = None) -> list[str]:
    """``expr`` printed in ``format`` (text, latex, or json: sympy's syntax) in the textbook's order,
    as the terms of a sum ("a", "+ b", "- c": places where a long line may break); with ``values``
    (symbol -> value) each symbol is printed as its value: the substituted line."""
    latex = format == "latex"
    if not is_symbolic(expr):
        return [value_latex(expr) if latex else value_text(expr) if format == "text" else str(expr)]
    shown = {s: in_place(v, latex, format == "text") for s, v in (values or {}).items()}
    Text, Latex = _printers()
    printer = Latex(shown) if latex else Text(shown, display=format == "text")
    terms = arranged(expr)
    out: list[str] = []
    for term in terms.args if terms.is_Add else (terms,):
        text = str(printer.doprint(term))
        if latex:
            text = re.sub(r"(?<![\d.{,])\d{4,}(?![\d.])", lambda m: _number_latex(int(m.group())), text)
        if out:
            text = "- " + text[1:].lstrip() if text.startswith("-") else "+ " + text
        out.append(text)
    return out


def formula(expr: Any, format: str = "text", values: dict[Any, Any] | None = None) -> str:
    """``expr`` in ``format`` (text, latex or json) as :func:`pieces` prints it, on one line."""
    return " ".join(pieces(expr, format, values))


__all__ = [
    "arranged",
    "formula",
    "in_place",
    "label_latex",
    "latex_name",
    "nice",
    "pieces",
    "value_latex",
    "value_text",
]
