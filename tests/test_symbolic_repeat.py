"""``repeat`` read from a symbol of the file (issue 12, item 3: EfficientNet-style depth scaling).

A count such as ``repeat: d`` lays the network out at d's value (given, else its default); in a
symbolic summary that keeps d, the repeat is laid out as one copy and counted d times, which is
exact when the copies are alike (each keeps its input's shape and the receptive field's jump: the
evaluation checks it, and asks for a value otherwise).

References, all independent of the closed form: the network laid out copy by copy at each value
(the ordinary expansion, another code path), and PyTorch: the module built at that value, its
``parameters()`` counted and its output shape from a real forward. Counts of the form
``ceil(n * depth)`` are EfficientNet's (Tan and Le 2019, section 3.3; torchvision's
``_MBConvConfig.adjust_depth``: ``int(math.ceil(num_layers * depth_mult))``).
Added test time: about 5 s.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import cnncalc
from cnncalc import CnncalcError

from .conftest import run

RESIDUAL = """name: residual
input: [3, H, W]
symbols: {H: 32, W: 24, d: 3}
blocks:
  unit:
    args: {c: 16}
    layers:
      - conv2d: {out_channels: c, kernel_size: 3, padding: 1, bias: false}
      - batchnorm2d
      - relu
      - conv2d: {out_channels: c, kernel_size: 3, padding: 1}
      - add: {from: [input, conv2]}
layers:
  - conv2d: {out_channels: 16, kernel_size: 3, padding: 1}
  - unit: {repeat: d, name: stage1}
  - maxpool2d: {kernel_size: 2}
  - unit: {repeat: 2*d - 1, name: stage2}
  - conv2d: {out_channels: 8, kernel_size: 3, dilation: 2}
  - adaptiveavgpool2d: {output_size: 1}
  - flatten
  - linear: {out_features: 10}
"""

# EfficientNet-style: stages of ceil(n * d / 2) blocks (depth 1.5x at d = 3); a nested repeat (a
# block of d convs, itself repeated d times: d**2 convs); a block argument carrying the count.
SCALED = """name: scaled
input: [3, H, H]
symbols: {H: 40, d: 2}
blocks:
  mb:
    args: {c: 8, n: 1}
    layers:
      - conv2d: {out_channels: 4 * c, kernel_size: 1}
      - relu6
      - conv2d: {out_channels: 4 * c, kernel_size: 3, padding: 1, groups: 4 * c}
      - relu6
      - conv2d: {out_channels: c, kernel_size: 1}
      - add: {from: [input, conv3]}
  inner:
    args: {k: 1}
    layers:
      - conv2d: {out_channels: 8, kernel_size: 3, padding: 1, repeat: k, name: c}
layers:
  - conv2d: {out_channels: 8, kernel_size: 3, stride: 2, padding: 1}
  - mb: {repeat: ceil(3 * d / 2), name: stage1}
  - inner: {k: d, repeat: d, name: nest}
  - conv2d: {out_channels: 16, kernel_size: 3, stride: 2}
  - mb: {c: 16, repeat: ceil(4 * d / 2) + 1, name: stage2}
  - adaptiveavgpool2d: {output_size: 1}
  - flatten
  - linear: {out_features: 5}
"""

FILES = {"residual": RESIDUAL, "scaled": SCALED}
TOTALS = ("params", "trainable_params", "macs", "activations", "neurons")


@pytest.mark.parametrize("name", sorted(FILES))
def test_closed_form_equals_the_network_laid_out_copy_by_copy(name: str) -> None:
    arch = cnncalc.load(FILES[name])
    symbolic = arch.summarize(symbolic=True)
    assert "d" in symbolic.symbols
    for d in (1, 2, 3, 5):
        for h in (32, 41, 64):
            values = {"d": d, "H": h, **({"W": h - 5} if "W" in arch.symbol_names else {})}
            laid = arch.summarize(**values)
            at = symbolic.subs(**values)
            assert len(laid.rows) > len(symbolic.rows) or d == 1
            for field in TOTALS:
                assert getattr(at.total, field) == getattr(laid.total, field), (d, h, field)
            # the output, and the receptive field of the last spatial layer, after every repeat
            assert tuple(at.rows[-1].output) == tuple(laid.rows[-1].output)
            mine = next(r.rf for r in reversed(at.rows) if r.rf is not None)
            theirs = next(r.rf for r in reversed(laid.rows) if r.rf is not None)
            assert (mine.size, mine.jump, mine.start) == (theirs.size, theirs.jump, theirs.start), (d, h)


@pytest.mark.parametrize("name", sorted(FILES))
def test_closed_form_equals_pytorch(name: str) -> None:
    arch = cnncalc.load(FILES[name])
    symbolic = arch.summarize(symbolic=True)
    for d in (1, 2, 4):
        h = 37
        values = {"d": d, "H": h, **({"W": 29} if "W" in arch.symbol_names else {})}
        at = symbolic.subs(**values)
        module = arch.to_torch(**values).eval()
        assert at.total.params == sum(p.numel() for p in module.parameters())
        with torch.no_grad():
            out = module(torch.zeros(1, 3, h, values.get("W", h)))
        assert tuple(out.shape[1:]) == tuple(at.rows[-1].output)


def test_verify_builds_the_copies_of_the_value_it_checks() -> None:
    arch = cnncalc.load(RESIDUAL)
    result = arch.verify(d=2)
    assert result.agrees
    assert sum(1 for n in arch.at(d=2).layer_names if n.startswith("stage2.")) == 3 * 5  # 2*d - 1 units of 5


def test_verify_memory_says_where_pytorch_refuses_a_training_forward() -> None:
    """At 2x2 the last unit's BatchNorm sees one value per channel: PyTorch refuses to train on it."""
    text = RESIDUAL.replace("  - conv2d: {out_channels: 8, kernel_size: 3, dilation: 2}\n", "")
    runs = cnncalc.load(text).verify([2, 32], d=1, memory=True).runs
    refused = [r.memory for r in runs if r.memory is not None and r.memory.refused]
    assert refused and all("Expected more than 1 value per channel when training" in m.refused for m in refused)
    assert all(r.memory.agrees for r in runs if r.memory is not None)


