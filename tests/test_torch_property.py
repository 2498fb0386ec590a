"""cnncalc against PyTorch on hypothesis-generated networks: every layer kind with random fields
(kernels, strides, padding with "same"/"valid", dilation, groups, ceil_mode, pools, norms, heads,
merges and blocks), at random and awkward input sizes (odd, prime, the smallest that works and the
one below it). Both must agree on every layer's output shape, parameters and MACs, and on refusal:
PyTorch raises exactly where cnncalc raises a CnncalcError (at load or summarize), in the same layer.

The generators also draw the cases where the two once disagreed (test_torch.py's FINDINGS, now
fixed in cnncalc's rules): reflect and circular padding near the input size, dilated max pools with
large padding, divisor_override 0, batch statistics on a 1x1 map. Of the
deliberate differences (test_torch.py's DELIBERATE) one cannot be avoided by construction: a side
cropped or pooled to size 0, where PyTorch makes an empty tensor and cnncalc refuses; such a
refusal is let pass.
Seeded and bounded (derandomize, fixed example counts) so a run is repeatable; about a minute.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cnncalc
from cnncalc.errors import CnncalcError, SchemaError, ShapeError
from cnncalc.layers import KINDS
from cnncalc.spec.entries import assign_names
from cnncalc.symbolic import Env

pytest.importorskip("torch")
from cnncalc.backends import torch as backend  # after the skip: needs torch


def _settings(n: int) -> Any:
    return settings(
        max_examples=n, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
    )


#: Sizes with a bias to the awkward: tiny, odd, prime.
SIZES = st.one_of(st.integers(1, 9), st.sampled_from([11, 13, 17, 19, 23, 29, 31, 37]), st.integers(1, 40))
CHANNELS = st.sampled_from([1, 2, 3, 4, 6])
#: A few fields are broken on purpose (kernel 0, stride 0, negative padding...): both must refuse.
BREAK = st.integers(0, 24).map(lambda n: n == 0)


def small(lo: int, hi: int) -> st.SearchStrategy[int]:
    return st.integers(lo, hi)


def pair(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """One value for both axes, or [height, width]."""
    return st.one_of(values, st.lists(values, min_size=2, max_size=2))


def broken(draw: st.DrawFn, fields: dict[str, Any], bad: dict[str, list[Any]]) -> dict[str, Any]:
    """``fields`` with, rarely, one of them set to a value both sides must refuse."""
    if bad and draw(BREAK):
        key = draw(st.sampled_from(sorted(bad)))
        fields[key] = draw(st.sampled_from(bad[key]))
    return fields


# --- one strategy per kind ---------------------------------------------------------------------------


@st.composite
def conv2d(draw: st.DrawFn) -> dict[str, Any]:
    padding = draw(st.one_of(pair(small(0, 3)), st.sampled_from(["same", "valid", "SAME_UPPER", "SAME_LOWER"])))
    fields: dict[str, Any] = {
        "out_channels": draw(st.sampled_from([1, 2, 3, 4, 6, 8, "2*m"])),
        "kernel_size": draw(pair(small(1, 5))),
        # "same" with stride 2 is refused by both; keep it rare
        "stride": draw(st.sampled_from([1, 1, 1, 2])) if padding == "same" else draw(pair(small(1, 3))),
        "padding": padding,
        "dilation": draw(pair(small(1, 3))),
        "groups": draw(st.sampled_from([1, 1, 1, 2, 3])),
        "bias": draw(st.booleans()),
        "padding_mode": draw(st.sampled_from(["zeros", "zeros", "zeros", "replicate", "reflect", "circular"])),
    }
    bad = {
        "kernel_size": [0, [2, 0]],
        "stride": [0],
        "padding": [-1],
        "dilation": [0],
        "groups": [0, 5],
        "out_channels": [0],
    }
    fields = broken(draw, fields, bad)
    if fields["padding"] == -1:
        # PyTorch crops for negative padding with a padding mode other than zeros; cnncalc refuses
        # any negative padding (a deliberate difference)
        fields["padding_mode"] = "zeros"
    return {"conv2d": fields}


@st.composite
def separableconv2d(draw: st.DrawFn) -> dict[str, Any]:
    """Keras's SeparableConv2D: "same" with a stride is refused by both, SAME_UPPER/LOWER take any."""
    fields: dict[str, Any] = {
        "out_channels": draw(st.sampled_from([1, 3, 4, "2*m"])),
        "kernel_size": draw(pair(small(1, 4))),
        "stride": draw(pair(small(1, 3))),
        "padding": draw(st.one_of(pair(small(0, 2)), st.sampled_from(["same", "valid", "SAME_UPPER", "SAME_LOWER"]))),
        "dilation": draw(pair(small(1, 2))),
        "depth_multiplier": draw(st.sampled_from([1, 1, 2, "m"])),
        "bias": draw(st.booleans()),
    }
    return {"separableconv2d": broken(draw, fields, {"kernel_size": [0], "depth_multiplier": [0], "stride": [0]})}


