"""Layers that move or resize values without weights: flatten, padding, upsampling, channel split and
shuffle. No parameters, no MACs.
"""

# No `from __future__ import annotations`: pydantic then builds each class from evaluated
# annotations instead of resolving strings, which halves the import time of the layer classes.

from fractions import Fraction
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field, StrictBool, StrictInt

from ..errors import ShapeError
from ..symbolic import Env, Value
from .base import (
    FLAT,
    KEEP,
    UNKNOWN,
    AnyAxes,
    Effect,
    Int,
    Layer,
    Shape,
    Spread,
    Window,
    check_output,
    counted,
    divides,
    exact_div,
    shape_kind,
)


class Flatten(Layer):
    """Flatten (https://pytorch.org/docs/stable/generated/torch.nn.Flatten.html).

    Dimensions count the batch as 0, as in PyTorch: the default start_dim=1, end_dim=-1 turns
    [C, H, W] into [C*H*W].
    """

    kind: ClassVar[str] = "flatten"
    prefix: ClassVar[str] = "flatten"
    view: ClassVar[bool] = True
    start_dim: StrictInt = 1
    end_dim: StrictInt = -1

    def apply(self, x: Shape, env: Env) -> Effect:
        rank = len(x) + 1
        start = self.start_dim + rank if self.start_dim < 0 else self.start_dim
        end = self.end_dim + rank if self.end_dim < 0 else self.end_dim
        if not 1 <= start <= end < rank:
            raise ShapeError(
                f"start_dim={self.start_dim}, end_dim={self.end_dim} do not select dimensions 1.."
                f"{rank - 1} of a batch of {list(x)} (dimension 0 is the batch)",
                path=("start_dim",),
            )
        merged: Value = 1
        for v in x[start - 1 : end]:
            merged = merged * v
        out = (*x[: start - 1], merged, *x[end:])
        return Effect(output=out, rf=FLAT if len(out) == 1 else KEEP)


class ChannelShuffle(Layer):
    """Channel shuffle (https://pytorch.org/docs/stable/generated/torch.nn.ChannelShuffle.html):
    shape unchanged; channels must divide into ``groups``."""

    kind: ClassVar[str] = "channel_shuffle"
    prefix: ClassVar[str] = "shuffle"
    formula_symbols: ClassVar[dict[str, str | tuple[str, ...]]] = {"groups": "g"}
    rank: ClassVar[int | None] = 2
    groups: Int

    def apply(self, x: Shape, env: Env) -> Effect:
        groups = self._value(env, "groups")
        c = self._spatial(x)[0]
        if isinstance(c, int) and isinstance(groups, int) and c % groups:
            raise ShapeError(f"{c} channels are not divisible by groups={groups}", path=("groups",))
        divides(c, groups, "channels divisible by groups", ("groups",))
        return Effect(output=x)


class Chunk(Layer):
    """One of ``chunks`` equal parts of the channels, as ``x.chunk(chunks, dim=1)[index]``
    (ShuffleNetV2's channel split). Output channels C/chunks; no parameters."""

    kind: ClassVar[str] = "chunk"
    prefix: ClassVar[str] = "chunk"
    view: ClassVar[bool] = True
    formula_symbols: ClassVar[dict[str, str | tuple[str, ...]]] = {"chunks": "n"}
    chunks: Int
    index: StrictInt = Field(ge=0)

    def apply(self, x: Shape, env: Env) -> Effect:
        chunks = self._value(env, "chunks")
        c = x[0]
        if isinstance(chunks, int) and self.index >= chunks:
            raise ShapeError(f"index {self.index} is not below chunks={chunks}", path=("index",))
        if isinstance(c, int) and isinstance(chunks, int) and c % chunks:
            raise ShapeError(f"{c} channels do not split into {chunks} equal chunks", path=("chunks",))
        divides(c, chunks, "channels split into equal chunks", ("chunks",))
        return Effect(output=(exact_div(c, chunks), *x[1:]))


class _ZeroPad(Layer):
    """Zero padding: ``padding`` lists (before, after) per axis, last axis first, as PyTorch's F.pad."""

    prefix: ClassVar[str] = "pad"

    def apply(self, x: Shape, env: Env) -> Effect:
        c, *size = self._spatial(x)
        n = len(size)
        raw: Any = getattr(self, "padding")  # noqa: B009 - declared per rank by the subclasses
        sides = [env.resolve(v) for v in (raw if isinstance(raw, tuple) else (raw,) * (2 * n))]
        # sides = (last axis before, after, next-to-last before, after, ...): reverse into axis order.
        before = tuple(sides[2 * (n - 1 - i)] for i in range(n))
        after = tuple(sides[2 * (n - 1 - i) + 1] for i in range(n))
        out = tuple(m + b + a for m, b, a in zip(size, before, after, strict=True))
        check_output(out)
        # A 1-pixel window with padding moves the first output's centre by the padding.
        return Effect(output=(c, *out), rf=Window((1,) * n, (1,) * n, before))


