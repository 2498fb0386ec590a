"""Layers that run only in training (``training_only``: auxiliary heads): their params count, their
MACs and activations only in the training view, in every format, and PyTorch agrees (the module
cnncalc builds runs them only in train mode, as torchvision's Inception runs its AuxLogits).

Sources:
- [TV] torchvision's Inception_V3_Weights.IMAGENET1K_V1 metadata (torchvision/models/inception.py):
  ``num_params`` 27,161,264 (the aux head's parameters included) and ``_ops`` 5.713 (GMACs, measured
  in eval mode, where ``Inception3.forward`` skips ``self.AuxLogits``: ``if self.AuxLogits is not None
  and self.training``).
- [TVsrc] the same file's InceptionAux on Mixed_6e (768 x 17 x 17): avg_pool 5x5/3 -> 5x5, conv0 1x1 to
  128, conv1 5x5 to 768 (-> 1x1), each a BasicConv2d (conv, BatchNorm, ReLU), adaptive pool, fc 768
  -> 1000.
Every other expected number is counted by hand next to it, or measured with PyTorch here.
Added test time: about 6 s (Inception v3 in both views, symbolic too; a small network in PyTorch).
"""

from __future__ import annotations

import json
from functools import cache

import pytest
import torch
from torch import nn

import cnncalc
from cnncalc import SchemaError

from .conftest import run

# [TVsrc] by hand: the aux head's MACs (conv0, conv1, fc) and the elements of its outputs.
AUX_MACS = 768 * 128 * 5 * 5 + 5 * 5 * 128 * 768 * 1 * 1 + 768 * 1000
AUX_ACTIVATIONS = 768 * 5 * 5 + 3 * 128 * 5 * 5 + 3 * 768 + 768 + 768 + 1000  # pool, conv0 x3, conv1 x3, pool, flat, fc


@cache
def inception(training: bool) -> cnncalc.Summary:
    return cnncalc.load("inception_v3").summarize(training=training)


def test_inception_v3_inference_matches_torchvision() -> None:
    total = inception(False).total
    assert total.params == total.trainable_params == 27_161_264  # [TV] num_params, the aux head included
    assert round(total.macs / 1e9, 3) == 5.713  # [TV] _ops, eval mode: the aux head not run


def test_inception_v3_training_view_counts_the_aux_head() -> None:
    infer, train = inception(False), inception(True)
    assert train.total.params == infer.total.params
    assert train.total.macs - infer.total.macs == AUX_MACS == 5_683_200
    assert train.total.activations - infer.total.activations == AUX_ACTIVATIONS
    aux = [r for r in infer.rows if r.name.startswith("AuxLogits.")]
    assert aux and all(r.training_only and r.macs == 0 == r.activations for r in aux)
    assert not any(r.training_only for r in infer.rows if not r.name.startswith("AuxLogits."))
    assert infer.training_only == train.training_only == ("AuxLogits",)
    # Rows add up to the totals in both views (the aux head's rows included).
    for s in (infer, train):
        assert sum(r.macs for r in s.rows) == s.total.macs and sum(r.params for r in s.rows) == s.total.params
    assert "training view" in repr(train) and "training view" not in repr(infer)
    assert (
        "training_only" in infer.conventions
        and infer.conventions["training_only"] != train.conventions["training_only"]
    )


def test_symbolic_views_equal_numeric() -> None:
    arch = cnncalc.load("inception_v3")
    for training in (False, True):
        assert arch.summarize(symbolic=True, training=training).subs(H=299, W=299) == inception(training)


def test_renderers_say_which_layers_and_how() -> None:
    text = run("summarize", "inception_v3", "--depth", "1").stdout
    assert "Training only (AuxLogits): params counted; MACs and activations 0" in " ".join(text.split())
    trained = run("summarize", "inception_v3", "--training", "sgd", "--columns", "name,macs").stdout
    assert "Total MACs: 5,718,899,296" in trained and "Training view: the training-only layers (AuxLogits)" in trained
    data = json.loads(run("summarize", "inception_v3", "--format", "json").stdout)
    marked = [layer["name"] for layer in data["layers"] if layer.get("training_only")]
    assert marked == [r.name for r in inception(False).rows if r.name.startswith("AuxLogits.")]
    assert all("training_only" not in layer for layer in data["layers"] if layer["name"] not in marked)
    assert "training_only" in data["conventions"]
    # A view collapses the head into one row, still marked; totals never change.
    collapsed = inception(False).view(depth=1)
    (aux,) = [r for r in collapsed.rows if r.name == "AuxLogits"]
    assert aux.training_only and aux.macs == 0 and collapsed.total == inception(False).total
    # explain works the layer's formulas as it runs (in training): the aux fc's 768 x 1000 MACs [TVsrc].
    (fc,) = cnncalc.load("inception_v3").explain("AuxLogits.fc").layers
    assert next(q.value for q in fc.quantities if q.key == "macs") == 768 * 1000
    # A network without such layers states nothing new (its goldens are unchanged).
    assert "training_only" not in cnncalc.load("resnet18").summarize().conventions


# --- a small network, against PyTorch -----------------------------------------------------------------

