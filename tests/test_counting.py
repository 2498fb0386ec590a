"""Counting conventions (issue 12, item 1): the presets torchinfo, fvcore, thop, keras and flops
reproduce, exactly, the totals the real tools print - on every bundled network, on random networks
(upsampling, transposed convolution, softmax, leaky ReLU, adaptive max pooling, LRN, padding...) and
at the sizes where the issue measured them - and the CLI, the table and the docs state them.

Every expected number is the real tool's output (tests/peers.py runs it on the PyTorch module of
the same network), PyTorch's own FlopCounterMode, Keras's own count_params(), or a figure
published in issue 12; none is cnncalc's output pasted back. A tool that is not installed fails
(never skips): ``pip install ".[test]"`` installs them. Time: 153 s of CPU on the 2-core machine
(measured with `time`), two thirds of it the zoo (DenseNets and Inception v3 at 299 the largest),
then random networks, ResNet-50 at 224 and U-Net at 256; each module is built once for all tools.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import torch  # imported, not skipped: CI installs it, and a missing tool fails these tests
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

import cnncalc
from cnncalc.cli_counting import NAMES
from cnncalc.counting import PRESETS, preset
from cnncalc.errors import CnncalcError
from cnncalc.render.conventions import render_rules
from cnncalc.verify import spatial_symbols

from . import peers
from .conftest import ROOT, run
from .test_torch_property import SIZES, blocks, branching, network_nd, sequential

MINE = ("torchinfo", "fvcore", "thop", "keras", "flops")


def smallest(arch: cnncalc.Architecture) -> dict[str, int]:
    """The smallest square (cubic) input cnncalc and PyTorch accept, training-only branches
    included: small inputs keep the tools fast."""
    names = spatial_symbols(arch)
    n = arch.constraints().smallest(names)
    assert n is not None
    return dict.fromkeys(names, n)


def build(arch: cnncalc.Architecture, values: dict[str, int], cheap: bool = False) -> Any:
    """The network's PyTorch module; ``cheap``: built on the meta device, then given zeroed CPU
    storage (no random initialisation of VGG's 100 M weights: counts do not depend on values)."""
    if not cheap:
        return arch.to_torch(**values).eval()
    with torch.device("meta"):
        model = arch.to_torch(**values)
    model = model.to_empty(device="cpu").eval()
    with torch.no_grad():
        for tensor in (*model.parameters(), *model.buffers()):
            tensor.zero_()  # garbage memory holds denormals and NaNs, which make a forward ten times slower
    return model


def measured(model: Any, shape: tuple[int, ...]) -> dict[str, Any]:
    """Every tool's own total on one module (built once for all of them)."""
    thop_ops, thop_params = peers.thop_profile(model, shape)
    return {
        "torchinfo": peers.torchinfo_total(model, shape),
        "fvcore": peers.fvcore_total(model, shape),
        "thop": thop_ops,
        "thop params": thop_params,
        "flops": peers.flop_counter_total(model, shape),
    }


def predicted(arch: cnncalc.Architecture, values: dict[str, int]) -> dict[str, Any]:
    """The presets' totals for the same network and values."""
    out: dict[str, Any] = {}
    for name in ("torchinfo", "fvcore", "thop", "flops"):
        total = arch.summarize(values, count=name).total
        out[name] = total.macs
        if name == "thop":
            out["thop params"] = total.params
    return out


def disagreements(
    arch: cnncalc.Architecture, values: dict[str, int], cheap: bool = False
) -> dict[str, tuple[Any, Any]]:
    """The totals where a preset and its tool differ (none, where the preset reproduces the tool)."""
    summary = arch.summarize(values)
    model = build(arch, values, cheap)
    tools, ours = measured(model, tuple(summary.input)), predicted(arch, values)
    return {k: (ours[k], tools[k]) for k in tools if ours[k] != tools[k]}


# --- the zoo -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(cnncalc.bundled()))
def test_every_preset_equals_its_tool_on_the_zoo(name: str) -> None:
    """torchinfo's Mult-Adds, fvcore's flops, thop's MACs and params, and FlopCounterMode's FLOPs
    (the flops preset) on every bundled network at its smallest valid input."""
    arch = cnncalc.load(name)
    values = smallest(arch)
    assert disagreements(arch, values, cheap=True) == {}, values


#: Issue 12's measurements (same network, batch 1), in millions rounded to two decimals.
ISSUE_RESNET50 = {
    "cnncalc": "4,089.18",
    "torchinfo": "4,089.24",
    "fvcore": "4,111.51",
    "ptflops": "4,137.96",
    "thop": "4,133.74",
    "torchscan-macs": "4,111.92",
    "calflops-flops": "8,216.63",
}


def millions(n: int) -> str:
    hundredths = (n * 100 + 500_000) // 10**6
    return f"{hundredths // 100:,}.{hundredths % 100:02d}"


def test_resnet50_at_224_reproduces_the_tools_and_the_issues_figures() -> None:
    arch = cnncalc.load("resnet50")
    values = {"H": 224, "W": 224}
    assert disagreements(arch, values) == {}
    for name in ("cnncalc", "torchinfo", "fvcore", "thop"):
        assert millions(arch.summarize(values, count=name).total.macs) == ISSUE_RESNET50[name], name


def test_unet_at_its_default_size_counts_transposed_convs_as_the_issue_says() -> None:
    """Issue 12: 'on U-Net torchinfo and thop say 54.5 G where the others say 48.1 G'."""
    arch = cnncalc.load("unet")
    values = {"H": 256, "W": 256}
    assert disagreements(arch, values) == {}
    giga = {n: arch.summarize(values, count=n).total.macs / 1e9 for n in ("torchinfo", "thop", "fvcore", "cnncalc")}
    assert all(abs(giga[n] - 54.5) < 0.1 for n in ("torchinfo", "thop")), giga
    assert all(abs(giga[n] - 48.1) < 0.05 for n in ("fvcore", "cnncalc")), giga


# --- random networks ---------------------------------------------------------------------------------


def _settings(n: int) -> Any:
    return settings(
        max_examples=n,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


#: A network with every kind issue 12 names (upsampling of each mode, transposed convolution,
#: softmax, leaky ReLU, adaptive max pooling, LRN, padding), convolutions padded "same" and by
#: reflection, layer norm and scale, and a branch the output never uses.
NAMED_KINDS = {
    "name": "named",
    "input": [3, "H", "W"],
    "symbols": {"H": 13, "W": 11},
    "layers": [
        {"conv2d": {"out_channels": 8, "kernel_size": 3, "padding": "same", "name": "same"}},
        {"leakyrelu": {"negative_slope": 0.1}},
        {"zeropad2d": {"padding": [1, 0, 2, 1]}},
        {"conv2d": {"out_channels": 8, "kernel_size": 3, "padding": 1, "padding_mode": "reflect"}},
        {"localresponsenorm": {"size": 3}},
        {"convtranspose2d": {"out_channels": 6, "kernel_size": 3, "stride": 2, "groups": 2}},
        {"batchnorm2d": {"track_running_stats": False}},
        {"upsample": {"scale_factor": 2, "mode": "bilinear", "name": "up"}},
        {"upsample": {"scale_factor": [1, 2], "mode": "bicubic", "from": "up"}},
        {"upsample": {"size": [9, 7], "mode": "nearest"}},
        {"upsample": {"scale_factor": 2, "mode": "nearest-exact"}},
        {"conv2d": {"out_channels": 4, "kernel_size": 1, "name": "unused"}},
        {"layernorm2d": {"from": "up"}},
        {"layerscale": {}},
        {"adaptivemaxpool2d": {"output_size": [3, 5]}},
        {"adaptiveavgpool2d": {"output_size": 2}},
        {"softmax": {"dim": 1}},
        "flatten",
        {"linear": {"out_features": 5}},
        {"softmax": {"dim": -1}},
    ],
}


@pytest.mark.parametrize("size", [(13, 11), (8, 8)])
def test_every_kind_the_issue_names_in_one_network(size: tuple[int, int]) -> None:
    arch = cnncalc.load(NAMED_KINDS)
    assert disagreements(arch, {"H": size[0], "W": size[1]}) == {}


def check_random(data: dict[str, Any], values: dict[str, int]) -> None:
    try:
        arch = cnncalc.load(data)
        arch.summarize(values)
    except CnncalcError:
        reject()  # a network both refuse (test_torch_property.py checks that): nothing to count
    assert disagreements(arch, values) == {}, (values, data)


@_settings(50)
@given(sequential(), SIZES, SIZES)
def test_random_chains(data: dict[str, Any], h: int, w: int) -> None:
    check_random(data, {"H": h, "W": w})


@_settings(30)
@given(branching(), SIZES, SIZES)
def test_random_branches_including_unused_ones(data: dict[str, Any], h: int, w: int) -> None:
    check_random(data, {"H": h, "W": w})


@_settings(10)
@given(blocks(), SIZES)
def test_random_residual_blocks(data: dict[str, Any], n: int) -> None:
    check_random(data, {"H": n, "W": n})


@_settings(30)
@given(network_nd(1), SIZES)
def test_random_1d_networks(data: dict[str, Any], n: int) -> None:
    check_random(data, {"L": n})


@_settings(20)
@given(network_nd(3), st.integers(1, 6), st.integers(1, 12))
def test_random_3d_networks(data: dict[str, Any], d: int, n: int) -> None:
    check_random(data, {"D": d, "H": n, "W": n})


# --- Keras ------------------------------------------------------------------------------------------

#: Keras models (channels last) and the same networks as cnncalc files (channels first).
KERAS_CASES = {
    "conv_bn_dense": (
        lambda k: [k.Input((16, 16, 3)), k.layers.Conv2D(8, 3, padding="same"), k.layers.BatchNormalization(),
                   k.layers.ReLU(), k.layers.MaxPooling2D(2), k.layers.Flatten(), k.layers.Dense(10)],
        {"input": [3, 16, 16], "layers": [{"conv2d": {"out_channels": 8, "kernel_size": 3, "padding": 1}},
         "batchnorm2d", "relu", {"maxpool2d": {"kernel_size": 2}}, "flatten", {"linear": {"out_features": 10}}]},
    ),
    "no_bias_no_affine": (
        lambda k: [k.Input((12, 12, 4)), k.layers.Conv2D(6, 3, use_bias=False),
                   k.layers.BatchNormalization(center=False, scale=False), k.layers.GlobalAveragePooling2D(),
                   k.layers.Dense(5, use_bias=False)],
        {"input": [4, 12, 12], "layers": [{"conv2d": {"out_channels": 6, "kernel_size": 3, "bias": False}},
         {"batchnorm2d": {"affine": False}}, {"adaptiveavgpool2d": {"output_size": 1}}, "flatten",
         {"linear": {"out_features": 5, "bias": False}}]},
    ),
    "conv1d_and_flat_norm": (
        lambda k: [k.Input((20, 2)), k.layers.Conv1D(4, 5), k.layers.BatchNormalization(), k.layers.Flatten(),
                   k.layers.Dense(7), k.layers.BatchNormalization(), k.layers.Dense(3)],
        {"input": [2, 20], "layers": [{"conv1d": {"out_channels": 4, "kernel_size": 5}}, "batchnorm1d", "flatten",
         {"linear": {"out_features": 7}}, "batchnorm1d", {"linear": {"out_features": 3}}]},
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(KERAS_CASES))
def test_keras_params_equal_keras_count_params(case: str) -> None:
    keras = peers.keras_module()
    layers, data = KERAS_CASES[case]
    model = keras.Sequential(layers(keras))
    total, trainable = peers.keras_params(model)
    arch = cnncalc.load({"name": case, **data})
    counted = arch.summarize(count="keras").total
    assert (counted.params, counted.trainable_params) == (total, trainable)
    assert arch.summarize().total.params == trainable  # PyTorch's parameters(): Keras's trainable weights


# --- symbolic, views, invariants ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["vgg16_bn", "unet", "squeezenet1_1", "m5"])
@pytest.mark.parametrize("count", MINE)
def test_a_symbolic_recount_substituted_is_the_numeric_recount(name: str, count: str) -> None:
    arch = cnncalc.load(name)
    symbolic = arch.summarize(symbolic=True, count=count)
    values = {k: v for k, v in arch.defaults.items() if k in symbolic.symbols}
    numeric = arch.summarize(values, count=count)
    assert symbolic.subs(**values).total == numeric.total
    assert [r.macs for r in symbolic.subs(**values).rows] == [r.macs for r in numeric.rows]


@pytest.mark.parametrize("count", MINE)
def test_recounted_rows_add_up_and_views_keep_the_totals(count: str) -> None:
    summary = cnncalc.load("densenet121").summarize(count=count)
    assert sum(r.macs for r in summary.rows) == summary.total.macs
    assert sum(r.params for r in summary.rows) == summary.total.params
    assert summary.view(depth=1).total == summary.total


def test_thop_truncates_adaptive_pooling_in_float64_as_thop_does() -> None:
    """1x4 -> 1x3 does not divide: thop's (4/3 + 1) x 3 in float64 is 6.999..., truncated to 6,
    where exact arithmetic gives input + output elements, 7; the preset says 6 with thop."""
    data = {"name": "t", "input": [1, 1, 4], "layers": [{"adaptiveavgpool2d": {"output_size": [1, 3]}}]}
    arch = cnncalc.load(data)
    thop_ops = peers.thop_profile(build(arch, {}), (1, 1, 4))[0]
    assert arch.summarize(count="thop").total.macs == thop_ops != 4 + 3


# --- the registry, the CLI, the table and the docs ---------------------------------------------------


def test_the_registry_lists_every_preset_in_the_issues_order_and_the_help_names_them() -> None:
    names = list(PRESETS)
    assert names[0] == "cnncalc" and set(MINE) <= set(names)
    assert NAMES.split(", ") == names[1:]
    assert all(PRESETS[n].verified for n in MINE)
    assert all(p.rules and p.differs and len(p.differs) <= 100 for p in PRESETS.values())


def test_an_unknown_preset_is_one_clear_error_with_the_closest_names() -> None:
    with pytest.raises(CnncalcError, match=r"no counting convention 'fvcor' \(did you mean 'fvcore'\?\)"):
        preset("fvcor")
    with pytest.raises(CnncalcError, match="did you mean 'torchscan-macs' or 'torchscan-flops'"):
        cnncalc.load("resnet18").summarize(count="torchscan")
    for args in (["summarize", "resnet18", "--count", "fvcor"], ["list", "--count", "x"],
                 ["compare", "vgg11", "vgg13", "--count", "thopp"], ["conventions", "fvcorr"]):  # fmt: skip
        result = run(*args)
        assert result.exit_code == 2, args
        assert result.stderr.startswith("cnncalc: error: ") and result.stderr.count("\n") == 1, result.stderr
        assert "Traceback" not in result.output


def test_summarize_with_count_names_the_count_and_default_output_is_unchanged() -> None:
    plain = run("summarize", "resnet18").stdout
    assert "(fvcore)" not in plain and "Total MACs: " in plain  # the goldens (test_cli.py) pin the rest
    counted = run("summarize", "resnet18", "--count", "fvcore").stdout
    header = next(line for line in counted.splitlines() if line.startswith("Layer"))
    assert "FLOPs (fvcore)" in header and "MACs" not in header.replace("FLOPs (fvcore)", "")
    assert "Total FLOPs (fvcore): " in counted and "FLOPs (fvcore): FLOPs as fvcore" in counted
    keras = run("summarize", "resnet18", "--count", "keras", "--format", "json").stdout
    data = json.loads(keras)
    assert data["headers"] == {"params": "Params (Keras)"} and "Keras" in data["conventions"]["params"]
    assert "headers" not in json.loads(run("summarize", "resnet18", "--format", "json").stdout)
    markdown = run("summarize", "unet", "--count", "thop", "--format", "markdown").stdout
    assert "| MACs (thop) |" in markdown and "| Params (thop) |" in markdown


def test_list_and_compare_take_count() -> None:
    listed = run("list", "--count", "torchinfo").stdout.splitlines()
    assert listed[0].split()[-4:] == ["Mult-Adds", "(torchinfo)", "min", "size"]
    unet = next(line for line in listed if line.startswith("unet "))
    assert f" {cnncalc.load('unet').summarize(count='torchinfo').total.macs / 1e9:.2f} G " in unet
    compared = run("compare", "vgg16", "vgg16_bn", "--count", "fvcore").stdout
    a, b = (cnncalc.load(n).summarize(count="fvcore").total.macs for n in ("vgg16", "vgg16_bn"))
    assert re.search(rf"^FLOPs \(fvcore\)\s+{a:,}\s+{b:,}\s+{b - a:,}", compared, re.M), compared


def test_conventions_table_prints_the_issues_figures() -> None:
    result = run("conventions", "resnet50")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    first = {line.split()[0]: line for line in lines if line and not line.startswith((" ", "-"))}
    for name, figure in ISSUE_RESNET50.items():
        assert f" {figure} M " in first[name] + " ", (name, figure)
    order = [line.split()[0] for line in lines[4:] if line and not line.startswith(" ")]
    assert order[: len(PRESETS)] == list(PRESETS)


def test_conventions_table_fits_80_columns_and_has_markdown_and_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    text = run("conventions", "unet").stdout
    assert max(len(line) for line in text.splitlines()) <= 80
    data = json.loads(run("conventions", "unet", "--format", "json").stdout)
    arch = cnncalc.load("unet")
    assert [r["name"] for r in data["conventions"]] == list(PRESETS)
    assert {r["name"]: r["total"] for r in data["conventions"]} == {
        n: arch.summarize(count=n).total.macs for n in PRESETS
    }
    markdown = run("conventions", "unet", "--format", "markdown", "--size", "64").stdout
    assert markdown.count("\n| ") == len(PRESETS) + 1 and "(H=64, W=64)" in markdown
    assert arch.conventions(size=64)["thop"].total == arch.summarize(size=64, count="thop").total.macs


def test_conventions_name_prints_the_rules_and_all_of_them_are_the_docs() -> None:
    text = run("conventions", "thop").stdout
    assert text.startswith("thop: MACs as thop 0.1.1.post2209072238 counts them")
    assert all(rule.split()[0] in text for rule in PRESETS["thop"].rules)
    docs = (ROOT / "docs" / "conventions.md").read_text()
    generated = run("conventions", "--all", "--format", "markdown").stdout
    assert docs.endswith(generated), "docs/conventions.md is out of date: regenerate it (see its first lines)"
    assert generated == render_rules(tuple(PRESETS.values()), "markdown")


def test_the_readme_shows_the_real_conventions_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    readme = (ROOT / "README.md").read_text()
    shown = re.search(r"```text\n\$ cnncalc conventions resnet50\n(.*?)```", readme, re.S)
    assert shown is not None
    assert shown.group(1) == run("conventions", "resnet50").stdout
