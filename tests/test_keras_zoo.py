"""The zoo's Keras-layout files against the real Keras (3.15.1, torch backend): parameters as
Keras counts them and as Keras's published table states them, every layer's output shape at the
default size and at an odd one (where TF's "same" padding shows), and MACs against a count made
from the Keras model's own kernels and shapes; PyTorch's verify at the odd size. And the TF-Slim
MobileNet v1 file against the receptive fields published for TF-Slim's network at 224 and 321.

About 20 s: importing Keras and building its four models takes most of it.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from functools import cache
from typing import Any

import pytest

import cnncalc
from cnncalc.symbolic import substitute

torch = pytest.importorskip("torch")

#: file -> (keras.applications function, default size, an odd size, parameters in millions in Keras's
#: published table, https://keras.io/api/applications/ : "Size (MB), Parameters" column).
NETWORKS = {
    "keras_mobilenet": ("MobileNet", 224, 225, 4.3),
    "keras_xception": ("Xception", 299, 301, 22.9),
    "keras_resnet50": ("ResNet50", 224, 225, 25.6),
    "keras_inception_v3": ("InceptionV3", 299, 301, 23.9),
}
#: The row cnncalc has where Keras has none: the flatten after global average pooling (Keras's pools
#: to a flat vector). Keras's Dense(activation="softmax") is two rows here, linear then softmax.
EXTRA = {"flatten1"}


def _keras() -> Any:
    """keras on the torch backend (the backend is chosen once per process, before the import)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    assert keras.backend.backend() == "torch", "keras was imported with another backend first"
    return keras


@cache
def _model(function: str) -> Any:
    """keras.applications.<function>(weights=None), its weights on PyTorch's meta device (shapes
    only: counting and shape inference need no values, and initialising them takes seconds)."""
    keras = _keras()
    with keras.device("meta"):
        return getattr(keras.applications, function)(weights=None)


@cache
def _layers(function: str, size: int) -> tuple[tuple[Any, tuple[int, ...]], ...]:
    """Every layer of the Keras model with its output shape at ``size`` x ``size`` (batch 1, channels
    last), by Keras's own shape inference through the model's graph."""
    keras = _keras()
    model = _model(function)
    layers = model.layers[1:]  # after the InputLayer
    outputs = keras.Model(model.inputs, [layer.output for layer in layers])
    # Built at its default size, the model refuses any other at its input; its layers do not.
    outputs._assert_input_compatibility = lambda *args: None
    specs = outputs.compute_output_spec(keras.KerasTensor((1, size, size, 3)))
    return tuple((layer, tuple(spec.shape[1:])) for layer, spec in zip(layers, specs, strict=True))


def _kind(layer: Any) -> list[str]:
    """cnncalc's kinds for one Keras layer (a Dense with softmax is linear, then softmax)."""
    name = type(layer).__name__
    if name == "Activation":
        return [layer.activation.__name__]  # relu, softmax
    if name == "ReLU":
        assert layer.max_value == 6
        return ["relu6"]
    if name == "Dense":
        return ["linear"] + (["softmax"] if layer.activation.__name__ == "softmax" else [])
    kinds = {
        "Conv2D": "conv2d", "DepthwiseConv2D": "conv2d", "SeparableConv2D": "separableconv2d",
        "BatchNormalization": "batchnorm2d", "ZeroPadding2D": "zeropad2d", "MaxPooling2D": "maxpool2d",
        "AveragePooling2D": "avgpool2d", "GlobalAveragePooling2D": "adaptiveavgpool2d", "Add": "add",
        "Concatenate": "concat", "Dropout": "dropout", "Reshape": "flatten",
    }  # fmt: skip
    return [kinds[name]]


def _channels_first(layer: Any, shape: tuple[int, ...]) -> tuple[int, ...]:
    if type(layer).__name__ == "GlobalAveragePooling2D" and len(shape) == 1:
        return (shape[0], 1, 1)  # pooled to [C]; cnncalc's adaptive pool keeps [C, 1, 1], then flattens
    return (shape[-1], *shape[:-1])


