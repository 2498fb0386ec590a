"""Function and method calls of a traced PyTorch forward (``F.relu``, ``torch.cat``, ``+``,
``torch.flatten``, ``x.mean((2, 3))``, ``F.adaptive_avg_pool2d``, ...) as cnncalc layers. Each reader
takes the call's arguments by name and the shapes PyTorch gave (batch first) and returns the layers
(none: the call passes its input on, as ``x.contiguous()``) or raises :class:`Unmappable`."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from .torch_modules import Mapped, Unmappable, per_axis, without_defaults

#: A call's reader: (arguments by name, input shape, output shape) -> layers.
Reader = Callable[[dict[str, Any], tuple[int, ...], tuple[int, ...]], list[Mapped]]


def bind(args: Sequence[Any], kwargs: dict[str, Any], names: Sequence[str], defaults: dict[str, Any]) -> dict[str, Any]:
    """The call's arguments by parameter name (``names`` in order), defaults filled in."""
    if names and names[-1].startswith("*"):  # x.view(n, -1): the rest of the arguments as one
        args = (*args[: len(names) - 1], tuple(args[len(names) - 1 :]))
        names = (*names[:-1], names[-1][1:])
    if len(args) > len(names):
        raise Unmappable(f"{len(args)} positional arguments, expected at most {len(names)}")
    bound = {**defaults, **dict(zip(names, args, strict=False)), **kwargs}
    return bound


def _layer(kind: str, fields: dict[str, Any]) -> list[Mapped]:
    return [(kind, without_defaults(kind, fields))]


def _spatial_dims(dims: Any, ndim: int) -> bool:
    """Whether ``dims`` are exactly the spatial axes (2 .. ndim-1, or negative)."""
    items = dims if isinstance(dims, (tuple, list)) else (dims,)
    if not all(isinstance(d, int) for d in items):
        return False
    return sorted(d % ndim for d in items) == list(range(2, ndim))


def _mean(a: dict[str, Any], x: tuple[int, ...], out: tuple[int, ...]) -> list[Mapped]:
    """``x.mean((2, 3))``: global average pooling (adaptive, output 1), then flat unless keepdim."""
    rank = len(x) - 2
    if a.get("dtype") is not None or not _spatial_dims(a["dim"], len(x)) or rank < 1:
        raise Unmappable(f"mean over dim={a['dim']} (cnncalc: the mean over every spatial axis)")
    pool: list[Mapped] = [(f"adaptiveavgpool{rank}d", {"output_size": 1})]
    return pool if a["keepdim"] else [*pool, ("flatten", {})]


def _flatten(a: dict[str, Any], x: tuple[int, ...], out: tuple[int, ...]) -> list[Mapped]:
    return _layer("flatten", {"start_dim": a["start_dim"], "end_dim": a["end_dim"]})


def _reshape(a: dict[str, Any], x: tuple[int, ...], out: tuple[int, ...]) -> list[Mapped]:
    """``x.view(x.size(0), -1)`` and the like: a flatten when the output is [batch, everything]."""
    if tuple(out) == tuple(x):
        return []
    if len(out) == 2 and out[0] == x[0] and len(x) > 2:
        return [("flatten", {})]
    raise Unmappable(f"a reshape from {list(x)} to {list(out)} (cnncalc: to [batch, features] only)")


def _cat(a: dict[str, Any], x: tuple[int, ...], out: tuple[int, ...]) -> list[Mapped]:
    if a["dim"] % len(out) != 1:
        raise Unmappable(f"concatenation along dim={a['dim']} (cnncalc: along the channels, dim=1)")
    return [("concat", {})]


def _merge(kind: str) -> Reader:
    def read(a: dict[str, Any], x: tuple[int, ...], out: tuple[int, ...]) -> list[Mapped]:
        if a.get("alpha", 1) != 1:
            raise Unmappable(f"alpha={a['alpha']}")
        return [(kind, {})]

    return read


