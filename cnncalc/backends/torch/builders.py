"""One builder per layer kind: the PyTorch module of a cnncalc layer at given symbol values.

A builder takes the layer (its YAML fields), the Env of its block scope and its first input
tensor's shape, batch first (channels ``x[1]``, features ``x[-1]``), as PyTorch itself gave it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from ...errors import CnncalcError
from ...layers import KINDS, Layer
from ...layers.same import SAME
from ...symbolic import Env
from .modules import (
    ChunkModule,
    LayerNorm2dModule,
    LayerScaleModule,
    Merge,
    PartialBatchNorm,
    SameAvgPool1d,
    SameAvgPool2d,
    SameAvgPool3d,
    SameConv1d,
    SameConv2d,
    SameConv3d,
    SameMaxPool1d,
    SameMaxPool2d,
    SameMaxPool3d,
    SamePadding,
    SeparableConv,
    StochasticDepthModule,
)

#: A tensor's shape as PyTorch sees it: batch first.
TorchShape = tuple[int, ...]
#: Builds one layer's module from its YAML fields, the symbol values and its (first) input
#: tensor's shape, batch first: channels are ``x[1]``, features ``x[-1]``.
Builder = Callable[[Any, Env, TorchShape], nn.Module]


def whole(env: Env, value: Any) -> int:
    """A field's value as an int (a numeric Env resolves every expression to one)."""
    result = env.resolve(value)
    if not isinstance(result, int):  # pragma: no cover - a numeric Env never returns a symbol
        raise CnncalcError(f"{value} has no whole-number value")
    return result


def axes(env: Env, value: Any) -> int | tuple[int, ...]:
    """A per-axis field resolved: an int, or one int per axis."""
    if isinstance(value, (tuple, list)):
        return tuple(whole(env, v) for v in value)
    return whole(env, value)


def optional_axes(env: Env, value: Any) -> Any:
    """A field that may be null, one value or per-axis values that may each be null."""
    if value is None:
        return None
    if isinstance(value, (tuple, list)):
        return tuple(None if v is None else whole(env, v) for v in value)
    return whole(env, value)


#: PyTorch's class for each ranked kind: conv2d -> nn.Conv2d.
_RANKED = {
    "conv": ("Conv1d", "Conv2d", "Conv3d"),
    "convtranspose": ("ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d"),
    "maxpool": ("MaxPool1d", "MaxPool2d", "MaxPool3d"),
    "avgpool": ("AvgPool1d", "AvgPool2d", "AvgPool3d"),
    "adaptiveavgpool": ("AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d"),
    "adaptivemaxpool": ("AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d"),
    "batchnorm": ("BatchNorm1d", "BatchNorm2d", "BatchNorm3d"),
    "zeropad": ("ZeroPad1d", "ZeroPad2d", "ZeroPad3d"),
}


#: The class padding as TF's "same" (SAME_UPPER/SAME_LOWER) in forward, for each ranked kind that can.
_SAME = {
    "conv": (SameConv1d, SameConv2d, SameConv3d),
    "maxpool": (SameMaxPool1d, SameMaxPool2d, SameMaxPool3d),
    "avgpool": (SameAvgPool1d, SameAvgPool2d, SameAvgPool3d),
}


def _torch_class(layer: Layer) -> Any:
    family, rank = layer.kind[:-2], int(layer.kind[-2])
    if getattr(layer, "padding", None) in SAME:
        return _SAME[family][rank - 1]
    return getattr(nn, _RANKED[family][rank - 1])


def _padding(layer: Any, env: Env) -> Any:
    """The padding PyTorch's class takes: "same"/"valid" as they are, 0 where the module pads itself
    (SAME_UPPER/SAME_LOWER), else the numbers."""
    if layer.padding in SAME:
        return 0
    return layer.padding if layer.padding in ("same", "valid") else axes(env, layer.padding)


