"""PyTorch as the reference: builds the same network with PyTorch's own layers and checks every number.

:func:`build` turns an :class:`~cnncalc.schema.Architecture` at given symbol values into an
``nn.Module``: one builder per layer kind in :data:`BUILDERS`, submodules at cnncalc's layer names
(``layer2.0.downsample.0`` nests as in torchvision). :func:`verify` runs cnncalc and a PyTorch
forward pass side by side and compares each layer's output shape, parameter count and MACs, and
whether both accept the input at all. This is the only module that imports torch.
"""

from __future__ import annotations

import copy
import functools
import json
import math
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import torch
from torch import nn

from ..blocks import IN_CHANNELS
from ..errors import CnncalcError, ShapeError
from ..graph import scope_envs
from ..layers import (
    GELU,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool2d,
    Add,
    AvgPool2d,
    BatchNorm2d,
    ChannelShuffle,
    Chunk,
    Concat,
    Conv2d,
    ConvTranspose2d,
    Dropout,
    Flatten,
    Hardsigmoid,
    Hardswish,
    Identity,
    Layer,
    LayerNorm2d,
    LayerScale,
    LeakyReLU,
    Linear,
    LocalResponseNorm,
    MaxPool2d,
    Mul,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    StochasticDepth,
    Tanh,
    Upsample,
    ZeroPad2d,
)
from ..symbolic import Env, Expr

if TYPE_CHECKING:
    from ..schema import Architecture

#: A tensor's shape as PyTorch sees it: batch first.
TorchShape = tuple[int, ...]
#: Builds one layer's module from its YAML fields, the symbol values and its (first) input
#: tensor's shape, batch first: channels are ``x[1]``, features ``x[-1]``.
Builder = Callable[[Any, Env, TorchShape], nn.Module]
#: Where PyTorch runs: "meta" (shapes only, no memory), "cpu" (real zero tensors), or "auto":
#: meta, plus a real CPU run of every layer cheap enough (see :data:`CPU_BUDGET`).
Device = Literal["auto", "meta", "cpu"]

#: In "auto", a layer also runs on CPU when weights x output positions + input + output elements
#: stay below this (well under 1 ms). The meta device skips some of PyTorch's checks (a zero-size weight,
#: softmax's dim range), so a real run is the final word wherever it is affordable.
CPU_BUDGET = 1_000_000
#: How far the search for the smallest input size that works goes.
SCAN_LIMIT = 4096


# --- modules for kinds PyTorch has no class for ----------------------------------------------------


