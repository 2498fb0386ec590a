"""PyTorch as the reference: builds the same network with PyTorch's own layers and checks every number.

:func:`build` turns an architecture at given symbol values into an ``nn.Module``: one builder per
layer kind (:mod:`.builders`), submodules at cnncalc's layer names (``layer2.0.downsample.0`` nests as
in torchvision: :mod:`.assembly`). :func:`verify` runs cnncalc and a PyTorch forward pass side by
side (:mod:`.measure`) and compares each layer's output shape, parameter count and MACs, and whether
both accept the input at all; the verdicts are torch-free (:mod:`cnncalc.verify`). This package is
the only place that imports torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import torch

from ...errors import ShapeError
from ...verify import LayerCheck, Measure, Rejection, Run, Verification, auto_sizes, spatial_symbols, value_sets
from .assembly import Graph, Step, assemble, chain, numeric_env, steps
from .builders import BUILDERS
from .measure import (
    CPU_BUDGET,
    MACS,
    Device,
    Measurement,
    Rejected,
    Threaded,
    build,
    measure,
    measure_module,
    measure_steps,
    thread,
)

if TYPE_CHECKING:
    from ...architecture import Architecture


def check(arch: Architecture, values: Mapping[str, int] | None = None, *, device: Device = "auto") -> Run:
    """cnncalc's numeric summary and PyTorch's measure at one set of values, layer by layer.

    A shape error from cnncalc is a refusal to compare with PyTorch's; any other CnncalcError
    (an unknown symbol, a field without a value) is bad input and is raised.
    """
    given = dict(values or {})
    predicted: dict[str, Measure] = {}
    error = None
    try:
        summary = arch.summarize(symbolic=False, **given)
        predicted = {r.name: Measure(tuple(r.output), r.params, r.macs) for r in summary.rows}
    except ShapeError as err:
        error = str(err)
    measured = measure(arch, given, device=device)
    layers = tuple(
        LayerCheck(node.name, node.layer.kind, predicted.get(node.name), measured.layers.get(node.name))
        for node in arch.nodes
    )
    shown = {k: v for k, v in {**arch.defaults, **given}.items() if k in arch.symbol_names}
    return Run(shown, layers, error, measured.rejection, measured.device)


def verify(
    arch: Architecture,
    values: Mapping[str, int] | None = None,
    sizes: Sequence[int] | None = None,
    *,
    device: Device = "auto",
) -> Verification:
    """cnncalc against PyTorch at every set of values from :func:`value_sets`: per layer, the
    output shape, parameters and MACs must be equal, or both sides must refuse the values."""
    runs = tuple(check(arch, v, device=device) for v in value_sets(arch, values, sizes))
    return Verification(arch.name, runs, str(torch.__version__))


__all__ = [
    "BUILDERS",
    "CPU_BUDGET",
    "MACS",
    "Device",
    "Graph",
    "LayerCheck",
    "Measure",
    "Measurement",
    "Rejected",
    "Rejection",
    "Run",
    "Step",
    "Threaded",
    "Verification",
    "assemble",
    "auto_sizes",
    "build",
    "chain",
    "check",
    "measure",
    "measure_module",
    "measure_steps",
    "numeric_env",
    "spatial_symbols",
    "steps",
    "thread",
    "value_sets",
    "verify",
]
