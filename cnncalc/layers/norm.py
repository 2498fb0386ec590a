"""Normalisation and scaling: batch norm (1-D to 3-D), local response norm, ConvNeXt's LayerNorm2d and
layer scale. Shapes pass through unchanged; MACs count 0 (elementwise).
"""

# No `from __future__ import annotations`: pydantic then builds each class from evaluated
# annotations instead of resolving strings, which halves the import time of the layer classes.

from typing import ClassVar

from pydantic import Field, StrictBool, StrictInt

from ..errors import ShapeError
from ..symbolic import Env
from .base import Effect, Layer, Shape, shape_kind


class _BatchNorm(Layer):
    """params = C (weight: scale) + C (bias: center) when affine; running mean and variance are
    buffers. ``scale``/``center`` false leave the weight/bias out, as Keras's BatchNormalization."""

    prefix: ClassVar[str] = "bn"
    #: The input, and the batch's mean and inverse standard deviation per channel.
    saves: ClassVar[tuple[str, ...]] = ("input", "channels", "channels")
    eps: float = 1e-5
    momentum: float | None = 0.1
    affine: StrictBool = True
    track_running_stats: StrictBool = True
    scale: StrictBool = Field(default=True, description="false: no weight (gamma), as Keras's scale=False")
    center: StrictBool = Field(default=True, description="false: no bias (beta), as Keras's center=False")

    def transients(self, n_inputs: int = 1) -> tuple[str, ...]:
        # Without running statistics, inference computes the batch's own.
        return () if self.track_running_stats else ("channels", "channels")

    def apply(self, x: Shape, env: Env) -> Effect:
        c, *size = self._spatial(x)
        if not self.track_running_stats and all(isinstance(n, int) and n == 1 for n in size):
            # Without running statistics PyTorch normalises by batch statistics even in eval mode.
            shown = "x".join(str(n) for n in size) or "flat"
            raise ShapeError(f"batch statistics need more than one value per channel; a {shown} map at batch 1 has one")
        kept = int(self.scale) + int(self.center)  # weight, bias, or both
        return Effect(output=x, params=kept * c if self.affine and kept else 0)


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over [C] or [C, L] (https://pytorch.org/docs/stable/generated/torch.nn.BatchNorm1d.html).

    params = 2C (weight and bias) when affine, C without one (scale or center false);
    running mean and variance are buffers.
    """

    kind: ClassVar[str] = "batchnorm1d"
    rank: ClassVar[int | None] = 1

    def _spatial(self, x: Shape) -> Shape:
        if len(x) not in (1, 2):
            raise ShapeError(f"batchnorm1d needs a [features] or [C, L] input, this input is {shape_kind(x)}")
        return x


class BatchNorm2d(_BatchNorm):
    """Batch normalisation (https://pytorch.org/docs/stable/generated/torch.nn.BatchNorm2d.html).

    params = 2C (weight and bias) when affine, C without one (scale or center false);
    running mean and variance are buffers.
    """

    kind: ClassVar[str] = "batchnorm2d"
    rank: ClassVar[int | None] = 2


class BatchNorm3d(_BatchNorm):
    """Batch normalisation over [C, D, H, W] (https://pytorch.org/docs/stable/generated/torch.nn.BatchNorm3d.html).

    params = 2C (weight and bias) when affine, C without one (scale or center false);
    running mean and variance are buffers.
    """

    kind: ClassVar[str] = "batchnorm3d"
    rank: ClassVar[int | None] = 3


class LocalResponseNorm(Layer):
    """Local response normalisation across channels (https://pytorch.org/docs/stable/generated/torch.nn.LocalResponseNorm.html).

    Shape unchanged, no parameters; ``size`` neighbouring channels.
    """

    kind: ClassVar[str] = "localresponsenorm"
    #: PyTorch composes it of ops: the input, the padded squares, and two tensors of the output's size.
    saves: ClassVar[tuple[str, ...]] = ("input", "lrn_padded", "like_output", "like_output")
    transient: ClassVar[tuple[str, ...]] = ("like_output", "like_output")
    prefix: ClassVar[str] = "lrn"
    size: StrictInt = Field(ge=1)
    alpha: float = 1e-4
    beta: float = 0.75
    k: float = 1.0

    def apply(self, x: Shape, env: Env) -> Effect:
        if len(x) < 2:
            raise ShapeError(f"localresponsenorm needs an input with channels and spatial axes, got rank {len(x)}")
        return Effect(output=x)


class LayerNorm2d(Layer):
    """Layer normalisation over the channels at each position, as ConvNeXt's LayerNorm2d
    (https://pytorch.org/docs/stable/generated/torch.nn.LayerNorm.html over C, channels last).

    params = 2C with elementwise_affine (weight and bias), C without bias.
    """

    kind: ClassVar[str] = "layernorm2d"
    #: The input, and the mean and inverse standard deviation per position.
    saves: ClassVar[tuple[str, ...]] = ("input", "positions", "positions")
    transient: ClassVar[tuple[str, ...]] = ("positions", "positions")
    prefix: ClassVar[str] = "norm"
    rank: ClassVar[int | None] = 2
    eps: float = 1e-6
    elementwise_affine: StrictBool = True
    bias: StrictBool = True

    def apply(self, x: Shape, env: Env) -> Effect:
        c = self._spatial(x)[0]
        params = (2 * c if self.bias else c) if self.elementwise_affine else 0
        return Effect(output=x, params=params)


class LayerScale(Layer):
    """A learnable per-channel scale, x * gamma with gamma of shape [C, 1, 1] (ConvNeXt's layer
    scale). params = C; MACs 0 (elementwise)."""

    kind: ClassVar[str] = "layerscale"
    saves: ClassVar[tuple[str, ...]] = ("input",)
    prefix: ClassVar[str] = "scale"
    rank: ClassVar[int | None] = 2
    init: float = 1e-6

    def kept(self, n_inputs: int = 1) -> tuple[str, ...]:
        return self.saves if self.trainable else ()  # frozen: only gamma, for the input's gradient

    def apply(self, x: Shape, env: Env) -> Effect:
        return Effect(output=x, params=self._spatial(x)[0])


__all__ = ["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "LayerNorm2d", "LayerScale", "LocalResponseNorm"]
