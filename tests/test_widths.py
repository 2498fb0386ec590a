"""Width multipliers: MobileNetV2 and MobileNetV3 at alpha = 0.35 ... 1.4 against the published
tables, Keras and torchvision's own builders rebuilt in PyTorch; rational symbols end to end.

Sources (every asserted number is one of these or computed here independently, never cnncalc's
own output pasted back):
- [TFSLIM] TF-Slim's MobileNetV2 checkpoint table, research/slim/nets/mobilenet/README.md of
  tensorflow/models (commit 0ba83cf0): MACs (M) and parameters (M) for depth multipliers 0.35,
  0.5, 0.75, 1.0, 1.3, 1.4 at resolutions 96 to 224 (transcribed in TF_SLIM_V2 below).
- [TV] torchvision's weight metadata ``num_params``: mobilenet_v2 3,504,872 (mobilenetv2.py),
  mobilenet_v3_large 5,483,032 and mobilenet_v3_small 2,542,856 (mobilenetv3.py).
- [TVSRC] torchvision/models/mobilenetv2.py, mobilenetv3.py (``_mobilenet_v3_conf``,
  ``InvertedResidualConfig.adjust_channels``), _utils.py (``_make_divisible``) and ops/misc.py
  (Conv2dNormActivation, SqueezeExcitation), rebuilt below in plain torch.nn (torchvision cannot be
  imported beside this torch): parameters counted by PyTorch, MACs of every Conv2d and Linear by
  forward hooks on a 224x224 input, channel widths read off the modules.
- [KERAS] keras.applications.MobileNetV2(alpha=..., weights=None), Keras 3 on the torch backend,
  built here.

Not compared: TF-Slim's MobileNetV3 table (Large and Small at depth multipliers 1.0 and 0.75) is
of TF-Slim's own V3 builder, whose widths at 1.0 already differ from torchvision's: its Small
(66 M MACs, 2.9 M parameters) is not torchvision's (2,542,856 parameters [TV]).

Added test time: about 15 s on a busy 2-CPU machine (Keras about 6 s of it: its import and six
models; the PyTorch references are built on the meta device, without weights).
"""

from __future__ import annotations

import json
import math
import os
import re
from fractions import Fraction
from functools import cache
from typing import Any

import pytest

import cnncalc
from cnncalc.errors import CnncalcError
from cnncalc.functions import exact
from cnncalc.functions import make_divisible as exact_make_divisible

from .conftest import run

torch = pytest.importorskip("torch")
nn = torch.nn

WIDTHS = ["0.35", "0.5", "0.75", "1.0", "1.3", "1.4"]

# [TFSLIM] (depth multiplier, resolution) -> (MACs in millions, parameters in millions)
TF_SLIM_V2 = {
    ("1.4", 224): (582, 6.06),
    ("1.3", 224): (509, 5.34),
    ("1.0", 224): (300, 3.47),
    ("1.0", 192): (221, 3.47),
    ("1.0", 160): (154, 3.47),
    ("1.0", 128): (99, 3.47),
    ("1.0", 96): (56, 3.47),
    ("0.75", 224): (209, 2.61),
    ("0.75", 192): (153, 2.61),
    ("0.75", 160): (107, 2.61),
    ("0.75", 128): (69, 2.61),
    ("0.75", 96): (39, 2.61),
    ("0.5", 224): (97, 1.95),
    ("0.5", 192): (71, 1.95),
    ("0.5", 160): (50, 1.95),
    ("0.5", 128): (32, 1.95),
    ("0.5", 96): (18, 1.95),
    ("0.35", 224): (59, 1.66),
    ("0.35", 192): (43, 1.66),
    ("0.35", 160): (30, 1.66),
    ("0.35", 128): (20, 1.66),
    ("0.35", 96): (11, 1.66),
}
# [TV] num_params at width 1.0
TV_PARAMS = {"mobilenet_v2": 3_504_872, "mobilenet_v3_large": 5_483_032, "mobilenet_v3_small": 2_542_856}


@cache
def arch(name: str) -> cnncalc.Architecture:
    return cnncalc.load(name)


@cache
def summary(name: str, width: str, size: int = 224) -> cnncalc.Summary:
    return arch(name).summarize(alpha=width, H=size, W=size)


# --- torchvision's builders in plain PyTorch [TVSRC] ------------------------------------------------


