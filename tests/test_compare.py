"""Comparisons: published totals side by side (torchvision: VGG16 138,357,544 and VGG16-BN
138,365,992 parameters; ResNet-50 25,557,032 and ResNeXt-50 32x4d 25,028,904), differences in closed
form, layers matched by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import cnncalc
from cnncalc.errors import CnncalcError

from .conftest import run


def test_vgg16_bn_against_vgg16() -> None:
    comparison = cnncalc.compare("vgg16", "vgg16_bn")
    assert comparison.totals["params"] == (138_357_544, 138_365_992)
    assert comparison.difference("params") == 8_448  # 13 BatchNorms: 2 x (2*64 + 2*128 + 3*256 + 6*512)
    assert comparison.difference("macs") == 0
    added = [c.name for c in comparison.changes[0] if c.status == "added"]
    assert len(added) == 13 and all(c.status == "added" for c in comparison.changes[0])
    symbolic = cnncalc.compare("vgg16", "vgg16_bn", symbolic=True)
    assert symbolic.difference("params") == 8_448 and symbolic.difference("macs") == 0
    assert str(symbolic.difference("activations")).count("H") >= 1  # grows with the input: BN outputs


def test_resnext_against_resnet_by_block() -> None:
    comparison = cnncalc.compare("resnet50", "resnext50_32x4d", depth=1)
    assert comparison.totals["params"] == (25_557_032, 25_028_904)
    assert comparison.difference("params") == 25_028_904 - 25_557_032
    changed = {c.name for c in comparison.changes[0] if c.status == "changed"}
    assert changed == {"layer1", "layer2", "layer3", "layer4"}  # stem and head are the same


def test_compare_cli_in_every_format() -> None:
    text = run("compare", "vgg16", "vgg16_bn").stdout
    assert "8,448" in text and "13 added, 0 removed, 0 changed" in text
    data = json.loads(run("compare", "vgg16", "vgg16_bn", "--format", "json").stdout)
    assert data["differences"]["params"] == [8448]
    assert "| params |" in run("compare", "vgg16", "vgg16_bn", "--format", "markdown").stdout
    one = run("compare", "vgg16")
    assert one.exit_code == 2 and "two or more networks" in one.stderr
    with pytest.raises(CnncalcError, match="two or more"):
        cnncalc.compare("vgg16")


def test_a_symbol_no_network_has_is_an_error() -> None:
    result = run("compare", "vgg16", "vgg16_bn", "--set", "HH=3")
    assert result.exit_code == 2 and result.stderr == "cnncalc: error: no network compared has a symbol 'HH'\n"


def test_a_symbol_named_like_an_option_is_a_symbol(tmp_path: Path) -> None:
    # summarize's own keywords (size, symbolic) cannot hide a symbol given as a mapping or with --set:
    # a 3x3 conv on 5x5 gives 3x3 ((5 - 3) + 1).
    text = "input: [3, size, size]\nsymbols: {size: 8}\nlayers:\n  - conv2d: {out_channels: 2, kernel_size: 3}\n"
    path = tmp_path / "net.yaml"
    path.write_text(text)
    assert cnncalc.load(path).summarize({"size": 5}).rows[0].output == (2, 3, 3)
    assert "2x3x3" in run("summarize", str(path), "--set", "size=5", "--columns", "name,output").stdout
