"""Known answers: every number asserted here is published somewhere else, never cnncalc's own output.

Sources (cited again next to each table):
- [TV] torchvision's weight metadata, torchvision/models/alexnet.py and vgg.py (``num_params`` and
  ``_ops`` = GMACs at 224x224), shown rounded to 2 decimals in the GFLOPS column of
  https://pytorch.org/vision/stable/models.html ("Table of all available classification weights").
- [CS231n] https://cs231n.github.io/convolutional-networks/ : "VGGNet in detail" and
  "Real-world example" / "Parameter Sharing" (the 2012 AlexNet's first layer).
- [AKH12] Krizhevsky, Sutskever and Hinton, "ImageNet Classification with Deep Convolutional Neural
  Networks" (NIPS 2012), Section 3.5 / Figure 2 caption: "the number of neurons in the network's
  remaining layers is given by 253,440-186,624-64,896-64,896-43,264-4096-4096-1000"; "60 million
  parameters and 650,000 neurons".
- [DLBS] HPE Deep Learning Benchmarking Suite (github.com/HewlettPackard/dlcookbook-dlbs), models
  table: alexnet (BVLC AlexNet, the paper's two-GPU net) 60,965,224 parameters.
- [LeCun98] LeCun, Bottou, Bengio and Haffner, "Gradient-Based Learning Applied to Document
  Recognition" (Proc. IEEE 1998), Section II.B: C1 6@28x28 with 156 trainable parameters, S2
  6@14x14, C3 16@10x10, S4 16@5x5, C5 120 units with 48,120 trainable connections, F6 84 units with
  10,164 trainable parameters, 10 outputs.
- [LeNetFull] the lecture version with C3 fully connected and a linear output layer, e.g.
  https://mnchapel.github.io/deep_learning_models/cnn/1998-11-01-lenet.html : 156, 2,416, 48,120,
  10,164, 850; total 61,706.
- [RF] Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional Neural Networks",
  Distill 2019 (https://distill.pub/2019/computing-receptive-fields/), and its library's table
  github.com/google-research/receptive_field, receptive_field/RECEPTIVE_FIELD_TABLE.md (TF-Slim
  models): receptive field r, effective stride (= jump) and effective padding P per end-point.
"""

from __future__ import annotations

from functools import cache

import pytest

import cnncalc


@cache
def summary(name: str) -> cnncalc.Summary:
    return cnncalc.load(name).summarize()


def row(name: str, layer: str) -> cnncalc.LayerRow:
    rows = [r for r in summary(name).rows if r.name == layer]
    assert len(rows) == 1, f"{name} has no single layer {layer!r}"
    return rows[0]


# --- totals ------------------------------------------------------------------------------------------

# [TV] num_params, _ops (GMACs, "GFLOPS" in torchvision's terms) and the docs' 2-decimal GFLOPS column.
TORCHVISION = [
    # bundled name, num_params, _ops, docs GFLOPS
    ("alexnet", 61_100_840, 0.714, 0.71),
    ("vgg11", 132_863_336, 7.609, 7.61),
    ("vgg11_bn", 132_868_840, 7.609, 7.61),
    ("vgg13", 133_047_848, 11.308, 11.31),
    ("vgg13_bn", 133_053_736, 11.308, 11.31),
    ("vgg16", 138_357_544, 15.47, 15.47),
    ("vgg16_bn", 138_365_992, 15.47, 15.47),
    ("vgg19", 143_667_240, 19.632, 19.63),
    ("vgg19_bn", 143_678_248, 19.632, 19.63),
]


@pytest.mark.parametrize(("name", "params", "ops", "gflops"), TORCHVISION)
def test_torchvision_params(name: str, params: int, ops: float, gflops: float) -> None:
    total = summary(name).total
    assert total.params == params
    assert total.trainable_params == params


