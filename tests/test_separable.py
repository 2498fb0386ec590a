"""Keras's layers cnncalc takes as they are: separableconv1d/2d (Keras's SeparableConv1D/2D) and
batch norm without scale or center (Keras's BatchNormalization(scale=False) / center=False).
Parameters against Keras's own count, MACs against Keras's kernels and output shapes, the PyTorch
modules' values against Keras's with the same weights, memory against PyTorch's measurement.

About 5 s (Keras imported once per run: 10 s more where no other test imported it).
"""

from __future__ import annotations

import itertools
import math
import os
from typing import Any

import pytest

import cnncalc
from cnncalc.errors import SchemaError
from cnncalc.symbolic import substitute

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Any:
    """Tiny tensors: a second thread only waits for the first."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _keras() -> Any:
    """keras on the torch backend (the backend is chosen once per process, before the import)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    assert keras.backend.backend() == "torch", "keras was imported with another backend first"
    return keras


def _one(shape: list[Any], kind: str, **fields: Any) -> cnncalc.Architecture:
    return cnncalc.load({"name": "t", "input": shape, "layers": [{kind: fields}]})


# --- separable convolutions --------------------------------------------------------------------------

#: (filters, kernel, stride, padding as Keras, depth_multiplier, use_bias, dilation)
SEPARABLE = [
    (8, 3, 1, "same", 1, False, 1),
    (5, 3, 2, "same", 2, True, 1),
    (4, (3, 5), 1, "valid", 3, True, 1),
    (6, 3, 1, "same", 1, True, 2),
    (3, 2, 3, "same", 2, False, 1),
]


def _padding(keras_padding: str, stride: int) -> str:
    """Keras's padding in cnncalc's words: "same" at stride 1 is PyTorch's; with a stride, TF's."""
    if keras_padding == "valid":
        return "valid"
    return "same" if stride == 1 else "SAME_UPPER"


