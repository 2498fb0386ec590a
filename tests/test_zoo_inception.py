"""GoogLeNet, Inception v3 and SqueezeNet of the zoo against published counts, the closed form of
their last feature maps, and the padded U-Net against a hand count.

Sources:
- [TV] torchvision's weights metadata (torchvision/models/googlenet.py, inception.py,
  squeezenet.py): ``num_params`` and ``_ops`` (GMACs at the default input, 3 decimals), shown
  rounded to 2 decimals in the GFLOPS column of https://pytorch.org/vision/stable/models.html;
  ``min_size`` (the smallest input the model accepts): googlenet 15, inception_v3 75,
  squeezenet1_0 21, squeezenet1_1 17.
- [TVsrc] the same files' module definitions: the kernel, stride, padding and ceil_mode of every
  layer that changes the spatial size (listed in STRIDED below).
- [UNet] Ronneberger, Fischer and Brox, "U-Net" (MICCAI 2015), Figure 1: 64-128-256-512-1024
  channels, two 3x3 conv + ReLU per level, 2x2 max pool, 2x2 up-conv halving the channels, skip
  concatenation, final 1x1 conv to 2 classes. Its parameter count with one input channel,
  31,030,658, is printed by Keras' model.summary() in e.g. "Model Implementation: Original U-Net in
  Keras / Tensorflow 2.3" (input (572, 572, 1), output (388, 388, 2)); padding does not change the
  count. The often quoted 31,031,810 is the same U-Net with THREE input channels (e.g.
  github.com/themnvrao76/Classical-to-Modern-Computer-Vision, models/unet.py: in_channels=3,
  padded, "Parameters" in its README): 1152 = 3*3*(3-1)*64 more in the first conv.

Every expected number is published or computed here by hand, never taken from cnncalc's output.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
import sympy
import yaml

import cnncalc
from cnncalc.errors import ShapeError

ARCHITECTURES = Path(__file__).resolve().parent.parent / "architectures"

# [TV] num_params (exact), _ops (3 decimals) and the docs' 2-decimal GFLOPS.
NETS = [
    # bundled name, num_params, _ops, docs GFLOPS
    ("googlenet", 6_624_904, 1.498, 1.50),
    ("inception_v3", 27_161_264, 5.713, 5.71),
    ("squeezenet1_0", 1_248_424, 0.819, 0.82),
    ("squeezenet1_1", 1_235_496, 0.349, 0.35),
]
NAMES = [name for name, *_ in NETS]
DEFAULT = {"googlenet": 224, "inception_v3": 299, "squeezenet1_0": 224, "squeezenet1_1": 224}
# The global pool whose input is the last feature map, and that map's channels ([TVsrc]: GoogLeNet's
# inception5b 384+384+128+128, Inception3's Mixed_7c 320+768+768+192, SqueezeNet's classifier conv).
POOL = {
    "googlenet": ("avgpool", 1024),
    "inception_v3": ("avgpool", 2048),
    "squeezenet1_0": ("classifier.3", 1000),
    "squeezenet1_1": ("classifier.3", 1000),
}

H = sympy.Symbol("H", integer=True, positive=True)
W = sympy.Symbol("W", integer=True, positive=True)


@cache
def numeric(name: str, h: int | None = None, w: int | None = None) -> cnncalc.Summary:
    h = h or DEFAULT[name]
    return cnncalc.load(name).summarize(H=h, W=w or h)


@cache
def symbolic(name: str) -> cnncalc.Summary:
    return cnncalc.load(name).summarize(symbolic=True)


def pool_input(summary: cnncalc.Summary, name: str) -> tuple[object, ...]:
    rows = [r for r in summary.rows if r.name == POOL[name][0]]
    assert len(rows) == 1
    return rows[0].input


# --- totals ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "params", "ops", "gflops"), NETS)
def test_params(name: str, params: int, ops: float, gflops: float) -> None:
    total = numeric(name).total
    assert total.params == params
    assert total.trainable_params == params


@pytest.mark.parametrize(("name", "params", "ops", "gflops"), NETS)
def test_gflops(name: str, params: int, ops: float, gflops: float) -> None:
    # inception_v3's auxiliary head (AuxLogits) is marked training_only: like torchvision's eval-mode
    # measurement, the default (inference) summary counts its params but not its MACs.
    summary = numeric(name)
    gmacs = summary.total.macs / 1e9
    assert abs(gmacs - gflops) / gflops <= 0.005
    assert abs(gmacs - ops) / ops <= 0.005
    main = sum(r.macs for r in summary.rows if not r.name.startswith("AuxLogits.")) / 1e9
    assert main == gmacs and round(gmacs, 3) == ops


def test_inception_v3_aux_head_macs() -> None:
    # [TVsrc] InceptionAux on Mixed_6e (768 x 17 x 17): 5x5/3 avg pool -> 5x5, 1x1 conv to 128,
    # 5x5 conv to 768 (-> 1x1), linear 768 -> 1000. By hand:
    expected = 768 * 128 * 5 * 5 + 5 * 5 * 128 * 768 * 1 * 1 + 768 * 1000
    training = cnncalc.load("inception_v3").summarize(training=True)  # the head runs only in training
    rows = [r for r in training.rows if r.name.startswith("AuxLogits.")]
    assert sum(r.macs for r in rows) == expected == 5_683_200


@pytest.mark.parametrize("name", NAMES)
def test_symbolic_at_defaults_equals_numeric(name: str) -> None:
    d = DEFAULT[name]
    assert symbolic(name).subs(H=d, W=d) == numeric(name)


# --- the last feature map ----------------------------------------------------------------------------

# [TVsrc] the layers that change the size, as (kernel, stride, padding, ceil_mode); every other layer
# keeps it (1x1 convs, 3x3 pad 1, 5x5 pad 2, 1x7 pad (0, 3), the Inception branches' 3x3/1 pools pad 1).
STRIDED = {
    # conv1 7x7/2 pad 3, maxpool1-3 3x3/2 and maxpool4 2x2/2, all pools ceil_mode
    "googlenet": [(7, 2, 3, False), (3, 2, 0, True), (3, 2, 0, True), (3, 2, 0, True), (2, 2, 0, True)],
    # Conv2d_1a 3x3/2, 2a 3x3, maxpool1 3x3/2, 4a 3x3, maxpool2 3x3/2, Mixed_6a 3x3/2, Mixed_7a 3x3/2
    "inception_v3": [(3, 2, 0, False), (3, 1, 0, False), (3, 2, 0, False), (3, 1, 0, False)] + [(3, 2, 0, False)] * 3,
    # conv1 7x7/2, then three 3x3/2 ceil-mode max pools
    "squeezenet1_0": [(7, 2, 0, False)] + [(3, 2, 0, True)] * 3,
    # conv1 3x3/2, then three 3x3/2 ceil-mode max pools
    "squeezenet1_1": [(3, 2, 0, False)] + [(3, 2, 0, True)] * 3,
}
MIN_SIZE = {"googlenet": 15, "inception_v3": 75, "squeezenet1_0": 21, "squeezenet1_1": 17}  # [TV]


def window(size: int, k: int, s: int, p: int, ceil: bool) -> int:
    """PyTorch's output size of a conv or pool, by integer arithmetic: floor((n + 2p - k)/s) + 1, or
    in ceil mode ceil(...) + 1 minus a last window that would start in the right padding or past it."""
    span = size + 2 * p - k
    if not ceil:
        return span // s + 1
    out = -(-span // s) + 1
    if (out - 1) * s >= size + p:
        out -= 1
    return out


def recurrence(name: str, size: int) -> int:
    for k, s, p, ceil in STRIDED[name]:
        size = window(size, k, s, p, ceil)
    return size


# By hand: a stride-2 ceil-mode 3x3 pool maps n to ceil((n-1)/2) = floor(n/2), the 2x2 one
# n to ceil(n/2), a 3x3/2 conv or floor-mode pool n to floor((n-1)/2), and
# floor((floor(x/a) + b)/c) = floor((x + a*b)/(a*c)), so:
# googlenet: ceil(H/2) -> floor((H+1)/4) -> /8 -> /16 -> floor((H+17)/32)   (7 at 224)
# inception_v3: floor((H-1)/2) - 2 -> floor((H-7)/4) - 2 -> floor((H-19)/8) -> floor((H-27)/16)
#   -> floor((H-43)/32)   (8 at 299)
# squeezenet1_0: floor((H-5)/2) -> floor((H-5)/16)   (13 at 224)
# squeezenet1_1: floor((H-1)/2) -> floor((H-1)/16)   (13 at 224)
CLOSED_FORM = {
    "googlenet": sympy.floor((H + 17) / 32),
    "inception_v3": sympy.floor((H - 43) / 32),
    "squeezenet1_0": sympy.floor((H - 5) / 16),
    "squeezenet1_1": sympy.floor((H - 1) / 16),
}
AT_DEFAULT = {"googlenet": 7, "inception_v3": 8, "squeezenet1_0": 13, "squeezenet1_1": 13}  # [TVsrc] comments


def sizes(name: str) -> list[int]:
    m = MIN_SIZE[name]
    return [m, m + 1, m + 2, 31, 32, 33, 63, 64, 65, 100, 223, 224, 225, 299, 300, 320, 331, 511, 512, 1000]


@pytest.mark.parametrize("name", NAMES)
def test_closed_form_matches_the_recurrence(name: str) -> None:
    form = CLOSED_FORM[name]
    assert form.subs(H, DEFAULT[name]) == recurrence(name, DEFAULT[name]) == AT_DEFAULT[name]
    for h in sizes(name):
        if h >= MIN_SIZE[name]:
            assert form.subs(H, h) == recurrence(name, h), h


@pytest.mark.parametrize("name", NAMES)
def test_last_feature_map_closed_form(name: str) -> None:
    channels = POOL[name][1]
    shape = pool_input(symbolic(name), name)
    assert shape == (channels, CLOSED_FORM[name], CLOSED_FORM[name].subs(H, W))
    d = DEFAULT[name]
    assert pool_input(numeric(name), name) == (channels, AT_DEFAULT[name], AT_DEFAULT[name])
    valid = [h for h in sizes(name) if h >= MIN_SIZE[name]]
    for h, w in zip(valid, reversed(valid), strict=True):
        assert tuple(sympy.sympify(v).subs({H: h, W: w}) for v in shape) == (
            channels,
            recurrence(name, h),
            recurrence(name, w),
        )
    assert d in valid


# The numeric path at other sizes. inception_v3's auxiliary head needs H, W >= 299 (its 5x5 conv
# reads the 5x5/3 pool of Mixed_6e: floor((floor((H-27)/16) - 5)/3) + 1 >= 5), as in PyTorch's
# training mode; the other nets are taken at sizes where no pool window is larger than its input.
NUMERIC_SIZES = {
    "googlenet": [(31, 32), (33, 65), (100, 223), (225, 224), (512, 383)],
    "inception_v3": [(299, 300), (300, 331), (331, 512), (512, 299)],
    "squeezenet1_0": [(37, 38), (53, 100), (225, 224), (512, 383)],
    "squeezenet1_1": [(33, 34), (49, 100), (225, 224), (512, 383)],
}


@pytest.mark.parametrize(("name", "hw"), [(n, hw) for n in NAMES for hw in NUMERIC_SIZES[n]])
def test_last_feature_map_numeric(name: str, hw: tuple[int, int]) -> None:
    h, w = hw
    assert pool_input(numeric(name, h, w), name) == (POOL[name][1], recurrence(name, h), recurrence(name, w))


@pytest.mark.parametrize("name", ["googlenet", "squeezenet1_0", "squeezenet1_1"])
def test_torchvision_min_size(name: str) -> None:
    m = MIN_SIZE[name]  # [TV] min_size: torchvision runs these nets at m x m
    assert pool_input(numeric(name, m, m), name) == (POOL[name][1], 1, 1)
    assert recurrence(name, m) == 1


# --- U-Net -------------------------------------------------------------------------------------------

WIDTHS = [64, 128, 256, 512, 1024]  # [UNet] Figure 1


def conv(cin: int, cout: int, k: int) -> int:
    """Parameters of a k x k conv (or transposed conv) with bias."""
    return k * k * cin * cout + cout


def unet_params(in_channels: int, classes: int) -> int:
    """[UNet] by hand: double 3x3 convs down, 2x2 up-convs halving the channels, double 3x3 convs on
    the concatenation (skip + upsampled: twice the width), 1x1 conv to the classes."""
    total, cin = 0, in_channels
    for w in WIDTHS:
        total += conv(cin, w, 3) + conv(w, w, 3)
        cin = w
    for w in reversed(WIDTHS[:-1]):
        total += conv(cin, w, 2) + conv(2 * w, w, 3) + conv(w, w, 3)
        cin = w
    return total + conv(WIDTHS[0], classes, 1)


def unet_macs(h: int, w: int, in_channels: int = 1, classes: int = 2) -> int:
    """MACs by hand (bias excluded): a conv at level l (size h/2^l x w/2^l) costs k*k*cin*cout per
    output pixel; a 2x2 stride-2 up-conv k*k*cin*cout per INPUT pixel (= cin*cout per output pixel)."""
    total, cin = 0, in_channels
    for level, c in enumerate(WIDTHS):
        pixels = (h >> level) * (w >> level)
        total += 9 * cin * c * pixels + 9 * c * c * pixels
        cin = c
    for level in (3, 2, 1, 0):
        c, pixels = WIDTHS[level], (h >> level) * (w >> level)
        total += cin * c * pixels + 9 * 2 * c * c * pixels + 9 * c * c * pixels
        cin = c
    return total + WIDTHS[0] * classes * h * w


def unet_variant(**changes: object) -> cnncalc.Architecture:
    data = yaml.safe_load((ARCHITECTURES / "unet.yaml").read_text())
    data.update(changes)
    return cnncalc.load(data)


def test_unet_params() -> None:
    assert unet_params(1, 2) == 31_030_658  # [UNet] Keras summary of the one-channel U-Net
    assert unet_params(3, 2) == 31_031_810  # [UNet] the three-channel figure
    total = cnncalc.load("unet").summarize().total
    assert total.params == total.trainable_params == unet_params(1, 2)
    assert unet_variant(input=[3, "H", "W"]).summarize().total.params == 31_031_810


@pytest.mark.parametrize("side", [16, 32, 48, 256, 512, 576])
def test_unet_numeric_output_and_macs(side: int) -> None:
    s = cnncalc.load("unet").summarize(H=side, W=2 * side)
    assert s.rows[-1].output == (2, side, 2 * side)
    assert s.total.macs == unet_macs(side, 2 * side)


@pytest.mark.parametrize("side", [572, 100, 40, 24])
def test_unet_needs_a_multiple_of_16(side: int) -> None:
    # Four 2x2 pools floor the size; four up-convs double it: only a multiple of 16 comes back to
    # the skip's size. The file declares H and W multiples of 16, so cnncalc refuses other values
    # up front; without that declaration the concatenation refuses the mismatch (as torch.cat does).
    with pytest.raises(cnncalc.CnncalcError, match=f"H={side} is not a multiple of 16"):
        cnncalc.load("unet").summarize(H=side, W=256)
    with pytest.raises(ShapeError, match="concat"):
        unet_variant(symbols={"H": 256, "W": 256}).summarize(H=side, W=256)


def test_unet_symbolic_for_sides_divisible_by_16() -> None:
    # H and W are declared multiples of 16, so the skip (H/8) and the up-conv (2 * H/16) agree
    # exactly and the whole decoder stays in closed form.
    H, W = sympy.Symbol("H", integer=True, positive=True), sympy.Symbol("W", integer=True, positive=True)
    sym = cnncalc.load("unet").summarize(symbolic=True)
    assert sym.rows[-1].output == (2, H, W)  # [2, H, W]
    assert sym.total.params == unet_params(1, 2)
    assert sympy.expand(sym.total.macs - unet_macs(16, 16) * H * W / 256) == 0  # MACs scale with the area
    assert sym.subs(H=256, W=256) == cnncalc.load("unet").summarize()
    # Without the declaration, a free H cannot be assumed divisible: cnncalc says where they agree.
    with pytest.raises(ShapeError, match="agree only where"):
        unet_variant(symbols={"H": 256, "W": 256}).summarize(symbolic=True)
    arch = unet_variant(input=[1, "16*h", "16*w"], symbols={"h": 16, "w": 16})
    plain = cnncalc.load("unet").summarize()
    assert arch.summarize().rows == plain.rows and arch.summarize().total == plain.total
