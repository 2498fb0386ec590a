"""Layer kinds: one frozen class per kind, grouped by family, each holding its YAML fields (PyTorch's
names and defaults), its rules and its formulas. :data:`KINDS` is the registry, and the only one.

Each class's ``apply(shape, env)`` takes the input shape (channels first, no batch axis) and returns
an :class:`Effect`: output shape, parameters, multiply-accumulates and the receptive-field step.

Conventions (stated again in every summary):
- params: learnable tensors as ``nn.Module.parameters()`` counts them; BatchNorm's running
  statistics are buffers, not parameters.
- macs: multiply-accumulates of conv and linear weights, batch 1, bias excluded; normalisation,
  activation and pooling count zero (torchvision's "GFLOPS" convention).
"""

# No `from __future__ import annotations`: pydantic then builds each class from evaluated
# annotations instead of resolving strings, which halves the import time of the layer classes.

from .activation import (
    GELU,
    Dropout,
    Hardsigmoid,
    Hardswish,
    Identity,
    LeakyReLU,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    StochasticDepth,
    Tanh,
)
from .base import AXES, FLAT, KEEP, UNKNOWN, Effect, Int, Layer, Scatter, Shape, Spread, Window, counted, parse_field
from .conv import (
    Conv1d,
    Conv2d,
    Conv3d,
    ConvTranspose1d,
    ConvTranspose2d,
    ConvTranspose3d,
    SeparableConv1d,
    SeparableConv2d,
)
from .linear import Linear
from .merge import Add, Concat, Mul
from .norm import BatchNorm1d, BatchNorm2d, BatchNorm3d, LayerNorm2d, LayerScale, LocalResponseNorm
from .pool import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveAvgPool3d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AdaptiveMaxPool3d,
    AvgPool1d,
    AvgPool2d,
    AvgPool3d,
    MaxPool1d,
    MaxPool2d,
    MaxPool3d,
)
from .reshape import ChannelShuffle, Chunk, Flatten, Upsample, ZeroPad1d, ZeroPad2d, ZeroPad3d

#: The registry: YAML kind -> layer class, in the order the README's table lists them.
KINDS: dict[str, type[Layer]] = {
    cls.kind: cls
    for cls in (
        Conv1d,
        Conv2d,
        Conv3d,
        SeparableConv1d,
        SeparableConv2d,
        ConvTranspose1d,
        ConvTranspose2d,
        ConvTranspose3d,
        Linear,
        MaxPool1d,
        MaxPool2d,
        MaxPool3d,
        AvgPool1d,
        AvgPool2d,
        AvgPool3d,
        AdaptiveAvgPool1d,
        AdaptiveAvgPool2d,
        AdaptiveAvgPool3d,
        AdaptiveMaxPool1d,
        AdaptiveMaxPool2d,
        AdaptiveMaxPool3d,
        BatchNorm1d,
        BatchNorm2d,
        BatchNorm3d,
        LocalResponseNorm,
        LayerNorm2d,
        LayerScale,
        ReLU,
        ReLU6,
        LeakyReLU,
        Sigmoid,
        Tanh,
        GELU,
        SiLU,
        Hardswish,
        Hardsigmoid,
        Softmax,
        Dropout,
        Identity,
        StochasticDepth,
        Flatten,
        ZeroPad1d,
        ZeroPad2d,
        ZeroPad3d,
        Upsample,
        ChannelShuffle,
        Chunk,
        Add,
        Mul,
        Concat,
    )
}

__all__ = [
    "AXES",
    "FLAT",
    "KEEP",
    "KINDS",
    "UNKNOWN",
    "Effect",
    "Int",
    "Layer",
    "Scatter",
    "Shape",
    "Spread",
    "Window",
    "counted",
    "parse_field",
]
