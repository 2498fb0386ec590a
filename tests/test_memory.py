"""Memory (``arch.memory``, ``summarize --batch --dtype --training``) against what PyTorch holds,
measured (cnncalc.backends.torch.memory: autograd's saved-tensor hooks, live storages in an
inference forward): every zoo network in float32 and bfloat16 at batch 1 and 3, per layer and in
total; random small networks; a symbolic batch; bad input.

Two combinations PyTorch itself cannot run are left out, and the test checks that it cannot:
Inception v3 in training at batch 1 (BatchNorm on the auxiliary head's 1x1 map: "Expected more than
1 value per channel") and AlexNet 2012 in bfloat16 (avg_pool3d, inside local response norm, has no
bfloat16 kernel on CPU).
"""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch") if False else __import__("torch")  # torch is a test dependency: never skipped

import cnncalc  # noqa: E402
from cnncalc.backends.torch.assembly import numeric_env  # noqa: E402
from cnncalc.backends.torch.builders import whole  # noqa: E402
from cnncalc.backends.torch.memory import inference_memory, saved_for_backward  # noqa: E402

from .conftest import ARCHITECTURES, run  # noqa: E402

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
#: (network, dtype, batch, training) PyTorch refuses, and why.
REFUSED = {
    ("inception_v3", "float32", 1, True): "Expected more than 1 value per channel",
    ("inception_v3", "bfloat16", 1, True): "Expected more than 1 value per channel",
    ("alexnet2012", "bfloat16", 1, True): "BFloat16",
    ("alexnet2012", "bfloat16", 3, True): "BFloat16",
    ("alexnet2012", "bfloat16", 1, False): "BFloat16",
    ("alexnet2012", "bfloat16", 3, False): "BFloat16",
}
ZOO = sorted(p.stem for p in ARCHITECTURES.glob("*.yaml"))
CASES = [(n, d, b) for n in ZOO for d in DTYPES for b in (1, 3)]


def _shape(arch: cnncalc.Architecture) -> tuple[int, ...]:
    return tuple(whole(numeric_env(arch), v) for v in arch.input)


@pytest.mark.parametrize(("name", "dtype", "batch"), CASES)
def test_zoo_against_pytorch(name: str, dtype: str, batch: int) -> None:
    arch = cnncalc.load(ARCHITECTURES / f"{name}.yaml")
    module, shape = arch.to_torch(), _shape(arch)
    mine = arch.memory(batch=batch, dtype=dtype, training="adam")
    if (name, dtype, batch, True) in REFUSED:
        with pytest.raises(Exception, match=REFUSED[name, dtype, batch, True]):
            saved_for_backward(module, shape, batch=batch, dtype=DTYPES[dtype])
    else:
        measured = saved_for_backward(module, shape, batch=batch, dtype=DTYPES[dtype])
        assert {m.name: m.saved_bytes for m in mine.layers if m.saved_bytes} == {
            k: v for k, v in measured.layers.items() if v
        }
        assert mine.saved_bytes == measured.total
    if (name, dtype, batch, False) in REFUSED:
        return
    peak = inference_memory(module, shape, batch=batch, dtype=DTYPES[dtype])
    assert mine.activation_peak == peak.peak, (mine.peak_layer, peak.layer)
    assert mine.param_bytes == peak.parameters and mine.buffer_bytes == peak.buffers


def test_training_total_adds_up() -> None:
    # VGG16: 138,357,544 parameters (torchvision); Adam keeps two moments.
    m = cnncalc.load("vgg16").memory(batch=2, dtype="float32", training="adam")
    assert m.param_bytes == 138_357_544 * 4 == m.gradient_bytes and m.optimizer_bytes == 2 * m.param_bytes
    assert m.training_bytes == 4 * m.param_bytes + m.buffer_bytes + m.saved_bytes
    momentum = cnncalc.load("vgg16").memory(batch=2, training="momentum")
    assert (
        momentum.optimizer_bytes == m.param_bytes and cnncalc.load("vgg16").memory(training="sgd").optimizer_bytes == 0
    )


def test_symbolic_batch() -> None:
    arch = cnncalc.load("resnet50")
    symbolic = arch.memory(batch="B", training="adamw", dtype="bfloat16")
    (b,) = symbolic.saved_bytes.free_symbols
    for n in (1, 3, 64):
        numeric = arch.memory(batch=n, training="adamw", dtype="bfloat16")
        for key, value in symbolic.totals().items():
            assert (value if isinstance(value, int) else value.subs(b, n)) == numeric.totals()[key], key
    assert symbolic.saved_bytes.as_poly(b).degree() == 1  # a*B: linear in the batch


def test_cli_output_and_bad_input() -> None:
    out = run(
        "summarize", "resnet50", "--training", "adam", "--batch", "64", "--dtype", "bfloat16", "--columns", "name"
    )
    assert out.exit_code == 0 and "memory at batch 64, bfloat16, training with adam" in out.stdout
    assert "training total" in out.stdout and "GiB" in out.stdout
    assert "saved for backward" in run("summarize", "vgg16", "--batch", "B", "--training", "sgd").stdout
    for args, message in [
        (["--dtype", "float17"], "'float17' is not one of"),
        (["--batch", "0"], "positive whole number"),
        (["--batch", "-3"], "positive whole number"),
        (["--training", "rmsprop"], "'rmsprop' is not one of"),
        (["--batch", "2", "--format", "csv"], "apply to --format text, markdown and json"),
    ]:
        bad = run("summarize", "vgg16", *args)
        assert bad.exit_code == 2 and message in bad.stderr and len(bad.stderr.strip().splitlines()) == 1, bad.stderr


