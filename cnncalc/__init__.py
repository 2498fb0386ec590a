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


def from_torch(module: Any, input: tuple[int | str, ...], name: str | None = None, **values: int) -> Architecture:
    """A PyTorch ``nn.Module`` as an architecture: traced by torch.fx at ``values`` of the symbols
    of ``input`` (channels first, no batch: ``(3, "H", "W")``; 224 where none is given), modules
    and calls mapped to cnncalc's kinds, repeated submodules as blocks. What cannot be mapped is one
    error listing each module path, class and op. ``to_yaml`` text: cnncalc.importers.emit."""
    from .backends import torch_backend
    from .importers.emit import to_architecture

    torch_backend()  # PyTorch missing: one line saying how to install it
    from .importers.torch_fx import read_torch

    return to_architecture(read_torch(module, input, values, name=name))


def from_onnx(path: str | Any) -> Architecture:
    """An ONNX file as an architecture (parsed with the onnx package, never run); symbolic input
    dimensions keep their names."""
    from .importers.emit import to_architecture
    from .importers.onnx import read_onnx

    return to_architecture(read_onnx(path))


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
    "from_onnx",
    "from_torch",
    "load",
    "to_torch",
]
