"""The fully connected layer: every input feature to every output feature."""

# No `from __future__ import annotations`: pydantic then builds each class from evaluated
# annotations instead of resolving strings, which halves the import time of the layer classes.

from typing import ClassVar

from pydantic import StrictBool

from ..errors import ShapeError
from ..symbolic import Env
from .base import FLAT, Effect, Int, Layer, Shape


class Linear(Layer):
    """Fully connected layer (https://pytorch.org/docs/stable/generated/torch.nn.Linear.html).

    params = in*out + out (bias); MACs = in*out.
    """

    kind: ClassVar[str] = "linear"
    prefix: ClassVar[str] = "fc"
    saves: ClassVar[tuple[str, ...]] = ("input",)
    formula_symbols: ClassVar[dict[str, str | tuple[str, ...]]] = {"out_features": "F_out"}
    out_features: Int
    bias: StrictBool = True

    def apply(self, x: Shape, env: Env) -> Effect:
        if len(x) != 1:
            raise ShapeError(
                "linear needs a flat input: add `flatten` before it (PyTorch would apply it to the last axis only)"
            )
        out = self._value(env, "out_features")
        n = x[0]
        return Effect(
            output=(out,), params=n * out + (out if self.bias else 0), macs=n * out, rf=FLAT, fan_in=n, bias=self.bias
        )

    def kept(self, n_inputs: int = 1) -> tuple[str, ...]:
        return self.saves if self.trainable else ()  # frozen: only the weight, for the input's gradient


__all__ = ["Linear"]
