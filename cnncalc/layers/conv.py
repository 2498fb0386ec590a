"""Convolutions, 1-D to 3-D, depthwise separable ones (Keras's) and transposed convolutions: the
layers whose weights slide.

Per spatial axis: out = floor((in + 2p - d(k-1) - 1)/s) + 1; params = prod(k)*(C_in/groups)*C_out
+ C_out (bias); MACs = prod(k)*(C_in/groups)*C_out*prod(out). A transposed convolution gives
out = (in - 1)*s - 2p + d(k-1) + output_padding + 1 and MACs = C_in*(C_out/groups)*prod(k)*prod(in).
"""

# No `from __future__ import annotations`: pydantic then builds each class from evaluated
# annotations instead of resolving strings, which halves the import time of the layer classes.

import math
from typing import ClassVar, Literal

from pydantic import Field, StrictBool

from ..errors import ShapeError
from ..symbolic import Env, Value, floordiv, product
from .base import (
    SAME,
    Axes1,
    Axes2,
    Axes3,
    Effect,
    Int,
    Layer,
    Padding1,
    Padding2,
    Padding3,
    Scatter,
    Shape,
    TransposedPadding1,
    TransposedPadding2,
    TransposedPadding3,
    Window,
    check_fits,
    check_output,
    check_wrap,
    divides,
    effective,
    exact_div,
    same_sizes,
    window_output,
)

#: A convolution's window per axis, its fields resolved (see ``_Windowed._window``): kernel, stride,
#: dilation (None: 1), effective kernel, padding before, total padding, output size (None: by the
#: window). A plain tuple: one is made for every convolution of every summary.
_Sliding = tuple[
    tuple[Value, ...],
    tuple[Value, ...],
    tuple[Value, ...] | None,
    tuple[Value, ...],
    tuple[Value, ...],
    tuple[Value, ...],
    tuple[Value, ...] | None,
]


class _Windowed(Layer):
    """What convolutions share: a kernel sliding with stride, dilation and padding (numbers,
    PyTorch's "same"/"valid", or SAME_UPPER/SAME_LOWER)."""

    def _window(self, env: Env, size: Shape) -> _Sliding:
        """Kernel, stride, dilation (None: 1), effective kernel, padding before each axis, total
        padding per axis, and the output size where the padding decides it (SAME: ceil(in/s))."""
        k = self._values(env, "kernel_size")
        s = self._values(env, "stride")
        dilation = None if self.dilation == 1 else self._values(env, "dilation")  # type: ignore[attr-defined]
        eff = k if dilation is None else effective(k, dilation)
        padding = self.padding  # type: ignore[attr-defined]
        if padding in SAME:
            out, left, totals = same_sizes(size, eff, s, padding == SAME[0])
            return k, s, dilation, eff, left, totals, out
        if padding == "same":
            if any(v != 1 for v in s):
                raise ShapeError(
                    "padding='same' needs stride 1 (as in PyTorch); TF/Keras padding=\"same\" with a stride is "
                    "'SAME_UPPER'",
                    path=("padding",),
                )
            # PyTorch pads d(k-1) in total, the odd pixel on the right.
            totals = tuple([e - 1 for e in eff])
            left = tuple([floordiv(t, 2) for t in totals])
        else:
            left = (0,) * len(k) if padding == "valid" else self._values(env, "padding", 0)
            totals = (2 * left[0], 2 * left[1]) if len(left) == 2 else tuple([2 * v for v in left])
        return k, s, dilation, eff, left, totals, None

    def padded(self, size: Shape, env: Env) -> Shape:
        """The input's sizes once padded (what a padding other than PyTorch's own zeros keeps)."""
        totals = self._window(env, size)[5]
        return tuple([n + t for n, t in zip(size, totals, strict=True)])


