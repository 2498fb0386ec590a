"""PyTorch modules for the kinds PyTorch has no class for (torchvision's, and merges)."""

from __future__ import annotations

import functools
from typing import Literal

import torch
from torch import nn


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


__all__ = ["ChunkModule", "LayerNorm2dModule", "LayerScaleModule", "Merge", "StochasticDepthModule"]
