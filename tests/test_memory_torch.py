"""The memory measurements of the PyTorch backend (:mod:`cnncalc.backends.torch.memory`) on tiny
hand-made modules whose saved and live bytes are counted by hand: each storage once, views as their
base, parameters apart, outputs freed at their last use, the caller's module left as it was."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("torch")

import torch
from torch import nn

from cnncalc.backends.torch.assembly import assemble
from cnncalc.backends.torch.memory import inference_memory, inference_peak, saved_for_backward

F32 = 4


def nbytes(*shape: int, size: int = F32) -> int:
    return math.prod(shape) * size


def conv(c_in: int, c_out: int) -> nn.Module:
    return nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)


# --- saved for backward ----------------------------------------------------------------------------


def test_a_storage_saved_by_two_layers_counts_once_and_weights_are_not_activations() -> None:
    # conv saves its input (the network input: its weight needs it), relu its output, and the second
    # conv that same output again: counted once, at the relu.
    model = nn.Sequential(conv(3, 8), nn.ReLU(), conv(8, 4))
    saved = saved_for_backward(model, (3, 6, 6), batch=2)
    x, y = nbytes(2, 3, 6, 6), nbytes(2, 8, 6, 6)
    assert saved.layers == {"0": x, "1": y, "2": 0}
    assert (saved.total, saved.input) == (x + y, x)
    assert saved.parameters == nbytes(8, 3, 3, 3) + nbytes(4, 8, 3, 3)
    seen = [(t.layer, t.role, t.source, t.first) for t in saved.tensors]
    assert seen == [
        ("0", "input", "input", True),
        ("0", "parameter", "new", True),
        ("1", "activation", "output", True),
        ("2", "activation", "input", False),
        ("2", "parameter", "new", True),
    ]


def test_an_inplace_relu_saves_the_storage_it_overwrote() -> None:
    model = nn.Sequential(conv(3, 8), nn.BatchNorm2d(8), nn.ReLU(inplace=True), conv(8, 4))
    saved = saved_for_backward(model, (3, 5, 5))
    relu = [t for t in saved.tensors if t.layer == "2"]
    assert [(t.source, t.storage_bytes, t.first) for t in relu] == [("output", nbytes(1, 8, 5, 5), True)]
    x, y, c = nbytes(1, 3, 5, 5), nbytes(1, 8, 5, 5), nbytes(8)
    # BatchNorm: its input, and the batch mean and inverse std; its weight and running statistics
    # are the module's own.
    assert saved.layers == {"0": x, "1": y + 2 * c, "2": y, "3": 0}
    assert saved.parameters == nbytes(8, 3, 3, 3) + 3 * c + nbytes(4, 8, 3, 3)


def test_max_pooling_saves_its_input_and_int64_indices_of_its_output() -> None:
    model = nn.Sequential(conv(2, 4), nn.MaxPool2d(2))
    saved = saved_for_backward(model, (2, 8, 8), batch=3, dtype=torch.bfloat16)
    pool = [(t.shape, t.dtype, t.source) for t in saved.tensors if t.layer == "1"]
    assert pool == [((3, 4, 8, 8), "bfloat16", "input"), ((3, 4, 4, 4), "int64", "new")]
    assert saved.layers["1"] == nbytes(3, 4, 8, 8, size=2) + nbytes(3, 4, 4, 4, size=8)


class Half(nn.Module):
    """The second half of the channels: a view."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, x.shape[1] // 2 :]


def test_a_saved_view_keeps_its_whole_base() -> None:
    model = nn.Sequential(conv(3, 8), Half(), conv(4, 2))
    saved = saved_for_backward(model, (3, 4, 4), batch=2)
    (view,) = [t for t in saved.tensors if t.layer == "2" and t.role == "activation"]
    assert (view.shape, view.nbytes, view.storage_bytes) == ((2, 4, 4, 4), nbytes(2, 4, 4, 4), nbytes(2, 8, 4, 4))
    assert saved.layers["2"] == nbytes(2, 8, 4, 4)


