"""What PyTorch holds for a network, measured: the tensors autograd saves for backward in one
training forward (:func:`saved_for_backward`), and the peak of live activation bytes in one
inference forward (:func:`inference_memory`), each attributed to the layer running at the time.

Both run on CPU on a copy of the module (the caller's module, its mode and its BatchNorm
statistics are left alone), converted to ``dtype`` as a whole (parameters and buffers too: no
mixed precision), on a random input of shape ``(batch, *input_shape)``.
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

#: Which tensor of its layer a saved storage is: the layer's output (an in-place layer's output is
#: its input's storage: "output"), one of its inputs, or a new tensor (a mask, indices, statistics).
Source = Literal["output", "input", "new"]
#: What a saved storage is: the network input, a parameter, a buffer (BatchNorm's running
#: statistics) or an activation (anything made during the forward).
Role = Literal["input", "parameter", "buffer", "activation"]


def dtype_name(dtype: torch.dtype) -> str:
    """``torch.float32`` -> ``"float32"``."""
    return str(dtype).removeprefix("torch.")


def _prepared(module: nn.Module, dtype: torch.dtype, training: bool) -> nn.Module:
    model = copy.deepcopy(module).to(device="cpu", dtype=dtype)
    return model.train(training)


def _storages(model: nn.Module) -> dict[int, Role]:
    """The storages of the model's parameters and buffers, by address."""
    roles: dict[int, Role] = {p.untyped_storage().data_ptr(): "parameter" for p in model.parameters()}
    roles.update({b.untyped_storage().data_ptr(): "buffer" for b in model.buffers()})
    roles.pop(0, None)  # empty storages have no address
    return roles


def _addresses(value: Any) -> set[int]:
    return {t.untyped_storage().data_ptr() for t in tree_leaves(value) if isinstance(t, torch.Tensor)}


class _Running:
    """The innermost module running now ("" outside every submodule), from forward pre/post hooks
    on every named submodule; the names of the modules that ran, in order; and the storages of
    each one's inputs and outputs."""

    def __init__(self) -> None:
        self.stack: list[str] = []
        self.order: dict[str, None] = {}
        self.inputs: dict[str, set[int]] = {}
        self.outputs: dict[str, set[int]] = {}
        self.listener: Callable[[str], None] | None = None

    def __call__(self) -> str:
        return self.stack[-1] if self.stack else ""

    def enter(self, name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: Any) -> None:
            self.stack.append(name)
            self.order.setdefault(name)
            self.inputs.setdefault(name, set()).update(_addresses(args))
            if self.listener is not None:
                self.listener(name)

        return hook

    def leave(self, module: nn.Module, args: Any, out: Any) -> None:
        self.outputs.setdefault(self.stack.pop(), set()).update(_addresses(out))


@contextmanager
def _running(model: nn.Module) -> Iterator[_Running]:
    running = _Running()
    handles = []
    for name, module in model.named_modules():
        if name:
            handles += [
                module.register_forward_pre_hook(running.enter(name)),
                module.register_forward_hook(running.leave),
            ]
    try:
        yield running
    finally:
        for handle in handles:
            handle.remove()


def _input(input_shape: tuple[int, ...], batch: int, dtype: torch.dtype) -> torch.Tensor:
    generator = torch.Generator().manual_seed(0)
    return torch.randn((batch, *input_shape), generator=generator).to(dtype)


@dataclass(frozen=True, slots=True)
class Saved:
    """One tensor autograd saved: the layer running when it was saved, the tensor's shape, dtype
    and own bytes, and its storage (address and bytes: a view keeps its whole base alive), what
    that storage is in the network and for its layer, and whether this is the first time the
    network saved that storage."""

    layer: str
    shape: tuple[int, ...]
    dtype: str
    nbytes: int
    storage: int
    storage_bytes: int
    role: Role
    source: Source
    first: bool


@dataclass(frozen=True, slots=True)
class SavedForBackward:
    """What one training forward saved for backward.

    ``layers``: per layer (in running order, every layer that ran), the bytes of the input and
    activation storages that layer was the first to save; ``total`` their sum (each storage once
    over the network). ``input``: the part of the total that is the network input itself (autograd
    keeps it when the first layer needs it, e.g. a convolution for its weight's gradient).
    ``parameters``: bytes of parameter and buffer storages saved, each once (not activations).
    ``tensors``: every saved tensor, in order.
    """

    tensors: tuple[Saved, ...]
    layers: dict[str, int]
    total: int
    input: int
    parameters: int


def _described(packed: list[tuple[str, torch.Tensor]], roles: dict[int, Role], running: _Running) -> list[Saved]:
    """The saved tensors as data. Every saved storage is still alive here, so no two of them,
    nor a saved storage and a layer's input or output alive when it was saved, share an address."""
    saved: list[Saved] = []
    seen: set[int] = set()
    for name, tensor in packed:
        storage = tensor.untyped_storage()
        ptr = storage.data_ptr()
        source: Source = "new"
        if ptr in running.outputs.get(name, ()):
            source = "output"
        elif ptr in running.inputs.get(name, ()):
            source = "input"
        shape = tuple(int(n) for n in tensor.shape)
        nbytes = tensor.numel() * tensor.element_size()
        role = roles.get(ptr, "activation")
        saved.append(
            Saved(name, shape, dtype_name(tensor.dtype), nbytes, ptr, storage.nbytes(), role, source, ptr not in seen)
        )
        seen.add(ptr)
    return saved


