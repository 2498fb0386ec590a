"""Blocks that hold real networks (issue 12, item 3): overrides by position (first, last, at),
list-valued and boolean-expression arguments, blocks with several inputs, imports, symbolic repeat.

Sources:
- [Slim] TF-Slim's ResNet v1 (tensorflow/models, research/slim/nets/resnet_v1.py): resnet_v1_block
  "stride: The stride of the block, implemented as a stride in the last unit. All other units have
  stride=1": units [(4d, d, 1)] * (n - 1) + [(4d, d, stride)]; its bottleneck's shortcut is the input
  subsampled (a 1x1 max pool with the stride) where the depth is unchanged, else a strided 1x1 conv
  with batch norm; the residual is 1x1, 3x3 (strided, padded), 1x1 convs with batch norm.
Every expected number is measured on a PyTorch module written here, or counted by hand next to it.
Added test time: about 2 s.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import cnncalc
from cnncalc import SchemaError

from .conftest import ARCHITECTURES, run


def macs_and_shapes(model: nn.Module, x: torch.Tensor) -> tuple[int, int, tuple[int, ...]]:
    """PyTorch's count: parameters, conv and linear MACs (weights x output positions, measured with
    forward hooks; bias excluded as cnncalc states) and the output shape (no batch axis)."""
    total = [0]

    def hook(module: nn.Module, args: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        positions = out[0, 0].numel() if isinstance(module, nn.Conv2d) else 1
        total[0] += module.weight.numel() * positions

    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m.register_forward_hook(hook)
    with torch.no_grad():
        out = model.eval()(x)
    return sum(p.numel() for p in model.parameters()), total[0], tuple(out.shape[1:])


# --- overrides by position: a TF-Slim ResNet v1 stage strides in its last unit --------------------------

SLIM = """
name: slim
input: [3, 32, 32]
blocks:
  unit:
    args: {depth: null, bottleneck: null, stride: 1, project: false, subsample: false}
    layers:
      - maxpool2d: {kernel_size: 1, stride: stride, from: input, name: subsampled, when: subsample}
      - conv2d: {out_channels: depth, kernel_size: 1, stride: stride, bias: false, name: shortcut, when: project}
      - batchnorm2d: {name: shortcut_bn, when: project}
      - conv2d: {out_channels: bottleneck, kernel_size: 1, bias: false, from: input, name: conv1}
      - batchnorm2d
      - relu
      - conv2d: {out_channels: bottleneck, kernel_size: 3, stride: stride, padding: 1, bias: false, name: conv2}
      - batchnorm2d
      - relu
      - conv2d: {out_channels: depth, kernel_size: 1, bias: false, name: conv3}
      - batchnorm2d
      - add: {from: [bn3, shortcut_bn]}
      - relu
layers:
  - conv2d: {out_channels: 16, kernel_size: 3, padding: 1, bias: false, name: stem}
  - unit: {depth: 32, bottleneck: 8, repeat: 3, name: block1, first: {project: true}, last: {stride: 2, subsample: true}}
  - unit: {depth: 64, bottleneck: 16, repeat: 2, name: block2, first: {project: true}, at: {-1: {stride: 2, subsample: true}}}
  - unit: {depth: 128, bottleneck: 32, name: block3, first: {project: true}, last: {stride: 2}}
"""


class SlimUnit(nn.Module):
    """[Slim]'s bottleneck v1 (batch norm after every conv, no conv bias)."""

    def __init__(self, depth_in: int, depth: int, bottleneck: int, stride: int) -> None:
        super().__init__()
        if depth == depth_in:
            self.shortcut: nn.Module = nn.MaxPool2d(1, stride) if stride > 1 else nn.Identity()
        else:
            self.shortcut = nn.Sequential(nn.Conv2d(depth_in, depth, 1, stride, bias=False), nn.BatchNorm2d(depth))
        self.residual = nn.Sequential(
            nn.Conv2d(depth_in, bottleneck, 1, bias=False), nn.BatchNorm2d(bottleneck), nn.ReLU(),
            nn.Conv2d(bottleneck, bottleneck, 3, stride, 1, bias=False), nn.BatchNorm2d(bottleneck), nn.ReLU(),
            nn.Conv2d(bottleneck, depth, 1, bias=False), nn.BatchNorm2d(depth),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.shortcut(x) + self.residual(x))


