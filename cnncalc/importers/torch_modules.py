"""PyTorch modules as cnncalc layers: one reader per module class, giving the kind and the fields a
YAML file would write (defaults left out). Torch is imported by the caller (cnncalc.importers.torch_fx);
this module reads attributes only, so it imports torch for the class table alone."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from torch import nn

from ..backends.torch.modules import (
    ChunkModule,
    LayerNorm2dModule,
    LayerScaleModule,
    Merge,
    PartialBatchNorm,
    SamePadding,
    SeparableConv,
    StochasticDepthModule,
)
from ..layers import KINDS

#: (kind, fields) of one layer.
Mapped = tuple[str, dict[str, Any]]


class Unmappable(Exception):
    """A module or call cnncalc has no layer for (or not with these settings); ``args[0]`` says why."""


def per_axis(value: Any) -> Any:
    """A PyTorch per-axis value as a YAML field: one number where every axis agrees, else a list."""
    if isinstance(value, (tuple, list)):
        values = [per_axis(v) for v in value]
        return values[0] if values and all(v == values[0] for v in values) else values
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def without_defaults(kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` less those equal to the kind's default (what a person would not write)."""
    model = KINDS[kind].model_fields
    return {k: v for k, v in fields.items() if k not in model or model[k].is_required() or model[k].default != v}


def _conv(m: Any, rank: int) -> Mapped:
    fields = {
        "out_channels": m.out_channels,
        "kernel_size": per_axis(m.kernel_size),
        "stride": per_axis(m.stride),
        "padding": m.same if isinstance(m, SamePadding) else per_axis(m.padding),
        "dilation": per_axis(m.dilation),
        "groups": m.groups,
        "bias": m.bias is not None,
    }
    if isinstance(m, nn.ConvTranspose1d | nn.ConvTranspose2d | nn.ConvTranspose3d):
        fields["output_padding"] = per_axis(m.output_padding)
        if m.padding_mode != "zeros":
            raise Unmappable(f"padding_mode {m.padding_mode!r}")
        return f"convtranspose{rank}d", fields
    same = isinstance(m, SamePadding)  # it pads in forward, by F.pad's mode ("constant": zeros)
    fields["padding_mode"] = ("zeros" if m.fill == "constant" else m.fill) if same else m.padding_mode
    return f"conv{rank}d", fields


def _maxpool(m: Any, rank: int) -> Mapped:
    if m.return_indices:
        raise Unmappable("return_indices=True (the output is a tuple)")
    fields = {
        "kernel_size": per_axis(m.kernel_size),
        "stride": per_axis(m.stride),
        "padding": m.same if isinstance(m, SamePadding) else per_axis(m.padding),
        "dilation": per_axis(m.dilation),
        "ceil_mode": m.ceil_mode,
    }
    if fields["stride"] == fields["kernel_size"]:
        del fields["stride"]  # PyTorch's stride=None, stored as the kernel size
    return f"maxpool{rank}d", fields


def _avgpool(m: Any, rank: int) -> Mapped:
    fields = {
        "kernel_size": per_axis(m.kernel_size),
        "stride": per_axis(m.stride),
        "padding": m.same if isinstance(m, SamePadding) else per_axis(m.padding),
        "ceil_mode": m.ceil_mode,
        "count_include_pad": m.count_include_pad,
    }
    if rank > 1:
        fields["divisor_override"] = m.divisor_override
    if fields["stride"] == fields["kernel_size"]:
        del fields["stride"]
    return f"avgpool{rank}d", fields


def _batchnorm(m: Any, rank: int) -> Mapped:
    fields: dict[str, Any] = {"eps": m.eps, "momentum": m.momentum, "track_running_stats": m.track_running_stats}
    if isinstance(m, PartialBatchNorm):
        fields.update(scale=m.scale, center=m.center)
    else:
        fields["affine"] = m.affine
    return f"batchnorm{rank}d", fields


def _upsample(m: Any, rank: int) -> Mapped:
    return "upsample", {
        "size": per_axis(m.size),
        "scale_factor": per_axis(m.scale_factor),
        "mode": m.mode,
        "align_corners": m.align_corners,
    }


def _zeropad(m: Any, rank: int) -> Mapped:
    if getattr(m, "value", 0.0) != 0.0:
        raise Unmappable(f"padding value {m.value} (cnncalc pads with zeros)")
    return f"zeropad{rank}d", {"padding": per_axis(m.padding)}


def _separable(m: Any, rank: int) -> Mapped:
    return f"separableconv{m.rank}d", {
        "out_channels": m.pointwise_weight.shape[0],
        "kernel_size": per_axis(m.kernel_size),
        "stride": per_axis(m.stride),
        "padding": m.padding if isinstance(m.padding, str) else per_axis(m.padding),
        "dilation": per_axis(m.dilation),
        "depth_multiplier": m.depthwise_weight.shape[0] // m.in_channels,
        "bias": m.bias is not None,
    }


