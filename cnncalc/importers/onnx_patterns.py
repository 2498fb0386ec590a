"""Layers ONNX writes as several nodes, followed node by node through :attr:`Reader.pending`:
torchvision's LayerNorm2d (Transpose to channels last, LayerNormalization over the last axis,
Transpose back), ShuffleNet's channel shuffle (Reshape, Transpose, Reshape) and GELU before opset 20 (x * (1 + erf(x / sqrt 2)) * 0.5, as PyTorch exports
it). A pattern broken half way is reported at the node that breaks it."""

from __future__ import annotations

import math
from typing import Any

from .onnx_reader import FakeNode, Reader, Skip, decimal
from .onnx_reader import handles as _handles

#: Each step: (op type, stage before) -> its alternatives (stage after, what the other input must
#: be: a constant, None for no other input, "x" for the feature map the pattern started from).
#: PyTorch's TorchScript exporter multiplies by x, then by 0.5; its dynamo exporter the other way.
_GELU: dict[tuple[str, str | None], list[tuple[str, float | str | None]]] = {
    ("Div", None): [("gelu: x/sqrt2", math.sqrt(2))],
    ("Mul", None): [("gelu: x/sqrt2", 1 / math.sqrt(2))],
    ("Erf", "gelu: x/sqrt2"): [("gelu: erf", None)],
    ("Add", "gelu: erf"): [("gelu: 1+erf", 1.0)],
    ("Mul", "gelu: 1+erf"): [("gelu: x(1+erf)", "x"), ("gelu: (1+erf)/2", 0.5)],
    ("Mul", "gelu: x(1+erf)"): [("gelu", 0.5)],
    ("Mul", "gelu: (1+erf)/2"): [("gelu", "x")],
}


def _near(value: Any, wanted: float) -> bool:
    return bool(getattr(value, "size", 0) == 1 and math.isclose(float(value.flat[0]), wanted, rel_tol=1e-4))


def _fits(r: Reader, others: list[str], wanted: float | str | None, source: str) -> bool:
    """Whether a step's other inputs are what it wants (see _GELU)."""
    if wanted == "x":
        return others == [source]
    if wanted is None:
        return not others
    return len(others) == 1 and others[0] in r.const and _near(r.const[others[0]], float(wanted))


def gelu_step(r: Reader, node: Any) -> bool:
    """Whether ``node`` is a step of the GELU pattern (then it is taken): the first step is x
    divided by sqrt(2) (or times 1/sqrt(2)), x a feature map; the last emits one gelu layer."""
    inputs = [t for t in node.input if t]
    follows = [t for t in inputs if t in r.pending and r.pending[t][0].startswith("gelu")]
    stage = r.pending[follows[0]][0] if follows else None
    steps = _GELU.get((node.op_type, stage), [])
    others = [t for t in inputs if t not in follows]
    if stage is None:  # the start: a feature map and the constant
        data = [t for t in others if t in r.layer_of]
        if not steps or len(data) != 1 or not _fits(r, [t for t in others if t not in data], steps[0][1], ""):
            return False
        r.pending[node.output[0]] = (steps[0][0], data[0], node, {})
        return True
    _, source, first, fields = r.pending[follows[0]]
    after = next((after for after, wanted in steps if _fits(r, others, wanted, source)), None)
    if after is None:
        raise Skip(f"a GELU pattern ({stage}) goes on with something else")
    if after == "gelu":
        fake = FakeNode(node.name, node.op_type, [], list(node.output), node)
        r.emit(fake, "gelu", {}, [source], r.rank[source])
    else:
        r.pending[node.output[0]] = (after, source, first, fields)
    return True


def shuffle_step(r: Reader, node: Any, target: tuple[Any, ...]) -> bool:
    """Whether the Reshape ``node`` (to ``target``) is part of a channel shuffle, as torchvision's
    ShuffleNetV2 writes it: x.view(N, g, C/g, H, W), transpose(1, 2), view(N, C, H, W)."""
    source = node.input[0]
    state = r.pending.get(source)
    if state and state[0] == "channel_shuffle: swapped" and len(target) == 4:
        fake = FakeNode(node.name, node.op_type, [], list(node.output), node)
        r.emit(fake, "channel_shuffle", state[3], [state[1]], 4)
        return True
    if source in r.layer_of and r.rank.get(source) == 4 and len(target) == 5 and isinstance(target[1], int):
        r.pending[node.output[0]] = ("channel_shuffle: grouped", source, node, {"groups": target[1]})
        return True
    return False


