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
from ...symbolic import Env
from .modules import ChunkModule, LayerNorm2dModule, LayerScaleModule, Merge, StochasticDepthModule

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


def _torch_class(layer: Layer) -> Any:
    family = layer.kind[:-2]
    return getattr(nn, _RANKED[family][int(layer.kind[-2]) - 1])


def _conv(layer: Any, env: Env, x: TorchShape) -> nn.Module:
    padding = layer.padding if layer.padding in ("same", "valid") else axes(env, layer.padding)
    return _torch_class(layer)(  # type: ignore[no-any-return]
        x[1],
        whole(env, layer.out_channels),
        axes(env, layer.kernel_size),
        stride=axes(env, layer.stride),
        padding=padding,  # "same"/"valid" pass through, as PyTorch takes them
        dilation=axes(env, layer.dilation),
        groups=whole(env, layer.groups),
        bias=layer.bias,
        padding_mode=layer.padding_mode,
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
    return _torch_class(layer)(  # type: ignore[no-any-return]
        axes(env, layer.kernel_size),
        stride=optional_axes(env, layer.stride),
        padding=axes(env, layer.padding),
        dilation=axes(env, layer.dilation),
        return_indices=layer.return_indices,
        ceil_mode=layer.ceil_mode,
    )


def _avgpool(layer: Any, env: Env, x: TorchShape) -> nn.Module:
    extra = {} if layer.kind == "avgpool1d" else {"divisor_override": layer.divisor_override}
    return _torch_class(layer)(  # type: ignore[no-any-return]
        axes(env, layer.kernel_size),
        stride=optional_axes(env, layer.stride),
        padding=axes(env, layer.padding),
        ceil_mode=layer.ceil_mode,
        count_include_pad=layer.count_include_pad,
        **extra,
    )


def _adaptiveavgpool(layer: Any, env: Env, x: TorchShape) -> nn.Module:
    return _torch_class(layer)(optional_axes(env, layer.output_size))  # type: ignore[no-any-return]


def _adaptivemaxpool(layer: Any, env: Env, x: TorchShape) -> nn.Module:
    output_size = optional_axes(env, layer.output_size)
    return _torch_class(layer)(output_size, return_indices=layer.return_indices)  # type: ignore[no-any-return]


def _batchnorm(layer: Any, env: Env, x: TorchShape) -> nn.Module:
    return _torch_class(layer)(  # type: ignore[no-any-return]
        x[1], eps=layer.eps, momentum=layer.momentum, affine=layer.affine, track_running_stats=layer.track_running_stats
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