def make_divisible(v: float, divisor: int = 8) -> int:
    """torchvision's _make_divisible, in floats as torchvision computes it."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


class Block(nn.Module):  # type: ignore[misc]
    """An inverted residual: its layers, and the input added back where use_res_connect holds."""

    def __init__(self, layers: list[Any], residual: bool) -> None:
        super().__init__()
        self.body, self.residual = nn.Sequential(*layers), residual

    def forward(self, x: Any) -> Any:
        return x + self.body(x) if self.residual else self.body(x)


class SqueezeExcitation(nn.Module):  # type: ignore[misc]
    """torchvision.ops.SqueezeExcitation with MobileNetV3's ReLU and Hardsigmoid."""

    def __init__(self, channels: int, squeeze: int) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Conv2d(channels, squeeze, 1), nn.Conv2d(squeeze, channels, 1)

    def forward(self, x: Any) -> Any:
        scale = nn.functional.adaptive_avg_pool2d(x, 1)
        return nn.functional.hardsigmoid(self.fc2(nn.functional.relu(self.fc1(scale)))) * x


def cna(i: int, o: int, k: int = 3, s: int = 1, g: int = 1, act: Any = None, eps: float = 1e-5) -> list[Any]:
    """Conv2dNormActivation: conv (no bias, padding (k - 1)/2), BatchNorm, activation."""
    layers = [nn.Conv2d(i, o, k, s, (k - 1) // 2, groups=g, bias=False), nn.BatchNorm2d(o, eps=eps)]
    return layers + ([act()] if act is not None else [])


def mobilenet_v2(width: float) -> Any:
    """torchvision's MobileNetV2(width_mult=width)."""
    settings = [
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    ]
    inp, last = make_divisible(32 * width), make_divisible(1280 * max(1.0, width))
    features = cna(3, inp, s=2, act=nn.ReLU6)
    for t, c, n, s in settings:
        out = make_divisible(c * width)
        for i in range(n):
            stride, hidden = (s if i == 0 else 1), round(inp * t)
            layers = cna(inp, hidden, k=1, act=nn.ReLU6) if t != 1 else []
            layers += cna(hidden, hidden, s=stride, g=hidden, act=nn.ReLU6) + cna(hidden, out, k=1)
            features.append(Block(layers, stride == 1 and inp == out))
            inp = out
    features += cna(inp, last, k=1, act=nn.ReLU6)
    head = [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2), nn.Linear(last, 1000)]
    return nn.Sequential(*features, *head)


# (input, kernel, expanded, output, SE, activation, stride) of _mobilenet_v3_conf's bneck_conf rows
V3_LARGE = [
    (16, 3, 16, 16, False, "RE", 1), (16, 3, 64, 24, False, "RE", 2), (24, 3, 72, 24, False, "RE", 1),
    (24, 5, 72, 40, True, "RE", 2), (40, 5, 120, 40, True, "RE", 1), (40, 5, 120, 40, True, "RE", 1),
    (40, 3, 240, 80, False, "HS", 2), (80, 3, 200, 80, False, "HS", 1), (80, 3, 184, 80, False, "HS", 1),
    (80, 3, 184, 80, False, "HS", 1), (80, 3, 480, 112, True, "HS", 1), (112, 3, 672, 112, True, "HS", 1),
    (112, 5, 672, 160, True, "HS", 2), (160, 5, 960, 160, True, "HS", 1), (160, 5, 960, 160, True, "HS", 1),
]  # fmt: skip
V3_SMALL = [
    (16, 3, 16, 16, True, "RE", 2), (16, 3, 72, 24, False, "RE", 2), (24, 3, 88, 24, False, "RE", 1),
    (24, 5, 96, 40, True, "HS", 2), (40, 5, 240, 40, True, "HS", 1), (40, 5, 240, 40, True, "HS", 1),
    (40, 5, 120, 48, True, "HS", 1), (48, 5, 144, 48, True, "HS", 1), (48, 5, 288, 96, True, "HS", 2),
    (96, 5, 576, 96, True, "HS", 1), (96, 5, 576, 96, True, "HS", 1),
]  # fmt: skip
V3 = {"mobilenet_v3_large": (V3_LARGE, 1280), "mobilenet_v3_small": (V3_SMALL, 1024)}


def mobilenet_v3(name: str, width: float) -> Any:
    """torchvision's mobilenet_v3_large / _small(width_mult=width): every width adjust_channels'd."""
    conf, last_channel = V3[name]

    def adjust(c: int) -> int:
        return make_divisible(c * width)

    features = cna(3, adjust(conf[0][0]), s=2, act=nn.Hardswish, eps=0.001)
    for inp, k, exp, out, se, activation, s in conf:
        inp, exp, out = adjust(inp), adjust(exp), adjust(out)
        act = nn.Hardswish if activation == "HS" else nn.ReLU
        layers = cna(inp, exp, k=1, act=act, eps=0.001) if exp != inp else []
        layers += cna(exp, exp, k=k, s=s, g=exp, act=act, eps=0.001)
        layers += [SqueezeExcitation(exp, make_divisible(exp // 4))] if se else []
        layers += cna(exp, out, k=1, eps=0.001)
        features.append(Block(layers, s == 1 and inp == out))
    last_conv = 6 * adjust(conf[-1][3])
    features += cna(adjust(conf[-1][3]), last_conv, k=1, act=nn.Hardswish, eps=0.001)
    hidden = adjust(last_channel)
    head = [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(last_conv, hidden), nn.Hardswish(), nn.Dropout(0.2)]
    return nn.Sequential(*features, *head, nn.Linear(hidden, 1000))


@cache
def reference(name: str, width: str) -> tuple[int, int, tuple[int, ...], int]:
    """torchvision's network at ``width``: (parameters, MACs of its convs and linears at 224x224,
    the output widths of its convs and linears in order, the number of inputs added back)."""
    with torch.device("meta"):  # shapes and counts without allocating or initialising weights
        model = mobilenet_v2(float(width)) if name == "mobilenet_v2" else mobilenet_v3(name, float(width))
    macs = [0]

    def count(module: Any, inputs: Any, output: Any) -> None:
        if isinstance(module, nn.Conv2d):
            k = math.prod(module.kernel_size)
            macs[0] += output.numel() * module.in_channels // module.groups * k
        else:
            macs[0] += module.in_features * module.out_features

    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    for m in layers:
        m.register_forward_hook(count)
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, 224, 224, device="meta"))
    widths = tuple(m.out_channels if isinstance(m, nn.Conv2d) else m.out_features for m in layers)
    residuals = sum(1 for m in model.modules() if isinstance(m, Block) and m.residual)
    return sum(p.numel() for p in model.parameters()), macs[0], widths, residuals


def widths_of(s: cnncalc.Summary) -> tuple[int, ...]:
    return tuple(r.output[0] for r in s.rows if r.kind in ("conv2d", "linear"))


NAMES = ["mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small"]


@pytest.mark.parametrize("name", NAMES)
def test_the_rebuilt_references_are_torchvisions_at_width_1(name: str) -> None:
    assert reference(name, "1.0")[0] == TV_PARAMS[name]  # [TV]: the references are the real thing


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", NAMES)
def test_every_width_is_torchvisions(name: str, width: str) -> None:
    params, macs, widths, residuals = reference(name, width)
    s = summary(name, width)
    assert widths_of(s) == widths
    assert s.total.params == params
    assert s.total.macs == macs
    adds = sum(1 for r in s.rows if r.kind == "add")
    assert adds == residuals  # MobileNetV3-Small at 0.35 and 0.5: features.7 too (40 -> 48 rounds to 16 or 24)


@pytest.mark.parametrize("name", NAMES)
def test_a_width_of_one_changes_nothing(name: str) -> None:
    # The files before widths: literal channel counts; the defaults give torchvision's counts [TV].
    assert arch(name).summarize().total.params == TV_PARAMS[name]
    assert arch(name).summarize() == arch(name).summarize(alpha=1)


def test_exact_widths_are_torchvisions_floats_for_these_networks() -> None:
    # make_divisible is exact in cnncalc and in floats in torchvision; they part only where the
    # float product c*alpha lands just below a multiple of 8 plus 4 (720*0.35 = 251.99999999999997),
    # which none of these tables' widths does at the widths people use.
    channels = {c for row in V3_LARGE + V3_SMALL for c in (row[0], row[2], row[3])}
    channels |= {16, 24, 32, 64, 96, 160, 320, 1280, 1024}  # MobileNetV2's, and the V3 heads'
    for width in [*WIDTHS, "0.25", "0.6", "0.9", "1.25", "1.5", "2.0"]:
        for c in channels:
            assert make_divisible(c * float(width)) == exact_make_divisible(exact(width) * c, 8), (c, width)


# --- the published tables [TFSLIM] ---------------------------------------------------------------------


@pytest.mark.parametrize(("width", "size"), list(TF_SLIM_V2))
def test_mobilenet_v2_macs_are_tf_slims(width: str, size: int) -> None:
    published, _ = TF_SLIM_V2[width, size]
    # The table gives whole millions, truncated: each of its 22 figures is the integer part of the
    # exact count (rounding would miss 9 of them, 300.77 M at 1.0 among them).
    assert math.floor(summary("mobilenet_v2", width, size).total.macs / 1e6) == published


@pytest.mark.parametrize("width", WIDTHS)
def test_mobilenet_v2_params_are_tf_slims(width: str) -> None:
    _, published = TF_SLIM_V2[width, 224]
    s = summary("mobilenet_v2", width)
    # TF-Slim's builder is torchvision's up to its classifier of 1001 classes (a background class:
    # one more row of last_channel weights and a bias), and its table leaves batch normalisation's
    # parameters out (2 per channel: gamma and beta, which torchvision counts). With those two
    # differences the count is the table's to its 2 decimals at every width.
    batchnorm = sum(r.params for r in s.rows if r.kind == "batchnorm2d")
    last_channel = s.rows[-1].input[0]
    assert round((s.total.params - batchnorm + last_channel + 1) / 1e6, 2) == published


@pytest.fixture(scope="module")
def keras() -> Any:
    os.environ.setdefault("KERAS_BACKEND", "torch")  # chosen once per process, before the import
    module = pytest.importorskip("keras")
    if module.backend.backend() != "torch":
        pytest.skip("keras was imported with another backend")
    return module


@pytest.mark.parametrize("width", WIDTHS)
def test_mobilenet_v2_params_are_keras(keras: Any, width: str) -> None:
    model = keras.applications.MobileNetV2(alpha=float(width), weights=None)
    trainable = sum(int(keras.ops.size(w)) for w in model.trainable_weights)
    s = summary("mobilenet_v2", width)
    # Keras builds torchvision's layout; its count_params() adds BatchNorm's moving mean and
    # variance (non-trainable), as many as its gamma and beta.
    batchnorm = sum(r.params for r in s.rows if r.kind == "batchnorm2d")
    assert s.total.params == trainable
    assert s.total.params + batchnorm == model.count_params()


# --- rational symbols ------------------------------------------------------------------------------------


def test_a_width_is_read_exactly_however_it_is_given() -> None:
    expected = reference("mobilenet_v2", "0.35")[0]
    for given in ("0.35", "7/20", "35e-2", 0.35, Fraction(7, 20)):
        assert arch("mobilenet_v2").summarize(alpha=given).total.params == expected, given
    for text in ("alpha=0.35", "alpha=7/20"):
        result = run("summarize", "mobilenet_v2", "--set", text)
        assert result.exit_code == 0, result.stderr
        assert f"Total params: {expected:,}" in result.stdout


def test_a_symbolic_summary_holds_a_width_at_its_value() -> None:
    # Sizes stay symbolic; alpha is a number in every cell, so the symbolic summary at H = W = 160
    # is the numeric one [the identity of the two evaluations, checked at a width that rounds].
    s = arch("mobilenet_v3_small").summarize(symbolic=True, alpha="0.75")
    assert s.symbols == ["H", "W"]
    assert s.subs(H=160, W=160) == arch("mobilenet_v3_small").summarize(alpha="0.75", H=160, W=160)


def _file(tmp_path: Any, symbols: str, field: str = "out_channels: 'make_divisible(32*alpha, 8)'") -> str:
    path = tmp_path / "net.yaml"
    path.write_text(
        f"name: net\ninput: [3, 32, 32]\nsymbols: {symbols}\nlayers:\n  - conv2d: {{{field}, kernel_size: 3}}\n"
    )
    return str(path)


@pytest.mark.parametrize(
    ("symbols", "field", "message"),
    [
        (
            "{alpha: {default: 0.35, rational: true}}",
            "out_channels: 32*alpha",
            r"net\.yaml:5:28: layer conv1 \(conv2d\), input \[3, 32, 32\]: out_channels: '32\*alpha' is not a whole "
            r"number \(56/5\): "
            r"round it \(floor, ceil, round or make_divisible\)",
        ),
        (
            "{alpha: {default: 0.35, rational: true, multiple_of: 2}}",
            None,
            r"net\.yaml:3:10: .*alpha: multiple_of applies to whole-number symbols, not to a rational one",
        ),
        ("{alpha: {default: abc, rational: true}}", None, r"net\.yaml:3:10: .*the default 'abc' is not a number"),
        ("{alpha: {default: 0, rational: true}}", None, r"net\.yaml:3:10: .*alpha must be positive, got 0"),
        (
            "{alpha: {default: 0.5}}",
            None,
            r"net\.yaml:3:10: .*must be a positive integer, got 0\.5 \(or declare it rational\)",
        ),
        ("{round: 2, alpha: {default: 1, rational: true}}", None, r"net\.yaml:3:10: .*'round' names a function"),
        (
            "{alpha: {default: 1, rational: true}}",
            "out_channels: 'round(alpha)*make_divisible'",
            r"make_divisible is a function, not a value",
        ),
    ],
)
def test_bad_widths_say_where_and_what(tmp_path: Any, symbols: str, field: str | None, message: str) -> None:
    result = run("summarize", _file(tmp_path, symbols, *([field] if field else [])))
    assert result.exit_code == 2
    assert re.search(message, result.stderr), result.stderr


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        (
            "H=0.5",
            r"the value of H must be a positive integer, got 0\.5 \(H is whole: the file does not declare it rational\)",
        ),
        (
            "alpha=-0.5",
            r"'alpha=-0.5': the value must be a positive whole number \(or, for a rational symbol, a positive",
        ),
        ("alpha=abc", r"'alpha=abc': the value must be a positive whole number"),
    ],
)
def test_bad_values_on_the_command_line(assignment: str, message: str) -> None:
    result = run("summarize", "mobilenet_v2", "--set", assignment)
    assert result.exit_code == 2 and re.search(message, result.stderr), result.stderr