def test_a_layer_on_an_input_without_grad_and_without_parameters_saves_nothing() -> None:
    model = nn.Sequential(nn.Sigmoid(), nn.Linear(5, 3), nn.Sigmoid())
    saved = saved_for_backward(model, (5,), batch=4)
    # The linear layer's input does not need a gradient: it saves its input (for the weight's
    # gradient), not its weight; the last sigmoid its output.
    assert saved.layers == {"0": 0, "1": nbytes(4, 5), "2": nbytes(4, 3)}
    assert saved.parameters == 0


def test_the_callers_module_is_left_alone() -> None:
    norm = nn.BatchNorm2d(4)
    model = nn.Sequential(conv(3, 4), norm).eval()
    before = norm.running_mean.clone() if norm.running_mean is not None else None
    saved_for_backward(model, (3, 4, 4), dtype=torch.bfloat16)
    inference_memory(model, (3, 4, 4), dtype=torch.bfloat16)
    assert not model.training and not norm.training
    assert before is not None and norm.running_mean is not None and torch.equal(norm.running_mean, before)
    assert next(model.parameters()).dtype == torch.float32


# --- the inference peak ----------------------------------------------------------------------------


def test_a_chain_holds_a_layers_input_and_output_while_it_runs() -> None:
    model = nn.Sequential(conv(3, 8), nn.ReLU(), conv(8, 4))
    memory = inference_memory(model, (3, 6, 6), batch=2)
    x, y1, y2, y3 = nbytes(2, 3, 6, 6), nbytes(2, 8, 6, 6), nbytes(2, 8, 6, 6), nbytes(2, 4, 6, 6)
    # The input stays alive (its caller holds it); each output goes once the next layer has run.
    assert memory.layers == {"0": x + y1, "1": x + y1 + y2, "2": x + y2 + y3}
    assert (memory.peak, memory.layer, memory.input, memory.output) == (x + y1 + y2, "1", x, y3)
    assert memory.parameters == nbytes(8, 3, 3, 3) + nbytes(4, 8, 3, 3)
    assert inference_peak(model, (3, 6, 6), batch=2) == memory.peak


def test_an_inplace_activation_allocates_nothing() -> None:
    model = nn.Sequential(conv(3, 8), nn.ReLU(inplace=True), conv(8, 4))
    memory = inference_memory(model, (3, 6, 6), dtype=torch.bfloat16)
    x, y, z = nbytes(3, 6, 6, size=2), nbytes(8, 6, 6, size=2), nbytes(4, 6, 6, size=2)
    assert memory.layers == {"0": x + y, "1": x + y, "2": x + y + z}
    assert memory.peak == x + y + z


def test_a_graph_keeps_a_shortcut_across_its_block_and_frees_an_unread_output_at_once() -> None:
    # a -> aux (read by no one), a -> b -> add(a, b): a lives until the add, aux goes at once.
    named = [("a", conv(3, 8)), ("aux", conv(8, 4)), ("b", conv(8, 8)), ("add", _Add())]
    model = assemble(named, [(-1,), (0,), (0,), (0, 2)])
    memory = inference_memory(model, (3, 4, 4))
    x, y, aux = nbytes(3, 4, 4), nbytes(8, 4, 4), nbytes(4, 4, 4)
    assert memory.layers == {"a": x + y, "aux": x + y + aux, "b": x + 2 * y, "add": x + 3 * y}
    assert (memory.peak, memory.layer) == (x + 3 * y, "add")


class _Add(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b


def test_views_allocate_nothing_and_operator_temporaries_count() -> None:
    # Flatten is a view; CPU max pooling makes int64 indices even without grad (torch 2.13),
    # alive with its output until the operator returns.
    model = nn.Sequential(nn.MaxPool2d(2), nn.Flatten())
    memory = inference_memory(model, (4, 6, 6))
    x, y, indices = nbytes(4, 6, 6), nbytes(4, 3, 3), nbytes(4, 3, 3, size=8)
    assert memory.layers == {"0": x + y + indices, "1": x + y}
    assert (memory.peak, memory.output) == (x + y + indices, y)