@pytest.mark.parametrize(("name", "params", "ops", "gflops"), TORCHVISION)
def test_torchvision_gflops(name: str, params: int, ops: float, gflops: float) -> None:
    macs = summary(name).total.macs
    assert abs(macs / 1e9 - ops) < 0.0005  # _ops is given to 3 decimals
    assert round(macs / 1e9, 2) == gflops


# Totals published outside torchvision.
OTHER_TOTALS = [
    # [DLBS] the paper's two-GPU AlexNet ([AKH12]: "60 million parameters")
    ("alexnet2012", 60_965_224),
    # [LeNetFull] 156 + 2,416 + 48,120 + 10,164 + 850
    ("lenet5", 61_706),
]


@pytest.mark.parametrize(("name", "params"), OTHER_TOTALS)
def test_other_params(name: str, params: int) -> None:
    assert summary(name).total.params == params


def test_every_zoo_file_has_a_known_total() -> None:
    covered = {n for n, *_ in TORCHVISION} | {n for n, _ in OTHER_TOTALS}
    assert covered <= set(cnncalc.bundled())


# --- LeNet-5 -----------------------------------------------------------------------------------------

# [LeCun98] map sizes; 400 = 16*5*5 is S4 flattened (C5's input).
LENET_SHAPES = [
    ("conv1", (6, 28, 28)),  # C1
    ("pool1", (6, 14, 14)),  # S2
    ("conv2", (16, 10, 10)),  # C3
    ("pool2", (16, 5, 5)),  # S4
    ("flatten1", (400,)),
    ("fc1", (120,)),  # C5
    ("fc2", (84,)),  # F6
    ("fc3", (10,)),  # output
]


@pytest.mark.parametrize(("layer", "shape"), LENET_SHAPES)
def test_lenet_shapes(layer: str, shape: tuple[int, ...]) -> None:
    assert row("lenet5", layer).output == shape


# [LeCun98] C1 156, C5 48,120, F6 10,164; [LeNetFull] C3 with all 6 inputs (5*5*6*16 + 16) 2,416
# and the linear output (84*10 + 10) 850.
LENET_PARAMS = [
    ("conv1", 156),
    ("conv2", 2_416),
    ("fc1", 48_120),
    ("fc2", 10_164),
    ("fc3", 850),
]


@pytest.mark.parametrize(("layer", "params"), LENET_PARAMS)
def test_lenet_params(layer: str, params: int) -> None:
    assert row("lenet5", layer).params == params


def test_lenet_input() -> None:
    assert summary("lenet5").input == (1, 32, 32)  # [LeCun98] 32x32 input plane


# --- VGG16, CS231n "VGGNet in detail" ----------------------------------------------------------------

# [CS231n] "memory" per layer output (conv and pool), written as the page writes it.
VGG16_ACTIVATIONS = [
    ("conv1", 224 * 224 * 64),  # CONV3-64, 3,211,264
    ("conv2", 224 * 224 * 64),  # CONV3-64
    ("pool1", 112 * 112 * 64),  # POOL2, 802,816
    ("conv3", 112 * 112 * 128),  # CONV3-128, 1,605,632
    ("conv4", 112 * 112 * 128),
    ("pool2", 56 * 56 * 128),  # 401,408
    ("conv5", 56 * 56 * 256),  # CONV3-256, 802,816
    ("conv6", 56 * 56 * 256),
    ("conv7", 56 * 56 * 256),
    ("pool3", 28 * 28 * 256),  # 200,704
    ("conv8", 28 * 28 * 512),  # CONV3-512, 401,408
    ("conv9", 28 * 28 * 512),
    ("conv10", 28 * 28 * 512),
    ("pool4", 14 * 14 * 512),  # 100,352
    ("conv11", 14 * 14 * 512),
    ("conv12", 14 * 14 * 512),
    ("conv13", 14 * 14 * 512),
    ("pool5", 7 * 7 * 512),  # 25,088
    ("fc1", 4096),
    ("fc2", 4096),
    ("fc3", 1000),
]


