"""cnncalc: exact, symbolic shapes, parameters, MACs and receptive fields of convolutional networks.

>>> import cnncalc
>>> summary = cnncalc.load("vgg16").summarize()
>>> summary.total.params
138357544
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .architecture import Architecture, bundled, load
from .errors import CnncalcError, SchemaError, ShapeError
from .report import LayerRow, ReceptiveField, Summary, Totals

__version__ = "0.3.0"


def compare(
    *archs: Architecture | str,
    symbolic: bool = False,
    depth: int | None = None,
    size: int | None = None,
    given: Mapping[str, int] | None = None,
    count: str | None = None,
    **values: int,
) -> Any:
    """Two or more networks (architectures or bundled names) side by side: a
    :class:`cnncalc.comparison.Comparison` of their totals and their layers (blocks below ``depth``)
    matched by name. ``values`` (or ``given``, a mapping) and ``size`` go to every network that has
    the symbol; ``count``: a counting convention for every network (``"fvcore"``: see cnncalc.counting)."""
    from .comparison import compare as compare_summaries

    loaded = [a if isinstance(a, Architecture) else load(a) for a in archs]
    everything = {**(given or {}), **values}
    unknown = sorted(set(everything) - set().union(*(a.symbol_names for a in loaded)))
    if unknown:
        raise CnncalcError(f"no network compared has a symbol {unknown[0]!r}")
    summaries = []
    for arch in loaded:
        mine = {k: v for k, v in everything.items() if k in arch.symbol_names}  # one network may lack a symbol
        summary = arch.summarize(mine, symbolic=symbolic, size=size, count=count)
        summaries.append(summary.view(depth=depth) if depth else summary)
    return compare_summaries(summaries)


def to_torch(arch: Architecture, **values: int) -> Any:
    """``arch`` as a PyTorch ``nn.Module`` at ``values`` whose submodule names match cnncalc's layer
    names; needs PyTorch (``pip install "cnncalc[torch]"``). Torch is imported only here."""
    return arch.to_torch(**values)


__all__ = [
    "Architecture",
    "CnncalcError",
    "LayerRow",
    "ReceptiveField",
    "SchemaError",
    "ShapeError",
    "Summary",
    "Totals",
    "__version__",
    "bundled",
    "compare",
    "load",
    "to_torch",
]
