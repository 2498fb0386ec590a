"""TF's and ONNX's "same" padding (padding: SAME_UPPER / SAME_LOWER) on convolutions and pools: the
shapes, the padding and the receptive field against Keras's own layers (Keras 3.15.1 on the torch
backend, whose padding="same" is TF's, extra pixel at the end), symbolic closed forms against the
numbers, the PyTorch modules' values against Keras's (conv, max pool) and against TF's documented
average (padding left out), memory against PyTorch's measurement, and the messages for misspellings.

About 15 s, most of it importing Keras once.
"""

from __future__ import annotations

import itertools
import os
import re
from typing import Any

import pytest

import cnncalc
from cnncalc.errors import CnncalcError, SchemaError, ShapeError
from cnncalc.symbolic import substitute

from .conftest import run

torch = pytest.importorskip("torch")


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Any:
    """Tiny tensors: a second thread only waits for the first (and a busy machine makes it 50x slower)."""
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


def _net(input_shape: list[Any], *layers: dict[str, Any]) -> cnncalc.Architecture:
    return cnncalc.load({"name": "t", "input": input_shape, "symbols": {"H": 9, "W": 9}, "layers": list(layers)})


def _conv(**fields: Any) -> dict[str, Any]:
    return {"conv2d": {"out_channels": 2, "kernel_size": 3, "padding": "SAME_UPPER", **fields}}


# --- shapes and padding against Keras ----------------------------------------------------------------

#: (kernel, stride, dilation) per axis: kernels larger, equal and smaller than the stride, dilated.
WINDOWS = [(3, 2, 1), (1, 2, 1), (2, 3, 1), (5, 2, 1), (4, 4, 1), (3, 1, 1), (2, 1, 1), (3, 1, 2), (7, 3, 1), (3, 3, 1)]


