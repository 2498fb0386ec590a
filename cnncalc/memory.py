"""Memory in bytes: parameters, buffers, what training keeps for backward, and the inference peak.

Built on a summary (numeric, or symbolic in the sizes) and the network's structure; the batch may
be a number or a symbol (``B``), so every figure is then a polynomial in it (a*B + b). The rules per
layer kind - what its backward keeps, whether its output is a view or written in place - are
declared next to each kind (``saves``, ``shares_input`` in :mod:`cnncalc.layers`), as PyTorch 2.13
keeps them; :mod:`cnncalc.backends.torch.memory` measures the same with autograd's hooks.

Storages, not tensors, are counted: an in-place ReLU's output is its input's storage, a flatten a
view of it, and a storage kept by two layers (a ReLU's output that the next convolution keeps as its
input) counts once, for the first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import CnncalcError
from .symbolic import Env, Value, _sp, free_symbols, maximum, product, symbol, to_text
from .units import DTYPES, OPTIMIZERS

if TYPE_CHECKING:
    from .network import Network
    from .report import Summary

#: Element sizes that do not follow the dtype: max pooling's indices are int64.
SIDE = {"indices": 8}

CONVENTIONS = {
    "bytes": "binary units (1 MiB = 2**20 bytes); one dtype for parameters, gradients, optimizer state "
    "and activations (no mixed-precision master copy)",
    "saved": "tensors autograd keeps for backward in training mode, as PyTorch 2.13 keeps them on CPU "
    "(dropout's mask in the input's dtype; CUDA's fused dropout keeps a bool mask): each storage once "
    "(in-place and view outputs share their input's), the network input included, parameters not "
    "(they are counted as parameters)",
    "training": "parameters + gradients + optimizer state (momentum 1x, Adam/AdamW 2x the parameters) "
    "+ buffers + saved activations",
    "peak": "largest sum of layer outputs alive at once in inference, running the layers in file order "
    "(training-only layers not at all) and freeing each output after its last use (the input is held by the "
    "caller throughout), plus parameters and buffers; kernels' workspaces and the allocator's rounding are "
    "not counted",
}


@dataclass(frozen=True, slots=True)
class LayerMemory:
    """One layer: the bytes of its output (0 for a view or an in-place output) and of the
    storages its backward keeps that no earlier layer kept."""

    name: str
    kind: str
    output_bytes: Value
    saved_bytes: Value
    saves: tuple[str, ...]


@dataclass(frozen=True)
class Memory:
    """Bytes of one network at one batch and dtype: per layer and in total (see :data:`CONVENTIONS`)."""

    name: str
    dtype: str
    batch: Value
    training: str | None
    param_bytes: Value
    buffer_bytes: Value
    gradient_bytes: Value
    optimizer_bytes: Value
    saved_bytes: Value
    training_bytes: Value
    activation_peak: Value
    inference_bytes: Value
    peak_layer: str
    layers: tuple[LayerMemory, ...]
    conventions: dict[str, str] = field(default_factory=lambda: dict(CONVENTIONS))

    def totals(self) -> dict[str, Value]:
        """The totals by name: the names ``sweep``'s and ``solve``'s conditions use."""
        return {
            "param_bytes": self.param_bytes,
            "buffer_bytes": self.buffer_bytes,
            "grad_bytes": self.gradient_bytes,
            "optimizer_bytes": self.optimizer_bytes,
            "saved_bytes": self.saved_bytes,
            "train_bytes": self.training_bytes,
            "peak_bytes": self.activation_peak,
            "infer_bytes": self.inference_bytes,
        }

    def view(self, depth: int, groups: dict[str, str] | None = None) -> Memory:
        """Layers below ``depth`` dotted names collapsed into one row per block (its outputs and
        saved bytes summed; kind: the block, as ``groups`` names it); totals unchanged."""
        merged: dict[str, list[LayerMemory]] = {}
        for m in self.layers:
            merged.setdefault(".".join(m.name.split(".")[:depth]), []).append(m)
        rows = []
        for name, members in merged.items():
            if len(members) == 1 and members[0].name == name:
                rows.append(members[0])
                continue
            kind = (groups or {}).get(name, "block")
            outputs = sum((m.output_bytes for m in members), start=0)
            saved = sum((m.saved_bytes for m in members), start=0)
            rows.append(LayerMemory(name, kind, outputs, saved, ()))
        return dataclasses.replace(self, layers=tuple(rows))

    def render(self, format: str = "text") -> str:
        """The figures as a text table with totals in MiB/GiB, or as JSON."""
        from .render.memory import render_memory

        return render_memory(self, format)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready data (sympy expressions as text)."""

        def plain(v: Value) -> Any:
            return v if isinstance(v, int) else to_text(v)

        return {
            "name": self.name,
            "dtype": self.dtype,
            "batch": plain(self.batch),
            "training": self.training,
            "totals": {k: plain(v) for k, v in self.totals().items()},
            "peak_layer": self.peak_layer,
            "layers": [
                {
                    "name": m.name,
                    "kind": m.kind,
                    "output_bytes": plain(m.output_bytes),
                    "saved_bytes": plain(m.saved_bytes),
                }
                for m in self.layers
            ],
            "conventions": self.conventions,
        }

    def __str__(self) -> str:
        return self.render()


