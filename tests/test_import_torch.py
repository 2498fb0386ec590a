"""Importing PyTorch modules (cnncalc.from_torch, torch.fx): zoo networks round-trip (YAML ->
to_torch -> import -> the same summary, symbolic in the input's sizes), hand-written modules the way
people write them are checked against PyTorch itself (parameters counted by ``parameters()``, output
shapes by running the module) and torchvision's published ResNet-50 figures, random architectures
round-trip, and unsupported ops are reported by path, class and op. Time: about 40 s."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import cnncalc
from cnncalc.architecture import bundled
from cnncalc.errors import CnncalcError
from cnncalc.importers.emit import to_yaml
from cnncalc.importers.torch_fx import read_torch

#: The whole zoo but Inception v3 (its auxiliary head runs only in training: its own test, in both
#: views). U-Net's sizes are multiples of 16, which its concatenations say and the import declares.
ROUND_TRIP = sorted(set(bundled()) - {"inception_v3"})


def _rows(summary: cnncalc.Summary) -> list[tuple[str, ...]]:
    return [(str(r.output), str(r.params), str(r.macs), str(r.rf)) for r in summary.rows]


def _input(arch: cnncalc.Architecture) -> tuple[int | str, ...]:
    return tuple(s if isinstance(s, int) else str(s) for s in arch.input)


@pytest.mark.parametrize("name", ROUND_TRIP)
def test_zoo_round_trips_through_pytorch(name: str) -> None:
    """Shapes, params, MACs and receptive fields of every row agree with the original, symbolic in
    the input's sizes (other symbols, such as DenseNet's growth k, at their defaults: PyTorch's
    module has numbers there)."""
    arch = cnncalc.load(name)
    sizes = {str(s) for s in arch.input if not isinstance(s, int)}
    fixed = {k: v for k, v in arch.defaults.items() if k not in sizes}
    imported = cnncalc.from_torch(arch.to_torch(), _input(arch), **{k: arch.defaults[k] for k in sizes})
    original = arch.summarize(fixed, symbolic=True)
    again = imported.summarize(symbolic=True)
    assert _rows(again) == _rows(original)
    assert again.total == original.total


def test_blocks_that_would_summarize_otherwise_are_never_written(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard itself: a block section whose summary differs from the flat file's (here: a
    copy too many) gives the flat file, and its header says so."""
    from cnncalc.importers import emit

    graph = read_torch(ResNet(layers=(2, 1, 1, 1)), (3, "H", "W"), {"H": 64, "W": 64})
    right = emit.block_lines
    monkeypatch.setattr(emit, "block_lines", lambda g: [line.replace("repeat: 2", "repeat: 3") for line in right(g)])
    assert "repeat: 2" in "\n".join(right(emit.with_clean_names(graph)))
    text = emit.to_yaml(graph)
    assert "# Written flat: its repeated submodules as blocks did not summarize as the flat network" in text
    assert "blocks:" not in text
    flat = cnncalc.load(emit.to_yaml(graph, blocks=False)).summarize()
    assert _rows(cnncalc.load(text).summarize()) == _rows(flat)


def test_unet_sizes_are_declared_multiples_as_its_concatenations_require() -> None:
    """A PyTorch module says nothing of U-Net's multiple_of: 16; its four concatenations do (H % 16
    == 0), and the import declares it, as the zoo's file does."""
    arch = cnncalc.load("unet")
    text = to_yaml(read_torch(arch.to_torch(), _input(arch), arch.defaults))
    assert "symbols: {H: {default: 256, multiple_of: 16}, W: {default: 256, multiple_of: 16}}" in text
    assert cnncalc.load(text).symbols == arch.symbols