@_handles("Erf")
def _erf(r: Reader, node: Any, a: dict[str, Any]) -> None:
    if not gelu_step(r, node):
        raise Skip("Erf maps only inside GELU: x * (1 + erf(x / sqrt 2)) * 0.5")


@_handles("Transpose")
def _transpose(r: Reader, node: Any, a: dict[str, Any]) -> None:
    perm, source = list(a.get("perm", [])), node.input[0]
    if source in r.const:  # shape arithmetic (a padding's pairs reordered)
        r.const[node.output[0]] = r.const[source].transpose(perm or None)
        return
    if source in r.sizes:  # sizes of the input reordered: followed no further
        r.sizes[node.output[0]] = (None,) * len(r.sizes[source])
        return
    if perm == [0, 2, 3, 1] and source in r.layer_of:
        r.pending[node.output[0]] = ("channels last", source, None, {})
        return
    state = r.pending.get(source)
    if perm == [0, 2, 1, 3, 4] and state and state[0] == "channel_shuffle: grouped":
        r.pending[node.output[0]] = ("channel_shuffle: swapped", *state[1:])
        return
    if perm == [0, 3, 1, 2] and state and state[0] == "layernorm2d: normalized":
        _, start, norm, fields = state
        fake = FakeNode(norm.name, "LayerNormalization", list(norm.input), list(node.output), norm)
        r.emit(fake, "layernorm2d", fields, [start], r.rank[start])
        return
    raise Skip(f"a transpose {perm} maps only around a LayerNormalization over the channels (LayerNorm2d)")


@_handles("LayerNormalization")
def _layernorm(r: Reader, node: Any, a: dict[str, Any]) -> None:
    state = r.pending.get(node.input[0])
    if not state or state[0] != "channels last" or int(a.get("axis", -1)) not in (-1, 3):
        raise Skip("a LayerNormalization maps only over the channels, between transposes (LayerNorm2d)")
    fields: dict[str, Any] = {}
    eps = decimal(a.get("epsilon", 1e-5))
    if eps != 1e-6:  # torchvision's LayerNorm2d default in cnncalc
        fields["eps"] = eps
    if len(node.input) < 2 or not node.input[1]:
        fields["elementwise_affine"] = False
    elif len(node.input) < 3 or not node.input[2]:
        fields["bias"] = False
    r.pending[node.output[0]] = ("layernorm2d: normalized", state[1], node, fields)


@_handles("SplitToSequence")
def _split_to_sequence(r: Reader, node: Any, a: dict[str, Any]) -> None:
    source = node.input[0]
    size = r.value(node.input[1], "split") if len(node.input) > 1 and node.input[1] else None
    channels = (r.inferred.get(source) or (None, None))[1]
    rank = r.rank.get(source, 0)
    if int(a.get("axis", 0)) % max(rank, 1) != 1 or size is None or size.size != 1 or not channels:
        raise Skip("only a split of a known number of channels into equal parts maps (a chunk)")
    r.data(source)
    chunks = channels // int(size.flat[0])
    r.pending[node.output[0]] = ("chunk: sequence", source, node, {"chunks": chunks})


@_handles("SequenceAt")
def _sequence_at(r: Reader, node: Any, a: dict[str, Any]) -> None:
    state = r.pending.get(node.input[0])
    if not state or state[0] != "chunk: sequence":
        raise Skip("only an element of a split into equal channel parts maps (a chunk)")
    index = int(r.value(node.input[1], "index").flat[0]) % state[3]["chunks"]
    fake = FakeNode(node.name, node.op_type, [], list(node.output), node)
    r.emit(fake, "chunk", {**state[3], "index": index}, [state[1]], r.rank[state[1]])


__all__ = ["gelu_step", "shuffle_step"]