def _pool(family: str, names: Sequence[str]) -> Reader:
    """F.max_pool2d / F.avg_pool2d (and 1-D, 3-D) with their fields."""

    def read(a: dict[str, Any], x: tuple[int, ...], out: tuple[int, ...]) -> list[Mapped]:
        if a.get("return_indices"):
            raise Unmappable("return_indices=True (the output is a tuple)")
        fields = {n: per_axis(a[n]) for n in names if n in a}
        if fields.get("stride") in (None, [], ()) or fields.get("stride") == fields["kernel_size"]:
            fields.pop("stride", None)
        return _layer(f"{family}{len(x) - 2}d", fields)

    return read


def _adaptive(family: str) -> Reader:
    return lambda a, x, out: _layer(f"{family}{len(x) - 2}d", {"output_size": per_axis(a["output_size"])})


def _interpolate(a: dict[str, Any], x: tuple[int, ...], out: tuple[int, ...]) -> list[Mapped]:
    if a.get("recompute_scale_factor") or a.get("antialias"):
        raise Unmappable("recompute_scale_factor or antialias")
    fields = {"size": per_axis(a["size"]), "scale_factor": per_axis(a["scale_factor"]), "mode": a["mode"]}
    return _layer("upsample", {**fields, "align_corners": a["align_corners"]})


def _pad(a: dict[str, Any], x: tuple[int, ...], out: tuple[int, ...]) -> list[Mapped]:
    rank = len(x) - 2
    if a["mode"] != "constant" or a["value"] not in (None, 0, 0.0) or len(a["pad"]) != 2 * rank:
        raise Unmappable(f"F.pad {list(a['pad'])} mode={a['mode']!r} value={a['value']} (cnncalc: zeros, spatial axes)")
    return _layer(f"zeropad{rank}d", {"padding": per_axis(a["pad"])})


def _hardtanh(a: dict[str, Any], x: tuple[int, ...], out: tuple[int, ...]) -> list[Mapped]:
    if (a["min_val"], a["max_val"]) != (0.0, 6.0):
        raise Unmappable(f"hardtanh({a['min_val']}, {a['max_val']}) (cnncalc: relu6 only)")
    return _layer("relu6", {"inplace": a["inplace"]})


def _activation(kind: str, *fields: str) -> Reader:
    return lambda a, x, out: _layer(kind, {f: a[f] for f in fields if f in a})


def _passing(a: dict[str, Any], x: tuple[int, ...], out: tuple[int, ...]) -> list[Mapped]:
    return []


