"""An ONNX file as an :class:`ImportedGraph`: the file is parsed (``onnx.load``), checked
(``onnx.checker``) and shape-inferred (``onnx.shape_inference``, which reads, never runs, the
graph), then each node of the standard vision operators becomes a cnncalc layer (:mod:`.onnx_ops`),
a few layers written as several nodes are followed whole (:mod:`.onnx_patterns`: GELU, LayerNorm2d,
channel shuffle, chunks) and shape arithmetic is folded away (:mod:`.onnx_sizes`). Every node that
cannot be mapped is collected and reported at once. onnx is imported inside functions only."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import Location, SchemaError
from . import onnx_ops, onnx_patterns, onnx_sizes
from .graph import INPUT, ImportedGraph, ImportedLayer, Unsupported
from .onnx_reader import HANDLERS, Draft, Reader, Skip
from .onnx_reader import clean_name as _clean

#: The default-domain opsets read: 11 moved Pad's, Clip's and Resize's settings to inputs.
OPSETS = (11, 23)
#: External weights with at most this many values are read (they may be sizes or bounds).
_READ = 4096
#: Every operator read: layers, patterns of several nodes, shape arithmetic.
_HANDLERS = HANDLERS  # filled by onnx_ops, onnx_patterns and onnx_sizes as they are imported
_MODULES = (onnx_ops, onnx_patterns, onnx_sizes)
#: Graph names exporters give every graph: the file's name says more.
_GENERIC = {"", "main_graph", "torch_jit", "torch-jit-export", "tf2onnx"}
#: cnncalc's functions, which a symbol may not be named after.
_RESERVED = {"floor", "ceil", "round", "min", "max", "make_divisible", INPUT}


def _symbol(text: str, axis: int) -> str:
    """An input dimension's dim_param as a cnncalc symbol name."""
    name = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_") or f"D{axis}"
    if name[0].isdigit():
        name = f"D{name}"
    return f"{name}_" if name in _RESERVED else name


def _load(path: Path) -> Any:
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except FileNotFoundError:
        raise SchemaError("no such file", location=Location(str(path))) from None
    except Exception as err:  # protobuf's DecodeError and friends: a truncated or foreign file
        raise SchemaError(
            f"not a readable ONNX model ({type(err).__name__}: {err})", location=Location(str(path))
        ) from None
    if not model.graph.node:  # protobuf reads most bytes as some message: an ONNX file has nodes
        raise SchemaError("not a readable ONNX model (no graph of nodes in it)", location=Location(str(path)))
    opset = _opset(model)
    if opset is None or not OPSETS[0] <= opset <= OPSETS[1]:
        raise SchemaError(
            f"opset {opset} of the default domain is not supported (cnncalc reads opsets {OPSETS[0]} to {OPSETS[1]}; "
            "re-export with another opset_version)",
            location=Location(str(path)),
        )
    try:
        onnx.checker.check_model(str(path))  # by path: weights in an external .data file are checked too
        return onnx.shape_inference.infer_shapes(model, strict_mode=False)
    except Exception as err:
        raise SchemaError(
            f"not a valid ONNX model: {str(err).strip().splitlines()[0]}", location=Location(str(path))
        ) from None


def _constants(graph: Any, path: Path) -> dict[str, Any]:
    """The initializers as numpy arrays. Weights in an external file (the dynamo exporter's
    ``model.onnx.data``) are read only when small (shape arithmetic, bounds, scales); a large one
    is its shape alone (zeros, no memory): cnncalc needs a weight's shape, never its values."""
    import numpy as np
    from onnx import external_data_helper, numpy_helper

    const: dict[str, Any] = {}
    for tensor in graph.initializer:
        if external_data_helper.uses_external_data(tensor):
            if math.prod(tensor.dims) > _READ:
                const[tensor.name] = np.broadcast_to(np.float32(0), tuple(tensor.dims))
                continue
            try:
                external_data_helper.load_external_data_for_tensor(tensor, str(path.parent))
            except OSError as err:
                raise SchemaError(
                    f"the weights file of {tensor.name!r} cannot be read ({err})", location=Location(str(path))
                ) from None
        const[tensor.name] = numpy_helper.to_array(tensor)
    return const