def test_vgg16_activation_table_values() -> None:
    # The products above are the page's own; check the spelled-out values the brief quotes too.
    table = dict(VGG16_ACTIVATIONS)
    assert (table["conv1"], table["pool1"], table["conv3"], table["pool2"]) == (3_211_264, 802_816, 1_605_632, 401_408)
    assert (table["conv5"], table["pool3"], table["conv8"], table["pool4"], table["pool5"]) == (
        802_816,
        200_704,
        401_408,
        100_352,
        25_088,
    )


@pytest.mark.parametrize(("layer", "activations"), VGG16_ACTIVATIONS)
def test_vgg16_activations(layer: str, activations: int) -> None:
    assert row("vgg16", layer).activations == activations


# [CS231n] "weights" per layer (the page counts no biases; PyTorch's layers add one per output
# channel or unit, torchvision's num_params includes them).
VGG16_WEIGHTS = [
    # layer, weights as the page writes them, bias
    ("conv1", (3 * 3 * 3) * 64, 64),  # 1,728 -> 1,792
    ("conv2", (3 * 3 * 64) * 64, 64),  # 36,864
    ("conv3", (3 * 3 * 64) * 128, 128),  # 73,728
    ("conv4", (3 * 3 * 128) * 128, 128),  # 147,456
    ("conv5", (3 * 3 * 128) * 256, 256),  # 294,912
    ("conv6", (3 * 3 * 256) * 256, 256),  # 589,824
    ("conv7", (3 * 3 * 256) * 256, 256),
    ("conv8", (3 * 3 * 256) * 512, 512),  # 1,179,648
    ("conv9", (3 * 3 * 512) * 512, 512),  # 2,359,296
    ("conv10", (3 * 3 * 512) * 512, 512),
    ("conv11", (3 * 3 * 512) * 512, 512),
    ("conv12", (3 * 3 * 512) * 512, 512),
    ("conv13", (3 * 3 * 512) * 512, 512),
    ("fc1", 7 * 7 * 512 * 4096, 4096),  # 102,760,448
    ("fc2", 4096 * 4096, 4096),  # 16,777,216
    ("fc3", 4096 * 1000, 1000),  # 4,096,000
]


@pytest.mark.parametrize(("layer", "weights", "bias"), VGG16_WEIGHTS)
def test_vgg16_params(layer: str, weights: int, bias: int) -> None:
    assert row("vgg16", layer).params == weights + bias


def test_vgg16_weight_table_values() -> None:
    table = {name: w for name, w, _ in VGG16_WEIGHTS}
    assert table["conv1"] == 1_728 and table["fc1"] == 102_760_448
    # The table sums to torchvision's num_params once the biases are added (and to CS231n's "138M").
    assert sum(w + b for _, w, b in VGG16_WEIGHTS) == 138_357_544


def test_vgg16_first_layer_dense_comparison() -> None:
    # [CS231n] full connectivity "doesn't scale": a neuron fully connected to a 224x224x3 image has
    # 224*224*3 = 150,528 weights; conv1's 224*224*64 = 3,211,264 outputs would need
    # 150,528 * 3,211,264 weights + 3,211,264 biases, about 483 billion, where the conv has 1,792.
    conv1 = row("vgg16", "conv1")
    inputs, outputs = 224 * 224 * 3, 224 * 224 * 64
    assert conv1.fc_params == inputs * outputs + outputs
    assert int(conv1.fc_params / 1e9) == 483
    assert conv1.params == 1_792


# --- AlexNet 2012 (the paper's net) ------------------------------------------------------------------


def test_alexnet2012_conv1_volume() -> None:
    # [CS231n] "Real-world example": 227x227x3 input, F=11, S=4, P=0 -> (227 - 11)/4 + 1 = 55,
    # output volume [55x55x96] = 290,400 neurons.
    conv1 = row("alexnet2012", "conv1")
    assert conv1.output == (96, 55, 55)
    assert conv1.activations == 290_400