def _same(module: nn.Module, layer: Any, fill: str = "constant", value: float = 0.0) -> nn.Module:
    """``module`` set to pad as the layer's SAME_UPPER/SAME_LOWER, where it has one."""
    if isinstance(module, SamePadding):  # built as _SAME's class: the layer's padding is SAME_*
        if getattr(layer, "ceil_mode", False):  # as cnncalc: TF's "same" has no ceil mode
            raise ValueError(f"ceil_mode does not apply with {layer.padding}")
        module.padding_as(layer.padding, fill, value)
    return module


def _conv(layer: Any, env: Env, x: TorchShape) -> nn.Module:
    same = layer.padding in SAME  # the module pads, by F.pad's mode of the padding_mode
    module = _torch_class(layer)(
        x[1],
        whole(env, layer.out_channels),
        axes(env, layer.kernel_size),
        stride=axes(env, layer.stride),
        padding=_padding(layer, env),
        dilation=axes(env, layer.dilation),
        groups=whole(env, layer.groups),
        bias=layer.bias,
        padding_mode="zeros" if same else layer.padding_mode,
    )
    fill = "constant" if layer.padding_mode == "zeros" else layer.padding_mode
    return _same(module, layer, fill)


def _separableconv(layer: Any, env: Env, x: TorchShape) -> nn.Module:
    return SeparableConv(
        int(layer.kind[-2]),
        x[1],
        whole(env, layer.out_channels),
        axes(env, layer.kernel_size),
        stride=axes(env, layer.stride),
        padding=layer.padding if isinstance(layer.padding, str) else axes(env, layer.padding),
        dilation=axes(env, layer.dilation),
        depth_multiplier=whole(env, layer.depth_multiplier),
        bias=layer.bias,
    )


def _convtranspose(layer: Any, env: Env, x: TorchShape) -> nn.Module:
    return _torch_class(layer)(  # type: ignore[no-any-return]
        x[1],
        whole(env, layer.out_channels),
        axes(env, layer.kernel_size),
        stride=axes(env, layer.stride),
        padding=axes(env, layer.padding),
        output_padding=axes(env, layer.output_padding),
        groups=whole(env, layer.groups),
        bias=layer.bias,
        dilation=axes(env, layer.dilation),
    )


def _maxpool(layer: Any, env: Env, x: TorchShape) -> nn.Module:
    module = _torch_class(layer)(
        axes(env, layer.kernel_size),
        stride=optional_axes(env, layer.stride),
        padding=_padding(layer, env),
        dilation=axes(env, layer.dilation),
        return_indices=layer.return_indices,
        ceil_mode=layer.ceil_mode,
    )
    return _same(module, layer, value=float("-inf"))  # TF: the padding never wins a maximum


def _avgpool(layer: Any, env: Env, x: TorchShape) -> nn.Module:
    extra = {} if layer.kind == "avgpool1d" else {"divisor_override": layer.divisor_override}
    module = _torch_class(layer)(
        axes(env, layer.kernel_size),
        stride=optional_axes(env, layer.stride),
        padding=_padding(layer, env),
        ceil_mode=layer.ceil_mode,
        count_include_pad=layer.count_include_pad,
        **extra,
    )
    return _same(module, layer)


def _adaptiveavgpool(layer: Any, env: Env, x: TorchShape) -> nn.Module:
    return _torch_class(layer)(optional_axes(env, layer.output_size))  # type: ignore[no-any-return]


def _adaptivemaxpool(layer: Any, env: Env, x: TorchShape) -> nn.Module:
    output_size = optional_axes(env, layer.output_size)
    return _torch_class(layer)(output_size, return_indices=layer.return_indices)  # type: ignore[no-any-return]


def _batchnorm(layer: Any, env: Env, x: TorchShape) -> nn.Module:
    if layer.affine and layer.scale != layer.center:  # Keras's scale=False or center=False
        return PartialBatchNorm(
            x[1],
            int(layer.kind[-2]),
            scale=layer.scale,
            center=layer.center,
            eps=layer.eps,
            momentum=layer.momentum,
            track_running_stats=layer.track_running_stats,
        )
    affine = layer.affine and layer.scale  # scale and center both false: no parameters
    return _torch_class(layer)(  # type: ignore[no-any-return]
        x[1], eps=layer.eps, momentum=layer.momentum, affine=affine, track_running_stats=layer.track_running_stats
    )


