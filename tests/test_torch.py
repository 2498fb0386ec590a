"""PyTorch as the reference: every bundled architecture built in PyTorch and run, every layer's
output shape, parameter count and MACs compared with cnncalc's; one build test per layer kind;
the ``verify`` command; and the one-line message when PyTorch is missing.

Tests that need torch are skipped only where torch is not installed (CI installs it). Known
disagreements are pinned with ``xfail(strict=True)``: each one passes once cnncalc's rule is fixed.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from types import ModuleType
from typing import Any

import pytest

import cnncalc
from cnncalc.errors import CnncalcError
from cnncalc.layers import KINDS
from cnncalc.spec import bundled

from .conftest import ROOT, run

ZOO = sorted(bundled())


@pytest.fixture(scope="module")
def backend() -> ModuleType:
    pytest.importorskip("torch")
    from cnncalc.backends import torch as backend

    return backend


@pytest.fixture(scope="module")
def nn() -> ModuleType:
    return pytest.importorskip("torch.nn")


def _disagreements(verification: Any) -> list[Any]:
    return [
        (run.values, run.verdict, run.cnncalc_error, run.pytorch_error, [c for c in run.layers if not c.agrees][:3])
        for run in verification.runs
        if not run.agrees
    ]


# --- the zoo ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ZOO)
def test_bundled_architecture_agrees_with_pytorch_at_its_defaults(backend: ModuleType, name: str) -> None:
    arch = cnncalc.load(name)
    verification = backend.verify(arch, sizes=[])
    assert [run.verdict for run in verification.runs] == ["agree"], _disagreements(verification)
    (result,) = verification.runs
    summary = arch.summarize(training=True)  # verify measures every layer, training-only ones too
    assert [c.name for c in result.layers] == [row.name for row in summary.rows]
    assert all(c.verdict == "ok" for c in result.layers)
    assert sum(c.measured.params for c in result.layers) == summary.total.params
    assert sum(c.measured.macs for c in result.layers) == summary.total.macs


@pytest.mark.parametrize(
    ("name", "sizes"),
    [
        ("lenet5", [15, 16, 28, 31, 97]),  # 15: both refuse (pool2 meets a 1x1 map)
        ("alexnet", [62, 63, 97, 227, 513]),
        ("vgg16_bn", [31, 32, 97, 513]),
        ("resnet50", [1, 2, 97, 513]),  # ResNet takes any size: ceil(H/32) at the end
        ("unet", [16, 32, 48, 512]),  # H and W are declared multiples of 16
        ("convnext_tiny", [31, 32, 97]),
        ("densenet121", [29, 97]),
        ("inception_v3", [298, 299, 301]),  # the auxiliary head's 5x5 conv needs 299
        # a ceil-mode pool that overhangs a map smaller than its kernel (3x3 on 2x2, 2x2 on 1x1)
        ("googlenet", [29, 30, 31]),
        ("squeezenet1_0", [27, 28, 29]),
        ("squeezenet1_1", [23, 24, 25]),
    ],
)
def test_bundled_architecture_agrees_with_pytorch_at_other_sizes(
    backend: ModuleType, name: str, sizes: list[int]
) -> None:
    verification = backend.verify(cnncalc.load(name), sizes=sizes)
    assert verification.agrees, _disagreements(verification)
    assert {run.values["H"] for run in verification.runs} >= set(sizes)  # and the defaults, first


def test_meta_and_cpu_measure_the_same(backend: ModuleType) -> None:
    for name in ("lenet5", "resnet18", "squeezenet1_1"):
        arch = cnncalc.load(name)
        meta = backend.measure(arch, {"H": 64, "W": 48}, device="meta")
        cpu = backend.measure(arch, {"H": 64, "W": 48}, device="cpu")
        assert (meta.device, cpu.device) == ("meta", "cpu")
        assert meta.layers == cpu.layers and meta.rejection is None and cpu.rejection is None


# --- building --------------------------------------------------------------------------------------

#: One small architecture per kind: (input, layers). A new kind needs an entry here.
EXAMPLES: dict[str, tuple[list[Any], list[Any]]] = {
    "conv1d": ([3, 17], [{"conv1d": {"out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1, "dilation": 2}}]),
    "conv3d": ([3, 5, 9, 8], [{"conv3d": {"out_channels": 4, "kernel_size": [3, 3, 2], "stride": [1, 2, 2]}}]),
    "convtranspose1d": ([4, 7], [{"convtranspose1d": {"out_channels": 6, "kernel_size": 4, "stride": 3}}]),
    "convtranspose3d": (
        [4, 3, 5, 6],
        [{"convtranspose3d": {"out_channels": 2, "kernel_size": [1, 3, 3], "stride": 2}}],
    ),
    "maxpool1d": ([2, 11], [{"maxpool1d": {"kernel_size": 3, "stride": 2, "ceil_mode": True}}]),
    "maxpool3d": ([2, 5, 9, 9], [{"maxpool3d": {"kernel_size": [1, 3, 3], "stride": [1, 2, 2], "padding": [0, 1, 1]}}]),
    "avgpool1d": ([2, 11], [{"avgpool1d": {"kernel_size": 4, "padding": 2, "count_include_pad": False}}]),
    "avgpool3d": ([2, 4, 8, 8], [{"avgpool3d": {"kernel_size": 2, "divisor_override": 3}}]),
    "adaptiveavgpool1d": ([2, 13], [{"adaptiveavgpool1d": {"output_size": 4}}]),
    "adaptiveavgpool3d": ([2, 4, 9, 7], [{"adaptiveavgpool3d": {"output_size": [1, None, 3]}}]),
    "adaptivemaxpool1d": ([2, 13], [{"adaptivemaxpool1d": {"output_size": 5}}]),
    "adaptivemaxpool3d": ([2, 4, 9, 7], [{"adaptivemaxpool3d": {"output_size": 2}}]),
    "batchnorm1d": ([5, 6], [{"batchnorm1d": {"affine": False}}]),
    "batchnorm3d": ([5, 2, 4, 4], [{"batchnorm3d": {"eps": 1e-3}}]),
    "zeropad1d": ([2, 5], [{"zeropad1d": {"padding": [1, 3]}}]),
    "zeropad3d": ([2, 3, 4, 5], [{"zeropad3d": {"padding": [1, 0, 2, 1, 0, 3]}}]),
    "conv2d": ([3, 9, 8], [{"conv2d": {"out_channels": 4, "kernel_size": [3, 2], "stride": 2, "padding": 1}}]),
    "separableconv1d": (
        [3, 17],
        [{"separableconv1d": {"out_channels": 4, "kernel_size": 3, "stride": 2, "padding": "SAME_UPPER"}}],
    ),
    "separableconv2d": (
        [3, 9, 8],
        [{"separableconv2d": {"out_channels": 5, "kernel_size": 3, "padding": "same", "depth_multiplier": 2}}],
    ),
    "convtranspose2d": (
        [4, 5, 6],
        [{"convtranspose2d": {"out_channels": 6, "kernel_size": 3, "stride": 2, "output_padding": 1, "groups": 2}}],
    ),
    "maxpool2d": ([2, 9, 9], [{"maxpool2d": {"kernel_size": 2, "padding": 1, "dilation": 2, "ceil_mode": True}}]),
    "avgpool2d": ([2, 9, 9], [{"avgpool2d": {"kernel_size": 3, "stride": 2, "padding": 1, "divisor_override": 2}}]),
    "adaptiveavgpool2d": ([2, 9, 7], [{"adaptiveavgpool2d": {"output_size": [3, None]}}]),
    "adaptivemaxpool2d": ([2, 9, 7], [{"adaptivemaxpool2d": {"output_size": 4}}]),
    "batchnorm2d": ([5, 4, 4], [{"batchnorm2d": {"eps": 1e-3, "momentum": None}}]),
    "layernorm2d": ([5, 4, 4], [{"layernorm2d": {"bias": False}}]),
    "layerscale": ([5, 4, 4], [{"layerscale": {"init": 0.5}}]),
    "localresponsenorm": ([5, 4, 4], [{"localresponsenorm": {"size": 3, "alpha": 2e-4, "beta": 0.5, "k": 2.0}}]),
    "dropout": ([5, 4, 4], [{"dropout": {"p": 0.25}}]),
    "stochasticdepth": ([5, 4, 4], [{"stochasticdepth": {"p": 0.2, "mode": "batch"}}]),
    "flatten": ([5, 4, 4], [{"flatten": {"start_dim": 2}}]),
    "linear": ([7], [{"linear": {"out_features": 3, "bias": False}}]),
    "identity": ([5, 4, 4], ["identity"]),
    "relu": ([5, 4, 4], ["relu"]),
    "relu6": ([5, 4, 4], ["relu6"]),
    "leakyrelu": ([5, 4, 4], [{"leakyrelu": {"negative_slope": 0.2}}]),
    "sigmoid": ([5, 4, 4], ["sigmoid"]),
    "tanh": ([5, 4, 4], ["tanh"]),
    "gelu": ([5, 4, 4], [{"gelu": {"approximate": "tanh"}}]),
    "silu": ([5, 4, 4], ["silu"]),
    "hardswish": ([5, 4, 4], ["hardswish"]),
    "hardsigmoid": ([5, 4, 4], ["hardsigmoid"]),
    "softmax": ([5, 4, 4], [{"softmax": {"dim": -1}}]),
    "zeropad2d": ([5, 4, 4], [{"zeropad2d": {"padding": [1, 2, 0, -1]}}]),
    "upsample": ([5, 4, 3], [{"upsample": {"scale_factor": [2, 3], "mode": "bilinear", "align_corners": True}}]),
    "channel_shuffle": ([6, 4, 4], [{"channel_shuffle": {"groups": 3}}]),
    "chunk": ([6, 4, 4], [{"chunk": {"chunks": 3, "index": 2}}]),
    "add": ([4, 6, 6], [{"conv2d": {"out_channels": 4, "kernel_size": 1}}, {"add": {"from": ["input", "conv1"]}}]),
    "mul": (
        [4, 6, 6],
        [{"adaptiveavgpool2d": {"output_size": 1}}, "sigmoid", {"mul": {"from": ["input", "sigmoid1"]}}],
    ),
    "concat": (
        [4, 6, 6],
        [{"conv2d": {"out_channels": 3, "kernel_size": 1}}, {"concat": {"from": ["conv1", "input"]}}],
    ),
}


def test_every_kind_has_a_builder_and_an_example(backend: ModuleType) -> None:
    assert set(backend.BUILDERS) == set(KINDS)
    assert set(EXAMPLES) == set(KINDS)


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_kind_builds_and_agrees(backend: ModuleType, kind: str) -> None:
    import torch

    shape, layers = EXAMPLES[kind]
    arch = cnncalc.load({"name": kind, "input": shape, "layers": layers})
    model = backend.build(arch)
    summary = arch.summarize()
    row = next(r for r in summary.rows if r.kind == kind)
    module = model.get_submodule(row.name)
    assert sum(p.numel() for p in module.parameters()) == row.params
    with torch.no_grad():
        out = model(torch.zeros(1, *shape))
    assert tuple(out.shape) == (1, *summary.rows[-1].output)
    assert backend.verify(arch).agrees


def _module(backend: ModuleType, kind: str, fields: dict[str, Any], shape: list[int]) -> Any:
    arch = cnncalc.load({"input": shape, "layers": [{kind: fields}]})
    return backend.build(arch).get_submodule(arch.layer_names[0])


def test_builders_pass_the_yaml_fields_to_pytorchs_classes(backend: ModuleType, nn: ModuleType) -> None:
    conv = _module(backend, "conv2d", {"out_channels": 8, "kernel_size": 3, "padding": "same", "dilation": 2,
                                       "groups": 2, "bias": False, "padding_mode": "reflect"}, [4, 9, 9])  # fmt: skip
    assert isinstance(conv, nn.Conv2d)
    assert (conv.in_channels, conv.out_channels, conv.padding, conv.dilation) == (4, 8, "same", (2, 2))
    assert (conv.groups, conv.bias, conv.padding_mode) == (2, None, "reflect")
    valid = _module(backend, "conv2d", {"out_channels": 2, "kernel_size": 3, "padding": "valid"}, [1, 5, 5])
    assert valid.padding == "valid"
    lrn = _module(backend, "localresponsenorm", {"size": 5, "alpha": 1e-3, "beta": 0.5, "k": 2.0}, [8, 4, 4])
    assert isinstance(lrn, nn.LocalResponseNorm)
    assert (lrn.size, lrn.alpha, lrn.beta, lrn.k) == (5, 1e-3, 0.5, 2.0)
    bn = _module(backend, "batchnorm2d", {"affine": False, "track_running_stats": False, "eps": 0.01}, [8, 4, 4])
    assert isinstance(bn, nn.BatchNorm2d)
    assert (bn.num_features, bn.affine, bn.track_running_stats, bn.eps) == (8, False, False, 0.01)
    assert list(bn.parameters()) == [] and bn.running_mean is None
    pool = _module(backend, "maxpool2d", {"kernel_size": 3, "stride": 2, "dilation": 2, "ceil_mode": True}, [1, 9, 9])
    assert isinstance(pool, nn.MaxPool2d)
    assert (pool.kernel_size, pool.stride, pool.dilation, pool.ceil_mode) == (3, 2, 2, True)
    assert _module(backend, "maxpool2d", {"kernel_size": 3}, [1, 9, 9]).stride == 3  # PyTorch's default: kernel
    avg = _module(
        backend, "avgpool2d", {"kernel_size": 2, "count_include_pad": False, "divisor_override": 3}, [1, 4, 4]
    )
    assert isinstance(avg, nn.AvgPool2d)
    assert (avg.count_include_pad, avg.divisor_override) == (False, 3)
    assert _module(backend, "leakyrelu", {"negative_slope": 0.3}, [1]).negative_slope == 0.3
    assert _module(backend, "gelu", {"approximate": "tanh"}, [1]).approximate == "tanh"
    assert _module(backend, "softmax", {"dim": 2}, [2, 3]).dim == 2
    assert _module(backend, "dropout", {"p": 0.1, "inplace": True}, [2]).p == 0.1
    up = _module(backend, "upsample", {"size": [6, 5], "mode": "bicubic"}, [1, 3, 3])
    assert (up.size, up.mode) == ((6, 5), "bicubic")
    tconv = _module(backend, "convtranspose2d", {"out_channels": 2, "kernel_size": 2, "stride": 2}, [3, 4, 4])
    assert isinstance(tconv, nn.ConvTranspose2d) and (tconv.in_channels, tconv.stride) == (3, (2, 2))


def test_fields_are_resolved_with_symbols_and_block_arguments(backend: ModuleType, nn: ModuleType) -> None:
    arch = cnncalc.load("""