class LayerNorm2dModule(nn.LayerNorm):
    """torchvision's LayerNorm2d (ConvNeXt): LayerNorm over the channels at each position."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class LayerScaleModule(nn.Module):
    """x * gamma, gamma a learnable [C, 1, 1] (torchvision's CNBlock.layer_scale)."""

    def __init__(self, channels: int, init: float) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.full((channels, 1, 1), init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class StochasticDepthModule(nn.Module):
    """torchvision.ops.StochasticDepth at inference: the identity, with torchvision's checks of
    ``p`` and ``mode`` (torchvision is not needed)."""

    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"drop probability has to be between 0 and 1, but got {p}")
        if mode not in ("batch", "row"):
            raise ValueError(f"mode has to be either 'batch' or 'row', but got {mode}")
        self.p, self.mode = p, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class ChunkModule(nn.Module):
    """``x.chunk(chunks, dim=1)[index]`` (ShuffleNetV2's channel split)."""

    def __init__(self, chunks: int, index: int) -> None:
        super().__init__()
        self.chunks, self.index = chunks, index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.chunk(self.chunks, dim=1)[self.index]


class Merge(nn.Module):
    """Two or more inputs into one: ``torch.add``/``torch.mul`` with broadcasting, or ``torch.cat``
    along the channels."""

    def __init__(self, how: Literal["add", "mul", "concat"]) -> None:
        super().__init__()
        self.how = how

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        if self.how == "concat":
            return torch.cat(xs, dim=1)
        return functools.reduce(torch.add if self.how == "add" else torch.mul, xs)

    def extra_repr(self) -> str:
        return self.how


# --- building --------------------------------------------------------------------------------------


def _int(env: Env, value: Any) -> int:
    """A field's value as an int (a numeric Env resolves every expression to one)."""
    result = env.resolve(value)
    if not isinstance(result, int):  # pragma: no cover - a numeric Env never returns a symbol
        raise CnncalcError(f"{value} has no whole-number value")
    return result


def _pair(env: Env, value: Any) -> int | tuple[int, int]:
    """A one-or-two-value field resolved: an int, or (height, width)."""
    if isinstance(value, (tuple, list)):
        return (_int(env, value[0]), _int(env, value[1]))
    return _int(env, value)


def _optional_pair(env: Env, value: Any) -> Any:
    """A field that may be null, one value or a pair of values that may each be null."""
    if value is None:
        return None
    if isinstance(value, (tuple, list)):
        return tuple(None if v is None else _int(env, v) for v in value)
    return _int(env, value)


BUILDERS: dict[str, Builder] = {}


def _builds(*classes: type[Layer]) -> Callable[[Builder], Builder]:
    """Registers a builder for these layer classes' kinds."""

    def register(builder: Builder) -> Builder:
        for cls in classes:
            BUILDERS[cls.kind] = builder
        return builder

    return register


@_builds(Conv2d)
def _conv2d(layer: Conv2d, env: Env, x: TorchShape) -> nn.Module:
    padding = layer.padding if layer.padding in ("same", "valid") else _pair(env, layer.padding)
    return nn.Conv2d(
        x[1],
        _int(env, layer.out_channels),
        _pair(env, layer.kernel_size),
        stride=_pair(env, layer.stride),
        padding=padding,  # "same"/"valid" pass through, as PyTorch takes them
        dilation=_pair(env, layer.dilation),
        groups=_int(env, layer.groups),
        bias=layer.bias,
        padding_mode=layer.padding_mode,
    )


@_builds(ConvTranspose2d)
def _convtranspose2d(layer: ConvTranspose2d, env: Env, x: TorchShape) -> nn.Module:
    return nn.ConvTranspose2d(
        x[1],
        _int(env, layer.out_channels),
        _pair(env, layer.kernel_size),
        stride=_pair(env, layer.stride),
        padding=_pair(env, layer.padding),
        output_padding=_pair(env, layer.output_padding),
        groups=_int(env, layer.groups),
        bias=layer.bias,
        dilation=_pair(env, layer.dilation),
    )


@_builds(MaxPool2d)
def _maxpool2d(layer: MaxPool2d, env: Env, x: TorchShape) -> nn.Module:
    return nn.MaxPool2d(
        _pair(env, layer.kernel_size),
        stride=_optional_pair(env, layer.stride),
        padding=_pair(env, layer.padding),
        dilation=_pair(env, layer.dilation),
        return_indices=layer.return_indices,
        ceil_mode=layer.ceil_mode,
    )


@_builds(AvgPool2d)
def _avgpool2d(layer: AvgPool2d, env: Env, x: TorchShape) -> nn.Module:
    return nn.AvgPool2d(
        _pair(env, layer.kernel_size),
        stride=_optional_pair(env, layer.stride),
        padding=_pair(env, layer.padding),
        ceil_mode=layer.ceil_mode,
        count_include_pad=layer.count_include_pad,
        divisor_override=layer.divisor_override,
    )


@_builds(AdaptiveAvgPool2d)
def _adaptiveavgpool2d(layer: AdaptiveAvgPool2d, env: Env, x: TorchShape) -> nn.Module:
    return nn.AdaptiveAvgPool2d(_optional_pair(env, layer.output_size))


@_builds(AdaptiveMaxPool2d)
def _adaptivemaxpool2d(layer: AdaptiveMaxPool2d, env: Env, x: TorchShape) -> nn.Module:
    return nn.AdaptiveMaxPool2d(_optional_pair(env, layer.output_size), return_indices=layer.return_indices)


@_builds(BatchNorm2d)
def _batchnorm2d(layer: BatchNorm2d, env: Env, x: TorchShape) -> nn.Module:
    return nn.BatchNorm2d(
        x[1], eps=layer.eps, momentum=layer.momentum, affine=layer.affine, track_running_stats=layer.track_running_stats
    )


@_builds(LayerNorm2d)
def _layernorm2d(layer: LayerNorm2d, env: Env, x: TorchShape) -> nn.Module:
    return LayerNorm2dModule(x[1], eps=layer.eps, elementwise_affine=layer.elementwise_affine, bias=layer.bias)


@_builds(LayerScale)
def _layerscale(layer: LayerScale, env: Env, x: TorchShape) -> nn.Module:
    return LayerScaleModule(x[1], layer.init)


@_builds(LocalResponseNorm)
def _localresponsenorm(layer: LocalResponseNorm, env: Env, x: TorchShape) -> nn.Module:
    return nn.LocalResponseNorm(layer.size, alpha=layer.alpha, beta=layer.beta, k=layer.k)


@_builds(Dropout)
def _dropout(layer: Dropout, env: Env, x: TorchShape) -> nn.Module:
    return nn.Dropout(layer.p)  # inplace changes no number


@_builds(StochasticDepth)
def _stochasticdepth(layer: StochasticDepth, env: Env, x: TorchShape) -> nn.Module:
    return StochasticDepthModule(layer.p, layer.mode)


@_builds(Flatten)
def _flatten(layer: Flatten, env: Env, x: TorchShape) -> nn.Module:
    return nn.Flatten(layer.start_dim, layer.end_dim)


@_builds(Linear)
def _linear(layer: Linear, env: Env, x: TorchShape) -> nn.Module:
    # PyTorch applies a Linear to the last axis, whatever the rank: so does this reference.
    return nn.Linear(x[-1], _int(env, layer.out_features), bias=layer.bias)


@_builds(ZeroPad2d)
def _zeropad2d(layer: ZeroPad2d, env: Env, x: TorchShape) -> nn.Module:
    padding = layer.padding
    return nn.ZeroPad2d(
        tuple(_int(env, v) for v in padding) if isinstance(padding, (tuple, list)) else _int(env, padding)  # type: ignore[arg-type]
    )


@_builds(Upsample)
def _upsample(layer: Upsample, env: Env, x: TorchShape) -> nn.Module:
    scale = _optional_pair(env, layer.scale_factor)
    return nn.Upsample(
        size=_optional_pair(env, layer.size),
        scale_factor=tuple(float(v) for v in scale) if isinstance(scale, tuple) else scale,
        mode=layer.mode,
        align_corners=layer.align_corners,
    )


@_builds(ChannelShuffle)
def _channel_shuffle(layer: ChannelShuffle, env: Env, x: TorchShape) -> nn.Module:
    return nn.ChannelShuffle(_int(env, layer.groups))


@_builds(Chunk)
def _chunk(layer: Chunk, env: Env, x: TorchShape) -> nn.Module:
    return ChunkModule(_int(env, layer.chunks), layer.index)


@_builds(LeakyReLU)
def _leakyrelu(layer: LeakyReLU, env: Env, x: TorchShape) -> nn.Module:
    return nn.LeakyReLU(layer.negative_slope)


@_builds(GELU)
def _gelu(layer: GELU, env: Env, x: TorchShape) -> nn.Module:
    return nn.GELU(approximate=layer.approximate)


@_builds(Softmax)
def _softmax(layer: Softmax, env: Env, x: TorchShape) -> nn.Module:
    return nn.Softmax(dim=layer.dim)


def _plain(make: Callable[[], nn.Module]) -> Builder:
    """A builder for a kind whose fields change no number (``inplace``)."""
    return lambda layer, env, x: make()


for _cls, _make in (
    (Identity, nn.Identity),
    (ReLU, nn.ReLU),
    (ReLU6, nn.ReLU6),
    (Sigmoid, nn.Sigmoid),
    (Tanh, nn.Tanh),
    (SiLU, nn.SiLU),
    (Hardswish, nn.Hardswish),
    (Hardsigmoid, nn.Hardsigmoid),
    (Add, lambda: Merge("add")),
    (Mul, lambda: Merge("mul")),
    (Concat, lambda: Merge("concat")),
):
    BUILDERS[_cls.kind] = _plain(_make)


# --- assembling ------------------------------------------------------------------------------------


def _add(parent: nn.Module, name: str, module: nn.Module, full: str) -> None:
    try:
        parent.add_module(name, module)
    except (KeyError, TypeError) as err:
        reason = err.args[0] if err.args else err
        raise CnncalcError(f"the layer name {full!r} cannot name a PyTorch submodule: {reason}") from None


class _NotAChain(Exception):
    """Dotted names that nested Sequentials cannot run in order."""


def _place(root: nn.Module, name: str, module: nn.Module, group: Callable[[], nn.Module], chain: bool) -> None:
    """Puts ``module`` at the dotted path ``name`` below ``root``, making groups on the way.
    PyTorch forbids dots in one submodule's name, so ``layer3.4.conv2`` nests like torchvision's."""
    *path, leaf = name.split(".")
    parent = root
    for part in path:
        child = parent._modules.get(part)
        if child is None:
            child = group()
            _add(parent, part, child, name)
        elif chain and (not isinstance(child, nn.Sequential) or next(reversed(parent._modules)) != part):
            raise _NotAChain(name)  # a Sequential group runs its layers only where it stands
        parent = child
    if leaf in parent._modules:
        raise CnncalcError(f"the layer name {name!r} is a group of other layers' names already")
    _add(parent, leaf, module, name)


class Graph(nn.Module):
    """Named layers run in definition order, each on the outputs of the layers it reads (-1: the
    network input); the output is the last layer's. Submodules sit at the layers' dotted names."""

    def __init__(self, named: Sequence[tuple[str, nn.Module]], inputs: Sequence[tuple[int, ...]]) -> None:
        super().__init__()
        for name, module in named:
            _place(self, name, module, nn.Module, chain=False)
        # A plain list, not a ModuleList: the modules are registered once, at their names.
        self._steps = [(module, tuple(ins)) for (_, module), ins in zip(named, inputs, strict=True)]
        last_use = {i: j for j, ins in enumerate(inputs) for i in ins}
        self._free = [[i for i in ins if i >= 0 and last_use[i] == j] for j, ins in enumerate(inputs)]

    def forward(self, x: torch.Tensor) -> Any:
        outputs: list[Any] = []
        for j, (module, ins) in enumerate(self._steps):
            outputs.append(module(*(x if i < 0 else outputs[i] for i in ins)))
            for i in self._free[j]:
                outputs[i] = None  # no later layer reads it: let it go
        return outputs[-1]


def assemble(named: Sequence[tuple[str, nn.Module]], inputs: Sequence[tuple[int, ...]] | None = None) -> nn.Module:
    """The network from its named modules: an ``nn.Sequential`` (nested for dotted names) when
    every layer reads the one before it (``inputs`` None or a chain), else a :class:`Graph`.
    Either way ``model.get_submodule(name)`` finds each layer."""
    inputs = list(inputs) if inputs is not None else [(j - 1,) for j in range(len(named))]
    if all(ins == (j - 1,) for j, ins in enumerate(inputs)):
        root = nn.Sequential()
        try:
            for name, module in named:
                _place(root, name, module, nn.Sequential, chain=True)
            return root
        except _NotAChain:
            pass
    return Graph(named, inputs)


@dataclass(frozen=True, slots=True)
class Step:
    """One layer to build: its name, layer, the indices of the steps it reads (-1: the network
    input), the symbol values its fields see, and whether a field reads ``in_channels``."""

    name: str
    layer: Layer
    inputs: tuple[int, ...]
    env: Env
    uses_in_channels: bool = False


def numeric_env(arch: Architecture, values: Mapping[str, int] | None = None) -> Env:
    """The symbol values of cnncalc's numeric summary: the file's defaults, overridden by ``values``."""
    return Env({**arch.defaults, **(values or {})}, False)


def steps(arch: Architecture, values: Mapping[str, int] | None = None) -> list[Step]:
    """The architecture's layers as steps at ``values`` (the file's defaults filled in).

    Block arguments are evaluated where the block is called and the body sees them and the file's
    symbols, as in cnncalc's evaluation (lexical scope)."""
    scope_env = scope_envs(numeric_env(arch, values))

    return [Step(n.name, n.layer, n.inputs, scope_env(n.scope), n.uses_in_channels) for n in arch.nodes]


def chain(layers: Sequence[Layer], names: Sequence[str], env: Env) -> list[Step]:
    """Layers one after the other as steps, all seeing ``env`` (e.g. layers made with pydantic's
    ``model_construct``, which cnncalc's loader would refuse, to see what PyTorch does with them)."""
    return [Step(name, layer, (j - 1,), env) for j, (layer, name) in enumerate(zip(layers, names, strict=True))]


# --- measuring -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Measure:
    """One layer's numbers from one side: output shape (no batch axis), parameters, MACs."""

    output: tuple[int, ...]
    params: int
    macs: int


def _conv_macs(module: nn.Conv2d, ins: Sequence[TorchShape], out: TorchShape) -> int:
    return int(module.weight.numel()) * math.prod(out[-2:])


def _convtranspose_macs(module: nn.ConvTranspose2d, ins: Sequence[TorchShape], out: TorchShape) -> int:
    # Every input value meets every weight of its group once.
    return int(module.weight.numel()) * math.prod(ins[0][-2:])


def _linear_macs(module: nn.Linear, ins: Sequence[TorchShape], out: TorchShape) -> int:
    # One weight use per output position; a flat input has one (out = [batch, features]).
    return int(module.weight.numel()) * math.prod(out[1:-1])


#: MACs from the module itself, the convention cnncalc states: conv weight x output positions
#: (transposed conv: x input positions), linear weight; bias excluded; every other module 0.
MACS: dict[type[nn.Module], Callable[[Any, Sequence[TorchShape], TorchShape], int]] = {
    nn.Conv2d: _conv_macs,
    nn.ConvTranspose2d: _convtranspose_macs,
    nn.Linear: _linear_macs,
}


def measure_module(module: nn.Module, ins: Sequence[TorchShape], out: TorchShape) -> Measure:
    """A module's output shape (batch axis dropped), its own parameters' element count and MACs."""
    counter = next((f for cls, f in MACS.items() if isinstance(module, cls)), None)
    return Measure(
        output=out[1:] if out[:1] == (1,) else out,
        params=sum(int(p.numel()) for p in module.parameters(recurse=False)),
        macs=counter(module, ins, out) if counter else 0,
    )


@dataclass(frozen=True, slots=True)
class Rejection:
    """PyTorch raised: in which layer ("input" for the input tensor), and what it said."""

    layer: str
    message: str


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
    start: TorchShape = (1, *(_int(env, v) for v in input))
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
    threaded = thread(arch.input, steps(arch, values), numeric_env(arch, values), "meta")
    if threaded.rejection is not None:
        raise Rejected(threaded.rejection)
    model = assemble(threaded.modules, threaded.inputs)
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
    model = assemble(threaded.modules, threaded.inputs).train(False)
    kinds = {step.name: step.layer.kind for step in steps}
    if device != "cpu":
        measures, rejection = _forward(model, kinds, threaded.input, "meta")
        if rejection is None:
            return Measurement(measures, None, "meta")
        # The meta device could not run it (or refused where the CPU might not): a real run decides.
    model.to_empty(device="cpu")
    measures, rejection = _forward(model, kinds, threaded.input, "cpu")
    return Measurement(measures, rejection, "cpu")


# --- comparing -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LayerCheck:
    """One layer: cnncalc's prediction and PyTorch's measure (None where that side did not get
    this far) and the verdict."""

    name: str
    kind: str
    predicted: Measure | None
    measured: Measure | None

    @property
    def differences(self) -> tuple[str, ...]:
        """The fields that differ: "shape", "params", "MACs"; "missing" when a side has no measure."""
        if self.predicted is None or self.measured is None:
            return ("missing",)
        p, m = self.predicted, self.measured
        fields = (("shape", p.output, m.output), ("params", p.params, m.params), ("MACs", p.macs, m.macs))
        return tuple(label for label, a, b in fields if a != b)

    @property
    def agrees(self) -> bool:
        """Whether shape, parameters and MACs are the same on both sides."""
        return not self.differences

    @property
    def verdict(self) -> str:
        """ "ok", or what differs ("shape, MACs differ"), or which side has no result."""
        if self.predicted is None and self.measured is None:
            return "-"
        if self.predicted is None:
            return "cnncalc rejected"
        if self.measured is None:
            return "PyTorch rejected"
        return "ok" if self.agrees else f"{', '.join(self.differences)} differ"


@dataclass(frozen=True, slots=True)
class Run:
    """Both sides at one set of symbol values: per-layer checks and each side's refusal, if any."""

    values: dict[str, int]
    layers: tuple[LayerCheck, ...]
    cnncalc_error: str | None
    pytorch_error: Rejection | None
    device: str

    @property
    def verdict(self) -> str:
        """ "agree", "both reject", "only cnncalc rejects", "only PyTorch rejects" or "disagree"."""
        if self.cnncalc_error and self.pytorch_error:
            return "both reject"
        if self.cnncalc_error:
            return "only cnncalc rejects"
        if self.pytorch_error:
            return "only PyTorch rejects"
        return "agree" if all(c.agrees for c in self.layers) else "disagree"

    @property
    def agrees(self) -> bool:
        """Same numbers in every layer, or both sides refusing these values."""
        return self.verdict in ("agree", "both reject")


@dataclass(frozen=True, slots=True)
class Verification:
    """cnncalc against PyTorch for one architecture at one or more sets of symbol values."""

    name: str
    runs: tuple[Run, ...]
    torch_version: str

    @property
    def agrees(self) -> bool:
        """Whether every run agrees (both sides accept with the same numbers, or both refuse)."""
        return all(run.agrees for run in self.runs)

    def render(self, format: str = "text") -> str:
        """The verification as a text table per run, or as JSON (see :meth:`to_dict`)."""
        if format == "json":
            return json.dumps(self.to_dict(), indent=2) + "\n"
        if format != "text":
            raise CnncalcError(f"unknown format {format!r} for verify; formats: text, json")
        return _text(self)

    def to_dict(self) -> dict[str, Any]:
        """The verification as JSON-ready data."""

        def side(m: Measure | None) -> dict[str, Any] | None:
            return None if m is None else {"output": list(m.output), "params": m.params, "macs": m.macs}

        return {
            "name": self.name,
            "torch": self.torch_version,
            "agrees": self.agrees,
            "runs": [
                {
                    "values": run.values,
                    "verdict": run.verdict,
                    "agrees": run.agrees,
                    "device": run.device,
                    "cnncalc_error": run.cnncalc_error,
                    "pytorch_error": None
                    if run.pytorch_error is None
                    else {"layer": run.pytorch_error.layer, "message": run.pytorch_error.message},
                    "layers": [
                        {
                            "name": c.name,
                            "kind": c.kind,
                            "verdict": c.verdict,
                            "cnncalc": side(c.predicted),
                            "pytorch": side(c.measured),
                        }
                        for c in run.layers
                    ],
                }
                for run in self.runs
            ],
        }


_HEADERS = ("Layer", "Kind", "Shape", "PyTorch shape", "Params", "PyTorch params", "MACs", "PyTorch MACs", "Verdict")
_RIGHT = {4, 5, 6, 7}


def _cells(check: LayerCheck) -> list[str]:
    def shape(m: Measure | None) -> str:
        return "-" if m is None else "x".join(map(str, m.output))

    def count(m: Measure | None, field: str) -> str:
        return "-" if m is None else f"{getattr(m, field):,}"

    p, m = check.predicted, check.measured
    return [
        check.name,
        check.kind,
        shape(p),
        shape(m),
        count(p, "params"),
        count(m, "params"),
        count(p, "macs"),
        count(m, "macs"),
        check.verdict,
    ]


def _text(verification: Verification) -> str:
    lines: list[str] = []
    for run in verification.runs:
        values = ", ".join(f"{k}={v}" for k, v in sorted(run.values.items()))
        at = f" at {values}" if values else ""
        lines.append(f"{verification.name}{at}: {run.verdict} (PyTorch {verification.torch_version}, {run.device})")
        if run.cnncalc_error:
            lines.append(f"  cnncalc: {run.cnncalc_error}")
        if run.pytorch_error:
            lines.append(f"  PyTorch: {run.pytorch_error.layer}: {run.pytorch_error.message}")
        # Where both refuse, their two messages are the story; elsewhere every layer either side ran.
        shown = () if run.verdict == "both reject" else run.layers
        rows = [_cells(c) for c in shown if c.predicted is not None or c.measured is not None]
        if rows:
            widths = [max(len(r[i]) for r in [list(_HEADERS), *rows]) for i in range(len(_HEADERS))]
            for r in [list(_HEADERS), ["-" * w for w in widths], *rows]:
                cells = [
                    c.rjust(w) if i in _RIGHT else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))
                ]
                lines.append("  ".join(cells).rstrip())
        lines.append("")
    bad = sum(not run.agrees for run in verification.runs)
    n = len(verification.runs)
    lines.append(f"{n} value set{'s' if n != 1 else ''}: all agree" if not bad else f"{bad} of {n} value sets disagree")
    return "\n".join(lines) + "\n"