class _Conv(_Windowed):
    """The rule of conv1d, conv2d and conv3d (they differ in rank and in their per-axis fields)."""

    prefix: ClassVar[str] = "conv"
    formula_symbols: ClassVar[dict[str, str | tuple[str, ...]]] = {
        "kernel_size": "k", "stride": "s", "padding": "p", "dilation": "d", "groups": "g", "out_channels": "C_out"
    }  # fmt: skip
    formula_optional: ClassVar[frozenset[str]] = frozenset({"dilation", "groups"})
    saves: ClassVar[tuple[str, ...]] = ("input",)
    out_channels: Int
    groups: Int = 1
    bias: StrictBool = True
    padding_mode: Literal["zeros", "reflect", "replicate", "circular"] = "zeros"

    def kept(self, n_inputs: int = 1) -> tuple[str, ...]:
        # A padding other than zeros is a separate op: its padded input is what the convolution
        # keeps, and reflect/replicate padding keep their input too where it needs a gradient
        # ("input?"; circular padding does not). SAME_UPPER/LOWER pad first whatever the mode, and
        # a zero (constant) padding keeps nothing of its own.
        if self.padding_mode == "zeros" and self.padding not in SAME:  # type: ignore[attr-defined]
            return self.saves
        return ("padded",) if self.padding_mode in ("zeros", "circular") else ("input?", "padded")

    def transients(self, n_inputs: int = 1) -> tuple[str, ...]:
        plain = self.padding_mode == "zeros" and self.padding not in SAME  # type: ignore[attr-defined]
        return () if plain else ("padded",)

    def apply(self, x: Shape, env: Env) -> Effect:
        # Written for speed (every convolution of every summary): slices and list comprehensions
        # rather than generators.
        c, size = self._spatial(x)[0], x[1:]
        out_c = self._value(env, "out_channels")
        groups = self._value(env, "groups")
        k, s, dilation, eff, left, totals, out = self._window(env, size)
        if isinstance(groups, int):
            if isinstance(c, int) and c % groups:
                raise ShapeError(f"{c} input channels are not divisible by groups={groups}")
            if isinstance(out_c, int) and out_c % groups:
                raise ShapeError(f"out_channels={out_c} is not divisible by groups={groups}", path=("out_channels",))
        if groups != 1 and not (isinstance(c, int) and isinstance(out_c, int) and isinstance(groups, int)):
            divides(c, groups, "input channels divisible by groups", ("groups",))
            divides(out_c, groups, "out_channels divisible by groups", ("out_channels",))
        if self.padding_mode != "zeros" and self.padding_mode != "replicate":
            right = tuple([t - a for t, a in zip(totals, left, strict=True)])
            check_wrap(self.padding_mode, size, left, right)
        if out is None:
            out = _outputs(size, eff, s, totals, left)
        fan_in = math.prod(k) * exact_div(c, groups)  # math.prod multiplies sympy values too
        params = fan_in * out_c + (out_c if self.bias else 0)
        return Effect(
            output=(out_c, *out),
            params=params,
            macs=product((fan_in, out_c, *out)),
            rf=Window(eff, s, left, dilation),
            fan_in=fan_in,
            bias=self.bias,
        )


def _outputs(
    size: tuple[Value, ...],
    eff: tuple[Value, ...],
    s: tuple[Value, ...],
    totals: tuple[Value, ...],
    left: tuple[Value, ...],
) -> tuple[Value, ...]:
    """The output size of a window with fixed padding, checked: the kernel fits, every side >= 1."""
    check_fits(size, totals, eff)
    if len(size) == 2:  # the common rank unrolled: a comprehension is a function call in Python 3.11
        out: tuple[Value, ...] = (
            window_output(size[0], eff[0], s[0], totals[0], False, left[0]),
            window_output(size[1], eff[1], s[1], totals[1], False, left[1]),
        )
    else:
        per_axis = zip(size, eff, s, totals, left, strict=True)
        out = tuple([window_output(n, e, st, t, False, a) for n, e, st, t, a in per_axis])
    check_output(out)
    return out


class Conv1d(_Conv):
    """1-D convolution over [C, L] (https://pytorch.org/docs/stable/generated/torch.nn.Conv1d.html).

    out = floor((L + 2p - d(k-1) - 1)/s) + 1; params = k*(C_in/groups)*C_out + C_out;
    MACs = k*(C_in/groups)*C_out*L_out.
    """

    kind: ClassVar[str] = "conv1d"
    rank: ClassVar[int | None] = 1
    kernel_size: Axes1
    stride: Axes1 = 1
    padding: Padding1 = 0
    dilation: Axes1 = 1


class Conv2d(_Conv):
    """2-D convolution (https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html).

    out = floor((in + 2p - d(k-1) - 1)/s) + 1 per axis;
    params = k1*k2*(C_in/groups)*C_out + C_out (bias); MACs = k1*k2*(C_in/groups)*C_out*H_out*W_out.
    """

    kind: ClassVar[str] = "conv2d"
    rank: ClassVar[int | None] = 2
    kernel_size: Axes2
    stride: Axes2 = 1
    padding: Padding2 = 0
    dilation: Axes2 = 1