@st.composite
def convtranspose2d(draw: st.DrawFn) -> dict[str, Any]:
    stride = draw(small(1, 3))
    dilation = draw(small(1, 2))
    fields = {
        "out_channels": draw(st.sampled_from([2, 4, 6])),
        "kernel_size": draw(pair(small(1, 4))),
        "stride": stride,
        "padding": draw(small(0, 2)),
        "output_padding": draw(small(0, max(stride, dilation) - 1)),
        "dilation": dilation,
        "groups": draw(st.sampled_from([1, 1, 2])),
        "bias": draw(st.booleans()),
    }
    return {"convtranspose2d": broken(draw, fields, {"output_padding": [3], "stride": [0], "kernel_size": [0]})}


@st.composite
def pool(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["maxpool2d", "avgpool2d"]))
    k = draw(small(1, 4))
    fields: dict[str, Any] = {
        "kernel_size": k if draw(st.booleans()) else [k, k],
        # PyTorch: at most half the kernel; SAME_UPPER/LOWER any (with ceil_mode both refuse)
        "padding": draw(st.one_of(small(0, k // 2), small(0, k // 2), st.sampled_from(["SAME_UPPER", "SAME_LOWER"]))),
        "ceil_mode": draw(st.booleans()),
    }
    if draw(st.booleans()):
        fields["stride"] = draw(pair(small(1, 3)))
    if kind == "maxpool2d":
        fields["dilation"] = draw(pair(small(1, 3)))
    else:
        fields["count_include_pad"] = draw(st.booleans())
        fields["divisor_override"] = draw(st.sampled_from([None, 1, 3, 0]))
    fields = broken(draw, fields, {"padding": [k // 2 + 1, -1], "kernel_size": [0], "stride": [0]})
    return {kind: fields}


@st.composite
def adaptive(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["adaptiveavgpool2d", "adaptivemaxpool2d"]))
    size = draw(st.one_of(small(1, 5), st.lists(st.one_of(st.none(), small(1, 5)), min_size=2, max_size=2)))
    return {kind: {"output_size": size}}


@st.composite
def norm(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["batchnorm2d", "layernorm2d", "localresponsenorm", "layerscale"]))
    if kind == "batchnorm2d":
        return {
            kind: {
                "affine": draw(st.booleans()),
                "scale": draw(st.booleans()),
                "center": draw(st.booleans()),
                "momentum": draw(st.sampled_from([None, 0.1])),
                "track_running_stats": draw(st.sampled_from([True, True, False])),
            }
        }
    if kind == "layernorm2d":
        return {kind: {"elementwise_affine": draw(st.booleans()), "bias": draw(st.booleans())}}
    if kind == "localresponsenorm":
        return {kind: {"size": draw(small(1, 5)), "k": draw(st.sampled_from([1.0, 2.0]))}}
    return {kind: {"init": 0.5}}


ELEMENTWISE = st.sampled_from(
    [
        "relu",
        "relu6",
        "sigmoid",
        "tanh",
        "silu",
        "hardswish",
        "hardsigmoid",
        "identity",
        "dropout",
        {"leakyrelu": {"negative_slope": 0.2}},
        {"gelu": {"approximate": "tanh"}},
        {"stochasticdepth": {"p": 0.1}},
    ]
)


@st.composite
def reshaping(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["zeropad2d", "upsample", "channel_shuffle", "softmax"]))
    if kind == "zeropad2d":
        return {kind: {"padding": draw(st.one_of(small(0, 2), st.lists(small(-1, 2), min_size=4, max_size=4)))}}
    if kind == "upsample":
        mode = draw(st.sampled_from(["nearest", "nearest-exact", "bilinear", "bicubic"]))
        fields: dict[str, Any] = {"mode": mode}
        if draw(st.booleans()):
            fields["size"] = draw(pair(small(1, 9)))
        else:
            fields["scale_factor"] = draw(pair(small(1, 3)))
        if draw(st.booleans()):
            fields["align_corners"] = draw(st.booleans())  # refused by both with the nearest modes
        return {kind: fields}
    if kind == "channel_shuffle":
        return {kind: {"groups": draw(small(1, 4))}}
    return {kind: {"dim": draw(small(-5, 4))}}  # -4..3 in range for a batch of [C, H, W]


@st.composite
def chunk(draw: st.DrawFn) -> list[Any]:
    """A conv whose channels split evenly, then one chunk (unequal chunks: a deliberate difference)."""
    chunks = draw(small(1, 3))
    width = chunks * draw(small(1, 3))
    return [
        {"conv2d": {"out_channels": width, "kernel_size": 1}},
        {"chunk": {"chunks": chunks, "index": draw(small(0, chunks))}},
    ]


SPATIAL = st.one_of(
    conv2d(),
    conv2d(),
    pool(),
    pool(),
    adaptive(),
    norm(),
    ELEMENTWISE,
    reshaping(),
    convtranspose2d(),
    separableconv2d(),
)


@st.composite
def head(draw: st.DrawFn) -> list[Any]:
    """A flat head: flatten, then linear layers and elementwise ones; or a partial flatten
    [C, H*W] followed by layers that take any rank."""
    if draw(st.booleans()):
        layers: list[Any] = ["flatten"]
        for _ in range(draw(small(1, 3))):
            layers.append(
                draw(
                    st.one_of(
                        st.builds(
                            lambda n, b: {"linear": {"out_features": n, "bias": b}},
                            st.sampled_from([1, 3, 10, "5*m"]),
                            st.booleans(),
                        ),
                        ELEMENTWISE,
                        st.builds(lambda d: {"softmax": {"dim": d}}, small(-2, 1)),
                    )
                )
            )
        return layers
    tail = st.one_of(
        ELEMENTWISE,
        st.builds(lambda d: {"softmax": {"dim": d}}, small(-3, 2)),
        st.builds(lambda n: {"localresponsenorm": {"size": n}}, small(1, 3)),
    )
    return [{"flatten": {"start_dim": 2}}, *draw(st.lists(tail, max_size=2))]


@st.composite
def sequential(draw: st.DrawFn) -> dict[str, Any]:
    layers: list[Any] = []
    for _ in range(draw(small(1, 7))):
        item = draw(st.one_of(SPATIAL, chunk()))
        layers += item if isinstance(item, list) else [item]
    if draw(st.booleans()):
        layers += draw(head())
    return {
        "name": "random",
        "input": [draw(CHANNELS), "H", "W"],
        "symbols": {"H": 8, "W": 8, "m": draw(small(1, 3))},
        "layers": layers,
    }


@st.composite
def branching(draw: st.DrawFn) -> dict[str, Any]:
    """Layers with names l0, l1, ...; merges read two or three earlier layers (or the input), so
    shapes agree, broadcast ([C, 1, 1] with [C, H, W]) or clash."""
    layers: list[Any] = []
    for i in range(draw(small(2, 8))):
        names = ["input", *(f"l{j}" for j in range(i))]
        if i >= 1 and draw(st.integers(0, 2)) == 0:
            kind = draw(st.sampled_from(["add", "mul", "concat"]))
            recent = st.sampled_from(names[-3:])
            sources = draw(st.lists(st.one_of(recent, st.sampled_from(names)), min_size=2, max_size=3, unique=True))
            layers.append({kind: {"from": sources, "name": f"l{i}"}})
            continue
        item = draw(st.one_of(SPATIAL, st.just({"adaptiveavgpool2d": {"output_size": 1}})))
        ((kind, fields),) = item.items() if isinstance(item, dict) else [(item, {})]  # type: ignore[union-attr]
        fields = {**(fields or {}), "name": f"l{i}"}
        if draw(st.integers(0, 3)) == 0:
            fields["from"] = draw(st.sampled_from(names))
        layers.append({kind: fields})
    return {
        "name": "branching",
        "input": [draw(CHANNELS), "H", "W"],
        "symbols": {"H": 8, "W": 8, "m": 2},
        "layers": layers,
    }


@st.composite
def blocks(draw: st.DrawFn) -> dict[str, Any]:
    """A residual block with arguments, repeated with a different first copy; the shortcut is a
    projection for some arguments (``when``) and the identity otherwise."""
    k = draw(st.sampled_from([1, 3, 5]))
    body = [
        {
            "conv2d": {
                "out_channels": "width",
                "kernel_size": k,
                "stride": "stride",
                "padding": draw(st.sampled_from([k // 2, k // 2, k // 2, 0, k // 2 + 1])),
                "bias": False,
            }
        },
        {"batchnorm2d": {}},
        draw(ELEMENTWISE),
        {
            "conv2d": {
                "out_channels": draw(st.sampled_from(["width", "in_channels"])),
                "kernel_size": 3,
                "padding": 1,
                "groups": draw(st.sampled_from([1, "g"])),
            }
        },
        {"shortcut": {"out": "width", "stride": "stride", "from": "input", "name": "down", "when": "project"}},
        {"add": {"from": ["conv2", "down"]}},
    ]
    stages = []
    for i in range(draw(small(1, 3))):
        first = {"stride": draw(small(1, 2)), "project": draw(st.booleans())}
        call = {"width": draw(st.sampled_from([2, 4, "2*g"])), "repeat": draw(small(1, 3)), "name": f"s{i}"}
        stages.append({"unit": {**call, "first": first}})
    return {
        "name": "blocks",
        "input": [draw(CHANNELS), "H", "W"],
        "symbols": {"H": 8, "W": 8, "g": draw(st.sampled_from([1, 2]))},
        "blocks": {
            "unit": {"args": {"width": None, "stride": 1, "project": False}, "layers": body},
            "shortcut": {
                "args": {"out": None, "stride": 1},
                "layers": [
                    {"conv2d": {"out_channels": "out", "kernel_size": 1, "stride": "stride", "name": 0}},
                    {"batchnorm2d": {"name": 1}},
                ],
            },
        },
        "layers": [*stages, {"adaptiveavgpool2d": {"output_size": 1}}, "flatten", {"linear": {"out_features": 3}}],
    }


@st.composite
def refused_at_load(draw: st.DrawFn) -> dict[str, Any]:
    """A chain with one field pydantic refuses at load time (LRN size 0, dropout p 1.5...)."""
    data = draw(sequential())
    bad = draw(
        st.sampled_from(
            [
                {"localresponsenorm": {"size": 0}},
                {"localresponsenorm": {"size": -2}},
                {"dropout": {"p": 1.5}},
                {"dropout": {"p": -0.5}},
                {"stochasticdepth": {"p": 2.0}},
            ]
        )
    )
    at = draw(st.integers(0, len(data["layers"])))
    data["layers"] = [*data["layers"][:at], bad, *data["layers"][at:]]
    return data


# --- the comparison ----------------------------------------------------------------------------------

_LAYER = re.compile(r"layer (\S+) \(")


def _rejected_layer(text: str | None) -> str | None:
    match = _LAYER.match(text or "")
    return match.group(1) if match else None


def _next_prime(n: int) -> int:
    while n < 2 or any(n % d == 0 for d in range(2, int(n**0.5) + 1)):
        n += 1
    return n


def _values(arch: cnncalc.Architecture, h: int, w: int, depth: int | None = None) -> list[dict[str, int]]:
    """The drawn size; the smallest square size cnncalc accepts, the one below it (both must
    refuse it), the one above and the next prime above that. A 1-D input takes ``h`` as its
    length L; a 3-D one ``depth`` as D."""
    spatial = AXES[len(arch.input) - 1]

    def at(a: int, b: int) -> dict[str, int]:
        given = {"L": a} if spatial == ["L"] else {"H": a, "W": b}
        return {**given, "D": depth} if depth is not None else given

    sizes = [(h, w)]
    for n in range(1, 48):
        try:
            arch.summarize(**at(n, n))
        except CnncalcError:
            continue
        sizes += [(s, s) for s in (n - 1, n, n + 1, _next_prime(n + 2)) if s >= 1]
        break
    return [at(a, b) for a, b in dict.fromkeys(sizes)]


def _empty(run: Any, layer: str | None) -> bool:
    """PyTorch made an empty tensor where cnncalc refuses a size below 1 (a deliberate difference:
    zeropad2d cropping a side away, an adaptive pool to 0)."""
    check = next((c for c in run.layers if c.name == layer), None)
    return check is not None and check.measured is not None and 0 in check.measured.output


def check_agreement(data: dict[str, Any], h: int, w: int, depth: int | None = None) -> int:
    """Asserts that cnncalc and PyTorch agree on ``data`` at a few sizes; returns how many."""
    try:
        arch = cnncalc.load(data)
    except SchemaError as err:
        # Refused at load: PyTorch must refuse the same layers, built without cnncalc's checks.
        kinds = [next(iter(x)) if isinstance(x, dict) else x for x in data["layers"]]
        fields = [dict(next(iter(x.values())) or {}) if isinstance(x, dict) else {} for x in data["layers"]]
        layers = [KINDS[k].model_construct(**f) for k, f in zip(kinds, fields, strict=True)]
        env = Env({**data["symbols"], "H": h, "W": w, "L": h, "D": depth or 1}, False)
        names = assign_names(kinds, [None] * len(kinds))
        measured = backend.measure_steps(data["input"], backend.chain(layers, names, env), env)
        assert measured.rejection is not None, (str(err), data)
        return 1
    runs = 0
    for values in _values(arch, h, w, depth):
        run = backend.check(arch, values)
        runs += 1
        try:
            arch.summarize(**values)
            ours = None
        except ShapeError as err:
            ours = _rejected_layer(err.layer)
        if ours is not None and _empty(run, ours):
            continue
        detail = (
            values,
            run.verdict,
            run.cnncalc_error,
            run.pytorch_error,
            [(c.name, c.predicted, c.measured) for c in run.layers if not c.agrees][:2],
            data,
        )
        assert run.agrees, detail
        if run.verdict == "both reject":
            assert ours == _rejected_layer(run.pytorch_error.layer), detail
    return runs


# --- 1-D and 3-D networks ----------------------------------------------------------------------------

#: The spatial symbols of each rank's input.
AXES = {1: ["L"], 2: ["H", "W"], 3: ["D", "H", "W"]}


def per_axis(values: st.SearchStrategy[Any], rank: int) -> st.SearchStrategy[Any]:
    """One value for every axis, or a list of ``rank`` values."""
    return st.one_of(values, st.lists(values, min_size=rank, max_size=rank))


@st.composite
def conv_nd(draw: st.DrawFn, rank: int) -> dict[str, Any]:
    padding = draw(
        st.one_of(per_axis(small(0, 2), rank), st.sampled_from(["same", "valid", "SAME_UPPER", "SAME_LOWER"]))
    )
    fields: dict[str, Any] = {
        "out_channels": draw(st.sampled_from([1, 2, 4, "2*m"])),
        "kernel_size": draw(per_axis(small(1, 4), rank)),
        "stride": 1 if padding == "same" else draw(per_axis(small(1, 3), rank)),
        "padding": padding,
        "dilation": draw(per_axis(small(1, 2), rank)),
        "groups": draw(st.sampled_from([1, 1, 2])),
        "bias": draw(st.booleans()),
    }
    if rank == 1 and draw(st.integers(0, 3)) == 0:  # Keras's SeparableConv1D: no groups, a depth multiplier
        del fields["groups"]
        fields["depth_multiplier"] = draw(st.sampled_from([1, 2]))
        return {"separableconv1d": broken(draw, fields, {"kernel_size": [0], "stride": [0]})}
    return {f"conv{rank}d": broken(draw, fields, {"kernel_size": [0], "stride": [0], "groups": [3]})}


@st.composite
def convtranspose_nd(draw: st.DrawFn, rank: int) -> dict[str, Any]:
    stride = draw(small(1, 3))
    fields = {
        "out_channels": draw(st.sampled_from([2, 4])),
        "kernel_size": draw(per_axis(small(1, 4), rank)),
        "stride": stride,
        "padding": draw(small(0, 1)),
        "output_padding": draw(small(0, stride - 1)),
        "dilation": draw(small(1, 2)),
        "groups": draw(st.sampled_from([1, 2])),
    }
    return {f"convtranspose{rank}d": broken(draw, fields, {"output_padding": [3], "stride": [0]})}


@st.composite
def pool_nd(draw: st.DrawFn, rank: int) -> dict[str, Any]:
    kind = draw(st.sampled_from([f"maxpool{rank}d", f"avgpool{rank}d"]))
    k = draw(small(1, 3))
    padding = draw(st.one_of(small(0, k // 2), small(0, k // 2), st.sampled_from(["SAME_UPPER", "SAME_LOWER"])))
    fields: dict[str, Any] = {"kernel_size": k, "padding": padding, "ceil_mode": draw(st.booleans())}
    if draw(st.booleans()):
        fields["stride"] = draw(per_axis(small(1, 3), rank))
    if kind.startswith("max"):
        fields["dilation"] = draw(per_axis(small(1, 2), rank))
    else:
        fields["count_include_pad"] = draw(st.booleans())
        if rank == 3:
            fields["divisor_override"] = draw(st.sampled_from([None, 2]))
    return {kind: broken(draw, fields, {"padding": [k // 2 + 1], "kernel_size": [0]})}


@st.composite
def other_nd(draw: st.DrawFn, rank: int) -> Any:
    """Adaptive pools, batch norm, padding, upsampling and elementwise layers of this rank."""
    kind = draw(st.sampled_from(["adaptive", "batchnorm", "zeropad", "upsample", "elementwise"]))
    if kind == "adaptive":
        size = draw(st.one_of(small(1, 4), st.lists(st.one_of(small(1, 4), st.none()), min_size=rank, max_size=rank)))
        if rank == 1 and not isinstance(size, int):
            size = size[0] or 2  # AdaptiveAvgPool1d takes no None
        return {draw(st.sampled_from([f"adaptiveavgpool{rank}d", f"adaptivemaxpool{rank}d"])): {"output_size": size}}
    if kind == "batchnorm":
        track = draw(st.sampled_from([True, True, False]))
        fields = {"affine": draw(st.booleans()), "scale": draw(st.booleans()), "center": draw(st.booleans())}
        return {f"batchnorm{rank}d": {**fields, "track_running_stats": track}}
    if kind == "zeropad":
        padding = draw(st.one_of(small(0, 2), st.lists(small(-1, 2), min_size=2 * rank, max_size=2 * rank)))
        return {f"zeropad{rank}d": {"padding": padding}}
    if kind == "upsample":
        modes = ["nearest", "nearest-exact", {1: "linear", 2: "bilinear", 3: "trilinear"}[rank], "bilinear"]
        fields: dict[str, Any] = {"mode": draw(st.sampled_from(modes))}  # bilinear off rank 2: both refuse
        if draw(st.booleans()):
            fields["size"] = draw(per_axis(small(1, 7), rank))
        else:
            fields["scale_factor"] = draw(per_axis(small(1, 2), rank))
        return {"upsample": fields}
    return draw(ELEMENTWISE)


@st.composite
def network_nd(draw: st.DrawFn, rank: int) -> dict[str, Any]:
    """A chain of rank-``rank`` layers, a kind of another rank now and then (both must refuse it),
    sometimes a merge with the input's path, and sometimes a flat head (batchnorm1d takes [C] too)."""
    layers: list[Any] = []
    for _ in range(draw(small(1, 5))):
        layer_rank = rank if draw(st.integers(0, 12)) else draw(st.sampled_from([1, 2, 3]))
        item = draw(
            st.one_of(conv_nd(layer_rank), conv_nd(rank), pool_nd(rank), convtranspose_nd(rank), other_nd(rank))
        )
        layers.append(item)
    if draw(st.booleans()):
        layers.append({"conv1d" if rank == 1 else f"conv{rank}d": {"out_channels": 3, "kernel_size": 1, "name": "a"}})
        layers.append({"conv1d" if rank == 1 else f"conv{rank}d": {"out_channels": 3, "kernel_size": 1, "name": "b"}})
        layers.append({draw(st.sampled_from(["add", "concat"])): {"from": ["a", "b"]}})
    if draw(st.booleans()):
        layers += ["flatten", {"batchnorm1d": {}}, {"linear": {"out_features": 3}}]
    symbols = {name: 6 for name in AXES[rank]}
    return {
        "name": f"random{rank}d",
        "input": [draw(CHANNELS), *AXES[rank]],
        "symbols": {**symbols, "m": 2},
        "layers": layers,
    }


@_settings(350)
@given(network_nd(1), SIZES)
def test_random_1d_networks(data: dict[str, Any], n: int) -> None:
    check_agreement(data, n, n)


@_settings(200)
@given(network_nd(3), st.integers(1, 9), SIZES)
def test_random_3d_networks(data: dict[str, Any], d: int, n: int) -> None:
    check_agreement(data, n, n, depth=d)


def test_every_kind_is_generated() -> None:
    """Every kind appears in a strategy above (checked in the source: tests/test_house.py too)."""
    source = Path(__file__).read_text()
    ranked = (
        "conv",
        "convtranspose",
        "maxpool",
        "avgpool",
        "adaptiveavgpool",
        "adaptivemaxpool",
        "batchnorm",
        "zeropad",
    )
    written = {k for k in KINDS if re.search(rf"[\"']{re.escape(k)}[\"']", source)}
    by_rank = {f"{family}{r}d" for family in ranked for r in (1, 2, 3)} & set(KINDS)
    assert set(KINDS) <= written | by_rank


@_settings(1200)
@given(sequential(), SIZES, SIZES)
def test_random_sequential_networks(data: dict[str, Any], h: int, w: int) -> None:
    check_agreement(data, h, w)


@_settings(700)
@given(branching(), SIZES, SIZES)
def test_random_branching_networks(data: dict[str, Any], h: int, w: int) -> None:
    check_agreement(data, h, w)


@_settings(250)
@given(blocks(), SIZES, SIZES)
def test_random_residual_blocks(data: dict[str, Any], h: int, w: int) -> None:
    check_agreement(data, h, w)


@_settings(60)
@given(refused_at_load(), SIZES, SIZES)
def test_fields_refused_at_load_are_refused_by_pytorch(data: dict[str, Any], h: int, w: int) -> None:
    with pytest.raises(SchemaError):
        cnncalc.load(data)
    check_agreement(data, h, w)
