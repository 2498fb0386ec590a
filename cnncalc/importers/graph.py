"""The intermediate graph every importer produces (PyTorch via torch.fx, ONNX) and the emitter
reads: layers in cnncalc's terms (a kind and its fields as a YAML file writes them), each with the
names of the layers it reads and where it came from. Torch- and onnx-free."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: The source name of the network's input in :attr:`ImportedLayer.sources`.
INPUT = "input"


@dataclass(frozen=True)
class ImportedLayer:
    """One cnncalc layer: ``kind`` (a key of cnncalc.layers.KINDS) with ``fields`` as written in a
    YAML file (numbers, lists, booleans, strings; expressions as text such as ``"H // 2"``; never
    ``in_channels``, which cnncalc infers), reading ``sources`` (names of earlier layers or
    :data:`INPUT`; one source for most kinds, several for add/mul/concat). ``origin`` says where it
    came from, for comments and errors: ``"layer1.0.conv1 (Conv2d)"``, ``"node /conv1/Conv (Conv)"``.
    ``path`` is the module path the name was made from (ONNX: from the weight's name or the
    exporter's scopes where it kept them, else the node name)."""

    name: str
    kind: str
    fields: dict[str, Any]
    sources: tuple[str, ...]
    origin: str = ""
    path: str = ""


@dataclass(frozen=True)
class Unsupported:
    """What could not be mapped: where (module path or node name), its class or op type, and why."""

    path: str
    what: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path} ({self.what}): {self.reason}"


@dataclass(frozen=True)
class ImportedGraph:
    """A whole imported network: its ``input`` shape (channels first, no batch; ints or symbol
    names), the ``symbols`` with their default values, the layers in an order where every source
    comes first (the last layer is the output), ``notes`` for the emitted file's header
    (what was imported from where, what was flattened) and ``classes`` of submodules."""

    name: str
    input: tuple[int | str, ...]
    symbols: dict[str, int]
    layers: tuple[ImportedLayer, ...]
    notes: tuple[str, ...] = field(default=())
    #: The class of each submodule by module path (PyTorch: "layer1.0" -> "Bottleneck"), naming the
    #: blocks of repeated submodules; empty where there is none (ONNX).
    classes: dict[str, str] = field(default_factory=dict)
    #: Input symbols the network accepts only as multiples (U-Net's H: 16), declared multiple_of.
    multiples: dict[str, int] = field(default_factory=dict)


__all__ = ["INPUT", "ImportedGraph", "ImportedLayer", "Unsupported"]
