"""1-D and 3-D networks, one located error type, and receptive fields past upsampling.

Known answers come from first principles written out here or from PyTorch itself (autograd for the
fields); cnncalc's output is never the expectation.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cnncalc
from cnncalc.errors import CnncalcError, ExpressionError, Location, SchemaError, ShapeError
from cnncalc.symbolic import to_text


def net(input: list[Any], *layers: Any, **symbols: int) -> cnncalc.Architecture:
    return cnncalc.load({"name": "net", "input": input, "symbols": symbols, "layers": list(layers)})


# --- shapes and counts of other ranks, by hand ---------------------------------------------------------


def test_conv1d_by_hand() -> None:
    # L = 100, k = 5, s = 2, p = 1: floor((100 + 2 - 5)/2) + 1 = 49; params 5*3*8 + 8 = 128; MACs 5*3*8*49.
    row = (
        net([3, 100], {"conv1d": {"out_channels": 8, "kernel_size": 5, "stride": 2, "padding": 1}}).summarize().rows[0]
    )
    assert (row.output, row.params, row.macs) == ((8, 49), 128, 5 * 3 * 8 * 49)
    # Its field: 5 input samples, jump 2, first centre at (5 - 1)/2 - 1 = 1.
    assert row.rf is not None and (row.rf.size, row.rf.jump, row.rf.start) == ((5,), (2,), (1,))
    # Dense: 300 inputs x 392 outputs + 392 biases; locally connected: 392 x (15 + 1).
    assert row.fc_params == 300 * 392 + 392 and row.local_params == 392 * 16


def test_conv3d_by_hand() -> None:
    # [3, 16, 112, 112], k = [3, 7, 7], s = [1, 2, 2], p = [1, 3, 3] (R3D's stem):
    # D: (16 + 2 - 3)/1 + 1 = 16; H, W: floor((112 + 6 - 7)/2) + 1 = 56; params 3*7*7*3*64 = 28,224.
    layer = {"conv3d": {"out_channels": 64, "kernel_size": [3, 7, 7], "stride": [1, 2, 2], "padding": [1, 3, 3]}}
    row = net([3, 16, 112, 112], layer).summarize().rows[0]
    assert row.output == (64, 16, 56, 56)
    assert row.params == 3 * 7 * 7 * 3 * 64 + 64
    assert row.macs == 3 * 7 * 7 * 3 * 64 * 16 * 56 * 56
    assert row.rf is not None and row.rf.size == (3, 7, 7) and row.rf.jump == (1, 2, 2)


def test_symbolic_3d_closes_and_substitutes() -> None:
    arch = net(
        [3, "D", "H", "W"],
        {"conv3d": {"out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1}},
        {"maxpool3d": {"kernel_size": 2}},
        D=16,
        H=112,
        W=112,
    )
    sym = arch.summarize(symbolic=True)
    assert to_text(sym.rows[-1].output[1]) == "floor((D + 1)/4)"  # floor((floor((D - 1)/2) + 1)/2)
    for d, h in ((16, 112), (9, 33), (5, 7)):
        assert sym.subs(D=d, H=h, W=h) == arch.summarize(D=d, H=h, W=h)


def test_wrong_rank_names_both() -> None:
    with pytest.raises(
        ShapeError, match=r"conv2d needs a \[channels, height, width\] input, this input is \[C, L\] \(use conv1d\)"
    ):
        net([3, 64], {"conv2d": {"out_channels": 4, "kernel_size": 3}}).summarize()
    with pytest.raises(
        ShapeError,
        match=r"maxpool3d needs a \[channels, depth, height, width\] input, this input is \[C, H, W\] \(use maxpool2d\)",
    ):
        net([3, 8, 8], {"maxpool3d": {"kernel_size": 2}}).summarize()
    with pytest.raises(ShapeError, match=r"scale_factor has 2 values but the input has 1 spatial axes \[length\]"):
        net([3, 64], {"upsample": {"scale_factor": [2, 2]}}).summarize()
    with pytest.raises(ShapeError, match=r"mode 'bilinear' needs \[C, H, W\], this input is \[C, L\]"):
        net([3, 64], {"upsample": {"scale_factor": 2, "mode": "bilinear"}}).summarize()
    with pytest.raises(SchemaError, match=r"kernel_size needs 3 values \[depth, height, width\]"):
        net([3, 8, 8, 8], {"conv3d": {"out_channels": 4, "kernel_size": [3, 3]}})


def test_wrong_rank_is_one_line_with_exit_2(tmp_path: Any) -> None:
    from .conftest import run

    path = tmp_path / "audio.yaml"
    path.write_text("input: [1, 8000]\nlayers:\n  - conv2d: {out_channels: 8, kernel_size: 3}\n")
    result = run("summarize", str(path))
    assert result.exit_code == 2
    assert re.fullmatch(
        r"cnncalc: error: .*audio\.yaml:3:5: layer conv1 \(conv2d\), input \[1, 8000\]: conv2d needs a "
        r"\[channels, height, width\] input, this input is \[C, L\] \(use conv1d\)\n",
        result.stderr,
    )


def test_text_prints_per_axis_values_as_products() -> None:
    text = net([3, 8, 16, 16], {"conv3d": {"out_channels": 4, "kernel_size": [1, 3, 3]}}).summarize().render()
    assert re.search(r"conv1\s+conv3d\s+4x8x14x14\s+112\s+169,344\s+6,272\s+1x3x3\s+1\s+0x1x1\s", text)


# --- one located error type ----------------------------------------------------------------------------


def test_relocated_keeps_the_subclass_and_fills_in_once() -> None:
    err = ShapeError("kernel too large", path=("padding",))
    moved = err.relocated(within=("layers", 3, "conv2d"), layer="layer conv4 (conv2d)")
    assert type(moved) is ShapeError and moved.path == ("layers", 3, "conv2d", "padding") and moved.field == "padding"
    placed = moved.relocated(location=Location("net.yaml", 7, 5), layer="outer")
    assert str(placed) == "net.yaml:7:5: layer conv4 (conv2d): kernel too large"  # the inner layer wins
    assert err.path == ("padding",) and err.location is None  # the original is untouched
    assert isinstance(ExpressionError("x").relocated(layer="y"), SchemaError)


# --- receptive fields past upsampling, against PyTorch's gradients --------------------------------------


def test_upsample_then_conv_by_hand() -> None:
    # Nearest x2 then a 3-tap conv (stride 1, pad 1): output i reads upsampled units i-1..i+1, i.e.
    # input pixels floor((i-1)/2)..floor((i+1)/2): two pixels for every i. Mean jump 1/2.
    arch = net(
        [1, 40], {"upsample": {"scale_factor": 2}}, {"conv1d": {"out_channels": 1, "kernel_size": 3, "padding": 1}}
    )
    rf = arch.summarize().rows[-1].rf
    assert rf is not None and rf.size == (2,) and rf.jump == (0.5,) and not rf.regular
    # A stride of 2 after it makes the grid regular again: units 2i-1..2i+1 read pixels i-1..i.
    arch = net(
        [1, 40],
        {"upsample": {"scale_factor": 2}},
        {"conv1d": {"out_channels": 1, "kernel_size": 3, "stride": 2, "padding": 1}},
    )
    rf = arch.summarize().rows[-1].rf
    assert rf is not None and rf.regular and rf.size == (2,) and rf.jump == (1,)
    data = arch.summarize().to_dict()["layers"]
    assert data[0]["rf"]["regular"] is False and "regular" not in data[1]["rf"]


def _brute_force_sizes(arch: cnncalc.Architecture, n: int) -> tuple[int, list[int]]:
    """The fields of a 1-D network's interior output units, from PyTorch: with all weights 1 and
    biases 0 (no activation, average pools) the network is linear and positive, out = A x, and the
    inputs unit i reads are the nonzero entries of row i of A; one forward pass of the n unit
    vectors gives A. Interior: a field that touches neither border is whole."""
    torch = pytest.importorskip("torch")
    model = cnncalc.to_torch(arch, L=n).double()
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(1.0 if p.dim() > 1 else 0.0)
        columns = model(torch.eye(n, dtype=torch.float64).unsqueeze(1))  # [n inputs, 1, outputs]
    reads = columns[:, 0, :].T != 0  # [outputs, inputs]
    sizes = []
    for row in reads:
        hit = row.nonzero().flatten()
        if len(hit) and hit.min() > 0 and hit.max() < n - 1:
            sizes.append(int(hit.max() - hit.min() + 1))
    return reads.shape[0], sizes


def test_unet_1d_decoder_fields_match_pytorch() -> None:
    """The bundled U-Net's layout in 1-D (one channel, average pools): the output's field is the
    largest of every interior output's field that PyTorch's gradients show."""
    text = (cnncalc.bundled()["unet"]).read_text()
    text = (
        text.replace("conv2d", "conv1d").replace("convtranspose2d", "convtranspose1d").replace("maxpool2d", "avgpool1d")
    )
    text = text.replace("input: [1, H, W]", "input: [1, L]").replace("  W: {default: 256, multiple_of: 16}\n", "")
    text = text.replace("H: {default: 256", "L: {default: 256")
    text = re.sub(r"out_channels: \w+", "out_channels: 1", text)
    arch = cnncalc.load(text)
    rf = arch.summarize(L=256).rows[-1].rf
    _, sizes = _brute_force_sizes(arch, 256)
    assert rf is not None and not rf.regular and rf.size == (max(sizes),)
    # Every layer of the 2-D network acts on each axis alike, so its output's field is that, squared.
    field2d = cnncalc.load("unet").summarize().rows[-1].rf
    assert field2d is not None and field2d.size == (max(sizes), max(sizes)) and not field2d.regular


LAYER = st.one_of(
    st.builds(lambda k, s, p: {"conv1d": {"out_channels": 1, "kernel_size": k, "stride": s, "padding": min(p, k // 2)}},
              st.integers(1, 4), st.integers(1, 2), st.integers(0, 2)),
    st.builds(lambda k, s: {"avgpool1d": {"kernel_size": k, "stride": s}}, st.integers(1, 3), st.integers(1, 3)),
    st.builds(lambda f, m: {"upsample": {"scale_factor": f, "mode": m}}, st.integers(2, 3),
              st.sampled_from(["nearest", "nearest-exact", "linear"])),
    st.builds(lambda k, s, p, d: {"convtranspose1d": {"out_channels": 1, "kernel_size": k, "stride": s,
                                                       "padding": min(p, d * (k - 1)), "dilation": d}},
              st.integers(1, 4), st.integers(1, 3), st.integers(0, 1), st.integers(1, 2)),
)  # fmt: skip


@settings(max_examples=150, derandomize=True, deadline=None, database=None)
@given(st.lists(LAYER, min_size=1, max_size=4))
def test_random_1d_fields_match_pytorch(layers: list[Any]) -> None:
    """cnncalc's largest field equals the largest field PyTorch's gradients show over interior
    outputs, on random chains of convolutions, pools, upsampling and transposed convolutions."""
    pytest.importorskip("torch")
    arch = net([1, "L"], *layers, L=120)
    try:
        last = arch.summarize().rows[-1]
    except CnncalcError:
        return
    _, sizes = _brute_force_sizes(arch, 120)
    if not sizes or last.rf is None:
        return  # every output touches the border (too small to see a whole field), or no field
    assert last.rf.size == (max(sizes),), (layers, last.rf, max(sizes))


def test_upsampling_an_unaligned_field_is_unknown() -> None:
    # Two paths whose centres differ (a 2-tap and a 3-tap conv) merge unaligned: their "largest
    # size" is no single grid of fields, so past the upsampling the field is not claimed.
    arch = net(
        [1, 32],
        {"conv1d": {"out_channels": 1, "kernel_size": 2, "name": "a", "from": "input"}},
        {"conv1d": {"out_channels": 1, "kernel_size": 3, "padding": 1, "name": "b", "from": "input"}},
        {"zeropad1d": {"padding": [0, -1], "name": "c", "from": "b"}},
        {"add": {"from": ["a", "c"]}},
        {"upsample": {"scale_factor": 2}},
    )
    rows = arch.summarize().rows
    assert rows[3].rf is not None and not rows[3].rf.aligned
    assert rows[4].rf is None and arch.summarize().to_dict()["layers"][4]["rf"] is None