# --- which values ----------------------------------------------------------------------------


def spatial_symbols(arch: Architecture) -> list[str]:
    """Names in the input's spatial sizes (after the channels): H and W in [3, H, W]."""
    names: set[str] = set()
    for value in arch.input[1:]:
        if isinstance(value, Expr):
            names |= value.names
    return sorted(names)


def _outcome(arch: Architecture, values: Mapping[str, int]) -> bool | None:
    """True if cnncalc summarizes at ``values``, False if it refuses the shapes, None if the values
    do not even resolve (a field such as H/2 at an odd H)."""
    try:
        arch.summarize(symbolic=False, **values)
    except ShapeError:
        return False
    except CnncalcError:
        return None
    return True


def _next_prime(n: int) -> int:
    while True:
        n += 1
        if n > 1 and all(n % d for d in range(2, math.isqrt(n) + 1)):
            return n


def auto_sizes(arch: Architecture, values: Mapping[str, int], spatial: Sequence[str]) -> list[int]:
    """Input sizes to try when none are given: the smallest that works and the one below it (both
    sides must refuse it), the one above it, an odd one past the default and the next prime."""

    def at(n: int) -> dict[str, int]:
        return {**values, **dict.fromkeys(spatial, n)}

    smallest = next((n for n in range(1, SCAN_LIMIT + 1) if _outcome(arch, at(n))), None)
    if smallest is None:
        return []
    ref = max([smallest] + [arch.defaults[s] for s in spatial if s in arch.defaults])
    odd = ref + 1 if ref % 2 == 0 else ref + 2
    picks = {smallest - 1, smallest, smallest + 1, odd, _next_prime(odd)}
    return [n for n in sorted(picks) if n >= 1 and _outcome(arch, at(n)) is not None]


