"""Graphs and blocks: from-references, merges, blocks with arguments, repeat/first/when,
hierarchical names, receptive fields over branches, and the errors each can raise.

Expected numbers are hand computations written next to each case (independent of cnncalc)."""

from __future__ import annotations

import pytest
import sympy

import cnncalc
from cnncalc import SchemaError, ShapeError

H = sympy.Symbol("H", integer=True, positive=True)

RESIDUAL = """
name: residual
input: [8, H, H]
symbols: {H: 32}
blocks:
  unit:
    args: {width: null, stride: 1, project: false}
    layers:
      - conv2d: {out_channels: width, kernel_size: 3, stride: stride, padding: 1, bias: false}
      - batchnorm2d
      - relu
      - conv2d: {out_channels: width, kernel_size: 1, stride: stride, bias: false, from: input, name: proj, when: project}
      - add: {from: [relu1, proj]}
layers:
  - unit: {width: 8, repeat: 2, name: stage1}
  - unit: {width: 16, repeat: 2, name: stage2, first: {stride: 2, project: true}}
"""


def test_blocks_repeat_first_and_when_expand_to_named_layers() -> None:
    arch = cnncalc.load(RESIDUAL)
    assert arch.layer_names == (
        "stage1.0.conv1", "stage1.0.bn1", "stage1.0.relu1", "stage1.0.add1",
        "stage1.1.conv1", "stage1.1.bn1", "stage1.1.relu1", "stage1.1.add1",
        "stage2.0.conv1", "stage2.0.bn1", "stage2.0.relu1", "stage2.0.proj", "stage2.0.add1",
        "stage2.1.conv1", "stage2.1.bn1", "stage2.1.relu1", "stage2.1.add1",
    )  # fmt: skip
    s = arch.summarize()
    rows = {r.name: r for r in s.rows}
    # the left-out projection is the identity: add reads the block input
    assert rows["stage1.0.add1"].sources == ("stage1.0.relu1", "input")
    assert rows["stage1.1.add1"].sources == ("stage1.1.relu1", "stage1.0.add1")
    assert rows["stage2.0.add1"].sources == ("stage2.0.relu1", "stage2.0.proj")
    assert rows["stage2.0.proj"].sources == ("stage1.1.add1",)
    # hand count: 2 x (3*3*8*8 + 2*8) + (3*3*8*16 + 2*16 + 1*1*8*16) + (3*3*16*16 + 2*16)
    assert s.total.params == 2 * (576 + 16) + (1152 + 32 + 128) + (2304 + 32)
    assert rows["stage2.1.add1"].output == (16, 16, 16)


def test_symbolic_branches_agree_in_closed_form() -> None:
    # main path: 3x3 s2 p1 -> floor((H - 1)/2) + 1; projection 1x1 s2 -> floor((H - 1)/2) + 1: equal for all H
    s = cnncalc.load(RESIDUAL).summarize(symbolic=True)
    assert s.rows[-1].output == (16, sympy.floor((H + 1) / 2), sympy.floor((H + 1) / 2))


def test_concat_sums_channels_and_checks_sizes() -> None:
    text = """
input: [3, 17, 17]
layers:
  - conv2d: {out_channels: 4, kernel_size: 1, name: a}
  - conv2d: {out_channels: 6, kernel_size: 3, padding: 1, from: input, name: b}
  - maxpool2d: {kernel_size: 3, stride: 1, padding: 1, from: input, name: c}
  - concat: {from: [a, b, c]}
"""
    s = cnncalc.load(text).summarize()
    assert s.rows[-1].output == (4 + 6 + 3, 17, 17)
    # Inception-style branches are centred: aligned, and the field is the largest (3)
    assert s.rows[-1].rf is not None and s.rows[-1].rf.aligned and s.rows[-1].rf.size == (3, 3)
    bad = text.replace("padding: 1, from: input, name: b", "from: input, name: b")
    with pytest.raises(
        ShapeError,
        match=r"layer cat1 \(concat\), input \[4, 17, 17\] and \[6, 15, 15\] and \[3, 17, 17\]: "
        r"concat: \[4, 17, 17\] and \[6, 15, 15\] differ outside the channel axis",
    ):
        cnncalc.load(bad).summarize()


def test_add_states_both_shapes_and_the_symbolic_condition() -> None:
    text = """
input: [4, H, H]
layers:
  - conv2d: {out_channels: 4, kernel_size: 3, stride: 2, name: a}
  - conv2d: {out_channels: 4, kernel_size: 1, stride: 2, from: input, name: b}
  - add: {from: [a, b]}
"""
    with pytest.raises(
        ShapeError,
        # floor((H + 1)/2) prints as the ceiling it is (issue 9: one canonical printed form)
        match=r"add: the shapes \[4, floor\(\(H - 1\)/2\), floor\(\(H - 1\)/2\)\] and "
        r"\[4, ceil\(H/2\), ceil\(H/2\)\] differ in axis 1 "
        r"\(they agree only where floor\(\(H - 1\)/2\) = ceil\(H/2\)\)",
    ):
        cnncalc.load(text).summarize(symbolic=True)


def test_mul_broadcasts_a_channel_gate() -> None:
    text = """
input: [16, 9, 9]
layers:
  - adaptiveavgpool2d: {output_size: 1}
  - conv2d: {out_channels: 4, kernel_size: 1}
  - relu
  - conv2d: {out_channels: 16, kernel_size: 1}
  - sigmoid
  - mul: {from: [input, sigmoid1]}
"""
    s = cnncalc.load(text).summarize()
    assert s.rows[-1].output == (16, 9, 9)
    assert s.total.params == (16 * 4 + 4) + (4 * 16 + 16)  # squeeze and excite, with biases


