"""torchvision's video ResNets (R3D-18, MC3-18, R(2+1)D-18) and the raw-waveform M5 (the paper's and
the PyTorch tutorial's) against their published parameter counts and MACs.

Sources (every asserted number is published, never cnncalc's own output):
- [TV] torchvision/models/video/resnet.py, the weights' metadata ``num_params`` and ``_ops`` (GMACs of
  conv and linear layers, batch 1, 3 decimals): R3D_18_Weights, MC3_18_Weights and
  R2Plus1D_18_Weights.KINETICS400_V1. The docs show ``_ops`` rounded to 2 decimals as "GFLOPS":
  https://pytorch.org/vision/stable/models/generated/torchvision.models.video.r3d_18.html
  (num_params 33371472, GFLOPS 40.70) and .../torchvision.models.video.mc3_18.html (11695440, 43.34).
  torchvision measured ``_ops`` with the dispatch-mode counter of pytorch/vision PR #6936 ("Adding
  FLOPs and size to model metadata"), which counts convolutions and matrix products (the MACs of conv
  and linear layers, not BN, pooling or adds) at the video weights' crop, a 16 x 112 x 112 clip: the
  hand count and the PyTorch rebuild below reproduce all three ``_ops`` that way.
- [TVsrc] the layout: torchvision/models/video/resnet.py (VideoResNet, BasicBlock, Conv3DSimple,
  Conv3DNoTemporal, Conv2Plus1D, BasicStem, R2Plus1dStem); Tran et al., "A Closer Look at
  Spatiotemporal Convolutions for Action Recognition", arXiv:1711.11248.
- [Dai17] Dai, Dai, Qu, Li and Das, "Very Deep Convolutional Neural Networks for Raw Waveforms",
  ICASSP 2017, arXiv:1610.00087, Table 1: "M5 (0.5M)", [80/4, 128] conv, maxpool 4, [3, 128], maxpool 4,
  [3, 256], maxpool 4, [3, 512], maxpool 4, global average pooling, softmax (10 UrbanSound8k classes),
  BN and ReLU after every conv, 8 kHz x 4 s = 32,000 samples. (The paper's own text was not in the
  stored copies searched for this file: the layout is the one [PR17] and the torchaudio tutorial
  implement, and "0.5M" as quoted by implementations of the paper.)
- [PR17] github.com/philipperemy/very-deep-convnets-raw-waveforms, a Keras implementation of [Dai17]
  (models.py, m5()): README "M5 model - best accuracy: 0.743, trainable params = 559,114"; its
  assets/m5.out is the Keras summary: convs with bias (10,368 + 49,280 + 98,560 + 393,728), BN gamma
  and beta (512 + 512 + 1,024 + 2,048 in Keras, half of them trainable), Dense(10) 5,130 after the mean
  over time; "Trainable params: 559,114.0", "Non-trainable params: 2,048.0" (the BN statistics,
  buffers in PyTorch). Its convs use padding "same"; the parameters do not depend on it.
- [PTtut] the PyTorch tutorial "Speech Command Classification with torchaudio",
  https://pytorch.org/tutorials/intermediate/speech_command_classification_with_torchaudio_tutorial.html
  (source: github.com/pytorch/tutorials, intermediate_source/speech_command_classification_with_torchaudio_tutorial.py):
  M5(n_input=1, n_output=35, stride=16, n_channel=32) on 8,000-sample clips; it prints
  count_parameters(model) as "Number of parameters: 26915". (The stored copy searched here is the
  tutorial's source, not the rendered page; 26,915 is, by hand from that source, 2,592 + 64 + 3,104 +
  64 + 6,208 + 128 + 12,352 + 128 + 2,275, and third-party logs of the tutorial's model print
  "Number of parameters: 26915".)
"""

from __future__ import annotations

from functools import cache
from math import prod
from typing import Any

import pytest

import cnncalc