def _zeropad(layer: Any, env: Env, x: TorchShape) -> nn.Module:
    return _torch_class(layer)(axes(env, layer.padding))  # type: ignore[no-any-return]


def _upsample(layer: Any, env: Env, x: TorchShape) -> nn.Module:
    scale = optional_axes(env, layer.scale_factor)
    return nn.Upsample(
        size=optional_axes(env, layer.size),
        scale_factor=tuple(float(v) for v in scale) if isinstance(scale, tuple) else scale,
        mode=layer.mode,
        align_corners=layer.align_corners,
    )


BUILDERS: dict[str, Builder] = {
    "linear": lambda layer, env, x: nn.Linear(x[-1], whole(env, layer.out_features), bias=layer.bias),
    "flatten": lambda layer, env, x: nn.Flatten(layer.start_dim, layer.end_dim),
    "upsample": _upsample,
    "layernorm2d": lambda layer, env, x: LayerNorm2dModule(
        x[1], eps=layer.eps, elementwise_affine=layer.elementwise_affine, bias=layer.bias
    ),
    "layerscale": lambda layer, env, x: LayerScaleModule(x[1], layer.init),
    "localresponsenorm": lambda layer, env, x: nn.LocalResponseNorm(
        layer.size, alpha=layer.alpha, beta=layer.beta, k=layer.k
    ),
    # ``inplace`` changes no count, but what memory holds (cnncalc.memory): built as written.
    "dropout": lambda layer, env, x: nn.Dropout(layer.p, inplace=layer.inplace),
    "stochasticdepth": lambda layer, env, x: StochasticDepthModule(layer.p, layer.mode),
    "channel_shuffle": lambda layer, env, x: nn.ChannelShuffle(whole(env, layer.groups)),
    "chunk": lambda layer, env, x: ChunkModule(whole(env, layer.chunks), layer.index),
    "leakyrelu": lambda layer, env, x: nn.LeakyReLU(layer.negative_slope, inplace=layer.inplace),
    "gelu": lambda layer, env, x: nn.GELU(approximate=layer.approximate),
    "softmax": lambda layer, env, x: nn.Softmax(dim=layer.dim),
    "identity": lambda layer, env, x: nn.Identity(),
    "relu": lambda layer, env, x: nn.ReLU(inplace=layer.inplace),
    "relu6": lambda layer, env, x: nn.ReLU6(inplace=layer.inplace),
    "sigmoid": lambda layer, env, x: nn.Sigmoid(),
    "tanh": lambda layer, env, x: nn.Tanh(),
    "silu": lambda layer, env, x: nn.SiLU(inplace=layer.inplace),
    "hardswish": lambda layer, env, x: nn.Hardswish(inplace=layer.inplace),
    "hardsigmoid": lambda layer, env, x: nn.Hardsigmoid(inplace=layer.inplace),
    "add": lambda layer, env, x: Merge("add"),
    "mul": lambda layer, env, x: Merge("mul"),
    "concat": lambda layer, env, x: Merge("concat"),
}
# Ranked kinds share one builder a family, PyTorch's class chosen by the rank (conv2d -> nn.Conv2d).
for _family, _builder in (
    ("conv", _conv),
    ("separableconv", _separableconv),
    ("convtranspose", _convtranspose),
    ("maxpool", _maxpool),
    ("avgpool", _avgpool),
    ("adaptiveavgpool", _adaptiveavgpool),
    ("adaptivemaxpool", _adaptivemaxpool),
    ("batchnorm", _batchnorm),
    ("zeropad", _zeropad),
):
    for _rank in (1, 2, 3):
        if f"{_family}{_rank}d" in KINDS:
            BUILDERS[f"{_family}{_rank}d"] = _builder


__all__ = ["BUILDERS", "Builder", "TorchShape", "axes", "optional_axes", "whole"]