_X = ("input",)
_INPLACE = {"inplace": False}
_MAXPOOL = ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")
_AVGPOOL = ("input", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override")
_MAXPOOL_DEFAULTS = {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False, "return_indices": False}
_AVGPOOL_DEFAULTS = {
    "stride": None,
    "padding": 0,
    "ceil_mode": False,
    "count_include_pad": True,
    "divisor_override": None,
}

#: One entry per call: the targets (functions, or method names as strings), parameter names,
#: defaults and the reader.
_TABLE: list[tuple[tuple[Any, ...], tuple[str, ...], dict[str, Any], Reader]] = [
    ((operator.add, operator.iadd, torch.add, "add", "add_"), ("input", "other"), {}, _merge("add")),
    ((operator.mul, operator.imul, torch.mul, "mul", "mul_"), ("input", "other"), {}, _merge("mul")),
    ((torch.cat, torch.concat, torch.concatenate), ("tensors", "dim"), {"dim": 0}, _cat),
    ((F.relu, torch.relu, "relu"), ("input", "inplace"), _INPLACE, _activation("relu", "inplace")),
    ((torch.relu_, F.relu_, "relu_"), _X, {}, lambda a, x, out: [("relu", {"inplace": True})]),
    ((F.relu6,), ("input", "inplace"), _INPLACE, _activation("relu6", "inplace")),
    (
        (F.hardtanh,),
        ("input", "min_val", "max_val", "inplace"),
        {"min_val": -1.0, "max_val": 1.0, **_INPLACE},
        _hardtanh,
    ),
    ((torch.sigmoid, F.sigmoid, "sigmoid"), _X, {}, _activation("sigmoid")),
    ((torch.tanh, F.tanh, "tanh"), _X, {}, _activation("tanh")),
    ((F.gelu,), ("input", "approximate"), {"approximate": "none"}, _activation("gelu", "approximate")),
    ((F.silu,), ("input", "inplace"), _INPLACE, _activation("silu", "inplace")),
    ((F.hardswish,), ("input", "inplace"), _INPLACE, _activation("hardswish", "inplace")),
    ((F.hardsigmoid,), ("input", "inplace"), _INPLACE, _activation("hardsigmoid", "inplace")),
    (
        (F.leaky_relu,),
        ("input", "negative_slope", "inplace"),
        {"negative_slope": 0.01, **_INPLACE},
        _activation("leakyrelu", "negative_slope", "inplace"),
    ),
    ((F.softmax, torch.softmax, "softmax"), ("input", "dim"), {"dim": None}, _activation("softmax", "dim")),
    (
        (F.dropout, F.dropout1d, F.dropout2d, F.dropout3d),
        ("input", "p", "training", "inplace"),
        {"p": 0.5, **_INPLACE},
        _activation("dropout", "p", "inplace"),
    ),
    ((torch.flatten, "flatten"), ("input", "start_dim", "end_dim"), {"start_dim": 0, "end_dim": -1}, _flatten),
    (("view", "reshape"), ("input", "*shape"), {}, _reshape),
    ((torch.reshape,), ("input", "shape"), {}, _reshape),
    ((torch.mean, "mean"), ("input", "dim", "keepdim", "dtype"), {"keepdim": False, "dtype": None}, _mean),
    (
        (F.max_pool1d, F.max_pool2d, F.max_pool3d),
        _MAXPOOL,
        _MAXPOOL_DEFAULTS,
        _pool("maxpool", _MAXPOOL[1:]),
    ),
    (
        (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d),
        _AVGPOOL,
        _AVGPOOL_DEFAULTS,
        _pool("avgpool", _AVGPOOL[1:]),
    ),
    (
        (F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d),
        ("input", "output_size"),
        {},
        _adaptive("adaptiveavgpool"),
    ),
    (
        (F.adaptive_max_pool1d, F.adaptive_max_pool2d, F.adaptive_max_pool3d),
        ("input", "output_size", "return_indices"),
        {"return_indices": False},
        _adaptive("adaptivemaxpool"),
    ),
    (
        (F.interpolate, F.upsample),
        ("input", "size", "scale_factor", "mode", "align_corners", "recompute_scale_factor", "antialias"),
        {"size": None, "scale_factor": None, "mode": "nearest", "align_corners": None},
        _interpolate,
    ),
    ((F.pad, torch.nn.functional.pad), ("input", "pad", "mode", "value"), {"mode": "constant", "value": None}, _pad),
    (("contiguous", "clone", "detach", torch.clone), _X, {}, _passing),
]


def find(target: Any) -> tuple[tuple[str, ...], dict[str, Any], Reader] | None:
    """The parameter names, defaults and reader of a call's target (a function, or a method name)."""
    for targets, names, defaults, reader in _TABLE:
        if any(target is t or (isinstance(t, str) and target == t) for t in targets):
            return names, defaults, reader
    return None


def call_name(target: Any) -> str:
    """A short name for a call's target: ``add``, ``cat``, ``mean``, ``max_pool2d``."""
    if isinstance(target, str):
        return target.strip("_") or "call"
    name = getattr(target, "__name__", "") or type(target).__name__
    return "max_pool" if name == "fn" else name.strip("_") or "call"


def supported_calls() -> list[str]:
    """Every call read (for the command's help and the coverage note)."""
    return [call_name(t) if not isinstance(t, str) else f"Tensor.{t}" for ts, *_ in _TABLE for t in ts]


__all__ = ["Reader", "bind", "call_name", "find", "supported_calls"]