def _check(dtype: str, training: str | None, batch: Value) -> None:
    if dtype not in DTYPES:
        raise CnncalcError(f"unknown dtype {dtype!r}; dtypes: {', '.join(DTYPES)}")
    if training is not None and training not in OPTIMIZERS:
        raise CnncalcError(f"unknown optimizer {training!r}; optimizers: {', '.join(OPTIMIZERS)}")
    if isinstance(batch, bool) or (isinstance(batch, int) and batch < 1):
        raise CnncalcError(f"the batch must be a positive whole number or a symbol, got {batch!r}")


def memory(
    net: Network, summary: Summary, *, batch: Value = 1, dtype: str = "float32", training: str | None = None
) -> Memory:
    """The memory of ``net`` from its ``summary`` (one row per node, in order)."""
    _check(dtype, training, batch)
    size = DTYPES[dtype]
    nodes, rows = net.nodes, summary.rows
    sizes = Sizes(summary, batch, size, net)
    train = _storages(net, training=True)
    kept: dict[tuple[Any, ...], Value] = {}
    grad: list[bool] = []  # whether each output needs a gradient (a trainable parameter upstream)
    layers = []
    for i, (node, row) in enumerate(zip(nodes, rows, strict=True)):
        needs = [grad[j] if j >= 0 else False for j in node.inputs]
        weighted = row.trainable_params != 0
        grad.append(weighted or any(needs))
        new: Value = 0
        saves = node.layer.kept(len(node.inputs)) if grad[i] else ()
        for k, what in enumerate(saves):
            if what.endswith("?"):  # kept only where the input needs a gradient
                if not any(needs):
                    continue
                what = what[:-1]
            for key, count in sizes.kept(what, (i, k), node, row, train, needs):
                if key not in kept:
                    kept[key] = count
                    new = new + count
        output = 0 if train[i] != i else sizes.act(i)
        layers.append(LayerMemory(node.name, node.layer.kind, output, new, saves))
    saved = sum(kept.values(), start=0)
    params = summary.total.params * size
    buffers = sum((_buffers(node.layer, row, size) for node, row in zip(nodes, rows, strict=True)), start=0)
    grads = params if training else 0
    optimizer = params * OPTIMIZERS[training] if training else 0
    peak, where = _peak(net, _storages(net, training=False), sizes)
    return Memory(
        name=net.name,
        dtype=dtype,
        batch=batch,
        training=training,
        param_bytes=params,
        buffer_bytes=buffers,
        gradient_bytes=grads,
        optimizer_bytes=optimizer,
        saved_bytes=saved,
        training_bytes=params + grads + optimizer + buffers + saved if training else 0,
        activation_peak=peak,
        inference_bytes=peak + params + buffers,
        peak_layer=where,
        layers=tuple(layers),
    )