def test_alexnet2012_locally_connected_conv1() -> None:
    # [CS231n] "Parameter Sharing": 55*55*96 = 290,400 neurons, each with 11*11*3 = 363 weights and
    # 1 bias: 290,400 * 364 = 105,705,600 parameters without sharing; with sharing
    # 96*11*11*3 = 34,848 weights + 96 biases = 34,944.
    conv1 = row("alexnet2012", "conv1")
    assert conv1.local_params == 290_400 * 364 == 105_705_600
    assert conv1.params == 34_944


# [AKH12] neurons per layer with weights (outputs of conv1..conv5, fc6..fc8). The paper prints
# 253,440 for layer 1, which no 96 maps of 55x55 give; 55*55*96 = 290,400 ([CS231n]; the paper's
# Figure 2 draws 2 x 48 maps of 55x55). The other seven numbers are the paper's as printed.
ALEXNET2012_NEURONS = [
    ("conv1", 290_400),
    ("conv2", 186_624),
    ("conv3", 64_896),
    ("conv4", 64_896),
    ("conv5", 43_264),
    ("fc1", 4_096),
    ("fc2", 4_096),
    ("fc3", 1_000),
]


@pytest.mark.parametrize(("layer", "neurons"), ALEXNET2012_NEURONS)
def test_alexnet2012_neurons_per_layer(layer: str, neurons: int) -> None:
    assert row("alexnet2012", layer).activations == neurons


def test_alexnet2012_total_neurons() -> None:
    expected = sum(n for _, n in ALEXNET2012_NEURONS)
    assert expected == 659_272
    neurons = summary("alexnet2012").total.neurons
    assert neurons == expected
    assert abs(neurons - 650_000) / 650_000 < 0.02  # [AKH12] "650,000 neurons"


def test_alexnet2012_input_volume() -> None:
    # [CS231n] "Real-world example": the 2012 net "accepted images of size [227x227x3]" (the paper's
    # 224 gives (224 - 11)/4 + 1, not a whole number).
    assert summary("alexnet2012").input == (3, 227, 227)


# --- receptive fields --------------------------------------------------------------------------------

# [RF] RECEPTIVE_FIELD_TABLE.md rows (r, effective stride, effective padding P). The TF-Slim models
# have the same kernels, strides and paddings as the files here:
# - vgg_16 (conv 3x3 SAME = padding 1, pool 2x2 stride 2 VALID) = torchvision vgg16;
# - vgg_a (configuration A, same layers) = torchvision vgg11;
# - alexnet_v2 (conv1 11x11 stride 4 VALID, conv2 5x5 SAME, conv3-5 3x3 SAME, pools 3x3 stride 2
#   VALID) = the paper's net as in alexnet2012.yaml (kernel counts differ, which does not matter).
# The centre of the first unit's field is start = (r - 1)/2 - P: its field spans input pixels
# -P .. -P + r - 1 ([RF], "Computing receptive field region in input image").
# cnncalc names layers conv1, conv2, ... in order; the Slim end-point is in the comment.
RF_TABLE = [
    # network, layer, r, effective stride, effective padding
    ("vgg16", "conv1", 3, 1, 1),  # vgg_16/conv1/conv1_1
    ("vgg16", "pool1", 6, 2, 2),
    ("vgg16", "conv3", 10, 2, 4),  # conv2/conv2_1
    ("vgg16", "pool2", 16, 4, 6),
    ("vgg16", "conv5", 24, 4, 10),  # conv3/conv3_1
    ("vgg16", "conv6", 32, 4, 14),  # conv3/conv3_2
    ("vgg16", "pool3", 44, 8, 18),
    ("vgg16", "conv8", 60, 8, 26),  # conv4/conv4_1
    ("vgg16", "conv9", 76, 8, 34),  # conv4/conv4_2
    ("vgg16", "pool4", 100, 16, 42),
    ("vgg16", "conv11", 132, 16, 58),  # conv5/conv5_1
    ("vgg16", "conv12", 164, 16, 74),  # conv5/conv5_2
    ("vgg16", "pool5", 212, 32, 90),  # vgg_16/pool5: 212x212 pixels, jump 32
    ("vgg11", "conv1", 3, 1, 1),  # vgg_a/conv1/conv1_1
    ("vgg11", "pool1", 4, 2, 1),
    ("vgg11", "conv2", 8, 2, 3),  # conv2/conv2_1
    ("vgg11", "pool2", 10, 4, 3),
    ("vgg11", "conv3", 18, 4, 7),  # conv3/conv3_1
    ("vgg11", "conv4", 26, 4, 11),  # conv3/conv3_2
    ("vgg11", "pool3", 30, 8, 11),
    ("vgg11", "conv5", 46, 8, 19),  # conv4/conv4_1
    ("vgg11", "conv6", 62, 8, 27),  # conv4/conv4_2
    ("vgg11", "pool4", 70, 16, 27),
    ("vgg11", "conv7", 102, 16, 43),  # conv5/conv5_1
    ("vgg11", "conv8", 134, 16, 59),  # conv5/conv5_2
    ("vgg11", "pool5", 150, 32, 59),
    ("alexnet2012", "conv1", 11, 4, 0),  # alexnet_v2/conv1
    ("alexnet2012", "pool1", 19, 8, 0),
    ("alexnet2012", "conv2", 51, 8, 16),
    ("alexnet2012", "conv3", 99, 16, 32),
    ("alexnet2012", "conv4", 131, 16, 48),
    ("alexnet2012", "conv5", 163, 16, 64),
    ("alexnet2012", "pool3", 195, 32, 64),  # alexnet_v2/pool5
]