class Conv3d(_Conv):
    """3-D convolution over [C, D, H, W] (https://pytorch.org/docs/stable/generated/torch.nn.Conv3d.html).

    out = floor((in + 2p - d(k-1) - 1)/s) + 1 per axis;
    params = k1*k2*k3*(C_in/groups)*C_out + C_out; MACs = k1*k2*k3*(C_in/groups)*C_out*D_out*H_out*W_out.
    """

    kind: ClassVar[str] = "conv3d"
    rank: ClassVar[int | None] = 3
    kernel_size: Axes3
    stride: Axes3 = 1
    padding: Padding3 = 0
    dilation: Axes3 = 1


class _SeparableConv(_Windowed):
    """The rule of separableconv1d and separableconv2d: Keras's SeparableConv1D/2D, a depthwise
    convolution (depth_multiplier filters per input channel, no bias) then a pointwise 1x1 one."""

    prefix: ClassVar[str] = "sepconv"
    formula_symbols: ClassVar[dict[str, str | tuple[str, ...]]] = {
        "kernel_size": "k", "stride": "s", "padding": "p", "dilation": "d", "depth_multiplier": "m",
        "out_channels": "C_out",
    }  # fmt: skip
    formula_optional: ClassVar[frozenset[str]] = frozenset({"dilation", "depth_multiplier"})
    #: The depthwise convolution keeps its input, the pointwise one the depthwise output.
    saves: ClassVar[tuple[str, ...]] = ("input", "depthwise")
    #: The depthwise output, made and freed within the layer.
    transient: ClassVar[tuple[str, ...]] = ("depthwise",)
    out_channels: Int = Field(description="the pointwise convolution's output channels (Keras: filters)")
    depth_multiplier: Int = 1
    bias: StrictBool = Field(default=True, description="a bias on the pointwise convolution (Keras: use_bias)")

    def kept(self, n_inputs: int = 1) -> tuple[str, ...]:
        return ("padded", "depthwise") if self.padding in SAME else self.saves  # type: ignore[attr-defined]

    def transients(self, n_inputs: int = 1) -> tuple[str, ...]:
        return ("padded", "depthwise") if self.padding in SAME else self.transient  # type: ignore[attr-defined]

    def apply(self, x: Shape, env: Env) -> Effect:
        c, size = self._spatial(x)[0], x[1:]
        out_c = self._value(env, "out_channels")
        inner = product((c, self._value(env, "depth_multiplier")))  # the depthwise output's channels
        k, s, dilation, eff, left, totals, out = self._window(env, size)
        if out is None:
            out = _outputs(size, eff, s, totals, left)
        depthwise, pointwise = product((*k, inner)), product((inner, out_c))
        return Effect(
            output=(out_c, *out),
            params=depthwise + pointwise + (out_c if self.bias else 0),
            macs=product((depthwise, *out)) + product((pointwise, *out)),
            rf=Window(eff, s, left, dilation),
            fan_in=product((*k, c)),  # one output reads every input channel through its window
            bias=self.bias,
        )


class SeparableConv1d(_SeparableConv):
    """Depthwise separable 1-D convolution over [C, L], as Keras's SeparableConv1D
    (https://keras.io/api/layers/convolution_layers/separable_convolution1d/).

    out = floor((L + 2p - d(k-1) - 1)/s) + 1; params = k*C_in*m + C_in*m*C_out + C_out (bias);
    MACs = (k*C_in*m + C_in*m*C_out)*L_out.
    """

    kind: ClassVar[str] = "separableconv1d"
    rank: ClassVar[int | None] = 1
    kernel_size: Axes1
    stride: Axes1 = 1
    padding: Padding1 = 0
    dilation: Axes1 = 1


class SeparableConv2d(_SeparableConv):
    """Depthwise separable 2-D convolution, as Keras's SeparableConv2D
    (https://keras.io/api/layers/convolution_layers/separable_convolution2d/): a k1 x k2 depthwise
    convolution with m (depth_multiplier) filters per input channel, then a 1x1 to C_out.

    out = floor((in + 2p - d(k-1) - 1)/s) + 1 per axis (SAME_UPPER: ceil(in/s));
    params = k1*k2*C_in*m + C_in*m*C_out + C_out (bias); MACs = (k1*k2*C_in*m + C_in*m*C_out)*H_out*W_out.
    """

    kind: ClassVar[str] = "separableconv2d"
    rank: ClassVar[int | None] = 2
    kernel_size: Axes2
    stride: Axes2 = 1
    padding: Padding2 = 0
    dilation: Axes2 = 1


