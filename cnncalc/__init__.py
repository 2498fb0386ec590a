"""cnncalc: exact, symbolic shapes, parameters, MACs and receptive fields of convolutional networks.

>>> import cnncalc
>>> summary = cnncalc.load("vgg16").summarize()
>>> summary.total.params
138357544
"""

from __future__ import annotations

from .errors import CnncalcError, SchemaError, ShapeError
from .report import LayerRow, ReceptiveField, Summary, Totals
from .schema import Architecture, bundled, load

__version__ = "0.1.0"

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
    "load",
]
