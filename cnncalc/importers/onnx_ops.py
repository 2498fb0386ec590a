"""One handler per ONNX operator: the node's attributes and constant inputs as a cnncalc layer's
fields (https://onnx.ai/onnx/operators/). A handler raises Skip with the reason a node cannot be
mapped; sizes (Shape, Gather, Concat of sizes...) are folded into vectors, never layers."""

from __future__ import annotations

import math
from typing import Any

from .onnx_patterns import gelu_step, shuffle_step
from .onnx_reader import FakeNode, Reader, Skip, decimal, short
from .onnx_reader import handles as _handles
from .onnx_sizes import fold


def _padding(r: Reader, node: Any, a: dict[str, Any], rank: int, zeros_fit: bool) -> tuple[Any, str]:
    """The padding field and the tensor the layer reads: ONNX's pads [x1_begin, x2_begin, ...,
    x1_end, ...] per axis when begin = end, auto_pad as is, else (where ``zeros_fit``: a zero
    padding is exact) a zeropad layer first."""
    auto = a.get("auto_pad", b"NOTSET").decode()
    source = node.input[0]
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        return auto, source
    pads = [int(p) for p in a.get("pads", [0] * 2 * rank)] if auto != "VALID" else [0] * 2 * rank
    begin, end = pads[:rank], pads[rank:]
    if begin == end:
        return short(begin) if any(begin) else 0, source
    if not zeros_fit or rank > 3:
        raise Skip(f"asymmetric pads {pads} have no cnncalc field for this operator")
    flat = [p for b, e in reversed(list(zip(begin, end, strict=True))) for p in (b, e)]  # last axis first
    fake = FakeNode(node.name, node.op_type, list(node.input), [f"{node.output[0]}#pad"], node, "_pad")
    r.emit(fake, f"zeropad{rank}d", {"padding": short(flat) if len(set(flat)) == 1 else flat}, [source], r.rank[source])
    return 0, fake.output[0]


@_handles("Conv", "ConvTranspose")
def _conv(r: Reader, node: Any, a: dict[str, Any]) -> None:
    weight = r.value(node.input[1], "weight")
    rank, groups = weight.ndim - 2, int(a.get("group", 1))
    transposed = node.op_type == "ConvTranspose"
    if transposed and ("output_shape" in a or a.get("auto_pad", b"NOTSET") not in (b"NOTSET", b"VALID")):
        raise Skip("an output_shape or auto_pad of a transposed convolution has no cnncalc field")
    out = int(weight.shape[1]) * groups if transposed else int(weight.shape[0])
    fields: dict[str, Any] = {"out_channels": out, "kernel_size": short(a.get("kernel_shape", weight.shape[2:]))}
    if any(s != 1 for s in a.get("strides", [1])):
        fields["stride"] = short(a["strides"])
    padding, source = _padding(r, node, a, rank, zeros_fit=not transposed)
    if padding != 0:
        fields["padding"] = padding
    if transposed and any(a.get("output_padding", [0])):
        fields["output_padding"] = short(a["output_padding"])
    if any(d != 1 for d in a.get("dilations", [1])):
        fields["dilation"] = short(a["dilations"])
    if groups != 1:
        fields["groups"] = groups
    if len(node.input) < 3 or node.input[2] not in r.weights:  # a bias computed in the graph is no parameter
        fields["bias"] = False
    kind = f"{'convtranspose' if transposed else 'conv'}{rank}d"
    r.emit(node, kind, fields, [source], r.rank[node.input[0]])