def test_a_rational_symbol_without_a_value_cannot_stay_symbolic(tmp_path: Any) -> None:
    net = cnncalc.load(_file(tmp_path, "{alpha: {rational: true}}"))
    with pytest.raises(CnncalcError, match=r"alpha is rational and has no value: give it one \(--set alpha=0\.75\)"):
        net.summarize(symbolic=True)
    assert net.summarize(alpha="0.75").rows[0].output[0] == make_divisible(32 * 0.75)


# --- sweeps ---------------------------------------------------------------------------------------------


def test_a_sweep_over_widths_is_the_summaries() -> None:
    sweep = arch("mobilenet_v2").sweep(alpha="0.35,0.5,1.4", H="96:224:64", W="H", columns=["params", "macs"])
    rows = [(r["alpha"], r["H"], r["params"], r["macs"]) for r in sweep]
    by_hand = [
        (float(a), h, s.total.params, s.total.macs)
        for a in ("0.35", "0.5", "1.4")
        for h in (96, 160, 224)
        if (s := arch("mobilenet_v2").summarize(alpha=a, H=h, W=h))
    ]
    assert rows == by_hand and sweep.points == 9
    ranged = arch("mobilenet_v3_small").sweep(alpha="0.25:1:0.25", columns=["params"], engine="python")
    assert [r["params"] for r in ranged] == [
        reference("mobilenet_v3_small", w)[0] for w in ("0.25", "0.5", "0.75", "1.0")
    ]


def test_a_sweep_at_one_width_says_so() -> None:
    sweep = arch("mobilenet_v3_large").sweep(alpha="0.75", H="128:224:96", W=160, columns=["macs"])
    data = json.loads(sweep.render("json"))
    assert data["fixed"] == {"alpha": 0.75, "W": 160}
    assert [r["macs"] for r in data["rows"]] == [
        arch("mobilenet_v3_large").summarize(alpha="0.75", H=h, W=160).total.macs for h in (128, 224)
    ]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"alpha": "beta"}, r"alpha=beta: 'beta' is not a number .* alpha is rational: give numbers"),
        ({"alpha": "0.01:2:0.01"}, r"has 200 values \(limit 64\)"),
        ({"alpha": "0:1:0.5"}, r"alpha: values must be positive, got 0"),
    ],
)
def test_bad_sweeps_over_widths(values: dict[str, str], message: str) -> None:
    with pytest.raises(CnncalcError, match=message):
        arch("mobilenet_v2").sweep(values)


def test_solve_holds_a_width_at_its_value() -> None:
    with pytest.raises(CnncalcError, match=r"alpha is rational: held at 1 here, it takes other values in sweeps only"):
        arch("mobilenet_v2").solve(maximize="alpha", where="params <= 3e6")