def _dims(value_type: Any) -> tuple[int | str | None, ...]:
    """A tensor type's dimensions: ints, dim_param names, None where neither is given."""
    dims = value_type.tensor_type.shape.dim
    return tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in dims)


def _attrs(node: Any) -> dict[str, Any]:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def read_onnx(path: str | Path, values: Mapping[str, int] | None = None) -> ImportedGraph:
    """The ONNX model at ``path`` as an ImportedGraph. Its symbolic input dimensions keep their
    names (``values`` gives their defaults); the batch axis is dropped. Raises SchemaError naming
    the file and every node that cannot be mapped."""
    path = Path(path)
    model = _load(path)
    graph = model.graph
    const = _constants(graph, path)
    inputs = [i for i in graph.input if i.name not in const]
    if len(inputs) != 1 or len(graph.output) < 1:
        raise SchemaError(
            f"cnncalc imports a network of one input, this graph has {len(inputs)}", location=Location(str(path))
        )
    inferred = {v.name: tuple(d if isinstance(d, int) else None for d in _dims(v.type)) for v in graph.value_info}
    consumers = Counter(t for n in graph.node for t in n.input)
    consumers.update(o.name for o in graph.output)
    reader = Reader(inferred, consumers, const=const, weights=frozenset(const))
    shape, notes = _input(reader, graph, inputs[0], path)
    symbols = {s: int((values or {})[s]) for s in shape if isinstance(s, str) and s in (values or {})}
    _walk(reader, graph.node)
    if reader.unsupported:
        listed = "; ".join(map(str, reader.unsupported))
        raise SchemaError(
            f"{len(reader.unsupported)} node(s) cannot be imported: {listed}", location=Location(str(path))
        )
    layers = _reachable(reader, graph.output[0].name, path)
    producer = f"{model.producer_name} {model.producer_version}".strip() or "?"
    notes.insert(0, f"imported from {path.name} (ONNX, opset {_opset(model)}, written by {producer})")
    if len(graph.output) > 1:
        notes.append(f"only the first of the graph's {len(graph.output)} outputs ({graph.output[0].name}) is imported")
    name = path.stem if graph.name in _GENERIC else graph.name
    return ImportedGraph(name=name, input=shape, symbols=symbols, layers=layers, notes=tuple(notes))


def _input(reader: Reader, graph: Any, value: Any, path: Path) -> tuple[tuple[int | str, ...], list[str]]:
    """The input's shape without the batch axis, channels first (a channels-last input that every
    reader transposes to channels first, as Keras's exports do, counts as that transpose)."""
    dims = _dims(value.type)
    if len(dims) < 2:
        raise SchemaError(
            f"the input {value.name!r} has rank {len(dims)}: cnncalc needs [batch, C, ...]",
            location=Location(str(path)),
        )
    shape = tuple(d if isinstance(d, int) else _symbol(d or "", i) for i, d in enumerate(dims))
    readers = [n for n in graph.node if value.name in n.input]
    last = [0, len(dims) - 1, *range(1, len(dims) - 1)]
    if (
        len(dims) > 2
        and readers
        and all(n.op_type == "Transpose" and list(_attrs(n).get("perm", [])) == last for n in readers)
    ):
        for node in readers:
            reader.alias(node.output[0], INPUT, len(dims))
        return (shape[-1], *shape[1:-1]), [f"the input {value.name!r} is channels last {list(shape)}: read transposed"]
    reader.alias(value.name, INPUT, len(dims))
    return shape[1:], []


def _opset(model: Any) -> int | None:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)


def _walk(reader: Reader, nodes: Any) -> None:
    """Every node through its operator's handler. A node reading the output of one that could not
    be mapped is passed over (only the first cause is reported, not everything after it)."""
    lost: set[str] = set()
    for index, node in enumerate(nodes):
        if all(t in reader.layer_of for t in node.output):  # taken already (the input's transpose)
            continue
        if any(t in lost for t in node.input):
            lost.update(node.output)
            continue
        handler = _HANDLERS.get(node.op_type)
        try:
            if node.domain not in ("", "ai.onnx") or handler is None:
                raise Skip("no cnncalc kind for this operator")
            handler(reader, node, _attrs(node))
        except Skip as why:
            where = node.name or f"node {index} (output {node.output[0]!r})"  # nodes need no name
            reader.unsupported.append(Unsupported(where, node.op_type, str(why)))
            lost.update(node.output)