# [TV] num_params and _ops (GMACs at [3, 16, 112, 112]); docs GFLOPS where the docs page was seen
VIDEO = [
    ("r3d_18", 33_371_472, 40.697),
    ("mc3_18", 11_695_440, 43.343),
    ("r2plus1d_18", 31_505_325, 40.519),
]
DOCS_GFLOPS = {"r3d_18": 40.70, "mc3_18": 43.34}
VIDEO_NAMES = [name for name, *_ in VIDEO]
M5_PARAMS = 559_114  # [PR17]; [Dai17] Table 1 rounds it to "0.5M"
M5_TUTORIAL_PARAMS = 26_915  # [PTtut]
PARAMS = {**{name: params for name, params, _ in VIDEO}, "m5": M5_PARAMS, "m5_speech_commands": M5_TUTORIAL_PARAMS}
ALL_NAMES = list(PARAMS)
DEFAULTS = {  # the files' symbols: the published figures' input sizes
    "r3d_18": {"T": 16, "H": 112, "W": 112},
    "mc3_18": {"T": 16, "H": 112, "W": 112},
    "r2plus1d_18": {"T": 16, "H": 112, "W": 112},
    "m5": {"L": 32_000},
    "m5_speech_commands": {"L": 8_000},
}
OTHER_SIZE = {  # a second input size for the shape comparison
    "r3d_18": {"T": 8, "H": 128, "W": 128},
    "mc3_18": {"T": 8, "H": 128, "W": 96},
    "r2plus1d_18": {"T": 8, "H": 96, "W": 128},
    "m5": {"L": 16_000},
    "m5_speech_commands": {"L": 16_000},
}


# --- a hand count from the layer tables, in plain Python (no torch, no cnncalc) -------------------


