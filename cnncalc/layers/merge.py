"""Merges of two or more inputs: elementwise add and multiply (with PyTorch's broadcasting) and
concatenation along the channels. No parameters; MACs 0."""

# No `from __future__ import annotations`: pydantic then builds each class from evaluated
# annotations instead of resolving strings, which halves the import time of the layer classes.

from typing import ClassVar

from ..errors import ShapeError, collecting, note
from ..symbolic import Env, Value, equal, shape_text, to_text
from .base import Effect, Layer, Shape


def _broadcast(xs: list[Shape], kind: str) -> Shape:
    """PyTorch's broadcasting over shapes without the batch axis: align on the right; each axis
    equal, or 1 in all but one input."""
    first = xs[0]
    if all(x == first for x in xs):  # a residual add: nothing to broadcast
        return first
    rank = max(len(x) for x in xs)
    padded = [(1,) * (rank - len(x)) + tuple(x) for x in xs]
    out: list[Value] = []
    for axis in range(rank):
        sizes = [x[axis] for x in padded]
        big = [v for v in sizes if not (isinstance(v, int) and v == 1)]
        if not big:
            out.append(1)
            continue
        for v in big[1:]:
            symbolic = not (isinstance(v, int) and isinstance(big[0], int))
            if not equal(v, big[0]) and not (symbolic and note("eq", v - big[0], f"sizes equal in axis {axis}")):
                shapes = " and ".join(shape_text(x) for x in xs)
                cond = ""
                if not (isinstance(v, int) and isinstance(big[0], int)):
                    cond = f" (they agree only where {to_text(big[0], True)} = {to_text(v, True)})"
                raise ShapeError(f"{kind}: the shapes {shapes} differ in axis {axis}{cond}")
        out.append(big[0])
    return tuple(out)


def _agreeing(x: Shape, first: Shape) -> Shape:
    """``x`` with each symbolic spatial size that differs from ``first``'s replaced by it, noting
    that the two must be equal (collecting conditions only)."""
    out = [x[0]]
    for axis, (a, b) in enumerate(zip(x[1:], first[1:], strict=True), 1):
        if not (isinstance(a, int) and isinstance(b, int)) and not equal(a, b):
            note("eq", a - b, f"sizes equal in axis {axis}")
            a = b
        out.append(a)
    return tuple(out)


class Add(Layer):
    """Elementwise sum of two or more inputs (a residual connection), with PyTorch's broadcasting.
    No parameters; MACs 0."""

    kind: ClassVar[str] = "add"
    prefix: ClassVar[str] = "add"
    arity: ClassVar[int | None] = None

    def transients(self, n_inputs: int = 1) -> tuple[str, ...]:
        return ("like_output",) if n_inputs >= 3 else ()  # a partial sum

    def apply_many(self, xs: list[Shape], env: Env) -> Effect:
        return Effect(output=_broadcast(xs, self.kind))


class Mul(Layer):
    """Elementwise product of two or more inputs (a squeeze-and-excitation gate [C, 1, 1] times
    [C, H, W]), with broadcasting. No parameters; MACs 0."""

    kind: ClassVar[str] = "mul"
    prefix: ClassVar[str] = "mul"
    arity: ClassVar[int | None] = None
    #: Each input another input's gradient needs (cnncalc.memory checks which need gradients).
    saves: ClassVar[tuple[str, ...]] = ("inputs",)

    def transients(self, n_inputs: int = 1) -> tuple[str, ...]:
        return ("like_output",) if n_inputs >= 3 else ()  # a partial product

    def apply_many(self, xs: list[Shape], env: Env) -> Effect:
        return Effect(output=_broadcast(xs, self.kind))


class Concat(Layer):
    """Concatenation along channels (``torch.cat(xs, dim=1)``): spatial sizes must agree; output
    channels are the sum. No parameters."""

    kind: ClassVar[str] = "concat"
    prefix: ClassVar[str] = "cat"
    arity: ClassVar[int | None] = None

    def apply_many(self, xs: list[Shape], env: Env) -> Effect:
        first = xs[0]
        for x in xs[1:]:
            if len(x) == len(first) and collecting():
                x = _agreeing(x, first)  # the sizes agree where the conditions hold
            if len(x) != len(first) or not all(equal(a, b) for a, b in zip(x[1:], first[1:], strict=True)):
                conds = [
                    f"{to_text(a, True)} = {to_text(b, True)}"
                    for a, b in zip(first[1:], x[1:], strict=False)
                    if not equal(a, b) and not (isinstance(a, int) and isinstance(b, int))
                ]
                cond = f" (they agree only where {' and '.join(conds)})" if conds else ""
                raise ShapeError(
                    f"concat: {shape_text(first)} and {shape_text(x)} differ outside the channel axis{cond}"
                )
        channels: Value = 0
        for x in xs:
            channels = channels + x[0]
        return Effect(output=(channels, *first[1:]))


__all__ = ["Add", "Concat", "Mul"]