def slim_stage(depth_in: int, base: int, units: int, stride: int) -> list[SlimUnit]:
    """[Slim] resnet_v1_block's units: stride 1 for all but the last."""
    specs = [(4 * base, base, 1)] * (units - 1) + [(4 * base, base, stride)]
    stage = []
    for depth, bottleneck, s in specs:
        stage.append(SlimUnit(depth_in, depth, bottleneck, s))
        depth_in = depth
    return stage


def test_slim_stage_strides_in_its_last_unit() -> None:
    reference = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1, bias=False),
        *slim_stage(16, 8, 3, 2),
        *slim_stage(32, 16, 2, 2),
        *slim_stage(64, 32, 1, 2),
    )
    params, macs, shape = macs_and_shapes(reference, torch.zeros(1, 3, 32, 32))
    summary = cnncalc.load(SLIM).summarize()
    assert (summary.total.params, summary.total.macs, summary.rows[-1].output) == (params, macs, shape)
    assert shape == (128, 4, 4)  # 32 halved in the last unit of each of the three stages
    names = {r.name: r for r in summary.rows}
    # block1: 0 projects (first), 1 is plain, 2 subsamples (last); block2 likewise through at: {-1: ...};
    # block3's one unit is first and last: it projects, with the stride.
    assert {"block1.0.shortcut", "block1.2.subsampled", "block2.1.subsampled", "block3.shortcut"} <= set(names)
    assert not {"block1.1.shortcut", "block1.1.subsampled", "block1.0.subsampled"} & set(names)
    assert names["block1.1.conv2"].output == (8, 32, 32) and names["block1.2.conv2"].output == (8, 16, 16)
    assert names["block3.shortcut"].output == (128, 4, 4)


def test_at_and_last_on_layers_and_which_wins() -> None:
    text = """
name: n
input: [4, 16, 16]
layers:
  - conv2d: {out_channels: 4, kernel_size: 3, padding: 1, repeat: 4, first: {out_channels: 6}, last: {stride: 2}, at: {1: {out_channels: 5}, 3: {out_channels: 7}}}
"""
    rows = cnncalc.load(text).summarize().rows
    # copy 0: first (6); 1: at 1 (5); 2: plain (4); 3: last (stride 2), then at 3 (7 channels).
    assert [r.output for r in rows] == [(6, 16, 16), (5, 16, 16), (4, 16, 16), (7, 8, 8)]
    # By hand: 3*3*in*out weights + out biases each.
    assert sum(r.params for r in rows) == (36 * 6 + 6) + (54 * 5 + 5) + (45 * 4 + 4) + (36 * 7 + 7)
    one = cnncalc.load(
        text.replace("repeat: 4", "repeat: 1").replace(
            "at: {1: {out_channels: 5}, 3: {out_channels: 7}}", "at: {0: {out_channels: 3}}"
        )
    )
    # a single copy is first and last: first, then last, then at apply.
    assert [r.output for r in one.summarize().rows] == [(3, 8, 8)]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "relu: {repeat: 3, at: {3: {inplace: true}}}",
            r"<string>:4:31: layer relu1 \(relu\): at: copy 3 is out of range \(3 copies: 0 to 2, or -3 to -1\)",
        ),
        (
            "relu: {repeat: 2, at: {-3: {inplace: true}}}",
            r"<string>:4:32: layer relu1 \(relu\): at: copy -3 is out of range \(2 copies: 0 to 1, or -2 to -1\)",
        ),
        (
            "relu: {repeat: 3, at: {0: {inplace: true}, -3: {inplace: false}}}",
            r"<string>:4:52: layer relu1 \(relu\): at: 0 and -3 are the same copy of 3",
        ),
        ("relu: {repeat: 3, at: {x: {inplace: true}}}", r"<string>:4:28: .*at: 'x' is not a copy index"),
        ("relu: {repeat: 3, at: [1]}", r"<string>:4:27: .*at must map copy indices to fields"),
        ("relu: {repeat: 3, last: 2}", r"<string>:4:29: .*last must be a mapping of fields for the last repeat"),
        ("relu: {repeat: 3, last: {inplace: 2}}", r"<string>:4:39: .*inplace"),
        (
            "conv2d: {out_channels: 4, kernel_size: 1, repeat: 2, at: {1: {stride: 0}}}",
            r"<string>:4:75: layer conv1.1 \(conv2d\), input \[4, 8, 8\]: stride must be at least 1",
        ),
    ],
)
def test_override_errors_name_the_line(entry: str, message: str) -> None:
    with pytest.raises(cnncalc.CnncalcError, match=message):  # a SchemaError, or a ShapeError from the layer
        cnncalc.load(f"name: n\ninput: [4, 8, 8]\nlayers:\n  - {entry}\n").summarize()