def _storages(net: Network, training: bool) -> list[int]:
    """For each node, the node whose output memory its output lives in (-1: the network input):
    itself, or its input's for views and in-place layers."""
    storage: list[int] = []
    for i, node in enumerate(net.nodes):
        first = node.inputs[0] if node.inputs else -1
        shared = node.layer.aliases(training)
        storage.append((storage[first] if first >= 0 else -1) if shared else i)
    return storage


class Sizes:
    """Bytes of the tensors a summary's rows describe, at one batch and dtype."""

    def __init__(self, summary: Summary, batch: Value, size: int, net: Network | None = None) -> None:
        self.rows, self.batch, self.size = summary.rows, batch, size
        self.input = product(summary.input)
        self.summary, self.net = summary, net
        self._envs: Callable[[Any], Env] | None = None

    def env(self, node: Any, row: Any) -> Env:
        """The values ``node``'s fields see (its block's arguments too), for a size its fields
        decide (a padded input); made on first use, as cnncalc.counting makes them."""
        from .evaluate import _bound_values, scope_envs
        from .spec import IN_CHANNELS

        if self._envs is None:
            assert self.net is not None, "sizes that need the fields need the network"
            symbolic = bool(self.summary.symbols)
            values = {k: v for k, v in self.summary.values.items() if k in self.net.symbol_names}
            self._envs = scope_envs(_bound_values(self.net, values, symbolic)[0])
        env = self._envs(node.scope)
        return Env({**env.values, IN_CHANNELS: row.input[0]}, env.symbolic) if node.uses_in_channels else env

    def act(self, s: int) -> Value:
        """A layer's output (or the network input, -1), in bytes."""
        return (self.input if s < 0 else product(self.rows[s].output)) * self.batch * self.size

    def kept(
        self, what: str, entry: tuple[int, int], node: Any, row: Any, storage: list[int], needs: list[bool]
    ) -> list[tuple[tuple[Any, ...], Value]]:
        """The storages (key, bytes) entry k of node i's ``saves`` names (see ``Layer.saves``):
        a layer's output by its storage, a tensor the layer makes by (i, k), one per entry."""
        i = entry[0]
        source = [storage[j] if j >= 0 else -1 for j in node.inputs] or [-1]
        if what == "input":
            return [(("act", source[0]), self.act(source[0]))]
        if what == "inputs":  # each input whose partner needs a gradient
            return [
                (("act", s), self.act(s)) for a, s in enumerate(source) if any(n for b, n in enumerate(needs) if b != a)
            ]
        if what == "output":
            return [(("act", storage[i]), self.act(storage[i]))]
        return [(("new", *entry), self.new(what, node.layer, row, node))]

    def new(self, what: str, layer: Any, row: Any, node: Any = None) -> Value:
        """Bytes of a tensor a layer makes for itself (see ``Layer.saves``)."""
        c, spatial = row.input[0], product(row.input[1:])
        b, size = self.batch, self.size
        elements: dict[str, Callable[[], Value]] = {
            "like_input": lambda: product(row.input) * b,
            "like_output": lambda: product(row.output) * b,
            "channels": lambda: c,
            "positions": lambda: spatial * b,
            "scalar": lambda: 1,
            "noise_row": lambda: b,
            "lrn_padded": lambda: (c + layer.size - 1) * spatial * b,
            "padded": lambda: c * product(_padded(layer, row.input[1:], lambda: self.env(node, row))) * b,
            # a separable convolution's depthwise output: C_in*m channels at the output's positions
            "depthwise": lambda: product((c, self.env(node, row).resolve(layer.depth_multiplier), *row.output[1:])) * b,
            # SAME average pooling's scale per output position (TF leaves the padding out): no batch
            "counts": lambda: product(row.output[1:]),
        }
        if what == "indices":
            return product(row.output) * b * SIDE["indices"]
        if what not in elements:
            raise CnncalcError(f"unknown saved tensor {what!r}")
        return elements[what]() * size


