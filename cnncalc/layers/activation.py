"""Elementwise activations, dropout and identities: shape unchanged, no parameters, no MACs, and the
receptive field kept."""

# No `from __future__ import annotations`: pydantic then builds each class from evaluated
# annotations instead of resolving strings, which halves the import time of the layer classes.

from typing import ClassVar, Literal

from pydantic import Field, StrictBool, StrictInt

from ..errors import ShapeError
from ..symbolic import Env
from .base import Effect, Layer, Shape


class _Activation(Layer):
    """An elementwise activation: shape unchanged, no parameters, no MACs."""


class _InplaceActivation(_Activation):
    """An activation PyTorch can apply in place: its output is then its input's storage."""

    inplace: StrictBool = False
    #: What backward keeps when in place (ReLU: the output, which is the input's storage).
    saves_inplace: ClassVar[tuple[str, ...] | None] = None

    def kept(self, n_inputs: int = 1) -> tuple[str, ...]:
        if self.inplace and self.saves_inplace is not None:
            return self.saves_inplace
        return self.saves


class ReLU(_InplaceActivation):
    """ReLU (https://pytorch.org/docs/stable/generated/torch.nn.ReLU.html): max(0, x)."""

    kind: ClassVar[str] = "relu"
    saves: ClassVar[tuple[str, ...]] = ("output",)
    prefix: ClassVar[str] = "relu"


class ReLU6(_InplaceActivation):
    """ReLU6 (https://pytorch.org/docs/stable/generated/torch.nn.ReLU6.html): min(max(0, x), 6)."""

    kind: ClassVar[str] = "relu6"
    saves: ClassVar[tuple[str, ...]] = ("input",)
    #: In place, a copy of the input is kept before it is overwritten.
    saves_inplace: ClassVar[tuple[str, ...]] = ("like_input",)
    prefix: ClassVar[str] = "relu"


class LeakyReLU(_InplaceActivation):
    """LeakyReLU (https://pytorch.org/docs/stable/generated/torch.nn.LeakyReLU.html)."""

    kind: ClassVar[str] = "leakyrelu"
    saves: ClassVar[tuple[str, ...]] = ("input",)
    prefix: ClassVar[str] = "relu"
    negative_slope: float = 0.01


class Sigmoid(_Activation):
    """Sigmoid (https://pytorch.org/docs/stable/generated/torch.nn.Sigmoid.html)."""

    kind: ClassVar[str] = "sigmoid"
    saves: ClassVar[tuple[str, ...]] = ("output",)
    prefix: ClassVar[str] = "sigmoid"


class Tanh(_Activation):
    """Tanh (https://pytorch.org/docs/stable/generated/torch.nn.Tanh.html)."""

    kind: ClassVar[str] = "tanh"
    saves: ClassVar[tuple[str, ...]] = ("output",)
    prefix: ClassVar[str] = "tanh"


class GELU(_Activation):
    """GELU (https://pytorch.org/docs/stable/generated/torch.nn.GELU.html)."""

    kind: ClassVar[str] = "gelu"
    saves: ClassVar[tuple[str, ...]] = ("input",)
    prefix: ClassVar[str] = "gelu"
    approximate: Literal["none", "tanh"] = "none"


class SiLU(_InplaceActivation):
    """SiLU / swish (https://pytorch.org/docs/stable/generated/torch.nn.SiLU.html)."""

    kind: ClassVar[str] = "silu"
    saves: ClassVar[tuple[str, ...]] = ("input",)
    #: In place, a copy of the input is kept before it is overwritten.
    saves_inplace: ClassVar[tuple[str, ...]] = ("like_input",)
    prefix: ClassVar[str] = "silu"


class Hardswish(_InplaceActivation):
    """Hardswish (https://pytorch.org/docs/stable/generated/torch.nn.Hardswish.html)."""

    kind: ClassVar[str] = "hardswish"
    saves: ClassVar[tuple[str, ...]] = ("input",)
    #: In place, a copy of the input is kept before it is overwritten.
    saves_inplace: ClassVar[tuple[str, ...]] = ("like_input",)
    prefix: ClassVar[str] = "hardswish"


class Softmax(_Activation):
    """Softmax (https://pytorch.org/docs/stable/generated/torch.nn.Softmax.html); dim counts the batch as 0."""

    kind: ClassVar[str] = "softmax"
    saves: ClassVar[tuple[str, ...]] = ("output",)
    prefix: ClassVar[str] = "softmax"
    dim: StrictInt = 1

    def apply(self, x: Shape, env: Env) -> Effect:
        rank = len(x) + 1  # with the batch axis
        if not -rank <= self.dim < rank:
            raise ShapeError(
                f"dim {self.dim} is out of range for a batch of rank {rank} ({-rank}..{rank - 1})", path=("dim",)
            )
        return Effect(output=x)


class Hardsigmoid(_InplaceActivation):
    """Hardsigmoid (https://pytorch.org/docs/stable/generated/torch.nn.Hardsigmoid.html)."""

    kind: ClassVar[str] = "hardsigmoid"
    saves: ClassVar[tuple[str, ...]] = ("input",)
    #: In place, a copy of the input is kept before it is overwritten.
    saves_inplace: ClassVar[tuple[str, ...]] = ("like_input",)
    prefix: ClassVar[str] = "hardsigmoid"


class Dropout(Layer):
    """Dropout (https://pytorch.org/docs/stable/generated/torch.nn.Dropout.html): identity in shape."""

    kind: ClassVar[str] = "dropout"
    prefix: ClassVar[str] = "dropout"
    p: float = Field(default=0.5, ge=0, le=1)
    inplace: StrictBool = False

    def kept(self, n_inputs: int = 1) -> tuple[str, ...]:
        # On CPU the mask is a tensor of the input's dtype and size (bernoulli_, then div_); p = 0
        # is the identity and p = 1 multiplies by a scalar 0.
        return () if self.p == 0 else ("scalar",) if self.p == 1 else ("like_input",)

    def aliases(self, training: bool) -> bool:
        return not training or self.p == 0 or self.inplace


class Identity(Layer):
    """Identity (https://pytorch.org/docs/stable/generated/torch.nn.Identity.html)."""

    kind: ClassVar[str] = "identity"
    prefix: ClassVar[str] = "identity"
    view: ClassVar[bool] = True


class StochasticDepth(Layer):
    """Stochastic depth (torchvision.ops.StochasticDepth): randomly drops a residual branch in
    training; the identity at inference. No parameters."""

    kind: ClassVar[str] = "stochasticdepth"
    prefix: ClassVar[str] = "stochastic_depth"
    p: float = Field(default=0.0, ge=0, le=1)
    mode: Literal["row", "batch"] = "row"

    def kept(self, n_inputs: int = 1) -> tuple[str, ...]:
        # torchvision multiplies by a noise tensor [N, 1, ...] ("row") or [1, 1, ...] ("batch").
        return () if self.p == 0 else ("noise_row",) if self.mode == "row" else ("scalar",)

    def aliases(self, training: bool) -> bool:
        return not training or self.p == 0


__all__ = [
    "GELU",
    "Dropout",
    "Hardsigmoid",
    "Hardswish",
    "Identity",
    "LeakyReLU",
    "ReLU",
    "ReLU6",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "StochasticDepth",
    "Tanh",
]