def test_override_errors_in_block_calls() -> None:
    text = "name: n\ninput: [4, 8, 8]\nblocks:\n  b:\n    args: {k: 1}\n    layers: [relu]\nlayers:\n  - b: {repeat: 2, LAST}\n"
    with pytest.raises(SchemaError, match=r"<string>:8:27: layer b1 \(b\): j is not an argument of block b"):
        cnncalc.load(text.replace("LAST", "last: {j: 2}"))
    with pytest.raises(SchemaError, match=r"<string>:8:28: layer b1 \(b\): at: copy 5 is out of range"):
        cnncalc.load(text.replace("LAST", "at: {5: {k: 2}}"))


# --- list-valued and boolean-expression arguments ----------------------------------------------------------

FACTORISED = """
name: factorised
input: [24, H, W]
symbols: {H: 17, W: 17}
blocks:
  conv:
    args: {out: null, k: 1, pad: 0, stride: 1, act: true}
    layers:
      - conv2d: {out_channels: out, kernel_size: k, padding: pad, stride: stride, bias: false}
      - batchnorm2d
      - relu: {when: act}
  pair:
    args: {out: null, k: null, pad: null, stride: 1}
    layers:
      - conv: {out: out, k: k, pad: pad, name: a}
      - conv: {out: out, k: [3, 3], pad: 1, stride: stride, act: not (stride > 1 and out >= 32), name: b}
      - maxpool2d: {kernel_size: 3, stride: stride, padding: 1, from: input, when: stride > 1, name: pool}
      - conv2d: {out_channels: out, kernel_size: 1, from: pool, when: stride > 1 or out != 24, name: proj}
      - add: {from: [b, proj]}
layers:
  - pair: {out: 24, k: [1, 7], pad: [0, 3]}
  - pair: {out: 32, k: [7, 1], pad: [3, 0], stride: 2}
"""


class Pair(nn.Module):
    """The block written in PyTorch: conv a (k, pad), conv b (3x3, strided, ReLU unless it strides to
    32 or more channels), and a shortcut that is the input, or a pool and a 1x1 conv where it strides."""

    def __init__(self, cin: int, out: int, k: tuple[int, int], pad: tuple[int, int], stride: int) -> None:
        super().__init__()
        act = not (stride > 1 and out >= 32)
        self.a = nn.Sequential(nn.Conv2d(cin, out, k, padding=pad, bias=False), nn.BatchNorm2d(out), nn.ReLU())
        b = [nn.Conv2d(out, out, 3, stride, 1, bias=False), nn.BatchNorm2d(out), *([nn.ReLU()] if act else [])]
        self.b = nn.Sequential(*b)
        self.pool = nn.MaxPool2d(3, stride, 1) if stride > 1 else nn.Identity()
        self.proj = nn.Conv2d(cin, out, 1) if stride > 1 or out != 24 else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x)) + self.proj(self.pool(x))


