"""PyTorch modules for the kinds PyTorch has no class for (torchvision's, Keras's, and merges), and
for TF's and ONNX's "same" padding (SAME_UPPER, SAME_LOWER), which depends on the input's size."""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Sequence
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


class LayerNorm2dModule(nn.LayerNorm):
    """torchvision's LayerNorm2d (ConvNeXt): LayerNorm over the channels at each position."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class LayerScaleModule(nn.Module):
    """x * gamma, gamma a learnable [C, 1, 1] (torchvision's CNBlock.layer_scale)."""

    def __init__(self, channels: int, init: float) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.full((channels, 1, 1), init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma


class StochasticDepthModule(nn.Module):
    """torchvision.ops.StochasticDepth (torchvision is not needed): the identity at inference; in
    training each sample ("row") or the whole batch is kept with probability 1 - p and scaled by
    1/(1 - p), by a multiplication with a noise tensor [N, 1, ...] or [1, 1, ...], as torchvision does."""

    def __init__(self, p: float, mode: str) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"drop probability has to be between 0 and 1, but got {p}")
        if mode not in ("batch", "row"):
            raise ValueError(f"mode has to be either 'batch' or 'row', but got {mode}")
        self.p, self.mode = p, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        size = [x.shape[0]] + [1] * (x.ndim - 1) if self.mode == "row" else [1] * x.ndim
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(survival)
        if survival > 0.0:
            noise.div_(survival)
        return x * noise


class ChunkModule(nn.Module):
    """``x.chunk(chunks, dim=1)[index]`` (ShuffleNetV2's channel split)."""

    def __init__(self, chunks: int, index: int) -> None:
        super().__init__()
        self.chunks, self.index = chunks, index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.chunk(self.chunks, dim=1)[self.index]


class Merge(nn.Module):
    """Two or more inputs into one: ``torch.add``/``torch.mul`` with broadcasting, or ``torch.cat``
    along the channels."""

    def __init__(self, how: Literal["add", "mul", "concat"]) -> None:
        super().__init__()
        self.how = how

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        if self.how == "concat":
            return torch.cat(xs, dim=1)
        return functools.reduce(torch.add if self.how == "add" else torch.mul, xs)

    def extra_repr(self) -> str:
        return self.how


# --- TF's and ONNX's SAME padding -------------------------------------------------------------------


def _per_axis(value: Any, rank: int) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * rank


def same_pads(
    size: Sequence[int], kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int], upper: bool
) -> list[tuple[int, int]]:
    """(before, after) per spatial axis, as TF pads for "SAME" (ONNX's SAME_UPPER; SAME_LOWER puts
    the odd pixel before): out = ceil(n/s), total = max((out - 1)*s + d*(k - 1) + 1 - n, 0)."""
    pads = []
    for n, k, s, d in zip(size, kernel, stride, dilation, strict=True):
        total = max((-(-n // s) - 1) * s + d * (k - 1) + 1 - n, 0)
        before = total // 2 if upper else total - total // 2
        pads.append((before, total - before))
    return pads


class SamePadding:
    """For a convolution or pool built with padding 0: its input padded in forward as TF's "same"
    (from the input's own size, so one module serves every size). Always padded, a zero padding
    too (a copy), so that what the layer keeps for backward does not depend on the size."""

    same: str = "SAME_UPPER"
    #: F.pad's mode ("constant", "reflect", "replicate", "circular") and, for constant, the value.
    fill: str = "constant"
    value: float = 0.0

    def padding_as(self, same: str, fill: str = "constant", value: float = 0.0) -> None:
        """Pad as ``same`` (SAME_UPPER or SAME_LOWER) with ``fill`` (F.pad's mode) and ``value``."""
        self.same, self.fill, self.value = same, fill, value

    def pads(self, x: torch.Tensor) -> list[tuple[int, int]]:
        """(before, after) per spatial axis for the input ``x``."""
        module: Any = self
        rank = x.dim() - 2
        kernel, stride = _per_axis(module.kernel_size, rank), _per_axis(module.stride, rank)
        dilation = _per_axis(getattr(module, "dilation", 1), rank)
        return same_pads(x.shape[2:], kernel, stride, dilation, self.same == "SAME_UPPER")

    def padded(self, x: torch.Tensor) -> torch.Tensor:
        flat = [p for pair in reversed(self.pads(x)) for p in pair]  # F.pad: the last axis first
        if self.fill == "constant":
            return F.pad(x, flat, value=self.value)
        return F.pad(x, flat, mode=self.fill)

    def extra_repr(self) -> str:
        text: str = super().extra_repr()  # type: ignore[misc]
        if "padding=0" in text:  # a pool states its padding: the module's own is 0
            return text.replace("padding=0", f"padding={self.same}")
        return f"{text}, padding={self.same}"


class SameConv1d(SamePadding, nn.Conv1d):
    """nn.Conv1d with SAME_UPPER/SAME_LOWER padding."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(self.padded(x))


class SameConv2d(SamePadding, nn.Conv2d):
    """nn.Conv2d with SAME_UPPER/SAME_LOWER padding (Keras's Conv2D padding="same", any stride)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(self.padded(x))


class SameConv3d(SamePadding, nn.Conv3d):
    """nn.Conv3d with SAME_UPPER/SAME_LOWER padding."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(self.padded(x))


class SameMaxPool1d(SamePadding, nn.MaxPool1d):
    """nn.MaxPool1d with SAME padding by -inf (as TF: padding never wins a maximum)."""

    def forward(self, x: torch.Tensor) -> Any:
        return super().forward(self.padded(x))


class SameMaxPool2d(SamePadding, nn.MaxPool2d):
    """nn.MaxPool2d with SAME padding by -inf (as TF: padding never wins a maximum)."""

    def forward(self, x: torch.Tensor) -> Any:
        return super().forward(self.padded(x))


class SameMaxPool3d(SamePadding, nn.MaxPool3d):
    """nn.MaxPool3d with SAME padding by -inf (as TF: padding never wins a maximum)."""

    def forward(self, x: torch.Tensor) -> Any:
        return super().forward(self.padded(x))


class SameAverage(SamePadding):
    """Average pooling with SAME padding. With count_include_pad false (and no divisor_override)
    the padding is left out of each window's average, as TF does: the zero-padded average is
    scaled by prod(k)/count, count being the window's input pixels, one tensor [1, 1, *out] made
    before the padded input (both are alive while the pool runs)."""

    def counts(self, x: torch.Tensor) -> torch.Tensor:
        """prod(k)/count per output position, in x's dtype, shaped [1, 1, *out]."""
        module: Any = self
        rank = x.dim() - 2
        kernel, stride = _per_axis(module.kernel_size, rank), _per_axis(module.stride, rank)
        per_axis = []
        for n, k, s, (before, after) in zip(x.shape[2:], kernel, stride, self.pads(x), strict=True):
            starts = range(-before, n + after - k + 1, s)
            per_axis.append([min(a + k, n) - max(a, 0) for a in starts])
        area = math.prod(kernel)
        scale = [area / math.prod(c) for c in itertools.product(*per_axis)]
        return torch.tensor(scale, dtype=x.dtype, device=x.device).view(1, 1, *(len(c) for c in per_axis))

    def average(self, x: torch.Tensor) -> torch.Tensor:
        module: Any = self
        pool = super().forward  # type: ignore[misc]
        if module.count_include_pad or getattr(module, "divisor_override", None) is not None:
            return pool(self.padded(x))  # type: ignore[no-any-return]
        scale = self.counts(x)
        return pool(self.padded(x)).mul_(scale)  # type: ignore[no-any-return]


class SameAvgPool1d(SameAverage, nn.AvgPool1d):
    """nn.AvgPool1d with SAME padding (see SameAverage)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.average(x)


class SameAvgPool2d(SameAverage, nn.AvgPool2d):
    """nn.AvgPool2d with SAME padding (see SameAverage)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.average(x)


class SameAvgPool3d(SameAverage, nn.AvgPool3d):
    """nn.AvgPool3d with SAME padding (see SameAverage)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.average(x)


# --- Keras's layers --------------------------------------------------------------------------------


class SeparableConv(nn.Module):
    """Keras's SeparableConv1D/2D as two convolutions: a depthwise one (groups = C_in, m filters per
    channel, no bias) then a pointwise 1x1 to C_out with the bias. The weights are this module's
    own parameters (depthwise_weight [C_in*m, 1, *k], pointwise_weight [C_out, C_in*m, 1, ...],
    bias), initialised as nn.ConvNd initialises a convolution's."""

    def __init__(
        self,
        rank: int,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        *,
        stride: Any,
        padding: Any,
        dilation: Any,
        depth_multiplier: int,
        bias: bool,
    ) -> None:
        super().__init__()
        self.rank, self.in_channels = rank, in_channels
        self.kernel_size, self.stride = _per_axis(kernel_size, rank), _per_axis(stride, rank)
        self.dilation, self.padding = _per_axis(dilation, rank), padding
        inner = in_channels * depth_multiplier
        self.depthwise_weight = nn.Parameter(torch.empty(inner, 1, *self.kernel_size))
        self.pointwise_weight = nn.Parameter(torch.empty(out_channels, inner, *(1,) * rank))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        for weight in (self.depthwise_weight, self.pointwise_weight):
            nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.pointwise_weight.shape[1])
            nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv = F.conv1d if self.rank == 1 else F.conv2d
        padding = self.padding
        if padding in ("SAME_UPPER", "SAME_LOWER"):
            pads = same_pads(x.shape[2:], self.kernel_size, self.stride, self.dilation, padding == "SAME_UPPER")
            x, padding = F.pad(x, [p for pair in reversed(pads) for p in pair]), 0  # x: kept to the end
        depthwise = conv(x, self.depthwise_weight, None, self.stride, padding, self.dilation, self.in_channels)
        return conv(depthwise, self.pointwise_weight, self.bias)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.pointwise_weight.shape[0]}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
            f"depth_multiplier={self.depthwise_weight.shape[0] // self.in_channels}, bias={self.bias is not None}"
        )


