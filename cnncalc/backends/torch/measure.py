"""Measurement: builds each layer in PyTorch from the shapes PyTorch itself gives the layers it
reads, and measures every layer's output shape, parameters and MACs in one forward pass with hooks."""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import nn

from ...errors import CnncalcError
from ...spec import IN_CHANNELS
from ...symbolic import Env
from ...verify import Measure, Rejection
from .assembly import Graph, Step, assemble, numeric_env, steps
from .builders import BUILDERS, TorchShape, whole
from .modules import SeparableConv

if TYPE_CHECKING:
    from ...architecture import Architecture

#: Where PyTorch runs: "meta" (shapes only, no memory), "cpu" (real zero tensors), or "auto":
#: meta, plus a real CPU run of every layer cheap enough (see :data:`CPU_BUDGET`).
Device = Literal["auto", "meta", "cpu"]

#: In "auto", a layer also runs on CPU when weights x output positions + input + output elements
#: stay below this (well under 1 ms). The meta device skips some of PyTorch's checks (a zero-size weight,
#: softmax's dim range), so a real run is the final word wherever it is affordable.
CPU_BUDGET = 1_000_000


def _conv_macs(module: Any, ins: Sequence[TorchShape], out: TorchShape) -> int:
    return int(module.weight.numel()) * math.prod(out[2:])


def _convtranspose_macs(module: Any, ins: Sequence[TorchShape], out: TorchShape) -> int:
    # Every input value meets every weight of its group once.
    return int(module.weight.numel()) * math.prod(ins[0][2:])


def _separable_macs(module: SeparableConv, ins: Sequence[TorchShape], out: TorchShape) -> int:
    # Both convolutions' weights, once per output position (the depthwise output has the same positions).
    return int(module.depthwise_weight.numel() + module.pointwise_weight.numel()) * math.prod(out[2:])


def _linear_macs(module: nn.Linear, ins: Sequence[TorchShape], out: TorchShape) -> int:
    # One weight use per output position; a flat input has one (out = [batch, features]).
    return int(module.weight.numel()) * math.prod(out[1:-1])


#: MACs from the module itself, the convention cnncalc states: conv weight x output positions
#: (transposed conv: x input positions), linear weight; bias excluded; every other module 0.
MACS: dict[type[nn.Module], Callable[[Any, Sequence[TorchShape], TorchShape], int]] = {
    nn.Conv1d: _conv_macs,
    nn.Conv2d: _conv_macs,
    nn.Conv3d: _conv_macs,
    nn.ConvTranspose1d: _convtranspose_macs,
    nn.ConvTranspose2d: _convtranspose_macs,
    nn.ConvTranspose3d: _convtranspose_macs,
    nn.Linear: _linear_macs,
    SeparableConv: _separable_macs,
}


def measure_module(module: nn.Module, ins: Sequence[TorchShape], out: TorchShape) -> Measure:
    """A module's output shape (batch axis dropped), its own parameters' element count and MACs."""
    counter = next((f for cls, f in MACS.items() if isinstance(module, cls)), None)
    return Measure(
        output=out[1:] if out[:1] == (1,) else out,
        params=sum(int(p.numel()) for p in module.parameters(recurse=False)),
        macs=counter(module, ins, out) if counter else 0,
    )


class Rejected(Exception):
    """PyTorch refused to build or run a layer; ``rejection`` says which and why."""

    def __init__(self, rejection: Rejection) -> None:
        self.rejection = rejection
        super().__init__(f"{rejection.layer}: {rejection.message}")


def _message(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text[:300]}"


@contextmanager
def _quiet() -> Iterator[None]:
    # Zero-size weights warn at initialisation; the verdict, not a warning, reports them.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.no_grad():
            yield


def _shape_of(result: Any) -> TorchShape:
    """The output tensor's shape; a layer returning (values, indices) counts by its values."""
    tensor = result[0] if isinstance(result, tuple) else result
    return tuple(int(n) for n in tensor.shape)


def _work(module: nn.Module, ins: Sequence[TorchShape], out: TorchShape) -> int:
    weights = sum(int(p.numel()) for p in module.parameters())
    return weights * math.prod(out[2:]) + sum(math.prod(x) for x in ins) + math.prod(out)


def _probe(module: nn.Module, ins: Sequence[TorchShape], device: Device) -> TorchShape:
    """The output shape of ``module`` on zeros of shapes ``ins``: on meta, checked on CPU when the
    meta run fails (an operator without a meta kernel, or a meta-only error) or is cheap to repeat."""
    if device != "cpu":
        try:
            out = _shape_of(module(*(torch.zeros(x, device="meta") for x in ins)))
        except Exception:
            out = None
        if out is not None and (device == "meta" or _work(module, ins, out) > CPU_BUDGET):
            return out
    real = copy.deepcopy(module).to_empty(device="cpu")
    threads = torch.get_num_threads()
    # These runs are small: a second thread only waits for the first (100x slower on a busy machine).
    torch.set_num_threads(1)
    try:
        return _shape_of(real(*(torch.zeros(x) for x in ins)))
    finally:
        torch.set_num_threads(threads)


@dataclass(frozen=True, slots=True)
class Threaded:
    """Layers built one after the other on the meta device, each from the shapes PyTorch gave the
    layers it reads: the modules, each layer's measure, and where PyTorch refused, if it did."""

    modules: tuple[tuple[str, nn.Module], ...]
    inputs: tuple[tuple[int, ...], ...]
    measures: dict[str, Measure]
    input: TorchShape
    rejection: Rejection | None