@_handles("MaxPool", "AveragePool")
def _pool(r: Reader, node: Any, a: dict[str, Any]) -> None:
    if len(node.output) > 1 and r.consumers[node.output[1]]:
        raise Skip("the indices output of a max pool has no cnncalc kind")
    kernel = [int(k) for k in a["kernel_shape"]]
    rank, average = len(kernel), node.op_type == "AveragePool"
    fields: dict[str, Any] = {"kernel_size": short(kernel)}
    strides = [int(s) for s in a.get("strides", [1] * rank)]  # ONNX's default is 1, PyTorch's the kernel
    if strides != kernel:
        fields["stride"] = short(strides)
    includes = bool(a.get("count_include_pad", 0))
    padding, source = _padding(r, node, a, rank, zeros_fit=average and includes)
    if padding != 0:
        fields["padding"] = padding
        if average and not includes:
            fields["count_include_pad"] = False
    if any(d != 1 for d in a.get("dilations", [1])):
        if average:
            raise Skip("a dilated average pool has no cnncalc kind")
        fields["dilation"] = short(a["dilations"])
    if a.get("ceil_mode", 0):
        fields["ceil_mode"] = True
    r.emit(node, f"{'avgpool' if average else 'maxpool'}{rank}d", fields, [source], r.rank[node.input[0]])


@_handles("GlobalAveragePool", "GlobalMaxPool")
def _global_pool(r: Reader, node: Any, a: dict[str, Any]) -> None:
    rank = r.rank.get(node.input[0], 0)
    if not 3 <= rank <= 5:
        raise Skip(f"a global pool needs 1 to 3 spatial axes, its input has rank {rank}")
    kind = "adaptiveavgpool" if node.op_type == "GlobalAveragePool" else "adaptivemaxpool"
    r.emit(node, f"{kind}{rank - 2}d", {"output_size": 1}, [node.input[0]], rank)


@_handles("ReduceMean", "ReduceMax")
def _reduce(r: Reader, node: Any, a: dict[str, Any]) -> None:
    rank = r.rank.get(node.input[0], 0)
    axes = a.get("axes")
    if axes is None and len(node.input) > 1 and node.input[1]:
        axes = r.value(node.input[1], "axes").tolist()
    if axes is None or sorted(x % rank for x in axes) != list(range(2, rank)) or not 3 <= rank <= 5:
        raise Skip(f"only a reduction over all spatial axes maps (a global pool), not axes {axes}")
    kind = "adaptiveavgpool" if node.op_type == "ReduceMean" else "adaptivemaxpool"
    keep = bool(a.get("keepdims", 1))
    pool = r.emit(node, f"{kind}{rank - 2}d", {"output_size": 1}, [node.input[0]], rank)
    if not keep:  # [N, C, 1, 1] -> [N, C]
        r.alias(f"{node.output[0]}#pool", pool, rank)
        fake = FakeNode(node.name, node.op_type, [], list(node.output), node, "_flatten")
        r.emit(fake, "flatten", {}, [f"{node.output[0]}#pool"], 2)


@_handles("BatchNormalization")
def _batchnorm(r: Reader, node: Any, a: dict[str, Any]) -> None:
    rank = r.rank.get(node.input[0], 0)
    kinds = {2: "batchnorm1d", 3: "batchnorm1d", 4: "batchnorm2d", 5: "batchnorm3d"}
    if rank not in kinds:
        raise Skip(f"a batch norm of an input of rank {rank} has no cnncalc kind")
    fields: dict[str, Any] = {}
    eps, momentum = decimal(a.get("epsilon", 1e-5)), decimal(1 - a.get("momentum", 0.9))  # ONNX keeps 1 - PyTorch's
    if eps != 1e-5:
        fields["eps"] = eps
    if momentum != 0.1:
        fields["momentum"] = momentum
    r.emit(node, kinds[rank], fields, [node.input[0]], rank)


@_handles("LRN")
def _lrn(r: Reader, node: Any, a: dict[str, Any]) -> None:
    fields = {"size": int(a["size"]), "alpha": decimal(a.get("alpha", 1e-4)), "beta": decimal(a.get("beta", 0.75))}
    fields["k"] = decimal(a.get("bias", 1.0))
    r.emit(node, "localresponsenorm", fields, [node.input[0]], r.rank[node.input[0]])