def test_unaligned_paths_are_reported() -> None:
    # a 2x2 pool shifts the centre by half a pixel; the 1x1 path does not: not aligned (Araujo et al.)
    text = """
input: [3, 16, 16]
layers:
  - maxpool2d: {kernel_size: 2, stride: 2, name: a}
  - conv2d: {out_channels: 3, kernel_size: 1, stride: 2, from: input, name: b}
  - add: {from: [a, b]}
"""
    row = cnncalc.load(text).summarize().rows[-1]
    assert row.rf is not None and not row.rf.aligned and row.rf.size == (2, 2)
    assert "unaligned" in cnncalc.load(text).summarize().render("text")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "layers:\n  - relu\n  - add: {from: [relu1, nothing]}\n",
            r"<string>:4:17: layer add1 \(add\): from: no layer named 'nothing' before this one",
        ),
        (
            "layers:\n  - relu: {from: later}\n  - relu: {name: later}\n",
            r"<string>:3:18: layer relu1 \(relu\): from: 'later' comes later; a layer reads only layers before it \(no cycles\)",
        ),
        ("blocks:\n  b:\n    layers: [b]\nlayers:\n  - b\n", r"layer b1\.b1 \(b\): block b calls itself \(b -> b\)"),
        (
            "blocks:\n  b:\n    args: {w: null}\n    layers: [relu]\nlayers:\n  - b\n",
            r"layer b1 \(b\): block b needs the argument 'w'",
        ),
        (
            "blocks:\n  b:\n    args: {width: 1}\n    layers: [relu]\nlayers:\n  - b: {widht: 2}\n",
            r"<string>:7:9: layer b1 \(b\): widht is not an argument of block b \(did you mean 'width'\?\)",
        ),
        ("layers:\n  - add: {from: input}\n", r"add merges two or more inputs"),
        ("layers:\n  - relu: {from: [input, input]}\n", r"relu takes one input; merge several with add, mul or concat"),
        ("layers:\n  - relu: {repeat: -1}\n", r"repeat must be from 0 to 20,000, got -1"),
        (
            "layers:\n  - relu: {repeat: n}\n",
            r"repeat: n is not a symbol of the file: declare it with a default \(n: 3\)",
        ),
        ("blocks:\n  relu:\n    layers: [relu]\nlayers: [relu]\n", r"the block name 'relu' is a layer kind already"),
        (
            "layers:\n  - relu: {repeat: 15000}\n  - relu: {repeat: 15000}\n",
            r"the network expands to more than 20,000 layers",
        ),
    ],
)
def test_structure_errors_name_file_line_and_layer(text: str, message: str) -> None:
    with pytest.raises(SchemaError, match=message):
        cnncalc.load("input: [3, 8, 8]\n" + text)


def test_left_out_merges_and_zero_repeats_pass_their_first_input_on() -> None:
    text = """
input: [3, 8, 8]
blocks:
  unit:
    args: {residual: true, depth: 1}
    layers:
      - conv2d: {out_channels: 3, kernel_size: 3, padding: 1, repeat: depth}
      - add: {from: [conv1, input], when: residual}
layers:
  - unit: {name: a}
  - unit: {residual: false, depth: 2, name: b}
  - unit: {depth: 0, name: c}
"""
    arch = cnncalc.load(text)
    assert arch.layer_names == ("a.conv1", "a.add1", "b.conv1.0", "b.conv1.1", "c.add1")
    rows = {r.name: r for r in arch.summarize().rows}
    assert rows["c.add1"].sources == ("b.conv1.1", "b.conv1.1")  # no conv: the add sees the input twice


def test_in_channels_in_expressions_and_symbolic_widths() -> None:
    text = """
input: [3, 8, 8]
symbols: {k: 4}
layers:
  - conv2d: {out_channels: 8*k, kernel_size: 1}
  - conv2d: {out_channels: in_channels // 2, kernel_size: 1}
"""
    s = cnncalc.load(text).summarize()
    assert s.rows[1].output == (16, 8, 8)  # 8*4 = 32 channels halved
    k = sympy.Symbol("k", integer=True, positive=True)
    sym = cnncalc.load(text).summarize(symbolic=True)
    # hand count: (3*8k + 8k) + (8k * floor(8k/2) + floor(8k/2)) = 32k + 32k**2 + 4k
    assert sympy.expand(sym.total.params - (32 * k + 32 * k**2 + 4 * k)) == 0


def test_nested_blocks_pass_arguments_lexically() -> None:
    text = """
input: [3, 8, 8]
blocks:
  inner:
    args: {c: null}
    layers: [{conv2d: {out_channels: c, kernel_size: 1}}]
  outer:
    args: {w: null}
    layers: [{inner: {c: 2*w}}, {inner: {c: w}}]
layers:
  - outer: {w: 5, name: o}
"""
    arch = cnncalc.load(text)
    assert arch.layer_names == ("o.inner1.conv1", "o.inner2.conv1")
    assert arch.summarize().rows[-1].output == (5, 8, 8)
    leaking = text.replace("out_channels: c,", "out_channels: w,")
    with pytest.raises(cnncalc.CnncalcError, match=r"layer o\.inner1\.conv1 \(conv2d\).*: w has no value"):
        cnncalc.load(leaking).summarize()
