"""cnncalc: exact, symbolic shapes, parameters, MACs and receptive fields of convolutional networks.

>>> import cnncalc
>>> summary = cnncalc.load("vgg16").summarize()
>>> summary.total.params
138357544
"""

from __future__ import annotations

from typing import Any

from .architecture import Architecture, bundled, load
from .errors import CnncalcError, SchemaError, ShapeError
from .report import LayerRow, ReceptiveField, Summary, Totals

__version__ = "0.2.0"


def compare(*archs: Architecture | str, symbolic: bool = False, depth: int | None = None, **values: int) -> Any:
    """Two or more networks (architectures or bundled names) side by side: a
    :class:`cnncalc.comparison.Comparison` of their totals and their layers matched by name."""
    from .comparison import compare as compare_summaries

    loaded = [a if isinstance(a, Architecture) else load(a) for a in archs]
    summaries = []
    for arch in loaded:
        summary = arch.summarize(symbolic=symbolic, **{k: v for k, v in values.items() if k in arch.symbol_names})
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