class _Count:
    """Walks a layer table by the conv size formula, summing parameters and conv/linear MACs."""

    def __init__(self, channels: int, *dims: int) -> None:
        self.c, self.dims, self.params, self.macs = channels, tuple(dims), 0, 0

    def conv(self, out: int, k: tuple[int, ...], s: tuple[int, ...], p: tuple[int, ...], bias: bool = False) -> None:
        self.dims = tuple((n + 2 * pp - kk) // ss + 1 for n, kk, ss, pp in zip(self.dims, k, s, p, strict=True))
        weights = self.c * prod(k) * out
        self.params += weights + (out if bias else 0)
        self.macs += weights * prod(self.dims)
        self.c = out

    def bn(self) -> None:
        self.params += 2 * self.c  # weight and bias; running statistics are buffers

    def pool(self, k: int) -> None:
        self.dims = tuple(n // k for n in self.dims)

    def linear(self, out: int) -> None:  # after the global average pool
        self.params += self.c * out + out
        self.macs += self.c * out
        self.c, self.dims = out, ()


def _video_count(name: str, t: int, h: int, w: int) -> _Count:
    """[TVsrc] VideoResNet(BasicBlock, conv_makers, [2, 2, 2, 2], stem) with 400 classes."""
    n = _Count(3, t, h, w)
    if name == "r2plus1d_18":  # R2Plus1dStem
        n.conv(45, (1, 7, 7), (1, 2, 2), (0, 3, 3))
        n.bn()
        n.conv(64, (3, 1, 1), (1, 1, 1), (1, 0, 0))
        n.bn()
    else:  # BasicStem
        n.conv(64, (3, 7, 7), (1, 2, 2), (1, 3, 3))
        n.bn()
    inplanes = 64
    for stage, planes in enumerate((64, 128, 256, 512)):
        temporal = name == "r3d_18" or name == "r2plus1d_18" or stage == 0  # mc3: Conv3DNoTemporal after layer1
        for block in range(2):
            stride = 2 if stage > 0 and block == 0 else 1
            block_in = (n.c, n.dims)
            mid = (inplanes * planes * 27) // (inplanes * 9 + 3 * planes)
            for i in (1, 2):  # conv1 (strided), conv2
                s = stride if i == 1 else 1
                if name == "r2plus1d_18":  # Conv2Plus1D
                    n.conv(mid, (1, 3, 3), (1, s, s), (0, 1, 1))
                    n.bn()
                    n.conv(planes, (3, 1, 1), (s, 1, 1), (1, 0, 0))
                elif temporal:  # Conv3DSimple
                    n.conv(planes, (3, 3, 3), (s, s, s), (1, 1, 1))
                else:  # Conv3DNoTemporal
                    n.conv(planes, (1, 3, 3), (1, s, s), (0, 1, 1))
                n.bn()
            if stride != 1 or inplanes != planes:  # downsample from the block's input
                main = (n.c, n.dims)
                n.c, n.dims = block_in
                st = stride if temporal else 1
                n.conv(planes, (1, 1, 1), (st, stride, stride), (0, 0, 0))
                n.bn()
                assert (n.c, n.dims) == main
            inplanes = planes
    n.linear(400)
    return n


def _m5_count(length: int, channels: tuple[int, int, int, int], stride: int, classes: int) -> _Count:
    """[Dai17] / [PTtut] M5: four conv-BN-ReLU-maxpool(4) stages, global average pool, linear."""
    n = _Count(1, length)
    for i, out in enumerate(channels):
        n.conv(out, (80,) if i == 0 else (3,), (stride,) if i == 0 else (1,), (0,), bias=True)
        n.bn()
        n.pool(4)
    n.linear(classes)
    return n


def _hand_count(name: str, **values: int) -> _Count:
    values = {**DEFAULTS[name], **values}
    if name == "m5":
        return _m5_count(values["L"], (128, 128, 256, 512), 4, 10)
    if name == "m5_speech_commands":
        return _m5_count(values["L"], (32, 32, 64, 64), 16, 35)
    return _video_count(name, values["T"], values["H"], values["W"])


@pytest.mark.parametrize("name", ALL_NAMES)
def test_published_params_by_hand(name: str) -> None:
    assert _hand_count(name).params == PARAMS[name]


@pytest.mark.parametrize(("name", "params", "ops"), VIDEO)
def test_published_ops_are_conv_and_linear_macs_by_hand(name: str, params: int, ops: float) -> None:
    gmacs = _hand_count(name).macs / 1e9
    assert abs(gmacs - ops) <= 0.0005  # _ops has 3 decimals
    if name in DOCS_GFLOPS:
        assert abs(gmacs - DOCS_GFLOPS[name]) <= 0.005


def test_m5_published_figures_agree() -> None:
    # [Dai17] Table 1 gives M5 as "0.5M" (M3 0.2M, M11 1.8M, M18 3.7M: one decimal); [PR17]'s exact
    # count of the table's layout is 559,114, i.e. "0.5M" is the leading digit, not a rounding to 0.6M.
    assert 500_000 <= M5_PARAMS < 600_000


# --- independent PyTorch rebuilds (plain torch, written from [TVsrc], [Dai17], [PTtut]) ----------


def _torch() -> Any:
    return pytest.importorskip("torch")


def _video_rebuild(name: str) -> Any:
    """torchvision's VideoResNet for ``name``, module for module (same attribute names)."""
    torch = _torch()
    nn = torch.nn

    class Conv3DSimple(nn.Conv3d):
        def __init__(self, in_planes: int, out_planes: int, midplanes: int, stride: int = 1) -> None:
            super().__init__(in_planes, out_planes, kernel_size=(3, 3, 3), stride=stride, padding=1, bias=False)

        @staticmethod
        def get_downsample_stride(stride: int) -> tuple[int, int, int]:
            return stride, stride, stride

    class Conv3DNoTemporal(nn.Conv3d):
        def __init__(self, in_planes: int, out_planes: int, midplanes: int, stride: int = 1) -> None:
            super().__init__(
                in_planes, out_planes, kernel_size=(1, 3, 3), stride=(1, stride, stride), padding=(0, 1, 1), bias=False
            )

        @staticmethod
        def get_downsample_stride(stride: int) -> tuple[int, int, int]:
            return 1, stride, stride

    class Conv2Plus1D(nn.Sequential):
        def __init__(self, in_planes: int, out_planes: int, midplanes: int, stride: int = 1) -> None:
            super().__init__(
                nn.Conv3d(in_planes, midplanes, (1, 3, 3), stride=(1, stride, stride), padding=(0, 1, 1), bias=False),
                nn.BatchNorm3d(midplanes),
                nn.ReLU(inplace=True),
                nn.Conv3d(midplanes, out_planes, (3, 1, 1), stride=(stride, 1, 1), padding=(1, 0, 0), bias=False),
            )

        @staticmethod
        def get_downsample_stride(stride: int) -> tuple[int, int, int]:
            return stride, stride, stride

    class BasicBlock(nn.Module):
        def __init__(self, inplanes: int, planes: int, builder: Any, stride: int = 1, downsample: Any = None) -> None:
            super().__init__()
            midplanes = (inplanes * planes * 3 * 3 * 3) // (inplanes * 3 * 3 + 3 * planes)
            self.conv1 = nn.Sequential(
                builder(inplanes, planes, midplanes, stride), nn.BatchNorm3d(planes), nn.ReLU(inplace=True)
            )
            self.conv2 = nn.Sequential(builder(planes, planes, midplanes), nn.BatchNorm3d(planes))
            self.relu = nn.ReLU(inplace=True)
            self.downsample = downsample

        def forward(self, x: Any) -> Any:
            residual = x if self.downsample is None else self.downsample(x)
            return self.relu(self.conv2(self.conv1(x)) + residual)

    def basic_stem() -> Any:
        return nn.Sequential(
            nn.Conv3d(3, 64, (3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3), bias=False),
            nn.BatchNorm3d(64),
            nn.ReLU(inplace=True),
        )

    def r2plus1d_stem() -> Any:
        return nn.Sequential(
            nn.Conv3d(3, 45, (1, 7, 7), stride=(1, 2, 2), padding=(0, 3, 3), bias=False),
            nn.BatchNorm3d(45),
            nn.ReLU(inplace=True),
            nn.Conv3d(45, 64, (3, 1, 1), stride=(1, 1, 1), padding=(1, 0, 0), bias=False),
            nn.BatchNorm3d(64),
            nn.ReLU(inplace=True),
        )

    class VideoResNet(nn.Module):
        def __init__(self, conv_makers: list[Any], stem: Any, num_classes: int = 400) -> None:
            super().__init__()
            self.inplanes = 64
            self.stem = stem()
            self.layer1 = self._make_layer(conv_makers[0], 64, 2, stride=1)
            self.layer2 = self._make_layer(conv_makers[1], 128, 2, stride=2)
            self.layer3 = self._make_layer(conv_makers[2], 256, 2, stride=2)
            self.layer4 = self._make_layer(conv_makers[3], 512, 2, stride=2)
            self.avgpool = nn.AdaptiveAvgPool3d((1, 1, 1))
            self.fc = nn.Linear(512, num_classes)

        def _make_layer(self, builder: Any, planes: int, blocks: int, stride: int) -> Any:
            downsample = None
            if stride != 1 or self.inplanes != planes:
                downsample = nn.Sequential(
                    nn.Conv3d(
                        self.inplanes, planes, kernel_size=1, stride=builder.get_downsample_stride(stride), bias=False
                    ),
                    nn.BatchNorm3d(planes),
                )
            layers = [BasicBlock(self.inplanes, planes, builder, stride, downsample)]
            self.inplanes = planes
            layers += [BasicBlock(planes, planes, builder) for _ in range(1, blocks)]
            return nn.Sequential(*layers)

        def forward(self, x: Any) -> Any:
            x = self.layer4(self.layer3(self.layer2(self.layer1(self.stem(x)))))
            return self.fc(self.avgpool(x).flatten(1))

    makers = {
        "r3d_18": ([Conv3DSimple] * 4, basic_stem),
        "mc3_18": ([Conv3DSimple] + [Conv3DNoTemporal] * 3, basic_stem),
        "r2plus1d_18": ([Conv2Plus1D] * 4, r2plus1d_stem),
    }
    conv_makers, stem = makers[name]
    return VideoResNet(conv_makers, stem)


def _m5_rebuild() -> Any:
    """[Dai17] Table 1's M5 in plain PyTorch (padding 0, as PyTorch's default and the tutorial's)."""
    torch = _torch()
    nn, F = torch.nn, torch.nn.functional

    class M5(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            widths = [1, 128, 128, 256, 512]
            for i in range(1, 5):
                k, s = (80, 4) if i == 1 else (3, 1)
                setattr(self, f"conv{i}", nn.Conv1d(widths[i - 1], widths[i], kernel_size=k, stride=s))
                setattr(self, f"bn{i}", nn.BatchNorm1d(widths[i]))
                setattr(self, f"relu{i}", nn.ReLU())
                setattr(self, f"pool{i}", nn.MaxPool1d(4))
            self.fc = nn.Linear(512, 10)  # the weighted softmax layer over the 10 classes

        def forward(self, x: Any) -> Any:
            for i in range(1, 5):
                for part in ("conv", "bn", "relu", "pool"):
                    x = getattr(self, f"{part}{i}")(x)
            return F.softmax(self.fc(x.mean(dim=-1)), dim=1)  # global average pooling over time

    return M5()


def _m5_tutorial_rebuild() -> Any:
    """[PTtut]'s M5 class with its defaults n_input=1, n_output=35, stride=16, n_channel=32."""
    torch = _torch()
    nn, F = torch.nn, torch.nn.functional

    class M5(nn.Module):
        def __init__(self, n_input: int = 1, n_output: int = 35, stride: int = 16, n_channel: int = 32) -> None:
            super().__init__()
            self.conv1 = nn.Conv1d(n_input, n_channel, kernel_size=80, stride=stride)
            self.bn1 = nn.BatchNorm1d(n_channel)
            self.pool1 = nn.MaxPool1d(4)
            self.conv2 = nn.Conv1d(n_channel, n_channel, kernel_size=3)
            self.bn2 = nn.BatchNorm1d(n_channel)
            self.pool2 = nn.MaxPool1d(4)
            self.conv3 = nn.Conv1d(n_channel, 2 * n_channel, kernel_size=3)
            self.bn3 = nn.BatchNorm1d(2 * n_channel)
            self.pool3 = nn.MaxPool1d(4)
            self.conv4 = nn.Conv1d(2 * n_channel, 2 * n_channel, kernel_size=3)
            self.bn4 = nn.BatchNorm1d(2 * n_channel)
            self.pool4 = nn.MaxPool1d(4)
            self.fc1 = nn.Linear(2 * n_channel, n_output)

        def forward(self, x: Any) -> Any:
            x = self.pool1(F.relu(self.bn1(self.conv1(x))))
            x = self.pool2(F.relu(self.bn2(self.conv2(x))))
            x = self.pool3(F.relu(self.bn3(self.conv3(x))))
            x = self.pool4(F.relu(self.bn4(self.conv4(x))))
            x = F.avg_pool1d(x, x.shape[-1])
            x = self.fc1(x.permute(0, 2, 1))
            return F.log_softmax(x, dim=2)

    return M5()


def _rebuild(name: str, device: str = "meta") -> Any:
    torch = _torch()
    with torch.device(device):
        if name == "m5":
            return _m5_rebuild().eval()
        if name == "m5_speech_commands":
            return _m5_tutorial_rebuild().eval()
        return _video_rebuild(name).eval()


def _input_shape(name: str, **values: int) -> tuple[int, ...]:
    values = {**DEFAULTS[name], **values}
    if name.startswith("m5"):
        return (1, 1, values["L"])
    return (1, 3, values["T"], values["H"], values["W"])


def _run(model: Any, shape: tuple[int, ...]) -> tuple[dict[str, tuple[int, ...]], int]:
    """Forward a meta tensor; the output shape (without the batch) of every named leaf module, and
    the MACs of its conv and linear layers (weights x output positions, batch 1, bias excluded)."""
    torch = _torch()
    shapes: dict[str, tuple[int, ...]] = {}
    macs = [0]

    def hook(name: str) -> Any:
        def record(module: Any, args: Any, out: Any) -> None:
            shapes[name] = tuple(out.shape[1:])
            if isinstance(module, (torch.nn.Conv1d, torch.nn.Conv3d)):
                macs[0] += module.weight.numel() * prod(out.shape[2:])
            elif isinstance(module, torch.nn.Linear):
                macs[0] += module.weight.numel() * prod(out.shape[1:-1])

        return record

    handles = [m.register_forward_hook(hook(n)) for n, m in model.named_modules() if n and not list(m.children())]
    try:
        with torch.no_grad():
            model(torch.empty(shape, device="meta"))
    finally:
        for h in handles:
            h.remove()
    return shapes, macs[0]


@pytest.mark.parametrize("name", ALL_NAMES)
def test_torch_rebuild_has_the_published_params(name: str) -> None:
    model = _rebuild(name)
    assert sum(p.numel() for p in model.parameters()) == PARAMS[name]
    assert sum(p.numel() for p in model.parameters() if p.requires_grad) == PARAMS[name]


@pytest.mark.parametrize(("name", "params", "ops"), VIDEO)
def test_torch_rebuild_has_the_published_ops(name: str, params: int, ops: float) -> None:
    shapes, macs = _run(_rebuild(name), _input_shape(name))
    assert shapes["fc"] == (400,)
    assert abs(macs / 1e9 - ops) <= 0.0005
    assert macs == _hand_count(name).macs


@pytest.mark.parametrize("name", ALL_NAMES)
def test_torch_rebuild_matches_the_hand_count_at_another_size(name: str) -> None:
    _, macs = _run(_rebuild(name), _input_shape(name, **OTHER_SIZE[name]))
    assert macs == _hand_count(name, **OTHER_SIZE[name]).macs


# --- cnncalc against the published figures and the rebuilds -------------------------------------


@cache
def _summary(name: str, **values: int) -> cnncalc.Summary:
    return cnncalc.load(name).summarize(**values)


@pytest.mark.parametrize("name", ALL_NAMES)
def test_cnncalc_params(name: str) -> None:
    total = _summary(name).total
    assert total.params == PARAMS[name]
    assert total.trainable_params == PARAMS[name]


@pytest.mark.parametrize(("name", "params", "ops"), VIDEO)
def test_cnncalc_macs(name: str, params: int, ops: float) -> None:
    # torchvision's _ops counts conv and linear MACs only, as cnncalc's macs do
    gmacs = _summary(name).total.macs / 1e9
    assert abs(gmacs - ops) <= 0.0005
    if name in DOCS_GFLOPS:
        assert abs(gmacs - DOCS_GFLOPS[name]) <= 0.005


@pytest.mark.parametrize("name", ALL_NAMES)
def test_cnncalc_to_torch_state_dict_is_the_rebuilds(name: str) -> None:
    _torch()
    ours = {k: tuple(v.shape) for k, v in cnncalc.to_torch(cnncalc.load(name)).state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in _rebuild(name).state_dict().items()}
    assert sorted(ours) == sorted(theirs)
    assert ours == theirs


@pytest.mark.parametrize("name", ALL_NAMES)
def test_cnncalc_shapes_and_macs_match_the_rebuild_at_another_size(name: str) -> None:
    model = _rebuild(name)
    shapes, macs = _run(model, _input_shape(name, **OTHER_SIZE[name]))
    summary = _summary(name, **OTHER_SIZE[name])
    rows = {row.name: tuple(int(v) for v in row.output) for row in summary.rows}
    weighted = {n for n, m in model.named_modules() if not list(m.children()) and list(m.parameters())}
    assert weighted <= rows.keys()  # every conv, BN and linear layer has a row of the same name
    compared = {n: rows[n] for n in shapes if n in rows}
    expected = {n: shapes[n] for n in compared}
    if name == "m5_speech_commands":  # the tutorial's fc1 acts on (batch, 1, 64) after the permute
        expected["fc1"] = expected["fc1"][1:]
    assert compared == expected
    assert summary.total.macs == macs
