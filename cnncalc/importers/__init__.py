"""Networks brought in from elsewhere: a PyTorch module (traced with torch.fx) or an ONNX file,
read into one intermediate graph (:mod:`.graph`) and written as a cnncalc YAML file (:mod:`.emit`).
The torch_* and onnx* modules, which import torch and onnx, are imported only when an importer
runs (by cnncalc.from_torch, cnncalc.from_onnx and cnncalc import)."""

from __future__ import annotations

from .emit import to_architecture, to_yaml
from .graph import INPUT, ImportedGraph, ImportedLayer, Unsupported

__all__ = ["INPUT", "ImportedGraph", "ImportedLayer", "Unsupported", "to_architecture", "to_yaml"]