@pytest.mark.parametrize("preset", ["fvcore", "torchinfo", "keras", "thop"])
def test_counting_conventions_count_every_copy(preset: str) -> None:
    arch = cnncalc.load(RESIDUAL)
    symbolic = arch.summarize(symbolic=True, count=preset)
    for d in (1, 4):
        values = {"d": d, "H": 30, "W": 30}
        laid = arch.summarize(count=preset, **values)
        at = symbolic.subs(**values)
        assert (at.total.macs, at.total.params) == (laid.total.macs, laid.total.params)


def test_a_collapsed_block_row_counts_its_copies() -> None:
    arch = cnncalc.load(RESIDUAL)
    values = {"d": 3, "H": 32, "W": 24}
    symbolic = {r.name: r for r in arch.summarize(symbolic=True).view(depth=1).subs(**values).rows}
    laid = {r.name: r for r in arch.summarize(**values).view(depth=1).rows}
    for name in ("stage1", "stage2"):
        assert (symbolic[name].params, symbolic[name].macs) == (laid[name].params, laid[name].macs)
    text = arch.summarize(symbolic=True).render("text", depth=1)
    assert "Repeated stage1 (unit x d) and stage2 (unit x 2*d - 1): each block's row sums every copy." in text


def test_json_rows_say_how_many_times_they_count(tmp_path: Path) -> None:
    path = tmp_path / "residual.yaml"
    path.write_text(RESIDUAL)
    result = run("summarize", str(path), "--symbolic", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    times = {layer["name"]: layer.get("times", "1") for layer in data["layers"]}
    assert times["stage1.0.conv1"] == "d" and times["stage2.0.add1"] == "2*d - 1" and times["conv1"] == "1"
    assert "repeat" in data["conventions"]


def test_sweep_and_solve_over_the_count() -> None:
    arch = cnncalc.load(RESIDUAL)
    sweep = arch.sweep(d=[1, 2, 5])
    assert list(sweep.data["params"]) == [arch.summarize(d=d).total.params for d in (1, 2, 5)]
    limit = arch.summarize(d=4).total.params
    assert arch.solve(where=f"params <= {limit}", maximize="d").value == 4


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        # a copy that changes the shape: no closed form
        (
            "  - conv2d: {out_channels: 8, kernel_size: 3, stride: 2, repeat: d, name: down}\n",
            r"layer down \(conv2d x d\): repeat: d copies are not alike \(a copy takes \[3, 32, 32\] to "
            r"\[8, 15, 15\]\), so the totals have no closed form in d: give d a value \(--set d=3\)",
        ),
        # overrides make the copies differ
        (
            "  - conv2d: {out_channels: 3, kernel_size: 1, repeat: d, first: {bias: false}}\n",
            r"repeat: d stays symbolic, and first/last/at make the copies differ",
        ),
    ],
)
def test_copies_that_differ_ask_for_a_value(layers: str, message: str) -> None:
    arch = cnncalc.load(f"name: n\ninput: [3, 32, 32]\nsymbols: {{d: 2}}\nlayers:\n{layers}")
    assert arch.summarize().total.params > 0  # at d's value the copies are laid out one by one
    with pytest.raises(CnncalcError, match=message):
        arch.summarize(symbolic=True)


def test_a_count_must_read_a_declared_symbol() -> None:
    with pytest.raises(CnncalcError, match=r"repeat: n is not a symbol of the file: declare it with a default"):
        cnncalc.load("name: n\ninput: [3, 8, 8]\nlayers:\n  - relu: {repeat: n}\n")