SMALL = """
name: aux
input: [3, 16, 16]
blocks:
  head:
    layers:
      - adaptiveavgpool2d: {output_size: 1}
      - flatten
      - linear: {out_features: 10, name: fc}
layers:
  - conv2d: {out_channels: 8, kernel_size: 3, padding: 1, name: stem}
  - relu
  - head: {name: aux, training_only: true}
  - conv2d: {out_channels: 16, kernel_size: 3, stride: 2, padding: 1, from: relu1, name: body}
  - relu: {inplace: true}
  - adaptiveavgpool2d: {output_size: 1}
  - flatten
  - linear: {out_features: 10, name: fc}
"""


class Small(nn.Module):
    """The same layers with weights, written in PyTorch (for the parameter count)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.aux = nn.Linear(8, 10)
        self.body = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.fc = nn.Linear(16, 10)


def test_small_network_counts() -> None:
    arch = cnncalc.load(SMALL)
    infer, train = arch.summarize(), arch.summarize(training=True)
    assert infer.total.params == sum(p.numel() for p in Small().parameters()) == 1652
    # By hand: stem 3*3*3*8 weights x 16*16 outputs, body 3*3*8*16 x 8*8, fc 16*10; the head's fc 8*10.
    assert infer.total.macs == 216 * 256 + 1152 * 64 + 160 == 129_184
    assert train.total.macs == infer.total.macs + 80
    # stem, relu 8x16x16 each; body, relu 16x8x8 each (in place, still an output); pool, flatten 16; fc 10
    assert infer.total.activations == 2 * 2048 + 2 * 1024 + 16 + 16 + 10
    assert train.total.activations == infer.total.activations + 8 + 8 + 10
    assert infer.total.neurons == 2048 + 1024 + 10 and train.total.neurons == infer.total.neurons + 10
    assert [r.name for r in infer.rows if r.training_only] == ["aux.avgpool1", "aux.flatten1", "aux.fc"]


def test_pytorch_runs_the_head_only_in_training() -> None:
    arch = cnncalc.load(SMALL)
    model = arch.to_torch()
    calls: list[bool] = []
    model.get_submodule("aux.fc").register_forward_hook(lambda m, a, out: calls.append(m.training))
    x = torch.randn(2, 3, 16, 16)
    model.eval()(x)
    assert calls == []
    model.train()(x)
    assert calls == [True]
    verification = arch.verify()
    assert verification.agrees and {c.name for c in verification.runs[0].layers} >= {"aux.fc"}


def test_memory_matches_pytorch() -> None:
    from cnncalc.backends.torch.memory import inference_memory, saved_for_backward

    arch = cnncalc.load(SMALL)
    module = arch.to_torch()
    mine = arch.memory(batch=2, training="sgd")
    # Training runs the head: what its layers keep for backward is measured with them.
    saved = saved_for_backward(module, (3, 16, 16), batch=2, dtype=torch.float32)
    assert mine.saved_bytes == saved.total and saved.layers.get("aux.fc", 0) > 0
    # Inference does not: the peak is PyTorch's eval-mode one, without the head's outputs.
    assert mine.activation_peak == inference_memory(module, (3, 16, 16), batch=2, dtype=torch.float32).peak


# --- what training_only marks, and bad input --------------------------------------------------------


def test_layers_computed_only_from_a_training_only_layer_are_training_only() -> None:
    text = """
name: n
input: [3, 8, 8]
blocks:
  side:
    args: {aux: false}
    layers:
      - conv2d: {out_channels: 4, kernel_size: 1, name: main}
      - conv2d: {out_channels: 2, kernel_size: 1, name: head, from: input, training_only: aux}
      - relu: {name: after}
      - identity: {from: main}
layers:
  - side: {aux: true}
  - side: {aux: false}
"""
    with pytest.raises(SchemaError, match=r"training_only must be true or false, got 'aux'"):
        cnncalc.load(text)
    arch = cnncalc.load(text.replace("training_only: aux", "training_only: true"))
    marked = {n.name for n in arch.nodes if n.training_only}
    assert marked == {"side1.head", "side1.after", "side2.head", "side2.after"}


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        (
            "  - conv2d: {out_channels: 4, kernel_size: 1}\n  - relu: {training_only: true}\n",
            r"<string>:5:5: layer relu1 \(relu\): the network's output is its last layer, and this one runs only in training",
        ),
        (
            "  - conv2d: {out_channels: 4, kernel_size: 1, training_only: true}\n  - relu\n",
            r"<string>:5:5: layer relu1 \(relu\): the network's output is its last layer",
        ),
        (
            "  - relu: {training_only: true}\n  - relu: {from: input}\n  - add: {from: [relu1, relu2]}\n",
            r"<string>:6:17: layer add1 \(add\): reads 'relu1', which runs only in training, and layers that run in inference",
        ),
        ("  - relu: {training_only: 1}\n", r"<string>:4:27: layer relu1 \(relu\): training_only must be true or false"),
    ],
)
def test_bad_input(layers: str, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        cnncalc.load("name: n\ninput: [3, 8, 8]\nlayers:\n" + layers)