@_handles("Gemm", "MatMul")
def _linear(r: Reader, node: Any, a: dict[str, Any]) -> None:
    weight = r.value(node.input[1], "weight")
    if a.get("transA", 0) or weight.ndim != 2:
        raise Skip("only x @ W with a constant 2-D W (a linear layer) maps")
    out = int(weight.shape[0] if a.get("transB", 0) else weight.shape[1])
    bias = len(node.input) > 2 and bool(node.input[2])
    fields: dict[str, Any] = {"out_features": out} if bias else {"out_features": out, "bias": False}
    r.emit(node, "linear", fields, [node.input[0]], r.rank[node.input[0]])


_ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh", "HardSwish": "hardswish"}


@_handles(*_ACTIVATIONS, "LeakyRelu", "Gelu", "Softmax", "HardSigmoid", "Dropout", "Clip")
def _activation(r: Reader, node: Any, a: dict[str, Any]) -> None:
    op, fields, kind = node.op_type, {}, _ACTIVATIONS.get(node.op_type, node.op_type.lower())
    if op == "LeakyRelu":
        kind, fields = "leakyrelu", {"negative_slope": decimal(a.get("alpha", 0.01))}
    elif op == "Gelu" and a.get("approximate", b"none") != b"none":
        fields = {"approximate": a["approximate"].decode()}
    elif op == "Softmax":
        fields = {"dim": int(a.get("axis", -1))}
    elif op == "HardSigmoid" and not (
        math.isclose(a.get("alpha", 0.2), 1 / 6, rel_tol=1e-5) and a.get("beta", 0.5) == 0.5
    ):
        raise Skip("only PyTorch's hard sigmoid (alpha 1/6, beta 0.5) maps")
    elif op == "Dropout":
        ratio = r.value(node.input[1], "ratio") if len(node.input) > 1 and node.input[1] else a.get("ratio", 0.5)
        fields = {"p": decimal(float(ratio))}
    elif op == "Clip":
        kind = _clip(r, node)
    r.emit(node, kind, fields, [node.input[0]], r.rank[node.input[0]])


def _clip(r: Reader, node: Any) -> str:
    """relu6 for Clip(0, 6), relu for Clip(0, none)."""
    low, high = (float(r.value(t, "bound")) if t else None for t in [*node.input[1:], "", ""][:2])
    if low == 0 and high == 6:
        return "relu6"
    if low == 0 and high is None:
        return "relu"
    raise Skip(f"only Clip(0, 6) (relu6) and Clip(0) (relu) map, not Clip({low}, {high})")


@_handles("Mul")
def _mul(r: Reader, node: Any, a: dict[str, Any]) -> None:
    if gelu_step(r, node):
        return
    x, y = node.input
    for data, gate in ((x, y), (y, x)):
        draft = r.draft_of.get(gate)
        if draft and draft.kind in ("sigmoid", "hardsigmoid") and draft.sources == (r.layer_of.get(data),):
            r.emit(node, "silu" if draft.kind == "sigmoid" else "hardswish", {}, [data], r.rank[data])
            return
    for data, scale in ((x, y), (y, x)):
        if data in r.layer_of and scale in r.const:
            value = r.const[scale]
            if value.ndim >= 3 and value.size == value.shape[-3] and value.shape[-3] > 1:  # gamma [C, 1, 1]
                r.emit(node, "layerscale", {"init": decimal(float(value.flat[0]))}, [data], r.rank[data])
                return
            raise Skip(f"a product with a constant of shape {list(value.shape)} has no cnncalc kind")
    _merge(r, node, a, "mul")


