"""Shape arithmetic in an ONNX graph folded away: constants computed with numpy (Concat, Gather,
Slice... of constants), and vectors of sizes from Shape followed with their unknown entries
(``None``; the batch ``"N"``), so that a Reshape's target such as [N, -1] can be read. None of
these nodes is a layer; a feature map reaching one is reported."""

from __future__ import annotations

from typing import Any

from .onnx_patterns import gelu_step
from .onnx_reader import FakeNode, Reader, Skip
from .onnx_reader import handles as _handles


@_handles("Constant")
def _constant(r: Reader, node: Any, a: dict[str, Any]) -> None:
    import numpy as np
    from onnx import numpy_helper

    if "value" in a:
        r.const[node.output[0]] = numpy_helper.to_array(a["value"])
    elif {"value_int", "value_ints"} & set(a):
        r.const[node.output[0]] = np.array(a.get("value_int", a.get("value_ints")), dtype=np.int64)
    elif {"value_float", "value_floats"} & set(a):
        r.const[node.output[0]] = np.array(a.get("value_float", a.get("value_floats")), dtype=np.float32)
    else:
        raise Skip("only a Constant of numbers maps")


@_handles("Shape")
def _shape(r: Reader, node: Any, a: dict[str, Any]) -> None:
    if node.input[0] in r.const or node.input[0] in r.sizes:  # the length of a vector of sizes
        r.const[node.output[0]] = _numpy(node, a, [r.const.get(node.input[0], r.sizes.get(node.input[0]))])
        return
    rank = r.rank[r.data(node.input[0]) and node.input[0]]
    known = r.inferred.get(node.input[0], (None,) * rank)
    r.sizes[node.output[0]] = ("N", *known[1:])[a.get("start", 0) : a.get("end", rank)]


@_handles("Gather", "Unsqueeze", "Cast", "CastLike", "Slice", "Sub", "Div", "Neg", "ConstantOfShape", "Expand")
def fold(r: Reader, node: Any, a: dict[str, Any]) -> None:
    """Shape arithmetic: constants folded with numpy; size vectors (Shape's) through Gather,
    Unsqueeze, Concat and Cast, their unknown entries kept unknown."""
    import numpy as np

    if gelu_step(r, node):
        return
    if node.op_type == "CastLike":  # the second input gives only the type
        node = FakeNode(node.name, "Cast", [node.input[0]], list(node.output))
    for t in node.input:
        if t in r.pending:
            r.data(t)  # says which pattern is broken
    if any(t in r.layer_of for t in node.input if t):
        raise Skip("arithmetic on a feature map has no cnncalc kind")
    if all(t in r.const for t in node.input if t):
        r.const[node.output[0]] = _numpy(node, a, [r.const[t] if t else None for t in node.input])
        return
    vectors: list[tuple[Any, ...]] = [
        r.sizes.get(t) or tuple(np.atleast_1d(r.const[t]).tolist()) for t in node.input if t
    ]
    op, first = node.op_type, vectors[0]
    if op == "Concat":
        r.sizes[node.output[0]] = tuple(v for vector in vectors for v in vector)
    elif op == "Gather" and len(vectors) == 2:
        r.sizes[node.output[0]] = tuple(first[int(i)] for i in vectors[1])
    elif op == "Slice" and all(t in r.const for t in node.input[1:] if t):
        r.sizes[node.output[0]] = first[_slices([first, *(r.const[t] if t else None for t in node.input[1:])])[0]]
    elif op in ("Unsqueeze", "Cast", "CastLike", "Squeeze", "Identity"):
        r.sizes[node.output[0]] = first
    else:
        r.sizes[node.output[0]] = (None,) * len(first)  # known to be sizes, values not followed


def _numpy(node: Any, a: dict[str, Any], xs: list[Any]) -> Any:
    """A constant node's value (the shape arithmetic exporters leave in)."""
    import numpy as np

    op = node.op_type
    if op == "Concat":
        return np.concatenate(xs, axis=int(a["axis"]))
    if op == "Gather":
        return np.take(xs[0], xs[1], axis=int(a.get("axis", 0)))
    if op in ("Unsqueeze", "Squeeze"):
        axes = a.get("axes", xs[1].tolist() if len(xs) > 1 and xs[1] is not None else [])
        return np.expand_dims(xs[0], tuple(axes)) if op == "Unsqueeze" else np.squeeze(xs[0], tuple(axes) or None)
    if op in ("Cast", "CastLike"):
        return xs[0]
    if op == "Expand":
        return xs[0] * np.ones(xs[1].astype(int), dtype=xs[0].dtype)
    if op in ("Mul", "Add", "Sub", "Div"):
        return {"Mul": np.multiply, "Add": np.add, "Sub": np.subtract, "Div": np.floor_divide}[op](xs[0], xs[1])
    if op == "Reshape":
        return xs[0].reshape(xs[1])
    if op == "Slice":
        return xs[0][_slices(xs)]
    if op == "Neg":
        return -xs[0]
    if op == "Shape":
        shape = np.shape(xs[0])
        return np.array(shape[a.get("start", 0) : a.get("end", len(shape))])
    if op == "Transpose":
        return np.transpose(xs[0], a.get("perm"))
    if op == "ConstantOfShape":
        return np.zeros(xs[0].astype(int), dtype=np.float32)
    raise Skip(f"{op} of constants is not folded")


def _slices(xs: list[Any]) -> tuple[slice, ...]:
    """Slice's inputs (data, starts, ends, axes, steps) as a numpy index."""
    starts, ends = xs[1].tolist(), xs[2].tolist()
    axes = xs[3].tolist() if len(xs) > 3 and xs[3] is not None else list(range(len(starts)))
    steps = xs[4].tolist() if len(xs) > 4 and xs[4] is not None else [1] * len(starts)
    index = [slice(None)] * len(getattr(xs[0], "shape", [len(xs[0])]))
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=True):
        index[axis] = slice(start, end, step)
    return tuple(index)


__all__ = ["fold"]