def test_list_and_condition_arguments_match_pytorch() -> None:
    reference = nn.Sequential(Pair(24, 24, (1, 7), (0, 3), 1), Pair(24, 32, (7, 1), (3, 0), 2))
    arch = cnncalc.load(FACTORISED)
    summary = arch.summarize()
    total = summary.total
    assert (total.params, total.macs, summary.rows[-1].output) == macs_and_shapes(reference, torch.zeros(1, 24, 17, 17))
    names = {r.name: r for r in summary.rows}
    assert names["pair1.a.conv1"].output == (24, 17, 17) and names["pair2.a.conv1"].output == (32, 17, 17)
    assert "pair2.b.relu1" not in names and "pair1.b.relu1" in names
    assert "pair1.pool" not in names and "pair1.proj" not in names and names["pair2.proj"].output == (32, 9, 9)
    # symbolic sizes through the list arguments: equal to the numeric summary at the defaults
    assert arch.summarize(symbolic=True).subs(H=17, W=17) == summary


def test_when_combines_flags_and_comparisons() -> None:
    text = """
name: n
input: [4, 8, 8]
blocks:
  b:
    args: {a: false, c: false, k: 1}
    layers:
      - relu: {name: both, when: a and c}
      - relu: {name: neither, when: not (a and c)}
      - relu: {name: big, when: "k >= 2 and (a or k % 2 == 1)"}
layers:
  - b: {name: ff}
  - b: {name: tf, a: true}
  - b: {name: tt, a: true, c: true, k: 3}
  - b: {name: ft, c: true, k: 2}
"""
    names = set(cnncalc.load(text).layer_names)
    # By the truth tables: both only for tt; neither for the others; big for k >= 2 with a or k odd: tt (3).
    assert names == {"ff.neither", "tf.neither", "tt.both", "tt.big", "ft.neither"}


def test_list_arguments_handed_on_and_from_symbols() -> None:
    text = """
name: n
input: [4, H, W]
blocks:
  inner:
    args: {k: [3, 3]}
    layers:
      - conv2d: {out_channels: 4, kernel_size: k}
  outer:
    args: {k: null}
    layers:
      - inner: {k: k}
layers:
  - outer: {k: [1, n]}
  - inner
"""
    arch = cnncalc.load(text)
    assert arch.symbol_names == {"H", "W", "n"}
    rows = arch.summarize(H=20, W=20, n=5).rows
    # By hand: 1x5 kernel then the default 3x3, no padding: 20x16, then 18x14.
    assert [r.output for r in rows] == [(4, 20, 16), (4, 18, 14)]
    assert [r.params for r in rows] == [4 * 4 * 5 + 4, 4 * 4 * 9 + 4]
    symbolic = arch.summarize(symbolic=True)
    assert str(symbolic.rows[0].output[2]) == "W - n + 1"


@pytest.mark.parametrize(
    ("args", "layer", "message"),
    [
        (
            "{k: [1, 7]}",
            "conv2d: {out_channels: 4, kernel_size: 2*k}",
            r"kernel_size: k is a list argument \(2 values\): use it alone, as kernel_size: k",
        ),
        (
            "{k: [1, 7]}",
            "conv2d: {out_channels: k, kernel_size: 1}",
            r"out_channels does not take a list of 2 values \(the list argument k\)",
        ),
        (
            "{k: [1, 7, 1]}",
            "conv2d: {out_channels: 4, kernel_size: k}",
            r"kernel_size does not take a list of 3 values",
        ),
        (
            "{k: [1, true]}",
            "conv2d: {out_channels: 4, kernel_size: k}",
            r"k must be a whole number, an expression, true/false or a list of 1 to 3 numbers",
        ),
        ("{k: [1, 2, 3, 4]}", "relu", r"k must be .* got \[1, 2, 3, 4\]"),
        ("{k: [1, 7]}", "relu: {repeat: k}", r"repeat: k is a list argument \(2 values\), not a single value"),
        ("{k: [1, 7]}", "relu: {when: k > 1}", r"when: k is a list argument"),
        ("{s: 2}", "relu: {when: s}", r"when: 's' must be a true/false argument, got 2 \(compare it: s > 1\)"),
        ("{f: true}", "relu: {when: f > 1}", r"when: f is true/false, not a number, in 'f > 1'"),
        ("{s: 2}", "relu: {when: s >}", r"when: 's >' ends too early"),
        ("{s: 2}", "relu: {when: t > 1}", r"when: t is not an argument of block b"),
        ("{s: 2}", "relu: {when: s > 1 and}", r"when: 's > 1 and' ends too early"),
        ("{s: 2}", "relu: {when: 4}", r"when must be true, false or a condition on the block's arguments"),
    ],
)
def test_list_and_condition_errors_name_the_line(args: str, layer: str, message: str) -> None:
    text = f"name: n\ninput: [4, 8, 8]\nblocks:\n  b:\n    args: {args}\n    layers:\n      - {layer}\nlayers: [b]\n"
    with pytest.raises(SchemaError, match=r"<string>:[57]:\d+: .*" + message):
        cnncalc.load(text).summarize()