@pytest.mark.parametrize(("name", "layer", "size", "jump", "padding"), RF_TABLE)
def test_receptive_field(name: str, layer: str, size: int, jump: int, padding: int) -> None:
    rf = row(name, layer).rf
    assert rf is not None
    assert rf.size == (size, size)
    assert rf.jump == (jump, jump)
    assert rf.start == ((size - 1) / 2 - padding, (size - 1) / 2 - padding)


# torchvision's AlexNet has alexnet_v2's kernels and strides, so [RF]'s r and effective stride hold
# for it as they are. Its conv1 pads 2 where alexnet_v2's pads 0, which only moves the start: by
# hand, with r_out = r_in + (k - 1) * j_in and j_out = j_in * s (the [RF] recurrence):
#   conv1 k11 s4: r = 1 + 10*1 = 11,    j = 4
#   pool1 k3 s2:  r = 11 + 2*4 = 19,    j = 8
#   conv2 k5:     r = 19 + 4*8 = 51,    j = 8
#   pool2 k3 s2:  r = 51 + 2*8 = 67,    j = 16
#   conv3-5 k3:   r = 67 + 3*(2*16) = 163 (99, 131, 163), j = 16
#   pool5 k3 s2:  r = 163 + 2*16 = 195, j = 32
# and P = alexnet_v2's P + 2 (conv1's padding at jump 1): pool5 start = (195 - 1)/2 - 66 = 31.
ALEXNET_RF = [
    ("conv1", 11, 4, 0 + 2),
    ("pool1", 19, 8, 0 + 2),
    ("conv2", 51, 8, 16 + 2),
    ("pool2", 67, 16, 16 + 2),  # not a row of the table: by hand, P unchanged by a VALID pool
    ("conv3", 99, 16, 32 + 2),
    ("conv4", 131, 16, 48 + 2),
    ("conv5", 163, 16, 64 + 2),
    ("pool3", 195, 32, 64 + 2),  # torchvision features[12], alexnet_v2/pool5
]


@pytest.mark.parametrize(("layer", "size", "jump", "padding"), ALEXNET_RF)
def test_alexnet_receptive_field(layer: str, size: int, jump: int, padding: int) -> None:
    rf = row("alexnet", layer).rf
    assert rf is not None
    assert rf.size == (size, size)
    assert rf.jump == (jump, jump)
    assert rf.start == ((size - 1) / 2 - padding, (size - 1) / 2 - padding)