@_handles("Add", "Sum")
def _add(r: Reader, node: Any, a: dict[str, Any]) -> None:
    if gelu_step(r, node):
        return
    for data, bias in (node.input, reversed(node.input)) if len(node.input) == 2 else ():
        draft = r.draft_of.get(data)
        if bias in r.const and draft and draft.kind == "linear" and draft.fields.get("bias") is False:
            if r.consumers[data] != 1 or r.const[bias].size != draft.fields["out_features"]:
                raise Skip("a constant added to a linear layer's output is not its bias")
            del draft.fields["bias"]  # MatMul + Add: nn.Linear on more than two axes
            r.alias(node.output[0], draft, r.rank[data])
            return
    _merge(r, node, a, "add")


def _merge(r: Reader, node: Any, a: dict[str, Any], kind: str) -> None:
    if all(t in r.const or t in r.sizes for t in node.input):
        fold(r, node, a)
        return
    if any(t in r.const for t in node.input):
        raise Skip(f"{kind} of a feature map and a constant has no cnncalc kind")
    if any(t in r.sizes for t in node.input):
        fold(r, node, a)
        return
    r.emit(node, kind, {}, list(node.input), max(r.rank[t] for t in node.input))


@_handles("Concat")
def _concat(r: Reader, node: Any, a: dict[str, Any]) -> None:
    if all(t in r.sizes or t in r.const for t in node.input):
        fold(r, node, a)
        return
    rank = r.rank.get(node.input[0], 0)
    if int(a["axis"]) % max(rank, 1) != 1:
        raise Skip(f"only a concatenation along the channels (axis 1) maps, not axis {a['axis']}")
    r.emit(node, "concat", {}, list(node.input), rank)


@_handles("Split")
def _split(r: Reader, node: Any, a: dict[str, Any]) -> None:
    rank = r.rank.get(node.input[0], 0)
    parts = a.get("split")
    if parts is None and len(node.input) > 1 and node.input[1]:
        parts = r.value(node.input[1], "split").tolist()
    n = len(node.output)
    if int(a.get("axis", 0)) % max(rank, 1) != 1 or (parts is not None and len(set(parts)) != 1):
        raise Skip(
            f"only a split into equal parts along the channels maps (a chunk), not {parts} on axis {a.get('axis', 0)}"
        )
    for index, out in enumerate(node.output):
        if r.consumers[out]:
            fake = FakeNode(node.name, node.op_type, [], [out], node, f"_{index}")
            r.emit(fake, "chunk", {"chunks": n, "index": index}, [node.input[0]], rank)


@_handles("Flatten")
def _flatten(r: Reader, node: Any, a: dict[str, Any]) -> None:
    if int(a.get("axis", 1)) != 1:
        raise Skip(f"only Flatten at axis 1 (keeping the batch) maps, not axis {a.get('axis')}")
    r.emit(node, "flatten", {}, [_unpermuted(r, node.input[0])], 2)


def _unpermuted(r: Reader, tensor: str) -> str:
    """A feature map transposed to channels last (Keras flattens so) as it was: flattening
    orders the values otherwise, which changes no size or count."""
    state = r.pending.get(tensor)
    return state[1] if state and state[0] == "channels last" else tensor


@_handles("Squeeze")
def _squeeze(r: Reader, node: Any, a: dict[str, Any]) -> None:
    if node.input[0] not in r.layer_of:
        fold(r, node, a)
        return
    rank = r.rank[node.input[0]]
    axes = a.get("axes") or (r.value(node.input[1], "axes").tolist() if len(node.input) > 1 else None)
    if axes is None or sorted(x % rank for x in axes) != list(range(2, rank)):
        raise Skip(f"only squeezing every spatial axis (after a global pool) maps, not axes {axes}")
    r.emit(node, "flatten", {}, [node.input[0]], 2)