class PartialBatchNorm(_BatchNorm):
    """BatchNorm with only its weight (Keras: center=False) or only its bias (scale=False): built
    with affine=False, then the kept one added as a parameter; F.batch_norm takes either alone, so
    the output is Keras's (a missing weight is 1, a missing bias 0) and ``parameters()`` counts C."""

    def __init__(
        self,
        num_features: int,
        rank: int,
        *,
        scale: bool,
        center: bool,
        eps: float,
        momentum: float | None,
        track_running_stats: bool,
    ) -> None:
        super().__init__(num_features, eps, momentum, affine=False, track_running_stats=track_running_stats)
        self.rank, self.scale, self.center = rank, scale, center
        if scale:
            self.weight = nn.Parameter(torch.empty(num_features))
        if center:
            self.bias = nn.Parameter(torch.empty(num_features))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.weight is not None:
            nn.init.ones_(self.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def _check_input_dim(self, input: torch.Tensor) -> None:
        # PyTorch's BatchNorm1d/2d/3d messages
        dims = (2, 3) if self.rank == 1 else (self.rank + 2,)
        if input.dim() not in dims:
            wanted = " or ".join(f"{d}D" for d in dims)
            raise ValueError(f"expected {wanted} input (got {input.dim()}D input)")

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, scale={self.scale}, center={self.center}"  # type: ignore[no-untyped-call]


__all__ = [
    "ChunkModule",
    "LayerNorm2dModule",
    "LayerScaleModule",
    "Merge",
    "PartialBatchNorm",
    "SameAvgPool1d",
    "SameAvgPool2d",
    "SameAvgPool3d",
    "SameConv1d",
    "SameConv2d",
    "SameConv3d",
    "SameMaxPool1d",
    "SameMaxPool2d",
    "SameMaxPool3d",
    "SamePadding",
    "SeparableConv",
    "StochasticDepthModule",
    "same_pads",
]