def _automatic(layer: Any) -> bool:
    """Whether Keras named the layer itself (its class in snake case, numbered by the session's
    count: conv2d_57), a name that depends on what ran before."""
    snake = re.sub(r"([a-z])([A-Z])", r"\1_\2", re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", type(layer).__name__))
    return re.fullmatch(rf"{snake.lower()}(_\d+)?", layer.name) is not None


def _keras_rows(function: str, size: int) -> list[tuple[str, str, tuple[int, ...]]]:
    """(name, cnncalc kind, shape channels first) per Keras layer, in cnncalc's terms; the name is
    empty where Keras made it up (and for the softmax of a Dense, which has none of its own)."""
    rows = []
    for layer, shape in _layers(function, size):
        for kind in _kind(layer):
            own = not _automatic(layer) and not (kind == "softmax" and type(layer).__name__ == "Dense")
            rows.append((layer.name if own else "", kind, _channels_first(layer, shape)))
    return rows


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_parameters_equal_keras_and_its_published_table(name: str) -> None:
    """Trainable parameters equal Keras's; with BatchNormalization's moving mean and variance (2C a
    norm, non-trainable weights in Keras, buffers in PyTorch) they equal Keras's count_params(),
    which rounds to the published figure."""
    function, _, _, published = NETWORKS[name]
    model = _model(function)
    summary = cnncalc.load(name).summarize()
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    assert summary.total.params == summary.total.trainable_params == trainable
    moving = sum(2 * row.output[0] for row in summary.rows if row.kind == "batchnorm2d")
    # The `keras` counting preset states this sum directly: summarize(count="keras").total.params.
    assert summary.total.params + moving == model.count_params()
    assert round(model.count_params() / 1e6, 1) == published
    assert cnncalc.load(name).name == model.name


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_the_keras_counting_preset_gives_keras_total(name: str) -> None:
    function = NETWORKS[name][0]
    assert cnncalc.load(name).summarize(count="keras").total.params == _model(function).count_params()


@pytest.mark.parametrize(("name", "which"), [(n, w) for n in sorted(NETWORKS) for w in ("default", "odd")])
def test_every_layer_shape_equals_keras(name: str, which: str) -> None:
    """Each Keras layer's output shape, by name where cnncalc's name is Keras's (a block call's name
    and its layer's joined by a dot: block2.sepconv1 is block2_sepconv1), and over all layers as a
    multiset of (kind, shape) (Keras numbers the rest itself: conv2d_57, add_3, ...)."""
    function, default, odd, _ = NETWORKS[name]
    size = default if which == "default" else odd
    keras_rows = _keras_rows(function, size)
    summary = cnncalc.load(name).summarize(H=size, W=size)
    ours = [(row.name, row.kind, tuple(row.output)) for row in summary.rows if row.name not in EXTRA]
    by_name = {n.replace(".", "_"): (kind, shape) for n, kind, shape in ours}
    named = [(n, kind, shape) for n, kind, shape in keras_rows if n in by_name]
    for n, kind, shape in named:
        assert by_name[n] == (kind, shape), (n, size)
    assert Counter((kind, shape) for _, kind, shape in keras_rows) == Counter((k, s) for _, k, s in ours), size
    if name in ("keras_mobilenet", "keras_resnet50"):  # every layer under Keras's name
        assert len(named) == sum(1 for n, _, _ in keras_rows if n)


@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_macs_equal_a_count_from_keras_kernels(name: str) -> None:
    """Kernel elements times output positions, from the Keras model's own weights and shapes:
    Conv2D and DepthwiseConv2D their kernel, SeparableConv2D its depthwise and pointwise kernels
    (both at the output's positions), Dense its kernel once."""
    function, default, _, _ = NETWORKS[name]
    macs = 0
    for layer, shape in _layers(function, default):
        kind = type(layer).__name__
        if kind in ("Conv2D", "DepthwiseConv2D"):
            macs += math.prod(layer.kernel.shape) * math.prod(shape[:-1])
        elif kind == "SeparableConv2D":
            kernels = math.prod(layer.depthwise_kernel.shape) + math.prod(layer.pointwise_kernel.shape)
            macs += kernels * math.prod(shape[:-1])
        elif kind == "Dense":
            macs += math.prod(layer.kernel.shape)
    assert cnncalc.load(name).summarize().total.macs == macs


@pytest.mark.parametrize("name", ["keras_mobilenet", "keras_xception", "slim_mobilenet_v1"])
def test_pytorch_agrees_at_odd_sizes(name: str) -> None:
    from cnncalc.backends import torch as backend

    verification = backend.verify(cnncalc.load(name), sizes=[225, 301])
    assert verification.agrees, [(r.values, r.verdict) for r in verification.runs if not r.agrees]


# --- TF-Slim's MobileNet v1 --------------------------------------------------------------------------

#: google-research/receptive_field, receptive_field/RECEPTIVE_FIELD_TABLE.md (computed on the TF-Slim
#: models), mobilenet_v1 rows: end point -> (receptive field, effective stride, effective padding) at
#: resolution 224 and at 321. The padding depends on the resolution (TF's "SAME").
SLIM_RF = {
    "Conv2d_0": ((3, 2, 0), (3, 2, 1)),
    "Conv2d_1_pointwise": ((7, 2, 2), (7, 2, 3)),
    "Conv2d_2_pointwise": ((11, 4, 2), (11, 4, 5)),
    "Conv2d_3_pointwise": ((19, 4, 6), (19, 4, 9)),
    "Conv2d_4_pointwise": ((27, 8, 6), (27, 8, 13)),
    "Conv2d_5_pointwise": ((43, 8, 14), (43, 8, 21)),
    "Conv2d_6_pointwise": ((59, 16, 14), (59, 16, 29)),
    "Conv2d_7_pointwise": ((91, 16, 30), (91, 16, 45)),
    "Conv2d_8_pointwise": ((123, 16, 46), (123, 16, 61)),
    "Conv2d_9_pointwise": ((155, 16, 62), (155, 16, 77)),
    "Conv2d_10_pointwise": ((187, 16, 78), (187, 16, 93)),
    "Conv2d_11_pointwise": ((219, 16, 94), (219, 16, 109)),
    "Conv2d_12_pointwise": ((251, 32, 94), (251, 32, 125)),
    "Conv2d_13_pointwise": ((315, 32, 126), (315, 32, 157)),
}


def test_slim_mobilenet_receptive_fields_at_224_and_321_from_one_file() -> None:
    """The table's effective padding p is where the first output's field begins: its centre (cnncalc's
    start) is -p + (rf - 1)/2 (the receptive_field README). Numerically at each size, and from one
    symbolic summary taken at each size."""
    arch = cnncalc.load("slim_mobilenet_v1")
    symbolic = {row.name: row.rf for row in arch.summarize(symbolic=True).rows}
    for i, size in enumerate((224, 321)):
        rows = {row.name: row.rf for row in arch.summarize(H=size, W=size).rows}
        for end_point, published in SLIM_RF.items():
            rf, closed = rows[end_point], symbolic[end_point]
            assert rf is not None and closed is not None
            size_, stride, padding = published[i]
            assert rf.size == (size_, size_) and rf.jump == (stride, stride), (end_point, size)
            assert rf.start == ((size_ - 1) / 2 - padding,) * 2, (end_point, size)
            assert tuple(substitute(v, {"H": size, "W": size}) for v in closed.start) == rf.start


#: The slim source's own table (mobilenet_v1.py's docstring, "100% Mobilenet V1 (base) with input size
#: 224x224"): per conv, parameters and MACs; totals 3,185,088 and 567,716,352.
SLIM_CONVS = {
    "Conv2d_0": (864, 10_838_016),
    **{f"Conv2d_{i}_depthwise": v for i, v in enumerate(
        [(288, 3_612_672), (576, 1_806_336), (1_152, 3_612_672), (1_152, 903_168), (2_304, 1_806_336),
         (2_304, 451_584)] + [(4_608, 903_168)] * 5 + [(4_608, 225_792), (9_216, 451_584)], start=1)},
    **{f"Conv2d_{i}_pointwise": v for i, v in enumerate(
        [(2_048, 25_690_112), (8_192, 25_690_112), (16_384, 51_380_224), (32_768, 25_690_112),
         (65_536, 51_380_224), (131_072, 25_690_112)] + [(262_144, 51_380_224)] * 5
        + [(524_288, 25_690_112), (1_048_576, 51_380_224)], start=1)},
}  # fmt: skip


def test_slim_mobilenet_convs_as_the_slim_source_states_them() -> None:
    summary = cnncalc.load("slim_mobilenet_v1").summarize()
    convs = {row.name: (row.params, row.macs) for row in summary.rows if row.kind == "conv2d"}
    assert convs == SLIM_CONVS
    assert sum(p for p, _ in SLIM_CONVS.values()) == 3_185_088 and summary.total.macs == 567_716_352


def test_keras_mobilenet_is_slims_at_even_sizes_only() -> None:
    """Keras pads each strided depthwise conv by a fixed ((0, 1), (0, 1)): TF's "same" at an even
    size only. At 224 the two files give every conv the same output; at 225 they part."""
    keras_file, slim = cnncalc.load("keras_mobilenet"), cnncalc.load("slim_mobilenet_v1")

    def convs(arch: cnncalc.Architecture, size: int) -> list[tuple[int, ...]]:
        rows = arch.summarize(H=size, W=size).rows
        return [tuple(r.output) for r in rows if r.kind == "conv2d" and r.name != "conv_preds"]

    assert convs(keras_file, 224) == convs(slim, 224)
    assert convs(keras_file, 225) != convs(slim, 225)
    assert convs(keras_file, 225)[-1] == (1024, 7, 7) and convs(slim, 225)[-1] == (1024, 8, 8)