# --- blocks with several inputs: a NASNet-like cell reads the last two cells --------------------------

NASNET = """
name: cells
input: [3, 16, 16]
blocks:
  cell:
    inputs: [x, prev]
    args: {c: null, stride: 1, prev_stride: 1}
    layers:
      - conv2d: {out_channels: c, kernel_size: 1, stride: prev_stride, from: prev, name: adjust}
      - conv2d: {out_channels: c, kernel_size: 1, from: x, name: squeeze}
      - conv2d: {out_channels: c, kernel_size: 3, stride: stride, padding: 1, from: squeeze, name: b0}
      - avgpool2d: {kernel_size: 3, stride: stride, padding: 1, from: adjust, name: b1}
      - add: {from: [b0, b1], name: comb0}
      - conv2d: {out_channels: c, kernel_size: 5, stride: stride, padding: 2, from: adjust, name: b2}
      - maxpool2d: {kernel_size: 3, stride: stride, padding: 1, from: squeeze, name: b3}
      - add: {from: [b2, b3], name: comb1}
      - concat: {from: [comb0, comb1]}
layers:
  - conv2d: {out_channels: 16, kernel_size: 3, padding: 1, name: stem}
  - cell: {c: 8, from: [stem, stem], name: normal, repeat: 3}
  - cell: {c: 16, stride: 2, from: [normal, normal.1], name: reduce}
  - cell: {c: 16, prev_stride: 2, from: [reduce, normal], name: after}
"""


class Cell(nn.Module):
    """The cell in PyTorch: two 1x1 convs adjust the inputs, two pairs of branches are added, and
    the sums are concatenated (2c channels)."""

    def __init__(self, cx: int, cprev: int, c: int, stride: int = 1, prev_stride: int = 1) -> None:
        super().__init__()
        self.adjust = nn.Conv2d(cprev, c, 1, prev_stride)
        self.squeeze = nn.Conv2d(cx, c, 1)
        self.b0 = nn.Conv2d(c, c, 3, stride, 1)
        self.b1 = nn.AvgPool2d(3, stride, 1)
        self.b2 = nn.Conv2d(c, c, 5, stride, 2)
        self.b3 = nn.MaxPool2d(3, stride, 1)

    def forward(self, x: torch.Tensor, prev: torch.Tensor) -> torch.Tensor:
        a, s = self.adjust(prev), self.squeeze(x)
        return torch.cat([self.b0(s) + self.b1(a), self.b2(a) + self.b3(s)], 1)