class ZeroPad1d(_ZeroPad):
    """Zero padding of [C, L] (https://pytorch.org/docs/stable/generated/torch.nn.ZeroPad1d.html): an
    int for both sides or [left, right]; out = L + left + right."""

    kind: ClassVar[str] = "zeropad1d"
    rank: ClassVar[int | None] = 1
    formula_symbols: ClassVar[dict[str, str | tuple[str, ...]]] = {"padding": ("p_left", "p_right")}
    padding: Annotated[Int | tuple[Int, Int], counted((2,), "[left, right]")]


class ZeroPad2d(_ZeroPad):
    """Zero padding (https://pytorch.org/docs/stable/generated/torch.nn.ZeroPad2d.html): an int
    for all sides or [left, right, top, bottom]; out = in + top + bottom (height), + left + right."""

    kind: ClassVar[str] = "zeropad2d"
    rank: ClassVar[int | None] = 2
    formula_symbols: ClassVar[dict[str, str | tuple[str, ...]]] = {
        "padding": ("p_left", "p_right", "p_top", "p_bottom")
    }
    padding: Annotated[Int | tuple[Int, Int, Int, Int], counted((4,), "[left, right, top, bottom]")]


class ZeroPad3d(_ZeroPad):
    """Zero padding of [C, D, H, W] (https://pytorch.org/docs/stable/generated/torch.nn.ZeroPad3d.html):
    an int for all sides or [left, right, top, bottom, front, back]; out = D + front + back, H + top
    + bottom, W + left + right."""

    kind: ClassVar[str] = "zeropad3d"
    rank: ClassVar[int | None] = 3
    formula_symbols: ClassVar[dict[str, str | tuple[str, ...]]] = {
        "padding": ("p_left", "p_right", "p_top", "p_bottom", "p_front", "p_back")
    }
    padding: Annotated[
        Int | tuple[Int, Int, Int, Int, Int, Int], counted((6,), "[left, right, top, bottom, front, back]")
    ]


#: The interpolation modes and the rank each needs (None: any), as F.interpolate checks them.
MODES: dict[str, int | None] = {
    "nearest": None,
    "nearest-exact": None,
    "linear": 1,
    "bilinear": 2,
    "bicubic": 2,
    "trilinear": 3,
}


class Upsample(Layer):
    """Upsampling of any rank (https://pytorch.org/docs/stable/generated/torch.nn.Upsample.html):
    out = ``size``, or floor(in * scale_factor) with a whole-number scale, per spatial axis; no
    parameters. ``linear`` needs [C, L], ``bilinear``/``bicubic`` [C, H, W], ``trilinear`` [C, D, H, W]."""

    kind: ClassVar[str] = "upsample"
    prefix: ClassVar[str] = "upsample"
    formula_symbols: ClassVar[dict[str, str | tuple[str, ...]]] = {"size": "o", "scale_factor": "f"}
    size: AnyAxes | None = None
    scale_factor: AnyAxes | None = None
    mode: Literal["nearest", "linear", "bilinear", "bicubic", "trilinear", "nearest-exact"] = "nearest"
    align_corners: StrictBool | None = None

    def apply(self, x: Shape, env: Env) -> Effect:
        c, *size = x
        n = len(size)
        if n not in (1, 2, 3):
            raise ShapeError(f"upsample needs an input with 1 to 3 spatial axes, this input is {shape_kind(x)}")
        needs = MODES[self.mode]
        if needs is not None and needs != n:
            raise ShapeError(
                f"mode {self.mode!r} needs {shape_kind((c, *(0,) * needs))}, this input is {shape_kind(x)}",
                path=("mode",),
            )
        if (self.size is None) == (self.scale_factor is None):
            raise ShapeError("give exactly one of size and scale_factor", path=("size",))
        if self.align_corners is not None and self.mode in ("nearest", "nearest-exact"):
            raise ShapeError(
                f"align_corners applies to interpolating modes, not {self.mode!r}", path=("align_corners",)
            )
        field = "size" if self.size is not None else "scale_factor"
        values = self._values(env, field, rank=n)
        if self.size is not None:
            out = values
            factors: tuple[Any, ...] = tuple(
                Fraction(o, i) if isinstance(o, int) and isinstance(i, int) else None
                for o, i in zip(out, size, strict=True)
            )
        else:
            out = tuple(v * f for v, f in zip(size, values, strict=True))
            factors = values
        if all(isinstance(f, int | Fraction) for f in factors):
            return Effect(output=(c, *out), rf=Spread(self.mode, factors, self.align_corners))
        return Effect(output=(c, *out), rf=UNKNOWN)


__all__ = ["ChannelShuffle", "Chunk", "Flatten", "Upsample", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d"]
