"""Messages for people coming from other tools (issue 12, item 5): Keras/TF/Caffe names answered
with cnncalc's, bundled names found whatever their case, a channels-last input said to be one."""

from __future__ import annotations

import pytest

import cnncalc
from cnncalc.errors import CnncalcError

from .conftest import run

LAYER = "{name: a, input: [3, 32, 32], layers: [%s]}\n"


@pytest.mark.parametrize(
    ("layer", "hint"),
    [
        ("{conv2d: {filters: 8, kernel_size: 3}}", "filters is not a field (in cnncalc: 'out_channels')"),
        ("{conv2d: {out_channels: 8, kernel_size: 3, strides: 2}}", "(in cnncalc: 'stride')"),
        ("{linear: {units: 8}}", "units is not a field (in cnncalc: 'out_features')"),
        ("{conv2d: {out_channels: 8, kernel_size: 3, in_channels: 3}}", "in_channels is inferred from the input"),
        ("{conv2d: {out_channels: 8, kernel_size: 3, activation: relu}}", "an activation is a layer of its own"),
        ("{dense: {out_features: 8}}", "unknown layer kind 'dense' (in cnncalc: 'linear')"),
        ("{lrn: {size: 5}}", "(in cnncalc: 'localresponsenorm')"),
        ("{maxpool: {kernel_size: 2}}", "(in cnncalc: 'maxpool2d')"),
        ("{GlobalAveragePooling2D: {}}", "(in cnncalc: adaptiveavgpool2d with output_size: 1)"),
        ("{Conv2d: {out_channels: 8, kernel_size: 3}}", "(names are lower case: 'conv2d')"),
        ("{conv2d: {out_channels: 8, kernel_sise: 3}}", "(did you mean 'kernel_size'?)"),
    ],
)
def test_foreign_names_are_answered(layer: str, hint: str) -> None:
    with pytest.raises(CnncalcError) as caught:
        cnncalc.load(LAYER % layer)
    assert hint in str(caught.value)


def test_bundled_names_whatever_the_case() -> None:
    assert cnncalc.load("VGG16").name == cnncalc.load("vgg16").name == "VGG16"
    out = run("summarize", "ResNet50", "--columns", "name")
    assert out.exit_code == 0 and out.stdout.startswith("ResNet50, input [3, 224, 224]")
    missing = run("summarize", "ResNet51")
    assert missing.exit_code == 2 and "did you mean 'resnet50'" in missing.stderr.lower()


def test_channels_last_input_is_said() -> None:
    text = "name: K\ninput: [224, 224, 3]\nlayers:\n  - conv2d: {out_channels: 8, kernel_size: 7, stride: 2}\n"
    with pytest.raises(
        CnncalcError, match=r"looks channels-last \(Keras, TF\): cnncalc's is \[C, H, W\], here \[3, 224, 224\]"
    ):
        cnncalc.load(text).summarize()


def test_one_copy_is_named_without_an_index() -> None:
    text = """
name: R
input: [3, 8, 8]
blocks:
  unit: {layers: [{conv2d: {out_channels: 4, kernel_size: 3, padding: 1, name: c}}, relu]}
layers:
  - unit: {name: stage, repeat: 1}
  - unit: {name: twice, repeat: 2}
"""
    names = [n.name for n in cnncalc.load(text).nodes]
    assert names[:2] == ["stage.c", "stage.relu1"] and names[2:] == [
        "twice.0.c",
        "twice.0.relu1",
        "twice.1.c",
        "twice.1.relu1",
    ]