class _ConvTranspose(Layer):
    """The rule of convtranspose1d, 2d and 3d."""

    prefix: ClassVar[str] = "upconv"
    saves: ClassVar[tuple[str, ...]] = ("input",)
    formula_symbols: ClassVar[dict[str, str | tuple[str, ...]]] = {
        "kernel_size": "k", "stride": "s", "padding": "p", "output_padding": "op", "dilation": "d", "groups": "g",
        "out_channels": "C_out",
    }  # fmt: skip
    formula_optional: ClassVar[frozenset[str]] = frozenset({"output_padding", "dilation", "groups"})
    out_channels: Int
    groups: Int = 1
    bias: StrictBool = True

    def apply(self, x: Shape, env: Env) -> Effect:
        c, *size = self._spatial(x)
        out_c = self._value(env, "out_channels")
        groups = self._value(env, "groups")
        k = self._values(env, "kernel_size")
        s = self._values(env, "stride")
        p = self._values(env, "padding", 0)
        op = self._values(env, "output_padding", 0)
        d = self._values(env, "dilation")
        for i in range(len(k)):
            if all(isinstance(v, int) for v in (op[i], s[i], d[i])) and op[i] >= max(s[i], d[i]):
                raise ShapeError(
                    f"output_padding {op[i]} must be smaller than stride or dilation ({s[i]}, {d[i]})",
                    path=("output_padding",),
                )
        for v in (c, out_c):
            if isinstance(v, int) and isinstance(groups, int) and v % groups:
                raise ShapeError(f"{v} channels are not divisible by groups={groups}")
            if groups != 1:
                divides(v, groups, "channels divisible by groups", ("groups",))
        out = tuple((n - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + op[i] + 1 for i, n in enumerate(size))
        check_output(out)
        weights = product((c, exact_div(out_c, groups), *k))
        return Effect(
            output=(out_c, *out),
            params=weights + (out_c if self.bias else 0),
            macs=product((weights, *size)),
            # Each output reads the inputs whose scattered kernels reach it: no regular grid.
            rf=Scatter(k, s, p, d),
            fan_in=None,
        )


class ConvTranspose1d(_ConvTranspose):
    """Transposed 1-D convolution (https://pytorch.org/docs/stable/generated/torch.nn.ConvTranspose1d.html).

    out = (L - 1)*s - 2p + d(k-1) + output_padding + 1; params = C_in*(C_out/groups)*k + C_out;
    MACs = C_in*(C_out/groups)*k*L_in (every input value meets every kernel weight of its group once).
    """

    kind: ClassVar[str] = "convtranspose1d"
    rank: ClassVar[int | None] = 1
    kernel_size: Axes1
    stride: Axes1 = 1
    padding: TransposedPadding1 = 0
    output_padding: Axes1 = 0
    dilation: Axes1 = 1


class ConvTranspose2d(_ConvTranspose):
    """Transposed convolution (https://pytorch.org/docs/stable/generated/torch.nn.ConvTranspose2d.html).

    out = (in - 1)*s - 2p + d(k-1) + output_padding + 1;
    params = C_in*(C_out/groups)*k1*k2 + C_out; MACs = C_in*(C_out/groups)*k1*k2*H_in*W_in
    (every input value meets every kernel weight of its group once).
    """

    kind: ClassVar[str] = "convtranspose2d"
    rank: ClassVar[int | None] = 2
    kernel_size: Axes2
    stride: Axes2 = 1
    padding: TransposedPadding2 = 0
    output_padding: Axes2 = 0
    dilation: Axes2 = 1


class ConvTranspose3d(_ConvTranspose):
    """Transposed 3-D convolution (https://pytorch.org/docs/stable/generated/torch.nn.ConvTranspose3d.html).

    out = (in - 1)*s - 2p + d(k-1) + output_padding + 1 per axis;
    params = C_in*(C_out/groups)*k1*k2*k3 + C_out; MACs = C_in*(C_out/groups)*k1*k2*k3*D_in*H_in*W_in.
    """

    kind: ClassVar[str] = "convtranspose3d"
    rank: ClassVar[int | None] = 3
    kernel_size: Axes3
    stride: Axes3 = 1
    padding: TransposedPadding3 = 0
    output_padding: Axes3 = 0
    dilation: Axes3 = 1


__all__ = [
    "Conv1d",
    "Conv2d",
    "Conv3d",
    "ConvTranspose1d",
    "ConvTranspose2d",
    "ConvTranspose3d",
    "SeparableConv1d",
    "SeparableConv2d",
]
