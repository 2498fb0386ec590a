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
from ...verify import (
    LayerCheck,
    Measure,
    MemoryCheck,
    Rejection,
    Run,
    Verification,
    auto_sizes,
    spatial_symbols,
    value_sets,
)
from .assembly import Graph, Step, assemble, chain, numeric_env, steps
from .builders import BUILDERS, whole
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


def check(
    arch: Architecture, values: Mapping[str, int] | None = None, *, device: Device = "auto", memory: bool = False
) -> Run:
    """cnncalc's numeric summary and PyTorch's measure at one set of values, layer by layer (and,
    with ``memory``, the memory at batch 1 in float32 against a real CPU forward).

    A shape error from cnncalc is a refusal to compare with PyTorch's; any other CnncalcError
    (an unknown symbol, a field without a value) is bad input and is raised.
    """
    given = dict(values or {})
    arch = arch.at(**given)  # its repeats laid out at the values (repeat: d)
    predicted: dict[str, Measure] = {}
    error = None
    try:
        # The training view: every layer's own counts, training-only ones too (all are measured).
        summary = arch.summarize(given, symbolic=False, training=True)
        predicted = {r.name: Measure(tuple(r.output), r.params, r.macs) for r in summary.rows}
    except ShapeError as err:
        error = str(err)
    measured = measure(arch, given, device=device)
    layers = tuple(
        LayerCheck(node.name, node.layer.kind, predicted.get(node.name), measured.layers.get(node.name))
        for node in arch.nodes
    )
    shown = {k: v for k, v in {**arch.defaults, **given}.items() if k in arch.symbol_names}
    held = _memory(arch, given) if memory and error is None and measured.rejection is None else None
    return Run(shown, layers, error, measured.rejection, measured.device, held)


def _memory(arch: Architecture, given: dict[str, int]) -> MemoryCheck:
    """cnncalc's memory figures against PyTorch's (saved tensors, live storages) at batch 1, float32."""
    from .memory import inference_memory, saved_for_backward

    mine = arch.memory(given, batch=1, dtype="float32", training="sgd")
    module = arch.to_torch(**given)
    shape = tuple(whole(numeric_env(arch, given), v) for v in arch.input)
    try:
        saved = saved_for_backward(module, shape, batch=1, dtype=torch.float32)
    except (RuntimeError, ValueError) as err:  # a BatchNorm on one value per channel, in training
        refused = f"PyTorch refuses a training forward at batch 1 here ({type(err).__name__}: {err})"
        return MemoryCheck(int(mine.saved_bytes), 0, int(mine.activation_peak), 0, refused=refused)
    peak = inference_memory(module, shape, batch=1, dtype=torch.float32).peak
    per_layer = {m.name: m.saved_bytes for m in mine.layers}
    differing = tuple(k for k, v in saved.layers.items() if per_layer.get(k, 0) != v)
    return MemoryCheck(int(mine.saved_bytes), saved.total, int(mine.activation_peak), peak, differing)


def verify(
    arch: Architecture,
    values: Mapping[str, int] | None = None,
    sizes: Sequence[int] | None = None,
    *,
    device: Device = "auto",
    memory: bool = False,
) -> Verification:
    """cnncalc against PyTorch at every set of values from :func:`value_sets`: per layer, the
    output shape, parameters and MACs must be equal, or both sides must refuse the values; with
    ``memory``, the bytes saved for backward and the inference peak too (a real CPU forward)."""
    runs = tuple(check(arch, v, device=device, memory=memory) for v in value_sets(arch, values, sizes))
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
