"""Counting conventions: other tools' ways of counting a network's operations (and parameters), as
presets that recount a cnncalc summary exactly as the tool counts (:func:`recount`), and the table
of every convention's total for one network (:func:`conventions`).

:data:`PRESETS` maps each name (``--count NAME``) to its :class:`Preset`, cnncalc's own first.
"""

from __future__ import annotations

import importlib

from ..errors import CnncalcError
from .base import Facts, Preset, Rule, facts, live, recount
from .table import Conventions, Counted, conventions

#: The preset modules in the order the presets are listed (the issue's order: cnncalc, the tools,
#: then Keras's params and plain FLOPs). Each defines PRESET or PRESETS.
MODULES = ("own", "torchinfo", "fvcore", "ptflops", "thop", "torchscan", "calflops", "keras", "flops")
#: Modules written in parallel with this one: the registry works without them until they land.
PENDING = frozenset({"ptflops", "torchscan", "calflops"})


def _registry() -> dict[str, Preset]:
    found: dict[str, Preset] = {}
    for name in MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as err:
            if name in PENDING and err.name == f"{__name__}.{name}":
                continue
            raise
        for p in getattr(module, "PRESETS", None) or (module.PRESET,):
            found[p.name] = p
    return found


#: Every convention by name, cnncalc's own first.
PRESETS: dict[str, Preset] = _registry()


def preset(name: str) -> Preset:
    """The preset called ``name`` (case aside), or an error listing the names and the closest."""
    found = PRESETS.get(name) or PRESETS.get(name.strip().lower())
    if found is not None:
        return found
    word = name.strip().lower()
    family = [n for n in PRESETS if n.startswith(word + "-") or n == word + "s"]
    if family:
        hint = f" (did you mean {' or '.join(repr(n) for n in family)}?)"
    else:
        from ..spec.messages import suggest

        hint = suggest(word, list(PRESETS), foreign_names=False)
    raise CnncalcError(f"no counting convention {name!r}{hint}; conventions: {', '.join(PRESETS)}")


__all__ = [
    "MODULES",
    "PRESETS",
    "Conventions",
    "Counted",
    "Facts",
    "Preset",
    "Rule",
    "conventions",
    "facts",
    "live",
    "preset",
    "recount",
]