def thread(input: Sequence[Any], steps: Sequence[Step], env: Env, device: Device = "auto") -> Threaded:
    """Builds ``steps`` in order, inferring input channels and features from PyTorch's own output
    shapes (never from cnncalc's), and stops at the first layer PyTorch refuses. ``env`` gives the
    input's sizes."""
    start: TorchShape = (1, *(whole(env, v) for v in input))
    shapes: list[TorchShape] = []
    modules: list[tuple[str, nn.Module]] = []
    measures: dict[str, Measure] = {}

    def stop(rejection: Rejection) -> Threaded:
        return Threaded(tuple(modules), tuple(s.inputs for s in steps[: len(modules)]), measures, start, rejection)

    with _quiet():
        try:
            torch.zeros(start, device="meta")
        except Exception as err:
            return stop(Rejection("input", _message(err)))
        for step in steps:
            ins = [start if i < 0 else shapes[i] for i in step.inputs]
            layer = step.layer
            env = Env({**step.env.values, IN_CHANNELS: ins[0][1]}, False) if step.uses_in_channels else step.env
            try:
                with torch.device("meta"):
                    module = BUILDERS[layer.kind](layer, env, ins[0])
                module.train(False)  # inference: dropout is the identity, BatchNorm uses running stats
                if not layer.trainable:
                    module.requires_grad_(False)
                out = _probe(module, ins, device)
            except CnncalcError:
                raise
            except Exception as err:
                where = f"layer {step.name} ({layer.kind}), input {' and '.join(str(list(x)) for x in ins)}"
                return stop(Rejection(where, _message(err)))
            modules.append((step.name, module))
            measures[step.name] = measure_module(module, ins, out)
            shapes.append(out)
    return Threaded(tuple(modules), tuple(s.inputs for s in steps), measures, start, None)


def build(arch: Architecture, values: Mapping[str, int] | None = None, *, device: str = "cpu") -> nn.Module:
    """``arch`` as a PyTorch module at ``values`` (defaults from the file), in eval mode,
    initialised as PyTorch initialises each layer; ``device="meta"`` builds it without memory.

    An ``nn.Sequential`` where each layer reads the one before, else a :class:`Graph`; submodules
    sit at cnncalc's layer names (``model.get_submodule("layer2.0.downsample.0")``). Raises
    :class:`Rejected` where PyTorch refuses a layer, CnncalcError where a field has no value.
    """
    built = steps(arch, values)
    threaded = thread(arch.input, built, numeric_env(arch, values), "meta")
    if threaded.rejection is not None:
        raise Rejected(threaded.rejection)
    model = assemble(threaded.modules, threaded.inputs, [s.training_only for s in built])
    if device != "meta":
        model.to_empty(device=device)
        for module in model.modules():
            reset = getattr(module, "reset_parameters", None)
            if callable(reset):
                reset()
    return model.train(False)


def _forward(
    model: nn.Module, kinds: Mapping[str, str], x: TorchShape, device: str
) -> tuple[dict[str, Measure], Rejection | None]:
    """One forward pass of ``model`` on zeros, each submodule named in ``kinds`` (name -> kind)
    measured by a forward hook. Returns the measures and, if the pass raised, where and why."""
    measures: dict[str, Measure] = {}
    current: list[str] = []

    def enter(name: str) -> Callable[..., None]:
        return lambda module, args: current.append(name)

    def leave(name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: tuple[Any, ...], out: Any) -> None:
            ins = [tuple(int(n) for n in a.shape) for a in args if isinstance(a, torch.Tensor)]
            measures[name] = measure_module(module, ins, _shape_of(out))

        return hook

    handles = []
    for name in kinds:
        module = model.get_submodule(name)
        handles += [module.register_forward_pre_hook(enter(name)), module.register_forward_hook(leave(name))]
    try:
        with _quiet():
            model(torch.zeros(x, device=device))
    except Exception as err:
        where = f"layer {current[-1]} ({kinds[current[-1]]})" if current else "input"
        return measures, Rejection(where, _message(err))
    finally:
        for handle in handles:
            handle.remove()
    return measures, None


@dataclass(frozen=True, slots=True)
class Measurement:
    """What PyTorch measured for one set of values: per-layer measures, where it refused (if it
    did) and the device of the forward pass."""

    layers: dict[str, Measure]
    rejection: Rejection | None
    device: str


def measure(arch: Architecture, values: Mapping[str, int] | None = None, *, device: Device = "auto") -> Measurement:
    """Builds ``arch`` at ``values`` and measures every layer in one forward pass with hooks."""
    return measure_steps(arch.input, steps(arch, values), numeric_env(arch, values), device=device)


def measure_steps(input: Sequence[Any], steps: Sequence[Step], env: Env, *, device: Device = "auto") -> Measurement:
    """:func:`measure` for steps given directly (see :func:`chain`); ``env`` gives the input's sizes."""
    threaded = thread(input, steps, env, device)
    if threaded.rejection is not None:
        return Measurement(threaded.measures, threaded.rejection, "cpu" if device == "cpu" else "meta")
    model = assemble(threaded.modules, threaded.inputs, [s.training_only for s in steps]).train(False)
    if isinstance(model, Graph):
        model.every_layer = True  # every layer measured, those that run only in training too
    kinds = {step.name: step.layer.kind for step in steps}
    if device != "cpu":
        measures, rejection = _forward(model, kinds, threaded.input, "meta")
        if rejection is None:
            return Measurement(measures, None, "meta")
        # The meta device could not run it (or refused where the CPU might not): a real run decides.
    model.to_empty(device="cpu")
    measures, rejection = _forward(model, kinds, threaded.input, "cpu")
    return Measurement(measures, rejection, "cpu")


__all__ = [
    "CPU_BUDGET",
    "MACS",
    "Device",
    "Measurement",
    "Rejected",
    "Threaded",
    "build",
    "measure",
    "measure_module",
    "measure_steps",
    "thread",
]