@_handles("Reshape")
def _reshape(r: Reader, node: Any, a: dict[str, Any]) -> None:
    if node.input[0] not in r.layer_of and node.input[0] not in r.pending:
        fold(r, node, a)
        return
    target = r.sizes.get(node.input[1]) or tuple(r.value(node.input[1], "shape").tolist())
    if shuffle_step(r, node, target):
        return
    source = _unpermuted(r, node.input[0])
    r.data(source)  # a pattern broken here is reported here
    before = r.inferred.get(node.input[0])
    rest = math.prod(d for d in before[1:] if d) if before and all(before[1:]) else None
    batch = target[0] in ("N", 0) or (before is not None and before[0] == target[0])
    if len(target) != 2 or not batch or target[1] not in (-1, rest):
        raise Skip(f"only a reshape to [batch, -1] (a flatten) maps, not to {list(target)}")
    r.emit(node, "flatten", {}, [source], 2)


@_handles("Pad")
def _pad(r: Reader, node: Any, a: dict[str, Any]) -> None:
    rank = r.rank.get(node.input[0], 0)
    if len(node.input) > 1 and node.input[1] in r.sizes:
        raise Skip(
            "its pads are computed from the input's size (TF's SAME padding written out, as PyTorch exports "
            "it): export at fixed sizes, or with the convolution's auto_pad SAME_UPPER"
        )
    pads = [int(p) for p in r.value(node.input[1], "pads").tolist()] if len(node.input) > 1 else []
    value = float(r.value(node.input[2], "value")) if len(node.input) > 2 and node.input[2] else 0.0
    if a.get("mode", b"constant") != b"constant" or value != 0 or len(node.input) > 3 or len(pads) != 2 * rank:
        raise Skip("only a zero padding of the spatial axes maps (zeropad)")
    begin, end = pads[2:rank], pads[rank + 2 :]
    if pads[:2] != [0, 0] or pads[rank : rank + 2] != [0, 0] or not 1 <= rank - 2 <= 3:
        raise Skip(f"a padding of the batch or channel axes ({pads}) has no cnncalc kind")
    flat = [p for b, e in reversed(list(zip(begin, end, strict=True))) for p in (b, e)]
    r.emit(
        node, f"zeropad{rank - 2}d", {"padding": short(flat) if len(set(flat)) == 1 else flat}, [node.input[0]], rank
    )


@_handles("Resize")
def _resize(r: Reader, node: Any, a: dict[str, Any]) -> None:
    rank = r.rank.get(node.input[0], 0)
    mode = a.get("mode", b"nearest").decode()
    if not 3 <= rank <= 5 or mode not in ("nearest", "linear", "cubic") or (mode == "cubic" and rank != 4):
        raise Skip(f"a {mode} resize of a rank-{rank} input has no cnncalc mode")
    names = {"nearest": "nearest", "linear": ("linear", "bilinear", "trilinear")[rank - 3], "cubic": "bicubic"}
    fields: dict[str, Any] = {"mode": names[mode]}
    given = [t for t in node.input[1:] if t]
    if not given:
        raise Skip("a resize needs scales or sizes")
    values = [float(v) for v in r.value(given[-1], "scales or sizes").tolist()[2:]]
    if len(node.input) > 3 and node.input[3]:  # sizes (opset 11 on: roi, scales, sizes)
        fields["size"] = short(values)
    else:
        fields["scale_factor"] = short(values) if all(v.is_integer() for v in values) else values
    if a.get("coordinate_transformation_mode") == b"align_corners":
        fields["align_corners"] = True
    elif mode != "nearest":
        fields["align_corners"] = False
    r.emit(node, "upsample", fields, [node.input[0]], rank)


@_handles("Identity")
def _identity(r: Reader, node: Any, a: dict[str, Any]) -> None:
    source, out = node.input[0], node.output[0]
    if source in r.const:
        r.const[out] = r.const[source]
    elif source in r.sizes:
        r.sizes[out] = r.sizes[source]
    elif source in r.pending:
        r.pending[out] = r.pending[source]
    else:
        r.alias(out, r.draft_of.get(source) or r.data(source), r.rank[source])


__all__: list[str] = []