def saved_for_backward(
    module: nn.Module, input_shape: tuple[int, ...], *, batch: int = 1, dtype: torch.dtype = torch.float32
) -> SavedForBackward:
    """Runs one training-mode forward (``module.train()``, parameters requiring grad as the module
    has them, the input not: as in a training step) under ``saved_tensors_hooks`` and records every
    tensor autograd saves, attributed to the innermost module running when it is saved."""
    model = _prepared(module, dtype, training=True)
    roles = _storages(model)
    x = _input(input_shape, batch, dtype)
    roles[x.untyped_storage().data_ptr()] = "input"
    packed: list[tuple[str, torch.Tensor]] = []
    with _running(model) as layer:

        def pack(tensor: torch.Tensor) -> int:
            # The graph keeps an index, this list the tensor: a pack hook returning a layer's own
            # output would make a cycle (output -> grad_fn -> saved output) that nothing frees.
            # No backward runs, so nothing unpacks.
            packed.append((layer(), tensor))
            return len(packed) - 1

        with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda i: packed[i][1]):
            out = model(x)
    saved = _described(packed, roles, layer)
    del out
    packed.clear()  # frees every saved tensor, alive until now as autograd would keep them
    layers = dict.fromkeys(layer.order, 0)
    for s in saved:
        if s.first and s.role in ("input", "activation"):
            layers[s.layer] = layers.get(s.layer, 0) + s.storage_bytes
    return SavedForBackward(
        tuple(saved),
        layers,
        sum(layers.values()),
        sum(s.storage_bytes for s in saved if s.first and s.role == "input"),
        sum(s.storage_bytes for s in saved if s.first and s.role in ("parameter", "buffer")),
    )


class _Live(TorchDispatchMode):  # type: ignore[no-untyped-call]  # torch leaves it untyped
    """Every storage an operator returns that is new (not a parameter's, a buffer's, the input's
    or one already alive) is alive until Python frees it (a weakref finalizer on the storage);
    after each operator, the bytes alive are compared with the peak."""

    def __init__(self, known: set[int], start: int, running: _Running) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.known, self.layer = known, running
        self.alive: dict[int, int] = {}
        self.bytes = self.peak = start
        self.where = ""
        self.layers: dict[str, int] = {}
        running.listener = self._enter

    def _enter(self, name: str) -> None:
        # A layer that runs no operator (a view, the identity) still sees what is alive.
        self.layers[name] = max(self.layers.get(name, 0), self.bytes)

    def _free(self, ptr: int) -> None:
        self.bytes -= self.alive.pop(ptr)

    def __torch_dispatch__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
    ) -> Any:
        out = func(*args, **(kwargs or {}))
        for tensor in tree_leaves(out):
            if not isinstance(tensor, torch.Tensor):
                continue
            storage = tensor.untyped_storage()
            ptr, nbytes = storage.data_ptr(), storage.nbytes()
            if nbytes == 0 or ptr in self.known or ptr in self.alive:
                continue
            self.alive[ptr] = nbytes
            self.bytes += nbytes
            weakref.finalize(storage, self._free, ptr)
        name = self.layer()
        self.layers[name] = max(self.layers.get(name, 0), self.bytes)
        if self.bytes > self.peak:
            self.peak, self.where = self.bytes, name
        return out


@dataclass(frozen=True, slots=True)
class InferenceMemory:
    """One inference forward's memory: ``peak``, the most activation bytes alive at once (the
    network input, alive throughout as its caller holds it, included: ``input`` says how much);
    ``layer``, the layer running at the peak; ``layers``, the peak while each layer ran (every
    layer that ran, in running order); ``output``, the bytes still alive after the forward (the
    output and what it keeps); ``parameters`` and ``buffers``, bytes held by the module itself,
    not part of the peak.

    Left out: what an operator allocates and frees inside its kernel (convolution workspaces,
    oneDNN weight reorders, im2col buffers, contiguous copies made inside a kernel), the
    allocator's rounding and alignment, and Python objects.
    """

    peak: int
    layer: str
    layers: dict[str, int]
    input: int
    output: int
    parameters: int
    buffers: int


def inference_memory(
    module: nn.Module, input_shape: tuple[int, ...], *, batch: int = 1, dtype: torch.dtype = torch.float32
) -> InferenceMemory:
    """Runs one ``torch.no_grad()`` eval-mode forward and follows every storage operators return
    (a ``TorchDispatchMode``) until it is freed; storages are counted once however many views
    share them, and in-place operators allocate nothing."""
    model = _prepared(module, dtype, training=False)
    x = _input(input_shape, batch, dtype)
    known = set(_storages(model)) | {x.untyped_storage().data_ptr()}
    start = x.untyped_storage().nbytes()
    with _running(model) as layer:
        live = _Live(known, start, layer)
        with torch.no_grad(), live:
            out = model(x)
            after = live.bytes - start
    del out
    return InferenceMemory(
        live.peak,
        live.where,
        {name: live.layers.get(name, 0) for name in layer.order},
        start,
        after,
        sum(p.untyped_storage().nbytes() for p in model.parameters()),
        sum(b.untyped_storage().nbytes() for b in model.buffers()),
    )


def inference_peak(
    module: nn.Module, input_shape: tuple[int, ...], *, batch: int = 1, dtype: torch.dtype = torch.float32
) -> int:
    """The peak of live activation bytes (the input included) in an inference forward: see
    :func:`inference_memory`."""
    return inference_memory(module, input_shape, batch=batch, dtype=dtype).peak


__all__ = [
    "InferenceMemory",
    "Role",
    "Saved",
    "SavedForBackward",
    "dtype_name",
    "inference_memory",
    "inference_peak",
    "saved_for_backward",
]