@pytest.mark.parametrize(("filters", "k", "s", "padding", "m", "bias", "d"), SEPARABLE)
def test_separableconv2d_equals_keras(filters: int, k: Any, s: int, padding: str, m: int, bias: bool, d: int) -> None:
    """Keras's count_params(), its output shape at an even and an odd size, MACs as Keras's kernels
    times its output positions, and the values of cnncalc's PyTorch module with Keras's weights."""
    keras = _keras()
    torch.manual_seed(0)
    layer = keras.layers.SeparableConv2D(
        filters, k, strides=s, padding=padding, depth_multiplier=m, use_bias=bias, dilation_rate=d
    )
    layer.build((None, None, None, 3))
    fields = {"out_channels": filters, "kernel_size": list(k) if isinstance(k, tuple) else k, "stride": s,
              "padding": _padding(padding, s), "depth_multiplier": m, "bias": bias, "dilation": d}  # fmt: skip
    arch = _one([3, "H", "W"], "separableconv2d", **fields)
    module = arch.to_torch(H=12, W=12).get_submodule("sepconv1")
    with torch.no_grad():
        # Keras: depthwise [kh, kw, C_in, m] (channel c's filters are m consecutive outputs), pointwise [1, 1, C_in*m, C_out]
        depthwise = layer.depthwise_kernel.value
        module.depthwise_weight.copy_(depthwise.reshape(*depthwise.shape[:2], -1).permute(2, 0, 1).unsqueeze(1))
        module.pointwise_weight.copy_(layer.pointwise_kernel.value.permute(3, 2, 0, 1))
        if bias:
            module.bias.copy_(layer.bias.value)
    for n in (12, 13):
        row = arch.summarize(H=n, W=n + 2).rows[0]
        x = torch.randn(1, 3, n, n + 2)
        with torch.no_grad():
            expected = layer(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
            assert torch.allclose(module(x), expected, atol=1e-5), n
        assert row.output == tuple(expected.shape[1:])
        assert row.params == layer.count_params() == sum(p.numel() for p in module.parameters())
        positions = math.prod(expected.shape[2:])
        kernels = math.prod(layer.depthwise_kernel.shape) + math.prod(layer.pointwise_kernel.shape)
        assert row.macs == kernels * positions


def test_separableconv1d_equals_keras() -> None:
    keras = _keras()
    for n, (k, s, m) in itertools.product((15, 16), ((3, 2, 1), (5, 1, 2))):
        layer = keras.layers.SeparableConv1D(7, k, strides=s, padding="same", depth_multiplier=m)
        layer.build((None, None, 4))
        arch = _one([4, n], "separableconv1d", out_channels=7, kernel_size=k, stride=s, padding=_padding("same", s),
                    depth_multiplier=m)  # fmt: skip
        row = arch.summarize().rows[0]
        shape = layer.compute_output_shape((1, n, 4))
        assert row.output == (shape[2], shape[1]) and row.params == layer.count_params()
        kernels = math.prod(layer.depthwise_kernel.shape) + math.prod(layer.pointwise_kernel.shape)
        assert row.macs == kernels * shape[1]


def test_separable_formula_in_the_depth_multiplier() -> None:
    """Symbolic in m (and H): params = k*k*C*m + C*m*C_out + C_out, as Keras counts at m = 1, 2, 3."""
    keras = _keras()
    arch = cnncalc.load(
        {"input": [3, "H", "H"], "symbols": {"H": 32, "m": 1},
         "layers": [{"separableconv2d": {"out_channels": 16, "kernel_size": 3, "padding": "same", "depth_multiplier": "m"}}]}
    )  # fmt: skip
    params = arch.summarize(symbolic=True).rows[0].params
    for m in (1, 2, 3):
        layer = keras.layers.SeparableConv2D(16, 3, padding="same", depth_multiplier=m)
        layer.build((None, 32, 32, 3))
        assert substitute(params, {"m": m}) == layer.count_params()


def test_separable_memory_equals_pytorchs_measurement() -> None:
    """The depthwise conv keeps its input (padded, with SAME_UPPER), the pointwise one the
    depthwise output, a new tensor made and freed within the layer in inference."""
    from cnncalc.backends.torch.memory import inference_memory, saved_for_backward

    for fields in (
        {"padding": "same"},
        {"stride": 2, "padding": "SAME_UPPER", "depth_multiplier": 2},
        {"padding": 1, "bias": False},
    ):
        data = {
            "input": [3, 9, 10],
            "layers": [
                {"conv2d": {"out_channels": 4, "kernel_size": 1}},
                {"separableconv2d": {"out_channels": 5, "kernel_size": 3, **fields}},
                "relu",
            ],
        }
        arch = cnncalc.load(data)
        module = arch.to_torch()
        mine = arch.memory(batch=2, training="sgd")
        measured = saved_for_backward(module, (3, 9, 10), batch=2)
        assert {m.name: m.saved_bytes for m in mine.layers if m.saved_bytes} == {
            k: v for k, v in measured.layers.items() if v
        }
        assert mine.activation_peak == inference_memory(module, (3, 9, 10), batch=2).peak


def test_separable_bad_fields() -> None:
    with pytest.raises(cnncalc.CnncalcError, match=r"layer sepconv1 .*: depth_multiplier must be at least 1, got 0"):
        _one([3, 8, 8], "separableconv2d", out_channels=4, kernel_size=3, depth_multiplier=0).summarize()
    with pytest.raises(SchemaError, match=r"groups is not a field"):
        _one([3, 8, 8], "separableconv2d", out_channels=4, kernel_size=3, groups=3)
    with pytest.raises(
        cnncalc.CnncalcError, match=r"separableconv2d needs a \[channels, height, width\] input.*use separableconv1d"
    ):
        _one([3, 8], "separableconv2d", out_channels=4, kernel_size=3).summarize()


# --- batch norm without scale or center --------------------------------------------------------------


@pytest.mark.parametrize(("scale", "center"), [(False, True), (True, False), (False, False), (True, True)])
def test_batchnorm_scale_and_center_as_keras(scale: bool, center: bool) -> None:
    """Parameters as Keras counts the trainable ones (its moving mean and variance are the running
    statistics, buffers here), as PyTorch's parameters() counts them, and Keras's output in
    inference with the same gamma, beta and statistics."""
    keras = _keras()
    torch.manual_seed(1)
    layer = keras.layers.BatchNormalization(scale=scale, center=center, epsilon=1e-3)
    layer.build((None, 6, 6, 5))
    arch = _one([5, 6, 6], "batchnorm2d", scale=scale, center=center, eps=1e-3)
    module = arch.to_torch().get_submodule("bn1")
    trainable = sum(math.prod(w.shape) for w in layer.trainable_weights)
    assert arch.summarize().rows[0].params == trainable == sum(p.numel() for p in module.parameters())
    with torch.no_grad():
        for weight in layer.weights:  # random values, so that each one shows in the output
            weight.assign(torch.rand(tuple(weight.shape)) + 0.5)
        module.running_mean.copy_(layer.moving_mean.value)
        module.running_var.copy_(layer.moving_variance.value)
        if scale:
            module.weight.copy_(layer.gamma.value)
        if center:
            module.bias.copy_(layer.beta.value)
        x = torch.randn(2, 5, 6, 6)
        expected = layer(x.permute(0, 2, 3, 1), training=False).permute(0, 3, 1, 2)
        assert torch.allclose(module(x), expected, atol=1e-5)


def test_batchnorm_without_scale_in_every_rank_and_its_memory() -> None:
    from cnncalc.backends.torch.memory import inference_memory, saved_for_backward

    for shape, kind in (([4, 7], "batchnorm1d"), ([4], "batchnorm1d"), ([4, 3, 5, 5], "batchnorm3d")):
        arch = _one(shape, kind, scale=False)
        module = arch.to_torch()
        assert arch.summarize().total.params == 4 == sum(p.numel() for p in module.parameters())
        with pytest.raises(ValueError, match=r"expected .*D input"):  # PyTorch's own message for a wrong rank
            module(torch.zeros(2, 4, 1, 1, 1, 1))
    data = {"input": [3, 8, 8], "layers": [{"conv2d": {"out_channels": 4, "kernel_size": 3}},
                                           {"batchnorm2d": {"scale": False}}, {"batchnorm2d": {"center": False}}]}  # fmt: skip
    arch = cnncalc.load(data)
    module = arch.to_torch()
    mine = arch.memory(batch=2, training="sgd")
    assert {m.name: m.saved_bytes for m in mine.layers} == saved_for_backward(module, (3, 8, 8), batch=2).layers
    assert mine.activation_peak == inference_memory(module, (3, 8, 8), batch=2).peak
    assert mine.buffer_bytes == sum(b.numel() * b.element_size() for b in module.buffers())