class Cells(nn.Module):
    """The network: each cell reads the last cell and the one before it."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, padding=1)
        self.normal = nn.ModuleList([Cell(16, 16, 8), Cell(16, 16, 8), Cell(16, 16, 8)])
        self.reduce = Cell(16, 16, 16, stride=2)
        self.after = Cell(32, 16, 16, prev_stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = [self.stem(x)] * 2  # (x, prev): the stem twice, as the file's from: [stem, stem]
        for cell in self.normal:
            h = [cell(h[0], h[1]), h[0]]
        reduced = self.reduce(h[0], h[1])  # normal.2 and normal.1
        return self.after(reduced, h[0])  # reduce and normal (its last copy)


def test_cells_with_two_inputs_match_pytorch() -> None:
    summary = cnncalc.load(NASNET).summarize()
    params, macs, shape = macs_and_shapes(Cells(), torch.zeros(1, 3, 16, 16))
    assert (summary.total.params, summary.total.macs, summary.rows[-1].output) == (params, macs, shape)
    assert shape == (32, 8, 8)
    rows = {r.name: r for r in summary.rows}
    # copy r reads copy r-1 and copy r-2 (the stem for the first two): the inputs shift along
    assert rows["normal.0.adjust"].sources == ("stem",) and rows["normal.0.squeeze"].sources == ("stem",)
    assert rows["normal.1.adjust"].sources == ("stem",) and rows["normal.1.squeeze"].sources == ("normal.0.cat1",)
    assert rows["normal.2.adjust"].sources == ("normal.0.cat1",)
    assert rows["normal.2.squeeze"].sources == ("normal.1.cat1",)
    assert rows["reduce.adjust"].sources == ("normal.1.cat1",) and rows["reduce.squeeze"].sources == ("normal.2.cat1",)
    assert rows["after.adjust"].sources == ("normal.2.cat1",) and rows["after.squeeze"].sources == ("reduce.cat1",)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("from: [stem, stem], name: normal", "name: normal"),
            r"<string>:20:11: layer normal \(cell\): block cell takes 2 inputs \(x, prev\): give them in that order as from: \[a, b\] \(given: none\)",
        ),
        (
            ("from: [stem, stem], name: normal", "from: [stem], name: normal"),
            r"<string>:20:24: .*block cell takes 2 inputs \(x, prev\): .*\(given: 1\)",
        ),
        (
            ("from: prev, name: adjust", "from: input, name: adjust"),
            r"<string>:9:78: layer normal.0.adjust \(conv2d\): from: 'input' is not an input of this block; its inputs: x, prev",
        ),
        (("inputs: [x, prev]", "inputs: [x, x]"), r"<string>:6:17: block cell: the input 'x' is named twice"),
        (("inputs: [x, prev]", "inputs: x"), r"<string>:6:13: block cell: inputs must be a list of names"),
        (("name: comb1", "name: prev"), r"<string>:16:37: 'prev' names an input of the block; choose another name"),
        (
            ("from: [reduce, normal]", "from: [reduce, normal.3]"),
            r"<string>:22:41: layer after \(cell\): .*from: no layer named 'normal.3' before this one \(did you mean 'normal.2'\?\)",
        ),
    ],
)
def test_several_inputs_errors(change: tuple[str, str], message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        cnncalc.load(NASNET.replace(*change)).summarize()


# --- imports: blocks shared between files ------------------------------------------------------------------

FAMILY = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "wide_resnet50_2", "resnext50_32x4d"]


def test_the_zoo_resnets_import_their_blocks_written_once() -> None:
    import yaml

    for name in FAMILY:
        data = yaml.safe_load((ARCHITECTURES / f"{name}.yaml").read_text())
        assert data["imports"] == ["blocks/resnet.yaml"] and "blocks" not in data, name
    # Their summaries are checked unchanged by the goldens and the known-answer tests (test_zoo_resnet);
    # a file of blocks is no network: `cnncalc list` leaves it out, and summarizing it says what it is.
    listed = run("list").stdout
    assert "resnet18" in listed and "blocks" not in listed
    out = run("summarize", str(ARCHITECTURES / "blocks" / "resnet.yaml"))
    assert out.exit_code == 2 and "a file of blocks only, not a network" in out.stderr


LIB_A = """
imports: [deeper/b.yaml]
blocks:
  unit:
    args: {c: null}
    layers:
      - conv_bn: {c: c}
      - relu
"""
LIB_B = """
blocks:
  conv_bn:
    args: {c: null}
    layers:
      - conv2d: {out_channels: c, kernel_size: 3, padding: 1, bias: false}
      - batchnorm2d
"""
NET = """name: net
input: [3, 8, 8]
imports: [lib/a.yaml, lib/deeper/b.yaml]
layers:
  - unit: {c: 8, repeat: 2}
  - conv_bn: {c: 4}