@pytest.mark.parametrize(("k", "s", "d"), WINDOWS)
def test_conv_and_pool_shapes_and_values_equal_keras(k: int, s: int, d: int) -> None:
    """At every size from 1 to 14, both parities: cnncalc's output size equals Keras's, and one
    PyTorch module cnncalc builds (it pads from each input's own size) gives Keras's values with
    the same weights (a padding placed one pixel off would shift every value); max pools likewise."""
    keras = _keras()
    torch.manual_seed(0)
    arch = _net([2, "H", "W"], _conv(kernel_size=k, stride=s, dilation=d))
    pools = _net([2, "H", "W"], {"maxpool2d": {"kernel_size": k, "stride": s, "padding": "SAME_UPPER"}})
    layer = keras.layers.Conv2D(2, k, strides=s, dilation_rate=d, padding="same")
    pool = keras.layers.MaxPooling2D(k, strides=s, padding="same")
    layer.build((None, None, None, 2))
    module, pool_module = arch.to_torch().get_submodule("conv1"), pools.to_torch()
    with torch.no_grad():
        module.weight.copy_(layer.kernel.value.permute(3, 2, 0, 1))  # Keras: [k, k, C_in, C_out]
        module.bias.copy_(layer.bias.value)
    for n in range(1, 15):
        x = torch.randn(1, 2, n, n + 1)
        with torch.no_grad():
            expected = layer(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)  # Keras is channels last
            assert arch.summarize(H=n, W=n + 1).rows[0].output == tuple(expected.shape[1:]), n
            assert torch.allclose(module(x), expected, atol=1e-5), n
            if d == 1:
                expected = pool(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
                assert pools.summarize(H=n, W=n + 1).rows[0].output == tuple(expected.shape[1:]), n
                assert torch.equal(pool_module(x), expected), n


def test_1d_and_3d_equal_keras() -> None:
    keras = _keras()
    torch.manual_seed(1)
    for n, (k, s) in itertools.product((5, 6, 7), ((3, 2), (2, 3), (4, 1))):
        x = torch.randn(1, 2, n)
        layer = keras.layers.Conv1D(3, k, strides=s, padding="same")
        expected = layer(x.permute(0, 2, 1)).permute(0, 2, 1)
        arch = _net([2, n], {"conv1d": {"out_channels": 3, "kernel_size": k, "stride": s, "padding": "SAME_UPPER"}})
        module = arch.to_torch()
        with torch.no_grad():
            module[0].weight.copy_(layer.kernel.value.permute(2, 1, 0))
            module[0].bias.copy_(layer.bias.value)
            assert torch.allclose(module(x), expected, atol=1e-5)
        x3 = torch.randn(1, 1, n, n + 1, n + 2)
        pool = keras.layers.MaxPooling3D(k, strides=s, padding="same")
        expected = pool(x3.permute(0, 2, 3, 4, 1)).permute(0, 4, 1, 2, 3)
        arch = _net([1, n, n + 1, n + 2], {"maxpool3d": {"kernel_size": k, "stride": s, "padding": "SAME_UPPER"}})
        assert arch.summarize().rows[0].output == tuple(expected.shape[1:])
        with torch.no_grad():
            assert torch.equal(arch.to_torch()(x3), expected)


def _tf_windows(x: Any, k: int, s: int, upper: bool) -> tuple[Any, Any]:
    """TF's average pooling with padding "SAME", from its documentation: out = ceil(n/s) per axis,
    the total padding max((out - 1)*s + k - n, 0) split with the odd pixel after (before for
    SAME_LOWER); each output is the mean of its window's input pixels (the padding left out).
    Returns the means and the number of input pixels in each window."""
    axes = []
    for n in x.shape[-2:]:
        out = -(-n // s)
        total = max((out - 1) * s + k - n, 0)
        before = total // 2 if upper else total - total // 2
        axes.append([(max(i * s - before, 0), min(i * s - before + k, n)) for i in range(out)])
    means = [[x[..., a:b, c:d].mean(dim=(-2, -1)) for c, d in axes[1]] for a, b in axes[0]]
    counts = [[(b - a) * (d - c) for c, d in axes[1]] for a, b in axes[0]]
    return torch.stack([torch.stack(r, dim=-1) for r in means], dim=-2), torch.tensor(counts, dtype=x.dtype)


@pytest.mark.parametrize("upper", [True, False])
def test_average_pool_leaves_the_padding_out_as_tf(upper: bool) -> None:
    """count_include_pad false: TF's average (Keras's torch backend pads by replication there, not as
    TF: the reference is TF's documented rule); true: the zero padding counts, the window's sum over k*k."""
    torch.manual_seed(2)
    word = "SAME_UPPER" if upper else "SAME_LOWER"
    for n, k, s in itertools.product((4, 5, 6, 7), (2, 3), (1, 2, 3)):
        x = torch.randn(1, 3, n, n + 1)
        means, counts = _tf_windows(x, k, s, upper)
        pool = {"kernel_size": k, "stride": s, "padding": word}
        with torch.no_grad():
            got = _net([3, n, n + 1], {"avgpool2d": {**pool, "count_include_pad": False}}).to_torch()(x)
            assert torch.allclose(got, means, atol=1e-6), (n, k, s)
            got = _net([3, n, n + 1], {"avgpool2d": pool}).to_torch()(x)
            assert torch.allclose(got, means * counts / (k * k), atol=1e-6), (n, k, s)


def test_same_lower_puts_the_odd_pixel_before() -> None:
    """ONNX's SAME_LOWER: with an odd total (k=4, s=1: 3) one more pixel before than SAME_UPPER (2
    before and 1 after, against 1 and 2), so the first output's field is centred a pixel earlier."""
    upper = _net([1, "H", "W"], _conv(kernel_size=4, stride=1)).summarize(H=8, W=8).rows[0].rf
    lower = _net([1, "H", "W"], _conv(kernel_size=4, stride=1, padding="SAME_LOWER")).summarize(H=8, W=8).rows[0].rf
    assert upper is not None and lower is not None
    # Araujo et al.: start = (k - 1)/2 - padding before
    assert (upper.start[0], lower.start[0]) == (1.5 - 1, 1.5 - 2)


def test_receptive_field_of_the_first_output_matches_keras_gradients() -> None:
    """Which input pixels output 0 of two stacked strided SAME convs reads, from Keras's gradient
    (all-ones kernels: every pixel in the field gets a non-zero gradient), at even and odd sizes:
    cnncalc's field is [start - (size - 1)/2, start + (size - 1)/2] clipped to the image."""
    keras = _keras()
    stack = [(3, 2), (5, 2)]
    for n in (10, 11, 12, 13):
        model = keras.Sequential([keras.Input((n, n, 1))])
        for k, s in stack:
            model.add(keras.layers.Conv2D(1, k, strides=s, padding="same", kernel_initializer="ones", use_bias=False))
        x = torch.zeros(1, n, n, 1, requires_grad=True)
        model(x)[0, 0, 0, 0].backward()
        assert x.grad is not None
        seen = x.grad[0, :, 0, 0].nonzero().flatten().tolist()
        arch = _net([1, "H", "W"], *(_conv(kernel_size=k, stride=s, out_channels=1) for k, s in stack))
        rf = arch.summarize(H=n, W=n).rows[-1].rf
        assert rf is not None
        first, last = rf.start[0] - (rf.size[0] - 1) / 2, rf.start[0] + (rf.size[0] - 1) / 2
        assert seen == [i for i in range(n) if first <= i <= last], n


# --- closed forms ------------------------------------------------------------------------------------


def test_symbolic_sizes_and_fields_are_closed_forms_equal_to_the_numbers() -> None:
    """ceil(H/s) and a padding by H mod s, in floors (no Max, Mod or Piecewise): each row's output
    and field start at H = 1..40 equal the numeric summary's."""
    arch = _net(
        [2, "H", "W"],
        _conv(kernel_size=3, stride=2),
        {"maxpool2d": {"kernel_size": 3, "stride": 2, "padding": "SAME_UPPER"}},
        _conv(kernel_size=2, stride=3, padding="SAME_LOWER"),
        _conv(kernel_size=[7, 1], stride=[2, 1], dilation=[1, 2]),
        {"avgpool2d": {"kernel_size": 4, "stride": 4, "padding": "SAME_UPPER", "count_include_pad": False}},
    )
    symbolic = arch.summarize(symbolic=True)
    assert str(symbolic.rows[0].output[1]) == "floor(H/2 + 1/2)"  # ceil(H/2)
    for row in symbolic.rows:
        assert row.rf is not None
        text = str((row.output, row.rf.start))
        assert "floor" in text and not re.search(r"Max|Min|Mod|Piecewise", text), text
    for h in range(1, 41):
        numeric = arch.summarize(H=h, W=h + 3)
        for sym, num in zip(symbolic.rows, numeric.rows, strict=True):
            assert sym.rf is not None and num.rf is not None
            values = {"H": h, "W": h + 3}
            assert tuple(substitute(v, values) for v in sym.output) == num.output, (h, num.name)
            assert tuple(substitute(v, values) for v in sym.rf.start) == num.rf.start, (h, num.name)


def test_constraints_solve_exactly_through_same_padding() -> None:
    """A SAME layer never empties its output (ceil(H/s) >= 1): the valid sizes come from the other
    layers only, and the exact sets agree with the evaluator at every size tried."""
    arch = _net(
        [2, "H", "W"],
        _conv(kernel_size=3, stride=2),
        {"conv2d": {"out_channels": 2, "kernel_size": 5}},  # needs its input >= 5: ceil(H/2) >= 5
        _conv(kernel_size=3, stride=3),
    )
    limits = arch.constraints()
    assert limits.minimum("H") == 9 and limits.minimum("W") == 9
    for h in range(1, 30):
        try:
            arch.summarize(H=h, W=9)
            accepted = True
        except ShapeError:
            accepted = False
        assert accepted == (h in limits.sets["H"]) == (h >= 9), h


# --- memory ----------------------------------------------------------------------------------------


def test_memory_equals_pytorchs_measurement() -> None:
    """What backward keeps and the inference peak, as PyTorch measures them: the SAME layers pad in
    forward (a new tensor their conv or pool keeps), TF's average keeps its per-window counts."""
    from cnncalc.backends.torch.memory import inference_memory, saved_for_backward

    head = {"conv2d": {"out_channels": 3, "kernel_size": 3, "padding": 1}}
    cases = [
        _conv(stride=2),
        _conv(kernel_size=[2, 3], stride=[3, 1], padding="SAME_LOWER", padding_mode="reflect"),
        {"maxpool2d": {"kernel_size": 3, "stride": 2, "padding": "SAME_UPPER"}},
        {"avgpool2d": {"kernel_size": 3, "stride": 2, "padding": "SAME_UPPER", "count_include_pad": False}},
        {"avgpool2d": {"kernel_size": 2, "stride": 1, "padding": "SAME_LOWER"}},
    ]
    for layer, dtype in itertools.product(cases, ("float32", "bfloat16")):
        arch = _net([3, 9, 10], head, layer, "relu")
        module, torch_dtype = arch.to_torch(), getattr(torch, dtype)
        mine = arch.memory(batch=2, dtype=dtype, training="sgd")
        measured = saved_for_backward(module, (3, 9, 10), batch=2, dtype=torch_dtype)
        assert {m.name: m.saved_bytes for m in mine.layers if m.saved_bytes} == {
            k: v for k, v in measured.layers.items() if v
        }, layer
        assert mine.activation_peak == inference_memory(module, (3, 9, 10), batch=2, dtype=torch_dtype).peak


# --- messages --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "padding", "message"),
    [
        ("conv2d", "same_upper", r"got 'same_upper': write 'SAME_UPPER' \(upper case, as ONNX spells it\)"),
        ("conv2d", "SAME", r"got 'SAME': write 'same' \(lowercase: PyTorch's, stride 1\) or 'SAME_UPPER'"),
        ("conv2d", "Same_Lower", r"write 'SAME_LOWER'"),
        ("maxpool2d", "same", r"padding takes 'SAME_UPPER', 'SAME_LOWER' or numbers.*PyTorch's pools have no 'same'"),
        ("avgpool2d", "valid", r"write 0 \(TF/Keras padding=\"valid\""),
        ("convtranspose2d", "SAME_UPPER", r"not taken on a transposed convolution"),
    ],
)
def test_misspelt_padding_names_the_right_word(kind: str, padding: str, message: str) -> None:
    fields = {"kernel_size": 3, "padding": padding} | ({"out_channels": 2} if "conv" in kind else {})
    with pytest.raises(SchemaError, match=message):
        cnncalc.load({"input": [1, 8, 8], "layers": [{kind: fields}]})


def test_bad_input_is_one_located_line(tmp_path: Any) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "input: [3, 32, 32]\nlayers:\n  - maxpool2d: {kernel_size: 3, padding: SAME_UPPER, ceil_mode: true}\n"
    )
    out = run("summarize", str(path))
    assert out.exit_code != 0 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert re.search(
        r"bad\.yaml:3:\d+: layer pool1 \(maxpool2d\).*ceil_mode does not apply with SAME_UPPER", out.stderr
    )
    path.write_text("input: [3, 32, 32]\nlayers:\n  - conv2d: {out_channels: 4, kernel_size: 3, padding: SAME}\n")
    out = run("summarize", str(path))
    assert re.search(r"bad\.yaml:3:\d+: layer conv1 \(conv2d\): padding takes .*'SAME_UPPER'", out.stderr), out.stderr
    stride = _net([1, 8, 8], {"conv2d": {"out_channels": 1, "kernel_size": 3, "stride": 2, "padding": "same"}})
    with pytest.raises(CnncalcError, match=r"padding='same' needs stride 1 .*with a stride is 'SAME_UPPER'"):
        stride.summarize()


def test_pytorch_refuses_what_cnncalc_refuses() -> None:
    """ceil_mode with SAME: both refuse the same layer (verify's "both reject")."""
    from cnncalc.backends import torch as backend

    arch = _net([1, "H", "W"], {"maxpool2d": {"kernel_size": 2, "padding": "SAME_LOWER", "ceil_mode": True}})
    (run_,) = backend.verify(arch, sizes=[]).runs
    assert run_.verdict == "both reject" and run_.pytorch_error is not None
    assert "ceil_mode does not apply with SAME_LOWER" in run_.pytorch_error.message