def value_sets(
    arch: Architecture, values: Mapping[str, int] | None = None, sizes: Sequence[int] | None = None
) -> list[dict[str, int]]:
    """The symbol values to verify at: ``values`` (with the file's defaults), then each of
    ``sizes`` given to every spatial symbol of the input. Without ``sizes``, spatial symbols that
    ``values`` leaves open get a few sizes across the valid range (:func:`auto_sizes`)."""
    given = dict(values or {})
    spatial = spatial_symbols(arch)
    if sizes is not None:
        if not spatial:
            raise CnncalcError(f"{arch.name}'s input has no symbolic height or width for sizes to set; use values")
        if any(n < 1 for n in sizes):
            raise CnncalcError(f"sizes must be positive whole numbers, got {list(sizes)}")
        chosen = list(sizes)
    elif spatial and not set(spatial) <= set(given):
        chosen = auto_sizes(arch, given, spatial)
    else:
        chosen = []
    sets: list[dict[str, int]] = []
    seen: list[dict[str, int]] = []  # with the defaults filled in: H=224 given is the default H
    candidates = [given] if all(s in given or s in arch.defaults for s in spatial) else []
    for candidate in candidates + [{**given, **dict.fromkeys(spatial, n)} for n in chosen]:
        if {**arch.defaults, **candidate} not in seen:
            seen.append({**arch.defaults, **candidate})
            sets.append(candidate)
    if not sets:
        raise CnncalcError(f"{arch.name}: no input size works up to {SCAN_LIMIT}; give sizes or values to check")
    return sets


# --- verifying -------------------------------------------------------------------------------


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