def _reachable(reader: Reader, output: str, path: Path) -> tuple[ImportedLayer, ...]:
    """The drafts the output depends on, in order (gates fused away and shape arithmetic drop out)."""
    if output not in reader.layer_of or reader.layer_of[output] == INPUT:
        raise SchemaError(f"the graph's output {output!r} is not computed by any layer", location=Location(str(path)))
    by_name = {d.name: d for d in reader.drafts}
    wanted, todo = set(), [reader.layer_of[output]]
    while todo:
        name = todo.pop()
        if name in wanted or name == INPUT:
            continue
        wanted.add(name)
        todo.extend(by_name[name].sources)
    kept = [d for d in reader.drafts if d.name in wanted]
    last = reader.layer_of[output]
    kept = [d for d in kept if d.name != last] + [by_name[last]]
    return _scoped(kept)


def _copy(path: str) -> str | None:
    """The repeated copy a module path lies in: ``layer1.0.bn1`` -> ``layer1.0`` (up to its last
    numbered part, the layer's own name left out), None outside any."""
    parts = path.split(".")[:-1]
    numbered = [i for i, part in enumerate(parts) if part.isdigit()]
    return ".".join(parts[: numbered[-1] + 1]) if numbered else None


def _leaf(path: str) -> tuple[str, str]:
    """A guessed path's group and name within its copy: ``layer1.0.relu1`` -> (layer1, relu1)."""
    return path.rsplit(".", 2)[0], path.rsplit(".", 1)[1]


def _scoped(drafts: list[Draft]) -> tuple[ImportedLayer, ...]:
    """The layers, those without a module path placed in the repeated copy all their inputs come
    from (the TorchScript exporter names a ReLU ``/relu1_1/Relu``, its attribute and a counter:
    in ``layer1.0`` it becomes ``layer1.0.relu1``), where every copy of that group has one of that
    name, or that joins two copies (a residual add): so the copies read alike and become one
    block; a pool after the last copy stays out."""
    paths = {d.name: d.path for d in drafts}
    order = {d.name: i for i, d in enumerate(drafts)}
    guesses: dict[str, str] = {}
    taken: set[str] = set()
    crossing: set[str] = set()  # reads two copies of one group: a residual add of the later copy
    for d in drafts:
        # the copy of its latest input: an earlier copy's output or a layer outside is the block's input
        latest = max((s for s in d.sources if s in paths), key=order.__getitem__, default=None)
        copy = _copy(paths[latest]) if latest else None
        if d.scoped or copy is None:
            continue
        copies = {c for s in d.sources if s in paths and (c := _copy(paths[s]))}
        if len({c.rsplit(".", 1)[0] for c in copies}) == 1 < len(copies):
            crossing.add(d.name)
        base = guess = f"{copy}.{re.sub(r'_[0-9]+$', '', d.path)}"
        n = 1
        while guess in taken:
            n += 1
            guess = f"{base}_{n}"
        guesses[d.name] = paths[d.name] = guess
        taken.add(guess)
    counts = Counter(_leaf(path) for path in guesses.values())
    kept = {n: p for n, p in guesses.items() if counts[_leaf(p)] > 1 or n in crossing}
    names = {d.name for d in drafts}
    renamed = {INPUT: INPUT}
    for d in drafts:
        renamed[d.name] = d.name
        if d.name in kept and (name := _clean(kept[d.name])) not in names:
            renamed[d.name] = name
            names.add(name)
    return tuple(
        ImportedLayer(
            renamed[d.name], d.kind, d.fields, tuple(renamed[s] for s in d.sources), d.origin, kept.get(d.name, d.path)
        )
        for d in drafts
    )


__all__ = ["OPSETS", "read_onnx"]