class Bottleneck(nn.Module):
    """torchvision's Bottleneck, as torchvision/models/resnet.py writes it (v1.5: stride on the 3x3)."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)  # type: ignore[no-any-return]


class ResNet(nn.Module):
    """torchvision's ResNet with Bottleneck blocks, layers [3, 4, 6, 3]: ResNet-50."""

    def __init__(self, layers: tuple[int, ...] = (3, 4, 6, 3), num_classes: int = 1000) -> None:
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1], 2)
        self.layer3 = self._make_layer(256, layers[2], 2)
        self.layer4 = self._make_layer(512, layers[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(2048, num_classes)

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * 4:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * 4, 1, stride, bias=False), nn.BatchNorm2d(planes * 4)
            )
        layers = [Bottleneck(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * 4
        layers += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)  # type: ignore[no-any-return]


def test_a_handwritten_resnet50_imports_as_blocks_with_torchvisions_figures() -> None:
    """torchvision's ResNet50_Weights.IMAGENET1K_V1 meta: num_params 25,557,032, GFLOPS 4.09
    (torchvision/models/resnet.py); the parameter count is also PyTorch's own."""
    model = ResNet()
    graph = read_torch(model, (3, "H", "W"), {"H": 224, "W": 224}, name="ResNet50")
    text = to_yaml(graph)
    assert len(text.splitlines()) < 100
    assert "- bottleneck: {" in text and "repeat: 6" in text
    summary = cnncalc.load(text).summarize()
    assert summary.total.params == 25_557_032 == sum(p.numel() for p in model.parameters())
    assert round(summary.total.macs / 1e9, 2) == 4.09
    symbolic = cnncalc.load(text).summarize(symbolic=True)
    # the zoo's ResNet-50 (written from the paper): the last feature map, ceil(H/32), in closed form
    assert symbolic.rows[-4].output == cnncalc.load("resnet50").summarize(symbolic=True).rows[-4].output


def _make_divisible(v: float, divisor: int = 8) -> int:
    """torchvision's _make_divisible (torchvision/models/_utils.py)."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


class ConvBNReLU(nn.Sequential):
    def __init__(self, cin: int, cout: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    """torchvision's MobileNetV2 block (torchvision/models/mobilenetv2.py)."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        hidden = cin * expand
        self.use_res_connect = stride == 1 and cin == cout
        layers: list[nn.Module] = [ConvBNReLU(cin, hidden, kernel=1)] if expand != 1 else []
        layers += [ConvBNReLU(hidden, hidden, stride=stride, groups=hidden), nn.Conv2d(hidden, cout, 1, bias=False)]
        self.conv = nn.Sequential(*layers, nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.use_res_connect:  # a Python bool: fx follows it
            return x + self.conv(x)  # type: ignore[no-any-return]
        return self.conv(x)  # type: ignore[no-any-return]


class MobileNetV2(nn.Module):
    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        settings = [
            [1, 16, 1, 1],
            [6, 24, 2, 2],
            [6, 32, 3, 2],
            [6, 64, 4, 2],
            [6, 96, 3, 1],
            [6, 160, 3, 2],
            [6, 320, 1, 1],
        ]
        cin = 32
        features: list[nn.Module] = [ConvBNReLU(3, cin, stride=2)]
        for t, c, n, s in settings:
            for i in range(n):
                features.append(InvertedResidual(cin, _make_divisible(c), s if i == 0 else 1, t))
                cin = _make_divisible(c)
        features.append(ConvBNReLU(cin, 1280, kernel=1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = nn.functional.adaptive_avg_pool2d(self.features(x), (1, 1))
        return self.classifier(torch.flatten(x, 1))  # type: ignore[no-any-return]


def test_a_handwritten_mobilenet_v2_has_torchvisions_figures() -> None:
    """torchvision's MobileNet_V2_Weights.IMAGENET1K_V1 meta: num_params 3,504,872, GFLOPS 0.30;
    symbolically equal to the zoo's mobilenet_v2 (written from the paper) at every H and W."""
    model = MobileNetV2()
    arch = cnncalc.from_torch(model, (3, "H", "W"))
    summary = arch.summarize()
    assert summary.total.params == 3_504_872 == sum(p.numel() for p in model.parameters())
    assert round(summary.total.macs / 1e9, 2) == 0.30
    zoo = cnncalc.load("mobilenet_v2").summarize({"alpha": 1}, symbolic=True)
    assert arch.summarize(symbolic=True).total == zoo.total


class Mixed(nn.Module):
    """Functional calls as people write them: F.relu, torch.cat, +, chunk, x.mean, view, F pools."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.left = nn.Conv2d(16, 16, 3, padding=1)
        self.right = nn.Conv2d(16, 8, 1)
        self.gate = nn.Conv2d(24, 24, 1)
        self.head = nn.Linear(24, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.stem(x))
        x = F.max_pool2d(x, 3, stride=2, padding=1)
        y = torch.cat([F.relu(self.left(x)) + x, self.right(x)], dim=1)
        a, b = y.chunk(2, dim=1)
        y = torch.cat((b, a), 1)
        y = y * torch.sigmoid(self.gate(F.adaptive_avg_pool2d(y, 1)))
        y = F.avg_pool2d(y, 2)
        return self.head(y.mean((2, 3)).view(y.size(0), -1))


class CNBlock(nn.Module):
    """torchvision's ConvNeXt block (torchvision/models/convnext.py) without its norm: a parameter
    layer_scale multiplies the branch, ``self.layer_scale * self.block(x)``."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(dim, dim, 7, padding=3, groups=dim),
            nn.Conv2d(dim, 4 * dim, 1),
            nn.GELU(),
            nn.Conv2d(4 * dim, dim, 1),
        )
        self.layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * 1e-6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.layer_scale * self.block(x)  # type: ignore[no-any-return]


def test_a_parameter_scaling_the_branch_is_a_layerscale() -> None:
    """PyTorch's own parameter count, the layer scales' included; both blocks as one block."""
    model = nn.Sequential(OrderedDict(stem=nn.Conv2d(3, 8, 3), stage=nn.Sequential(CNBlock(8), CNBlock(8))))
    text = to_yaml(read_torch(model, (3, "H", "W"), {"H": 32, "W": 32}))
    summary = cnncalc.load(text).summarize()
    assert [r.kind for r in summary.rows].count("layerscale") == 2
    assert summary.total.params == sum(p.numel() for p in model.parameters())
    assert "- cnblock: {repeat: 2, name: stage}" in text


@pytest.mark.parametrize("size", [(64, 64), (97, 45)])
def test_functional_calls_match_pytorch(size: tuple[int, int]) -> None:
    """Each layer's parameters as PyTorch counts them, the output shape as PyTorch computes it."""
    model = Mixed().eval()
    arch = cnncalc.from_torch(model, (3, "H", "W"))
    summary = arch.summarize(H=size[0], W=size[1])
    assert summary.total.params == sum(p.numel() for p in model.parameters())
    for row in summary.rows:
        module = dict(model.named_modules()).get(row.name)
        if module is not None:
            assert row.params == sum(p.numel() for p in module.parameters()), row.name
    with torch.no_grad():
        assert tuple(model(torch.zeros(1, 3, *size)).shape[1:]) == tuple(summary.rows[-1].output)
    pooled = model.stem(torch.zeros(1, 3, *size))
    pooled = F.avg_pool2d(F.max_pool2d(pooled, 3, stride=2, padding=1), 2)
    assert tuple(pooled.shape[2:]) == tuple(next(r for r in summary.rows if r.kind == "avgpool2d").output[1:])


class Unsupported(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.rnn = nn.GRU(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        x = torch.sort(x, dim=1).values
        return x * 2.0


def test_unsupported_ops_are_listed_by_path_class_and_op() -> None:
    with pytest.raises(
        CnncalcError, match=r"Unsupported: 3 unsupported ops: sort \(Unsupported: sort\): cnncalc has no layer"
    ):
        cnncalc.from_torch(Unsupported(), (3, 32, 32))
    with pytest.raises(CnncalcError, match=r"1 unsupported op: mul \(Scaled: mul\): an operand that is a constant"):
        cnncalc.from_torch(Scaled(), (3, 32, 32))


class Scaled(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) * 2.0


class Branchy(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() >= 0:  # data-dependent: fx cannot follow it
            return F.relu(self.conv(x))
        return x


class Up(nn.Module):
    """A U-Net up step as people write it: pads the upsampled map when the skip is larger."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(c, c // 2, 2, stride=2)
        self.conv = nn.Conv2d(c, c // 2, 3, padding=1)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        x1 = self.up(x1)
        dy = x2.size(2) - x1.size(2)
        if dy > 0:  # shape-dependent: fx cannot follow it either
            x1 = F.pad(x1, [0, 0, dy // 2, dy - dy // 2])
        return F.relu(self.conv(torch.cat([x2, x1], dim=1)))


class SmallUNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inc = nn.Conv2d(3, 8, 3, padding=1)
        self.down = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU())
        self.up = Up(16)
        self.sorted = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = F.relu(self.inc(x))
        return self.up(self.down(x1), x1)


def test_control_flow_fx_cannot_follow_is_recorded_and_said() -> None:
    """The submodules (or the whole forward) fx cannot follow are recorded from one run, and the
    file says which, and at what size; counts are PyTorch's, the output shape PyTorch's."""
    for model, part in ((Branchy(), "Branchy"), (SmallUNet(), "up (Up)")):
        text = to_yaml(read_torch(model, (3, "H", "W"), {"H": 32, "W": 32}))
        assert f"recorded from one run at 3x32x32, so their control flow is as it went at that size): {part}" in text
        summary = cnncalc.load(text).summarize()
        assert summary.total.params == sum(p.numel() for p in model.parameters())
        with torch.no_grad():
            assert tuple(model(torch.zeros(1, 3, 32, 32)).shape[1:]) == tuple(summary.rows[-1].output)


class SortsInside(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() >= 0:
            x = torch.sort(x, dim=1).values
        return F.relu(x)


def test_unsupported_ops_in_a_recorded_forward_are_reported() -> None:
    with pytest.raises(CnncalcError, match=r"SortsInside: 1 unsupported op: sort \(sort\): cnncalc has no layer"):
        cnncalc.from_torch(SortsInside(), (3, 8, 8))


def test_what_runs_only_in_training_is_imported_as_training_only() -> None:
    """Inception v3's auxiliary head runs only in training (to_torch's Graph runs it in train
    mode): read from a second, train-mode trace and marked training_only, so the imported file
    summarizes as the zoo's in both views. Published: 27,161,264 parameters (torchvision's
    Inception_V3_Weights meta), 5.713 GFLOPS in inference."""
    arch = cnncalc.load("inception_v3")
    text = to_yaml(read_torch(arch.to_torch(), (3, "H", "W"), arch.defaults))
    assert "Runs only in training (train mode; imported as training_only): AuxLogits" in text
    back = cnncalc.load(text)
    for training in (False, True):
        assert _rows(back.summarize(training=training)) == _rows(arch.summarize(training=training))
    assert back.summarize().total.params == 27_161_264
    assert round(back.summarize().total.macs / 1e9, 3) == 5.713


class AuxNet(nn.Module):
    """torchvision's pattern (Inception3, GoogLeNet): in training, forward returns the output and an
    auxiliary classifier's; in eval, the output alone."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.aux = nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(32, 5))
        self.body = nn.Conv2d(8, 16, 3, stride=2)
        self.fc = nn.Linear(16, 5)

    def forward(self, x: torch.Tensor) -> Any:
        x = F.relu(self.stem(x))
        aux = self.aux(x) if self.training else None
        x = self.fc(torch.flatten(F.adaptive_avg_pool2d(self.body(x), 1), 1))
        return (x, aux) if self.training else x


def test_an_auxiliary_output_in_train_mode_is_a_training_only_head() -> None:
    model = AuxNet()
    back = cnncalc.from_torch(model, (3, "H", "W"), H=32, W=32)
    assert back.summarize().total.params == sum(p.numel() for p in model.parameters())  # PyTorch's count
    only = [r.name for r in back.summarize().rows if r.training_only]
    assert only == ["aux_0", "aux_1", "aux_2"]
    trained = back.summarize(training=True)
    assert trained.total.macs - back.summarize().total.macs == 32 * 5  # the aux linear, counted in training
    with torch.no_grad():
        out = model.eval()(torch.zeros(1, 3, 32, 32))
    assert tuple(trained.rows[-1].output) == tuple(out.shape[1:])


def test_bad_input_shape_is_an_error() -> None:
    with pytest.raises(CnncalcError, match="an input size must be a positive integer or a symbol name, got -3"):
        cnncalc.from_torch(Mixed(), (-3, 32, 32))
    with pytest.raises(
        CnncalcError, match=r"Mixed fails on an input of 1x32x32 at stem: RuntimeError: Given groups=1, weight of size"
    ):
        cnncalc.from_torch(Mixed(), (1, 32, 32))


_LAYER = st.sampled_from(
    [
        "- conv2d: {out_channels: 8, kernel_size: 3, padding: 1}",
        "- conv2d: {out_channels: 12, kernel_size: 1, bias: false}",
        "- conv2d: {out_channels: 8, kernel_size: [3, 1], stride: 2, padding: SAME_UPPER}",
        "- batchnorm2d",
        "- relu",
        "- hardswish",
        "- maxpool2d: {kernel_size: 3, stride: 2, padding: 1, ceil_mode: true}",
        "- avgpool2d: {kernel_size: 2}",
        "- unit: {c: 8}",
    ]
)
_BLOCKS = """blocks:
  unit:
    args: {c: 8}
    layers:
      - conv2d: {out_channels: c, kernel_size: 3, padding: 1}
      - conv2d: {out_channels: c, kernel_size: 1, from: input}
      - add: {from: [conv1, conv2]}
"""


@settings(max_examples=12, deadline=None, derandomize=True)
@given(st.lists(_LAYER, min_size=1, max_size=6), st.sampled_from([1, 2, 3]))
def test_random_architectures_round_trip(layers: list[str], repeat: int) -> None:
    """A random chain (with a residual block, repeated) -> to_torch -> import: the same summary,
    symbolic in H and W. 12 examples, fixed seed (derandomize)."""
    body = "\n".join(f"  {line}" for line in layers).replace("unit: {c: 8}", f"unit: {{c: 8, repeat: {repeat}}}")
    text = f"name: R\ninput: [3, H, W]\nsymbols: {{H: 40, W: 40}}\n{_BLOCKS}layers:\n{body}\n"
    arch = cnncalc.load(text)
    imported = cnncalc.from_torch(arch.to_torch(), (3, "H", "W"), H=40, W=40)
    assert _rows(imported.summarize(symbolic=True)) == _rows(arch.summarize(symbolic=True))