# --- random networks ------------------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def _layer(draw: st.DrawFn, kind: str, c: int, pool: str) -> dict[str, object]:
    flag = st.booleans()
    fields: dict[str, dict[str, object]] = {
        "batchnorm2d": {},
        "relu": {"inplace": draw(flag)},
        "hardswish": {"inplace": draw(flag)},
        "relu6": {"inplace": draw(flag)},
        "silu": {"inplace": draw(flag)},
        "sigmoid": {},
        "gelu": {},
        "dropout": {"p": draw(st.sampled_from([0.0, 0.3, 1.0])), "inplace": draw(flag)},
        "stochasticdepth": {"p": draw(st.sampled_from([0.0, 0.2])), "mode": draw(st.sampled_from(["row", "batch"]))},
        "pool": {"kernel_size": 2, "stride": 1},
        "conv2d": {"out_channels": c + 1, "kernel_size": 1, "bias": draw(flag)},
        "padded": {"out_channels": c + 1, "kernel_size": 3, "padding": 1, "padding_mode": draw(st.sampled_from(MODES))},
    }
    return {pool if kind == "pool" else "conv2d" if kind == "padded" else kind: fields[kind]}


MODES = ["zeros", "reflect", "replicate", "circular"]


@st.composite
def networks(draw: st.DrawFn) -> dict[str, object]:
    c = draw(st.integers(1, 4))
    pool = draw(st.sampled_from(["maxpool2d", "avgpool2d"]))
    kinds = [
        "batchnorm2d",
        "relu",
        "hardswish",
        "relu6",
        "silu",
        "sigmoid",
        "gelu",
        "dropout",
        "stochasticdepth",
        "pool",
        "conv2d",
        "padded",
    ]
    mode = draw(st.sampled_from(MODES))  # the first layer's input needs no gradient: padding keeps less
    layers: list[dict[str, object]] = [
        {"conv2d": {"out_channels": c + 1, "kernel_size": 3, "padding": 1, "padding_mode": mode}}
    ]
    for _ in range(draw(st.integers(1, 6))):
        layers.append(_layer(draw, draw(st.sampled_from(kinds)), c, pool))
    layers.append({"identity": {"name": "trunk"}})
    merge = draw(st.sampled_from(["add", "mul", "concat", None]))
    if merge:
        layers.append({"conv2d": {"out_channels": c + 1, "kernel_size": 1, "from": "trunk", "name": "side"}})
        layers.append({merge: {"from": ["side", "trunk"]}})
    size = draw(st.sampled_from([1, 2]))
    layers += [{"adaptiveavgpool2d": {"output_size": size}}, {"flatten": {}}, {"linear": {"out_features": 3}}]
    side = draw(st.integers(6, 10))
    return {"name": "Random", "input": [c, side, side], "layers": layers}


@settings(max_examples=50, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(networks(), st.sampled_from(list(DTYPES)), st.sampled_from([2, 3]))
def test_random_networks_against_pytorch(data: dict[str, object], dtype: str, batch: int) -> None:
    arch = cnncalc.load(data)
    module, shape = arch.to_torch(), _shape(arch)
    mine = arch.memory(batch=batch, dtype=dtype, training="sgd")
    measured = saved_for_backward(module, shape, batch=batch, dtype=DTYPES[dtype])
    assert {m.name: m.saved_bytes for m in mine.layers if m.saved_bytes} == {
        k: v for k, v in measured.layers.items() if v
    }
    assert mine.activation_peak == inference_memory(module, shape, batch=batch, dtype=DTYPES[dtype]).peak


def test_readme_table() -> None:
    """The README's memory table: cnncalc's figures (equal to PyTorch's measurement, above)."""
    import re

    from .conftest import ROOT

    rows = re.findall(
        r"^\| (resnet50|vgg16|efficientnet_b0) \| ([\d,]+) \| ([\d,]+) \| ([\d,]+) \|",
        (ROOT / "README.md").read_text(),
        re.M,
    )
    assert len(rows) == 3
    for name, saved, peak, training in rows:
        m = cnncalc.load(name).memory(batch=1, training="adam")
        assert (m.saved_bytes, m.activation_peak, m.training_bytes) == tuple(
            int(v.replace(",", "")) for v in (saved, peak, training)
        )


def test_verify_memory() -> None:
    import json

    text = run("verify", "resnet18", "--sizes", "64", "--memory")
    assert text.exit_code == 0 and "memory at batch 1, float32: saved for backward" in text.stdout
    data = json.loads(run("verify", "squeezenet1_1", "--sizes", "65", "--memory", "--format", "json").stdout)
    memory = data["runs"][0]["memory"]
    assert memory["agrees"] and memory["saved_bytes"]["cnncalc"] == memory["saved_bytes"]["pytorch"] > 0
