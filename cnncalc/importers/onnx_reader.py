"""The state of reading one ONNX graph, shared by :mod:`.onnx` (the file, the walk over its nodes)
and :mod:`.onnx_ops` (one handler per operator): what each tensor is, the layers drafted so far,
and the nodes that could not be mapped."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .graph import INPUT, Unsupported


class Skip(Exception):
    """A node that cannot be mapped: its reason."""


@dataclass
class Draft:
    """A layer while the graph is read (a later node may fuse into it: MatMul + Add)."""

    name: str
    kind: str
    fields: dict[str, Any]
    sources: tuple[str, ...]
    origin: str
    path: str
    #: Whether ``path`` is a module path (from a weight's name or the exporter's scopes).
    scoped: bool = False


@dataclass
class Reader:
    """The state of one pass over the nodes: what each tensor is (a layer's output, a constant, a
    vector of sizes with unknown entries ``None`` and the batch ``"N"``), its rank, and the drafts."""

    inferred: dict[str, tuple[int | None, ...]]
    consumers: Counter[str]
    layer_of: dict[str, str] = field(default_factory=dict)
    draft_of: dict[str, Draft] = field(default_factory=dict)
    rank: dict[str, int] = field(default_factory=dict)
    const: dict[str, Any] = field(default_factory=dict)
    sizes: dict[str, tuple[int | str | None, ...]] = field(default_factory=dict)
    #: The graph's initializers (stored weights), as opposed to constants computed by nodes.
    weights: frozenset[str] = frozenset()
    drafts: list[Draft] = field(default_factory=list)
    names: set[str] = field(default_factory=lambda: {INPUT})
    unsupported: list[Unsupported] = field(default_factory=list)
    #: Tensors part way through a pattern of several nodes (one layer): the stage reached, the
    #: feature map it started from, the node naming the layer, and fields found so far.
    pending: dict[str, tuple[str, str, Any, dict[str, Any]]] = field(default_factory=dict)

    def data(self, tensor: str) -> str:
        """The layer ``tensor`` is the output of, or Skip when it is a constant."""
        if tensor in self.pending:
            stage = self.pending[tensor][0]
            raise Skip(f"its input {tensor!r} is part of a pattern cnncalc maps only whole ({stage})")
        if tensor not in self.layer_of:
            raise Skip(f"its input {tensor!r} is a constant, not a feature map")
        return self.layer_of[tensor]

    def value(self, tensor: str, what: str) -> Any:
        """The constant ``tensor`` as a numpy array, or Skip naming ``what`` it should give."""
        if tensor not in self.const:
            raise Skip(f"its {what} argument is computed from the input's size, not a constant")
        return self.const[tensor]

    def emit(self, node: Any, kind: str, fields: dict[str, Any], inputs: list[str], rank: int) -> Draft:
        """A layer of ``kind`` reading ``inputs`` (tensors), giving node's first output."""
        sources = tuple(self.data(t) for t in inputs)
        path, scoped = module_path(node, self.const)
        path += getattr(node, "suffix", "")
        origin = f"{node.name} ({node.op_type})"
        draft = Draft(self._unique(clean_name(path)), kind, fields, sources, origin, path, scoped)
        self.drafts.append(draft)
        self.alias(node.output[0], draft, rank)
        return draft

    def alias(self, tensor: str, draft: Draft | str, rank: int) -> None:
        name = draft if isinstance(draft, str) else draft.name
        self.layer_of[tensor], self.rank[tensor] = name, rank
        if isinstance(draft, Draft):
            self.draft_of[tensor] = draft

    def _unique(self, name: str) -> str:
        found, n = name, 1
        while found in self.names:
            n += 1
            found = f"{name}_{n}"
        self.names.add(found)
        return found


#: What reads one ONNX node into layers (or raises Skip): (reader, node, its attributes).
Handler = Callable[["Reader", Any, dict[str, Any]], None]
#: Op type -> its handler, filled as onnx_ops, onnx_patterns and onnx_sizes are imported.
HANDLERS: dict[str, Handler] = {}


def handles(*ops: str) -> Callable[[Handler], Handler]:
    """Registers a handler for ``ops`` in :data:`HANDLERS`."""

    def register(handler: Handler) -> Handler:
        HANDLERS.update(dict.fromkeys(ops, handler))
        return handler

    return register


def module_path(node: Any, const: Mapping[str, Any]) -> tuple[str, bool]:
    """Where ``node`` came from, and whether that is a module path: its weight's name less
    ``.weight`` (``layer1.0.conv1``), else the module scopes the exporter recorded (the dynamo
    exporter's ``pkg.torch.onnx.name_scopes``; the TorchScript one's node name
    ``/layer1/layer1.0/relu/Relu``), else its node name less the op type."""
    weights = [t for t in node.input[1:] if t in const and t.endswith(".weight")]
    if weights:
        return weights[0][: -len(".weight")], True
    props = {p.key: p.value for p in getattr(node, "metadata_props", [])}
    if "pkg.torch.onnx.name_scopes" in props:
        parts = re.findall(r"'([^']*)'", props["pkg.torch.onnx.name_scopes"])[:-1]  # the last is the op
    else:
        parts = [p for p in node.name.strip("/").split("/") if p]
        if len(parts) > 1 and re.fullmatch(rf"{node.op_type}(_\d+)?", parts[-1]):
            parts.pop()
    path = ""
    for part in filter(None, parts):  # "layer1", "layer1.0", "relu" -> layer1.0.relu
        path = part if not path or part.startswith(path + ".") else f"{path}.{part}"
    if not path:
        return node.op_type.lower(), False
    return path, "." in path


def clean_name(path: str) -> str:
    """A cnncalc name: a module path as letters, digits and _ (the dynamo exporter's node_ dropped)."""
    cleaned = re.sub(r"[^A-Za-z0-9_]+", "_", path).strip("_").removeprefix("node_")
    return cleaned or "layer"


class FakeNode:
    """A node made up for a layer an operator or a pattern implies (the zero padding of asymmetric
    pads, the gelu of several nodes): named, and scoped, like the node ``like``; ``suffix`` is added
    to the module path (``layer1.0.conv1`` -> ``layer1.0.conv1_pad``)."""

    def __init__(
        self, name: str, op_type: str, inputs: list[str], outputs: list[str], like: Any = None, suffix: str = ""
    ) -> None:
        self.name, self.op_type, self.input, self.output = name, op_type, inputs, outputs
        self.metadata_props = list(getattr(like, "metadata_props", []))
        self.suffix = suffix


def short(values: Any) -> Any:
    """One number where every axis has it, else the list (as a YAML file writes it)."""
    values = [int(v) for v in values]
    return values[0] if all(v == values[0] for v in values) else values


def decimal(value: float) -> float:
    """A float32 attribute as the decimal it was written as (1e-05, not 9.999999747e-06)."""
    return float(f"{value:.6g}")


__all__ = [
    "HANDLERS",
    "Draft",
    "FakeNode",
    "Handler",
    "Reader",
    "Skip",
    "clean_name",
    "decimal",
    "handles",
    "module_path",
    "short",
]