def _padded(layer: Any, sizes: tuple[Value, ...], env: Callable[[], Env]) -> tuple[Value, ...]:
    """A convolution's input sizes with its padding (padding_mode other than zeros pads first;
    SAME_UPPER/SAME_LOWER pad first always, by an amount the layer's fields and sizes decide)."""
    padding = layer.padding
    if padding in ("SAME_UPPER", "SAME_LOWER"):
        return layer.padded(sizes, env())  # type: ignore[no-any-return]
    n = len(sizes)
    if padding == "valid":
        return sizes
    if padding == "same":
        k = layer.kernel_size if isinstance(layer.kernel_size, tuple) else (layer.kernel_size,) * n
        d = layer.dilation if isinstance(layer.dilation, tuple) else (layer.dilation,) * n
        return tuple(s + dd * (kk - 1) for s, kk, dd in zip(sizes, k, d, strict=True))
    pads = padding if isinstance(padding, tuple) else (padding,) * n
    if not all(isinstance(p, int) for p in pads):
        raise CnncalcError("memory with a padding mode other than zeros needs whole-number padding")
    return tuple(s + 2 * p for s, p in zip(sizes, pads, strict=True))


def _buffers(layer: Any, row: Any, size: int) -> Value:
    """Buffers in bytes: BatchNorm's running mean and variance (C each, in the dtype) and its int64
    count of batches."""
    if not getattr(layer, "track_running_stats", False):
        return 0
    return 2 * row.output[0] * size + 8


def _peak(net: Network, storage: list[int], sizes: Sizes) -> tuple[Value, str]:
    """The largest sum of live outputs, and the layer whose output makes it (see CONVENTIONS)."""
    last: dict[int, int] = {}
    for i, node in enumerate(net.nodes):
        if node.training_only:  # not run in inference (an auxiliary head)
            continue
        for j in node.inputs:
            last[storage[j] if j >= 0 else -1] = i
        last[storage[i]] = max(last.get(storage[i], i), i)
    final = storage[-1]
    live: dict[int, Value] = {-1: sizes.act(-1)}  # the caller holds the input throughout
    candidates: list[tuple[Value, str]] = [(sizes.act(-1), "input")]
    for i, (node, row) in enumerate(zip(net.nodes, sizes.rows, strict=True)):
        if node.training_only:
            continue
        extra = sum((sizes.new(w, node.layer, row, node) for w in node.layer.transients(len(node.inputs))), start=0)
        if storage[i] == i:
            live[i] = sizes.act(i)
        candidates.append((sum(live.values(), start=0) + extra, node.name))
        for s in [s for s in live if s >= 0 and s != final and last.get(s, -1) <= i]:
            del live[s]
    return _largest(candidates)


def _largest(candidates: list[tuple[Value, str]]) -> tuple[Value, str]:
    """The maximum of the candidates and the first layer reaching it. Numbers: the largest. In
    the batch B alone (lines a*B + b): the upper envelope over B >= 1, a line kept unless another
    is at least as large at B = 1 and grows at least as fast. In several symbols (a sweep's closed
    forms): the Max of them all, left to the compiled evaluation."""
    if all(isinstance(v, int) for v, _ in candidates):
        best = max(v for v, _ in candidates)
        return best, next(name for v, name in candidates if v == best)
    names: set[str] = set()
    for v, _ in candidates:
        names |= free_symbols(v)
    if len(names) > 1:
        unique = list(dict.fromkeys(v for v, _ in candidates))
        return _sp().Max(*unique, evaluate=False), "depends on the values"
    b = symbol(names.pop())
    lines: list[tuple[int, int, Value, str]] = []
    for v, name in candidates:
        poly = _sp().Poly(v, b)
        if poly.degree() > 1:
            return _sp().Max(*[c for c, _ in candidates]), "depends on the values"
        lines.append((int(poly.coeff_monomial(b)), int(poly.eval(1)), v, name))
    kept = [line for line in lines if not any(o[0] >= line[0] and o[1] >= line[1] and o[:2] != line[:2] for o in lines)]
    first = list({(s, a): (s, a, v, n) for s, a, v, n in reversed(kept)}.values())  # the earliest of equals
    if len(first) == 1:
        return first[0][2], first[0][3]
    return maximum(*(v for _, _, v, _ in first)), " or ".join(n for _, _, _, n in first) + ", by the batch"


__all__ = ["CONVENTIONS", "DTYPES", "OPTIMIZERS", "LayerMemory", "Memory", "memory"]