"""


def library(tmp_path: Path, a: str = LIB_A, b: str = LIB_B, net: str = NET) -> Path:
    (tmp_path / "lib" / "deeper").mkdir(parents=True)
    (tmp_path / "lib" / "a.yaml").write_text(a)
    (tmp_path / "lib" / "deeper" / "b.yaml").write_text(b)
    (tmp_path / "net.yaml").write_text(net)
    return tmp_path / "net.yaml"


def test_imports_relative_to_each_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = library(tmp_path)
    summary = cnncalc.load(path).summarize()
    # By hand: 3x3 convs 3->8, 8->8, 8->4 without bias, each with a BatchNorm (2 per channel).
    assert summary.total.params == (27 * 8 + 16) + (72 * 8 + 16) + (72 * 4 + 8)
    assert [r.name for r in summary.rows][:3] == ["unit1.0.conv_bn1.conv1", "unit1.0.conv_bn1.bn1", "unit1.0.relu1"]
    # b.yaml reached twice (through a.yaml and directly) is one file: no clash. Text or a dict
    # imports relative to the working directory.
    monkeypatch.chdir(tmp_path)
    assert cnncalc.load(NET).summarize() == summary


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"b": "imports: [../a.yaml]\n" + LIB_B},
            r"b\.yaml:1:11: imports: \.\./a\.yaml is imported again by itself \(a\.yaml -> b\.yaml -> a\.yaml\)",
        ),
        (
            {"a": LIB_A.replace("deeper/b.yaml", "deeper/c.yaml")},
            r"a\.yaml:2:11: imports: deeper/c\.yaml: no such file",
        ),
        ({"a": LIB_A.replace("deeper/b.yaml", "deeper")}, r"a\.yaml:2:11: imports: 'deeper' is not a YAML file"),
        (
            {"net": NET.replace("conv_bn: {c: 4}", "conv_bn: {c: 4}\nblocks:\n  unit:\n    layers: [relu]")},
            r"net\.yaml:8:3: block unit is imported already \(from a\.yaml\)",
        ),
        ({"b": LIB_B + "  unit:\n    layers: [relu]\n"}, r"a\.yaml:4:3: block unit is imported already \(b\.yaml:8\)"),
        ({"b": "name: b\n" + LIB_B}, r"b\.yaml:1:1: 'name' is not a field of an imported file \(blocks, imports\)"),
        (
            {"b": LIB_B.replace("kernel_size: 3", "kernel_size: 3x")},
            r"b\.yaml:6:48: layer conv1 \(conv2d\): kernel_size",
        ),
        (
            {"b": LIB_B.replace("kernel_size: 3", "kernel_size: 11")},
            r"b\.yaml:6:9: layer unit1\.0\.conv_bn1\.conv1 \(conv2d\), input \[3, 8, 8\]: kernel 11x11",
        ),
        (
            {"net": NET.replace("imports: [lib/a.yaml, lib/deeper/b.yaml]", "imports: lib/a.yaml")},
            r"net\.yaml:3:10: imports must be a list of YAML files",
        ),
    ],
)
def test_import_errors_name_the_file_and_line(tmp_path: Path, files: dict[str, str], message: str) -> None:
    path = library(tmp_path, a=files.get("a", LIB_A), b=files.get("b", LIB_B), net=files.get("net", NET))
    with pytest.raises(cnncalc.CnncalcError, match=message):
        cnncalc.load(path).summarize()


def test_two_imports_defining_one_name(tmp_path: Path) -> None:
    (tmp_path / "x.yaml").write_text(LIB_B)
    (tmp_path / "y.yaml").write_text(LIB_B)
    (tmp_path / "net.yaml").write_text(
        "name: n\ninput: [3, 8, 8]\nimports: [x.yaml, y.yaml]\nlayers: [{conv_bn: {c: 2}}]\n"
    )
    with pytest.raises(
        SchemaError,
        match=r"net\.yaml:3:19: imports: y\.yaml defines block 'conv_bn' \(y\.yaml:3\), and so does another import \(x\.yaml:3\)",
    ):
        cnncalc.load(tmp_path / "net.yaml")
