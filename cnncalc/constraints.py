"""Valid inputs: for every symbol, the exact set of values at which a network is valid, and the
layers that impose it.

One symbolic evaluation collects every rule the shapes must meet (each output size at least 1,
merged sizes equal, channels divisible by groups, padding within its input; :mod:`cnncalc.errors`
explains how the rules note them). Each rule on one symbol is solved exactly by
:func:`cnncalc.periodic.solve` - sizes are floors of linear forms, so a rule is a bound, a residue
class or a finite set - and a symbol's set is the intersection of its rules' sets and of what the
file declares (``multiple_of``). Rules on several symbols at once are kept as they are and checked
point by point.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import CnncalcError, Collector, Condition, Location
from .evaluate import evaluate
from .periodic import IntSet, NotPeriodic, solve
from .symbolic import floordiv, free_symbols, substitute, symbol, to_latex, to_text

if TYPE_CHECKING:
    from .network import Network
    from .report import Summary


@dataclass(frozen=True, slots=True)
class Rule:
    """One condition the network needs: ``value >= 0`` (relation "ge") or ``value == 0`` ("eq"),
    imposed by ``layer`` (kind ``kind``, at ``location``); ``solution`` is its exact set where it
    is on one symbol and solvable, else None."""

    relation: str
    value: Any
    what: str
    layer: str
    kind: str
    location: Location | None
    symbols: tuple[str, ...]
    solution: IntSet | None
    side: bool = False

    @property
    def condition(self) -> str:
        """The condition as people write it: ``floor((H - 31)/32) >= 1``, ``2*floor(H/2) = H``."""
        if self.kind == "declared":
            return self.what
        left, right = self._sides()
        op = ">=" if self.relation == "ge" else "="
        return f"{to_text(left, display=True)} {op} {to_text(right, display=True)}"

    @property
    def latex(self) -> str:
        """The condition in LaTeX math (sympy's printer): ``\\left\\lfloor ... \\right\\rfloor \\geq 1``."""
        if self.kind == "declared":
            return _set_latex(self.what)
        left, right = self._sides()
        op = "\\geq" if self.relation == "ge" else "="
        return f"{to_latex(left)} {op} {to_latex(right)}"

    def _sides(self) -> tuple[Any, Any]:
        """``value`` as left - right, the terms with a minus sign moved to the right."""
        terms = self.value.as_ordered_terms() if hasattr(self.value, "as_ordered_terms") else [self.value]
        left = sum((t for t in terms if not t.could_extract_minus_sign()), start=0)
        right = sum((-t for t in terms if t.could_extract_minus_sign()), start=0)
        return left, right

    @property
    def origin(self) -> str:
        """Where the rule comes from: ``pool3 (maxpool2d, line 40)``."""
        line = f", line {self.location.line}" if self.location and self.location.line else ""
        side = ", a side branch" if self.side else ""
        return f"{self.layer} ({self.kind}{line}{side})"

    def __str__(self) -> str:
        return f"{self.origin}: {self.what}: {self.condition}"

    def holds(self, values: Mapping[str, int]) -> bool:
        """Whether the rule holds at ``values`` (every symbol it uses given)."""
        v = substitute(self.value, dict(values))
        return bool(v >= 0 if self.relation == "ge" else v == 0)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data."""
        return {
            "layer": self.layer,
            "kind": self.kind,
            "line": self.location.line if self.location else None,
            "what": self.what,
            "condition": self.condition,
            "relation": ">= 0" if self.relation == "ge" else "== 0",
            "expression": to_text(self.value),
            "symbols": list(self.symbols),
            "side_branch": self.side,
            "solution": None if self.solution is None else self.solution.to_dict(),
        }


def _set_latex(text: str) -> str:
    """A set as :meth:`IntSet.describe` writes it ("H >= 63 and H % 16 == 0"), in LaTeX math."""
    text = re.sub(r"^any (\w+) >= 1$", r"\1 >= 1", text).replace("{", "\\{").replace("}", "\\}")
    text = re.sub(r"% (\d+) == (\d+)", r"\\equiv \2 \\pmod{\1}", text)
    text = re.sub(r"% (\d+) in ", r"\\bmod \1 in ", text)
    for old, new in ((">=", "\\geq"), (" in \\{", " \\in \\{"), (", or ", " \\text{ or } "), (" and ", ",\\ ")):
        text = text.replace(old, new)
    return text


@dataclass(frozen=True, slots=True)
class Constraints:
    """The valid values of every symbol of a network, with the rules that make them so.

    ``sets[name]`` is the exact set of valid values of ``name`` (the other symbols valid); ``reasons[name]``
    an irredundant list of rules that together give it; ``exact[name]`` is False where a rule on
    ``name`` could not be solved (then ``sets`` holds the solvable ones only and :meth:`valid`
    still checks every rule); ``joint`` the rules on several symbols at once. ``main[name]`` is the
    set without side branches (layers whose output the last layer does not use, such as Inception's
    auxiliary classifier: torchvision runs it in training only).
    """

    name: str
    sets: dict[str, IntSet]
    main: dict[str, IntSet]
    reasons: dict[str, tuple[Rule, ...]]
    exact: dict[str, bool]
    rules: tuple[Rule, ...]
    joint: tuple[Rule, ...]
    declared: dict[str, int]

    def describe(self, name: str) -> str:
        """``H >= 63``: the valid values of one symbol as text."""
        return self.sets[name].describe(name)

    def minimum(self, name: str, side_branches: bool = True) -> int | None:
        """The smallest valid value of ``name`` (None if there is none); without the side branches'
        rules when ``side_branches`` is False (torchvision's ``min_size`` is measured so)."""
        return (self.sets if side_branches else self.main)[name].minimum()

    def smallest(self, names: Iterable[str], side_branches: bool = True) -> int | None:
        """The smallest n valid for all of ``names`` at once (a square input: H = W = n)."""
        meet = IntSet.everything()
        for n in names:
            meet = meet & (self.sets if side_branches else self.main)[n]
        return meet.minimum()

    def violated(self, **values: int) -> list[Rule]:
        """The rules that fail at ``values`` (every symbol of a rule given; rules with a symbol left
        out are skipped)."""
        given = set(values)
        return [r for r in self.rules if set(r.symbols) <= given and not r.holds(values)]

    def valid(self, **values: int) -> bool:
        """Whether the network is valid at ``values`` as far as they go."""
        return not self.violated(**values)

    def why(self, **values: int) -> str:
        """What ``values`` break, as one sentence: ``H=50: AlexNet needs H >= 63 (pool3 ...)``."""
        broken = self.violated(**values)
        if not broken:
            return ""
        names = [n for n in self.sets if n in values and values[n] not in self.sets[n]]
        if not names:  # only a joint rule fails
            return f"{self.name} needs {broken[0].condition} ({broken[0]})"
        first = next((r for r in self.reasons[names[0]] if not r.holds(values)), broken[0])
        given = ", ".join(f"{n}={values[n]}" for n in names)
        needs = " and ".join(self.describe(n) for n in names)
        return f"{given}: {self.name} needs {needs} (because of {first})"

    def render(self, format: str = "text") -> str:
        """The constraints as text, Markdown, LaTeX (an itemize) or JSON (:meth:`to_dict`)."""
        if format == "json":
            return json.dumps(self.to_dict(), indent=2) + "\n"
        if format not in ("text", "markdown", "latex"):
            raise CnncalcError(f"unknown format {format!r} for constraints; formats: text, markdown, latex, json")
        return _render(self, format)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data: per symbol its set (text, smallest value, exact residue classes) and reasons."""
        return {
            "name": self.name,
            "symbols": {
                n: {
                    "valid": self.describe(n),
                    "minimum": self.minimum(n),
                    "without_side_branches": self.main[n].describe(n),
                    "exact": self.exact[n],
                    "declared_multiple_of": self.declared.get(n),
                    "set": s.to_dict(),
                    "because": [r.to_dict() for r in self.reasons[n]],
                }
                for n, s in self.sets.items()
            },
            "joint": [r.to_dict() for r in self.joint],
            "rules": [r.to_dict() for r in self.rules],
        }

    def __str__(self) -> str:
        return self.render("text")

    def _repr_markdown_(self) -> str:
        return self.render("markdown")


def _items(c: Constraints, code: Callable[[str], str], plain: Callable[[str], str]) -> list[tuple[str, list[str]]]:
    """Per symbol: its set, then why (rules, the declaration, side branches); joint rules last.
    ``code`` marks a condition (a LaTeX ``code`` gets text and turns it into math)."""
    items = []
    latex = code("x") == "\\(x\\)"
    for name, s in c.sets.items():
        head = code(s.describe(name)) + ("" if c.exact[name] else plain(" (rules not reduced: checked point by point)"))
        why = [
            f"\\({r.latex}\\), " + plain(f"because of {r.origin}: {r.what}")
            if latex
            else plain(f"because of {r.origin}: {r.what}: ") + code(r.condition)
            for r in c.reasons[name]
            if r.kind != "declared"  # said below, with whether the layers need it
        ]
        if name in c.declared:
            needed = _declaration_needed(c, name)
            note = "the network needs it too" if not needed else f"stricter than the layers need ({needed})"
            why.append(plain(f"declared in the file: multiple of {c.declared[name]}; {note}"))
        if c.main[name] != s:
            why.append(plain("without side branches: ") + code(c.main[name].describe(name)))
        items.append((head, why))
    items += [
        ((f"\\({r.latex}\\)" if latex else code(r.condition)) + plain(f" ({r.origin}: {r.what})"), []) for r in c.joint
    ]
    return items


def _render(c: Constraints, style: str) -> str:
    smallest = {n: c.minimum(n) for n in c.sets}
    last = ""
    if smallest and all(v is not None for v in smallest.values()):
        last = "smallest values: " + ", ".join(f"{n} = {v}" for n, v in smallest.items())
    if style == "latex":
        from .render.latex_fit import escape

        items = _items(c, lambda t: f"\\({_set_latex(t)}\\)", lambda t: escape(t).replace(">=", "\\(\\geq\\)"))
        lines = [f"% cnncalc constraints: {escape(c.name)}", "\\begin{itemize}"]
        for head, why in items:
            lines.append(f"  \\item {head}")
            lines += ["  \\begin{itemize}", *(f"    \\item {w}" for w in why), "  \\end{itemize}"] if why else []
        return "\n".join([*lines, "\\end{itemize}", escape(last) + "\\par"]) + "\n"
    markdown = style == "markdown"
    items = _items(c, (lambda t: f"`{t}`") if markdown else (lambda t: t), lambda t: t)
    lines = [f"## {c.name}: valid values", ""] if markdown else [f"{c.name}: valid values"]
    for head, why in items:
        lines.append(f"- {head}" if markdown else f"  {head}")
        lines += [f"  - {w}" if markdown else _wrapped(f"      {w}") for w in why]
    return "\n".join([*lines, *(["", last] if markdown and last else [last] if last else [])]) + "\n"


def _wrapped(line: str) -> str:
    """A text line folded to the terminal's width (COLUMNS) after a ": " or "; " (so that a
    condition stays whole), continued under its own indent + 2."""
    from .render.text import terminal_width

    width = max(40, terminal_width())
    indent = " " * (len(line) - len(line.lstrip()) + 2)
    lines = [line]
    while len(lines[-1]) > width:
        last = lines[-1]
        cut = max(last.rfind(": ", 0, width), last.rfind("; ", 0, width))
        if cut <= len(indent):
            break
        lines[-1:] = [last[: cut + 1], indent + last[cut + 2 :]]
    return "\n".join(lines)


def _declaration_needed(c: Constraints, name: str) -> str:
    """ "" where the layers alone need the declared multiple, else what they need."""
    alone = IntSet.everything()
    for r in c.rules:
        if r.symbols == (name,) and r.solution is not None and r.kind != "declared":
            alone = alone & r.solution
    return "" if alone == c.sets[name] else alone.describe(name)


# --- collecting and solving ---------------------------------------------------------------------------


def collect(net: Network) -> tuple[Summary, list[Condition]]:
    """One symbolic evaluation of ``net`` (no symbol given, declared multiples not assumed), and
    the conditions its layers noted on the way."""
    with Collector() as collector:
        summary = evaluate(net, {}, True)
    return summary, collector.conditions


def _rule(net: Network, cond: Condition, main: set[str]) -> Rule:
    if cond.where is None:  # the network's input
        name, kind, location = "input", "input", net.where.location(*cond.path)
    else:
        node = cond.where[0]
        name, kind = node.name, node.layer.kind
        location = net.where.location(*node.field_path(cond.path)) if cond.path else net.where.location(*node.path[:-1])
    return _solved(cond.relation, cond.value, cond.what, name, kind, location, side=name not in main)


def _solved(
    relation: str, value: Any, what: str, layer: str, kind: str, location: Location | None, side: bool = False
) -> Rule:
    names = tuple(sorted(free_symbols(value)))
    solution = None
    if len(names) == 1:
        try:
            solution = solve(relation, value, symbol(names[0]))
        except NotPeriodic:
            solution = None
    return Rule(relation, value, what, layer, kind, location, names, solution, side)


def _main_branch(net: Network) -> set[str]:
    """The layers the last layer depends on (and "input"): the others form side branches, such as
    Inception's auxiliary classifier, which torchvision runs in training only."""
    names, todo = {"input"}, [len(net.nodes) - 1]
    while todo:
        node = net.nodes[todo.pop()]
        if node.name not in names:
            names.add(node.name)
            todo += [i for i in node.inputs if i >= 0]
    return names


def _declared(net: Network) -> list[Rule]:
    rules = []
    for name, m in net.multiples.items():
        x = symbol(name)
        loc = net.where.location("symbols", name)
        rules.append(_solved("eq", x - m * floordiv(x, m), f"{name} % {m} == 0", "symbols", "declared", loc))
    return rules


def _cover(final: IntSet, rules: list[Rule]) -> tuple[Rule, ...]:
    """An irredundant subset of ``rules`` whose sets intersect to ``final``: declarations are
    dropped first, then layers from the input on, so the layers kept are the deepest that bind."""
    kept = list(rules)
    order = [r for r in rules if r.kind == "declared"] + [r for r in rules if r.kind != "declared"]
    for r in order:
        rest = [k for k in kept if k is not r]
        if _meet(rest) == final:
            kept = rest
    return tuple(kept)


def constraints(net: Network) -> Constraints:
    """The valid values of every symbol of ``net`` (see :class:`Constraints`)."""
    _, conditions = collect(net)
    main = _main_branch(net)
    distinct: dict[tuple[str, Any], Rule] = {}
    for cond in conditions:
        key = (cond.relation, cond.value)
        if key not in distinct or distinct[key].side:  # repeated blocks repeat their rules
            rule = _rule(net, cond, main)
            if key not in distinct or not rule.side:
                distinct[key] = rule
    rules = list(distinct.values()) + _declared(net)
    # a rational symbol (a width) is held at its value here, never solved for: no set of its own
    names = sorted(net.symbol_names - set(net.rationals), key=lambda n: (n not in _input_names(net), n))
    sets, main_sets, reasons, exact = {}, {}, {}, {}
    for n in names:
        mine = [r for r in rules if r.symbols == (n,)]
        solved = [r for r in mine if r.solution is not None]
        sets[n], main_sets[n] = _meet(solved), _meet([r for r in solved if not r.side])
        reasons[n], exact[n] = _cover(sets[n], solved), len(solved) == len(mine)
    joint = tuple(r for r in rules if len(r.symbols) > 1)
    return Constraints(net.name, sets, main_sets, reasons, exact, tuple(rules), joint, dict(net.multiples))


def _meet(rules: list[Rule]) -> IntSet:
    """The intersection of the rules' sets (every positive integer for none)."""
    meet = IntSet.everything()
    for r in rules:
        meet = meet & r.solution  # type: ignore[operator]
    return meet


def _input_names(net: Network) -> list[str]:
    names: list[str] = []
    for v in net.input:
        names += sorted(getattr(v, "names", ()))
    return names


__all__ = ["Constraints", "Rule", "collect", "constraints"]