def _plain(kind: str, *attributes: str) -> Callable[[Any, int], Mapped]:
    """A reader copying ``attributes`` of the module as fields of ``kind``."""
    return lambda m, rank: (kind, {a: getattr(m, a) for a in attributes})


def _ranked(family: str, *attributes: str) -> Callable[[Any, int], Mapped]:
    return lambda m, rank: (f"{family}{rank}d", {a: per_axis(getattr(m, a)) for a in attributes})


#: Readers by class, most specific first (cnncalc's own modules subclass PyTorch's).
READERS: tuple[tuple[type | tuple[type, ...], Callable[[Any, int], Mapped]], ...] = (
    (SeparableConv, _separable),
    (PartialBatchNorm, _batchnorm),
    (
        LayerNorm2dModule,
        lambda m, rank: (
            "layernorm2d",
            {"eps": m.eps, "elementwise_affine": m.elementwise_affine, "bias": m.bias is not None},
        ),
    ),
    # gamma holds trained (or uninitialised) values, not the init: left at cnncalc's default, which no count reads
    (LayerScaleModule, lambda m, rank: ("layerscale", {})),
    (StochasticDepthModule, _plain("stochasticdepth", "p", "mode")),
    (ChunkModule, _plain("chunk", "chunks", "index")),
    (Merge, lambda m, rank: (m.how, {})),
    ((nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d), _conv),
    ((nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d), _maxpool),
    ((nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d), _avgpool),
    ((nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d), _ranked("adaptiveavgpool", "output_size")),
    ((nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d), _batchnorm),
    ((nn.ZeroPad1d, nn.ZeroPad2d, nn.ZeroPad3d), _zeropad),
    (nn.Linear, lambda m, rank: ("linear", {"out_features": m.out_features, "bias": m.bias is not None})),
    (nn.Flatten, _plain("flatten", "start_dim", "end_dim")),
    (nn.Upsample, _upsample),
    (nn.LocalResponseNorm, _plain("localresponsenorm", "size", "alpha", "beta", "k")),
    ((nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d), _plain("dropout", "p", "inplace")),
    (nn.Identity, _plain("identity")),
    (nn.ReLU6, _plain("relu6", "inplace")),  # a subclass of Hardtanh: before any reader of it
    (nn.ReLU, _plain("relu", "inplace")),
    (nn.LeakyReLU, _plain("leakyrelu", "negative_slope", "inplace")),
    (nn.Sigmoid, _plain("sigmoid")),
    (nn.Tanh, _plain("tanh")),
    (nn.GELU, _plain("gelu", "approximate")),
    (nn.SiLU, _plain("silu", "inplace")),
    (nn.Hardswish, _plain("hardswish", "inplace")),
    (nn.Hardsigmoid, _plain("hardsigmoid", "inplace")),
    (nn.Softmax, _plain("softmax", "dim")),
    (nn.ChannelShuffle, _plain("channel_shuffle", "groups")),
)


def _adaptive_max(m: Any, rank: int) -> Mapped:
    if m.return_indices:
        raise Unmappable("return_indices=True (the output is a tuple)")
    return f"adaptivemaxpool{rank}d", {"output_size": per_axis(m.output_size)}


READERS += (((nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d), _adaptive_max),)


def is_mapped(module: nn.Module) -> bool:
    """Whether cnncalc reads ``module`` as one layer (torch.fx then keeps it as a leaf)."""
    return any(isinstance(module, classes) for classes, _ in READERS)


def module_layer(module: nn.Module, rank: int) -> Mapped:
    """The cnncalc layer of ``module`` on an input of ``rank`` spatial axes, defaults left out, or
    :class:`Unmappable`. A module whose parameters are all frozen is ``trainable: false``."""
    found = re.search(r"([123])d$", type(module).__name__)  # BatchNorm1d on [N, C] is still 1-D
    rank = int(found.group(1)) if found else getattr(module, "rank", rank)
    for classes, reader in READERS:
        if isinstance(module, classes):
            kind, fields = reader(module, rank)
            if kind not in KINDS:
                raise Unmappable(f"cnncalc has no {kind} (rank {rank})")
            params = list(module.parameters(recurse=True))
            if params and not any(p.requires_grad for p in params):
                fields["trainable"] = False
            return kind, without_defaults(kind, fields)
    raise Unmappable("cnncalc has no layer for this module class")


__all__ = ["Mapped", "Unmappable", "is_mapped", "module_layer", "per_axis", "without_defaults"]