input: [3, H, H]
symbols: {H: 16, k: 2}
blocks:
  unit:
    args: {width: null}
    layers:
      - conv2d: {out_channels: width*k, kernel_size: 3, padding: 1}
      - conv2d: {out_channels: in_channels // 2, kernel_size: 1}
layers:
  - unit: {width: 4, name: a}
  - unit: {width: 8, name: b}
""")
    model = backend.build(arch, {"k": 3})
    assert model.get_submodule("a.conv1").out_channels == 12
    assert model.get_submodule("a.conv2").out_channels == 6  # in_channels from PyTorch's own shapes
    assert model.get_submodule("b.conv1").in_channels == 6
    assert model.get_submodule("b.conv2").out_channels == 12
    assert backend.verify(arch, {"k": 3}, sizes=[5, 16]).agrees


def test_submodules_carry_cnncalcs_layer_names(backend: ModuleType, nn: ModuleType) -> None:
    vgg = cnncalc.load("vgg16")
    model = backend.build(vgg, device="meta")
    assert isinstance(model, nn.Sequential)
    assert [name for name, _ in model.named_children()] == list(vgg.layer_names)
    resnet = cnncalc.load("resnet18")
    graph = backend.build(resnet, device="meta")
    assert isinstance(graph, backend.Graph)
    assert isinstance(graph.get_submodule("layer2.0.downsample.0"), nn.Conv2d)
    leaves = {name for name, m in graph.named_modules() if not list(m.children())}
    assert leaves == set(resnet.layer_names)
    # torchvision's names: the state dict keys line up with torchvision.models.resnet18's
    keys = set(graph.state_dict())
    assert {"conv1.weight", "bn1.running_mean", "layer1.0.conv2.weight", "layer4.1.bn2.bias", "fc.weight"} <= keys
    assert "layer3.0.downsample.1.weight" in keys


def test_dotted_names_nest_in_sequentials_when_the_network_is_a_chain(backend: ModuleType, nn: ModuleType) -> None:
    import torch

    arch = cnncalc.load("""
input: [2, 8, 8]
blocks:
  pair:
    layers: [{conv2d: {out_channels: 4, kernel_size: 3, padding: 1}}, relu]
layers:
  - pair: {repeat: 2, name: stage}
  - flatten
  - linear: {out_features: 3, name: head.fc}
""")
    model = backend.build(arch)
    assert isinstance(model, nn.Sequential) and isinstance(model.get_submodule("stage.1"), nn.Sequential)
    assert isinstance(model.get_submodule("stage.1.conv1"), nn.Conv2d)
    assert tuple(model(torch.zeros(1, 2, 8, 8)).shape) == (1, 3)


def test_assemble_falls_back_to_a_graph_for_groups_that_are_not_consecutive(
    backend: ModuleType, nn: ModuleType
) -> None:
    import torch

    named = [("a.x", nn.ReLU()), ("b", nn.Flatten()), ("a.y", nn.Identity())]
    model = backend.assemble(named)
    assert isinstance(model, backend.Graph)
    assert tuple(model(torch.zeros(1, 2, 3)).shape) == (1, 6)
    with pytest.raises(CnncalcError, match="is a group of other layers' names already"):
        backend.assemble([("a.x", nn.ReLU()), ("a", nn.ReLU())])
    with pytest.raises(CnncalcError, match="cannot name a PyTorch submodule"):
        backend.assemble([("forward", nn.ReLU())])


def test_build_gives_an_initialised_module_on_cpu(backend: ModuleType) -> None:
    import torch

    arch = cnncalc.load("resnet18")
    model = backend.build(arch, {"H": 64, "W": 64})
    weight = model.get_submodule("conv1").weight
    assert weight.device.type == "cpu" and not model.training
    assert bool(weight.abs().sum() > 0) and bool(torch.isfinite(weight).all())
    assert float(model.get_submodule("bn1").running_var.sum()) == 64.0  # reset_parameters ran
    with torch.no_grad():
        assert tuple(model(torch.randn(1, 3, 64, 64)).shape) == (1, 1000)


def test_frozen_layers_have_frozen_parameters(backend: ModuleType) -> None:
    arch = cnncalc.load({"input": [3, 8, 8], "layers": [{"conv2d": {"out_channels": 4, "kernel_size": 3,
                                                                     "trainable": False}}, "batchnorm2d"]})  # fmt: skip
    model = backend.build(arch)
    assert not any(p.requires_grad for p in model.get_submodule("conv1").parameters())
    assert all(p.requires_grad for p in model.get_submodule("bn1").parameters())


def test_build_raises_where_pytorch_refuses(backend: ModuleType) -> None:
    arch = cnncalc.load("lenet5")
    with pytest.raises(backend.Rejected, match=r"layer pool2 \(maxpool2d\).*Output size is too small"):
        backend.build(arch, {"H": 15, "W": 15})


# --- verdicts --------------------------------------------------------------------------------------


def test_both_rejecting_is_agreement_with_both_messages(backend: ModuleType) -> None:
    (run_,) = backend.verify(cnncalc.load("lenet5"), sizes=[15]).runs[1:]
    assert run_.verdict == "both reject" and run_.agrees
    assert "layer pool2 (maxpool2d)" in run_.cnncalc_error
    assert run_.pytorch_error.layer.startswith("layer pool2 (maxpool2d)")
    assert "Output size is too small" in run_.pytorch_error.message
    # the layers before the refusal were measured
    assert [c.verdict for c in run_.layers[:5]] == ["cnncalc rejected"] * 5 and run_.layers[5].measured is None


#: Deliberate differences: cnncalc refuses what PyTorch would run with another meaning.
DELIBERATE = {
    # PyTorch applies a Linear to the last axis of any input; cnncalc asks for a flatten first.
    "linear on a map": ([4, 5, 5], [{"linear": {"out_features": 3}}]),
    # start_dim 0 would flatten the batch into the features.
    "flatten the batch": ([4, 5, 5], [{"flatten": {"start_dim": 0}}]),
    # torch.chunk makes unequal chunks (here 3 and 2 channels); cnncalc's chunk is equal parts.
    "unequal chunks": ([5, 3, 3], [{"chunk": {"chunks": 2, "index": 1}}]),
    # Sizes below 1: PyTorch makes empty tensors (a Linear with no outputs, a side cropped away,
    # an adaptive pool to nothing).
    "linear with no outputs": ([4], [{"linear": {"out_features": 0}}]),
    "zeropad2d cropping a side away": ([2, 3, 3], [{"zeropad2d": {"padding": [0, 0, -3, 0]}}]),
    "adaptive pool to nothing": ([2, 3, 3], [{"adaptiveavgpool2d": {"output_size": [0, 2]}}]),
    # Negative conv padding: PyTorch crops where padding_mode is not zeros.
    "negative padding": (
        [1, 4, 4],
        [{"conv2d": {"out_channels": 1, "kernel_size": 1, "padding": -1, "padding_mode": "replicate"}}],
    ),
}


@pytest.mark.parametrize("case", sorted(DELIBERATE))
def test_deliberate_differences_are_reported(backend: ModuleType, case: str) -> None:
    shape, layers = DELIBERATE[case]
    verification = backend.verify(cnncalc.load({"input": shape, "layers": layers}))
    assert [run.verdict for run in verification.runs] == ["only cnncalc rejects"]
    assert not verification.agrees


def test_verify_names_an_unknown_symbol(backend: ModuleType) -> None:
    with pytest.raises(CnncalcError, match="has no symbol 'X'"):
        backend.verify(cnncalc.load("lenet5"), {"X": 3})


def test_verification_renders_as_text_and_json(backend: ModuleType) -> None:
    verification = backend.verify(cnncalc.load("lenet5"), sizes=[15])
    text = verification.render()
    assert text.startswith("LeNet5 at H=32, W=32: agree (PyTorch ")
    assert "conv1     conv2d     6x28x28   6x28x28           156             156  117,600       117,600  ok" in text
    assert "LeNet5 at H=15, W=15: both reject" in text and text.endswith("2 value sets: all agree\n")
    data = json.loads(verification.render("json"))
    assert data["agrees"] is True and [r["verdict"] for r in data["runs"]] == ["agree", "both reject"]
    assert data["runs"][0]["layers"][0] == {
        "name": "conv1",
        "kind": "conv2d",
        "verdict": "ok",
        "cnncalc": {"output": [6, 28, 28], "params": 156, "macs": 117600},
        "pytorch": {"output": [6, 28, 28], "params": 156, "macs": 117600},
    }
    with pytest.raises(CnncalcError, match="unknown format"):
        verification.render("latex")


# --- the command -----------------------------------------------------------------------------------


def test_readme_shows_what_verify_prints(backend: ModuleType) -> None:
    readme = (ROOT / "README.md").read_text()
    shown = re.search(r"```text\n\$ cnncalc verify (.*?)\n(.*?)```", readme, re.S)
    assert shown is not None
    actual = run("verify", *shown.group(1).split()).stdout.splitlines()
    for line in shown.group(2).splitlines():
        if line != "...":
            assert line in actual, line


def test_verify_command_agrees(backend: ModuleType) -> None:
    result = run("verify", "lenet5", "--sizes", "15,32,97")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.endswith("3 value sets: all agree\n")
    assert "LeNet5 at H=15, W=15: both reject" in result.stdout
    data = json.loads(run("verify", "vgg16", "--set", "H=64", "--set", "W=96", "--format", "json").stdout)
    assert [r["values"] for r in data["runs"]] == [{"H": 64, "W": 96}]


def test_verify_command_exits_1_on_a_disagreement(backend: ModuleType, tmp_path: Any) -> None:
    net = tmp_path / "net.yaml"
    net.write_text("input: [4, H, H]\nsymbols: {H: 5}\nlayers:\n  - linear: {out_features: 3}\n")
    result = run("verify", str(net), "--sizes", "5")
    assert result.exit_code == 1
    assert "only cnncalc rejects" in result.stdout and result.stdout.endswith("1 of 1 value sets disagree\n")


def test_verify_command_bad_input_exits_2(backend: ModuleType) -> None:
    result = run("verify", "lenet5", "--set", "X=3")
    assert result.exit_code == 2 and "has no symbol 'X'" in result.stderr
    result = run("verify", "lenet5", "--sizes", "0,3")
    assert result.exit_code == 2 and "positive whole numbers" in result.stderr


def test_verify_without_torch_says_how_to_install_it() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from cnncalc.cli import main\n"
        "sys.argv = ['cnncalc', 'verify', 'lenet5']\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == 'cnncalc: error: PyTorch is not installed; install it with: pip install "cnncalc[torch]"\n'


# --- known disagreements: each passes once cnncalc's rule matches PyTorch's ------------------------------

#: name -> (input, layers): cnncalc and PyTorch disagree here today; minimal cases.
#: Disagreements the property tests found, each now fixed in cnncalc (the text says what PyTorch does).
FINDINGS: dict[str, tuple[list[Any], list[Any], str]] = {
    "dilated max pool with padding over half the kernel": (
        [1, 9, 9],
        [{"maxpool2d": {"kernel_size": 3, "stride": 1, "padding": 2, "dilation": 2}}],
        "PyTorch: pad should be smaller than or equal to half of kernel size (3); cnncalc allows up to half "
        "of the dilated kernel (5)",
    ),
    "avgpool divisor_override 0": (
        [1, 4, 4],
        [{"avgpool2d": {"kernel_size": 2, "divisor_override": 0}}],
        "PyTorch: divisor must be not zero; cnncalc accepts it",
    ),
    "softmax dim out of range": (
        [2, 3, 3],
        [{"softmax": {"dim": 4}}],
        "PyTorch: Dimension out of range (expected to be in range of [-4, 3], but got 4); cnncalc accepts it",
    ),
    "reflect padding as large as the input": (
        [1, 2, 2],
        [{"conv2d": {"out_channels": 1, "kernel_size": 3, "padding": 2, "padding_mode": "reflect"}}],
        "PyTorch: Padding size should be less than the corresponding input dimension; cnncalc accepts it",
    ),
    "circular padding larger than the input": (
        [1, 2, 2],
        [{"conv2d": {"out_channels": 1, "kernel_size": 3, "padding": 3, "padding_mode": "circular"}}],
        "PyTorch: Padding value causes wrapping around more than once; cnncalc accepts it",
    ),
    "batch statistics of one value": (
        [2, 1, 1],
        [{"batchnorm2d": {"track_running_stats": False}}],
        "PyTorch: Expected more than 1 value per channel when training (no running statistics: batch "
        "statistics even in eval mode, of 1x1 at batch 1); cnncalc accepts it",
    ),
    "pool returning indices in a chain": (
        [2, 6, 6],
        [{"maxpool2d": {"kernel_size": 2, "return_indices": True}}, "relu"],
        "PyTorch: relu receives a (values, indices) tuple; cnncalc accepts return_indices anywhere",
    ),
    "align_corners with nearest upsampling": (
        [1, 3, 3],
        [{"upsample": {"scale_factor": 2, "align_corners": True}}],
        "PyTorch: align_corners option can only be set with the interpolating modes; cnncalc accepts it",
    ),
}


@pytest.mark.parametrize("case", list(FINDINGS))
def test_former_disagreements_now_agree(backend: ModuleType, case: str) -> None:
    # Found by the property tests (PyTorch rejects, cnncalc did not); cnncalc's rules now agree.
    shape, layers, _ = FINDINGS[case]
    try:
        arch = cnncalc.load({"input": shape, "layers": layers})
    except cnncalc.SchemaError as err:
        assert "return_indices must be false" in str(err)  # refused when the file is read
        return
    verification = backend.verify(arch)
    assert verification.agrees, _disagreements(verification)
    assert all(run.verdict == "both reject" for run in verification.runs)


def test_public_api_builds_and_verifies(backend: ModuleType) -> None:
    import torch

    arch = cnncalc.load("resnet18")
    model = cnncalc.to_torch(arch, H=64, W=64)
    assert isinstance(model.get_submodule("layer2.0.downsample.0"), torch.nn.Conv2d)
    assert sum(p.numel() for p in model.parameters()) == 11_689_512  # torchvision's resnet18
    assert model(torch.zeros(1, 3, 64, 64)).shape == (1, 1000)
    result = cnncalc.load("lenet5").verify(sizes=[40])
    assert result.agrees and len(result.runs) == 2
