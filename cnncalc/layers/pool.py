"""Pooling, 1-D to 3-D: max and average windows, and adaptive pooling to a given output size.

Per spatial axis: out = floor((in + 2p - d(k-1) - 1)/s) + 1 (ceil in ceil_mode, no window starting
past the input); stride defaults to kernel_size; no parameters, no MACs.
"""

# No `from __future__ import annotations`: pydantic then builds each class from evaluated
# annotations instead of resolving strings, which halves the import time of the layer classes.

from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, Field, StrictBool, StrictInt

from ..errors import ShapeError, note
from ..symbolic import Env, Value, equal
from .base import (
    KEEP,
    SAME,
    UNKNOWN,
    Axes1,
    Axes2,
    Axes3,
    Effect,
    Int,
    Layer,
    PoolPadding1,
    PoolPadding2,
    PoolPadding3,
    Shape,
    Window,
    axes_text,
    check_output,
    counted,
    effective,
    exact_div,
    no_indices,
    same_sizes,
    times,
    window_output,
)


class _Pool(Layer):
    """The rule of every max and average pool: windows of the kernel, stride and padding."""

    prefix: ClassVar[str] = "pool"
    formula_symbols: ClassVar[dict[str, str | tuple[str, ...]]] = {"kernel_size": "k", "stride": "s", "padding": "p"}
    saves: ClassVar[tuple[str, ...]] = ("input",)
    ceil_mode: StrictBool = False

    def _dilation(self, env: Env) -> tuple[Value, ...] | None:
        """The dilation per axis, None where it is 1 (average pools have none)."""
        return None

    def _window(self, env: Env) -> tuple[tuple[Value, ...], tuple[Value, ...], tuple[Value, ...] | None]:
        """Kernel, stride (default: the kernel) and dilation (None: 1) per axis, resolved."""
        k = self._values(env, "kernel_size")
        s = k if self.stride is None else self._values(env, "stride")  # type: ignore[attr-defined]
        return k, s, self._dilation(env)

    def padded(self, size: Shape, env: Env) -> Shape:
        """The input's sizes once padded (SAME_UPPER/LOWER pad before pooling, in + total)."""
        k, s, dilation = self._window(env)
        eff = k if dilation is None else effective(k, dilation)
        totals = same_sizes(size, eff, s, self.padding == SAME[0])[2]  # type: ignore[attr-defined]
        return tuple([n + t for n, t in zip(size, totals, strict=True)])

    def apply(self, x: Shape, env: Env) -> Effect:
        # Written for speed like the convolution's: slices and list comprehensions, and the
        # message of an empty output built only when there is one.
        c, size = self._spatial(x)[0], x[1:]
        k, s, dilation = self._window(env)
        eff = k if dilation is None else effective(k, dilation)
        if self.padding in SAME:  # type: ignore[attr-defined]
            if self.ceil_mode:
                raise ShapeError(
                    f"ceil_mode does not apply with {self.padding}: the output is ceil(in/stride) already",  # type: ignore[attr-defined]
                    path=("ceil_mode",),
                )
            out, before, _ = same_sizes(size, eff, s, self.padding == SAME[0])  # type: ignore[attr-defined]
            return Effect(output=(c, *out), rf=Window(eff, s, before, dilation))
        p = self._values(env, "padding", 0)
        # PyTorch bounds the padding by half the kernel as written, dilation or not.
        for pad, lim in zip(p, k, strict=True):
            if type(pad) is int and type(lim) is int and 2 * pad > lim:
                raise ShapeError(
                    f"padding {pad} is more than half the kernel ({lim}); PyTorch allows at most half",
                    path=("padding",),
                )
        # No "kernel fits" check as for conv: in ceil mode PyTorch pools a window that hangs over
        # the edge (3x3, stride 2 on 2x2 gives 1x1); only an empty output is an error.
        ceil = self.ceil_mode
        out = tuple([window_output(n, e, st, 2 * q, ceil, q) for n, e, st, q in zip(size, eff, s, p, strict=True)])
        for v in out:
            if type(v) is not int:
                note("ge", v - 1, "output size at least 1")
            elif v < 1:
                padded = tuple(n + 2 * q for n, q in zip(size, p, strict=True))
                check_output(out, f": kernel {times(eff)} (with dilation) on a padded input {times(padded)}")
        return Effect(output=(c, *out), rf=Window(eff, s, p, dilation))


class _MaxPool(_Pool):
    saves: ClassVar[tuple[str, ...]] = ("input", "indices")
    #: The indices are made even without gradients, and freed at once.
    transient: ClassVar[tuple[str, ...]] = ("indices",)

    def kept(self, n_inputs: int = 1) -> tuple[str, ...]:
        # SAME_UPPER/LOWER pad first (with -inf): the pool keeps the padded input.
        return ("padded", "indices") if self.padding in SAME else self.saves  # type: ignore[attr-defined]

    def transients(self, n_inputs: int = 1) -> tuple[str, ...]:
        return ("padded", "indices") if self.padding in SAME else self.transient  # type: ignore[attr-defined]

    formula_symbols: ClassVar[dict[str, str | tuple[str, ...]]] = {**_Pool.formula_symbols, "dilation": "d"}
    formula_optional: ClassVar[frozenset[str]] = frozenset({"dilation"})
    return_indices: Annotated[StrictBool, AfterValidator(no_indices)] = False

    def _dilation(self, env: Env) -> tuple[Value, ...] | None:
        return None if self.dilation == 1 else self._values(env, "dilation")  # type: ignore[attr-defined]


class MaxPool1d(_MaxPool):
    """1-D max pooling (https://pytorch.org/docs/stable/generated/torch.nn.MaxPool1d.html).

    out = floor((L + 2p - d(k-1) - 1)/s) + 1 (ceil in ceil_mode); stride defaults to kernel_size.
    """

    kind: ClassVar[str] = "maxpool1d"
    rank: ClassVar[int | None] = 1
    kernel_size: Axes1
    stride: Axes1 | None = Field(default=None, description="Default: kernel_size")
    padding: PoolPadding1 = 0
    dilation: Axes1 = 1


class MaxPool2d(_MaxPool):
    """Max pooling (https://pytorch.org/docs/stable/generated/torch.nn.MaxPool2d.html).

    out = floor((in + 2p - d(k-1) - 1)/s) + 1 (ceil in ceil_mode, no window starting past the
    input); stride defaults to kernel_size; no parameters.
    """

    kind: ClassVar[str] = "maxpool2d"
    rank: ClassVar[int | None] = 2
    kernel_size: Axes2
    stride: Axes2 | None = Field(default=None, description="Default: kernel_size")
    padding: PoolPadding2 = 0
    dilation: Axes2 = 1


class MaxPool3d(_MaxPool):
    """3-D max pooling (https://pytorch.org/docs/stable/generated/torch.nn.MaxPool3d.html).

    out = floor((in + 2p - d(k-1) - 1)/s) + 1 per axis (ceil in ceil_mode); stride defaults to kernel_size.
    """

    kind: ClassVar[str] = "maxpool3d"
    rank: ClassVar[int | None] = 3
    kernel_size: Axes3
    stride: Axes3 | None = Field(default=None, description="Default: kernel_size")
    padding: PoolPadding3 = 0
    dilation: Axes3 = 1


class _AvgPool(_Pool):
    count_include_pad: StrictBool = True

    def _excludes(self) -> bool:
        """Whether SAME padding is left out of the average (TF's rule): then each window's count
        of input pixels is one tensor [out sizes] that the average is scaled by."""
        return not self.count_include_pad and getattr(self, "divisor_override", None) is None

    def kept(self, n_inputs: int = 1) -> tuple[str, ...]:
        if self.padding not in SAME:  # type: ignore[attr-defined]
            return self.saves
        return ("padded", "counts") if self._excludes() else ("padded",)

    def transients(self, n_inputs: int = 1) -> tuple[str, ...]:
        return self.kept() if self.padding in SAME else ()  # type: ignore[attr-defined]


class AvgPool1d(_AvgPool):
    """1-D average pooling (https://pytorch.org/docs/stable/generated/torch.nn.AvgPool1d.html).

    out = floor((L + 2p - k)/s) + 1 (ceil in ceil_mode); no parameters (PyTorch's AvgPool1d has
    no divisor_override).
    """

    kind: ClassVar[str] = "avgpool1d"
    rank: ClassVar[int | None] = 1
    kernel_size: Axes1
    stride: Axes1 | None = Field(default=None, description="Default: kernel_size")
    padding: PoolPadding1 = 0


class _DivisorPool(_AvgPool):
    divisor_override: StrictInt | None = None

    def apply(self, x: Shape, env: Env) -> Effect:
        if self.divisor_override == 0:
            raise ShapeError("divisor_override must not be 0", path=("divisor_override",))
        return super().apply(x, env)


class AvgPool2d(_DivisorPool):
    """Average pooling (https://pytorch.org/docs/stable/generated/torch.nn.AvgPool2d.html).

    out = floor((in + 2p - k)/s) + 1 (ceil in ceil_mode); no parameters.
    """

    kind: ClassVar[str] = "avgpool2d"
    rank: ClassVar[int | None] = 2
    kernel_size: Axes2
    stride: Axes2 | None = Field(default=None, description="Default: kernel_size")
    padding: PoolPadding2 = 0


class AvgPool3d(_DivisorPool):
    """3-D average pooling (https://pytorch.org/docs/stable/generated/torch.nn.AvgPool3d.html).

    out = floor((in + 2p - k)/s) + 1 per axis (ceil in ceil_mode); no parameters. Unlike the other
    pools, PyTorch's avg_pool3d needs the input itself (padding aside) at least as large as the kernel.
    """

    def apply(self, x: Shape, env: Env) -> Effect:
        effect = super().apply(x, env)
        k = self._values(env, "kernel_size")
        if self.padding in SAME:  # the padded input is never smaller than the kernel
            return effect
        if all(isinstance(v, int) for v in (*x[1:], *k)) and any(n < q for n, q in zip(x[1:], k, strict=True)):
            raise ShapeError(
                f"kernel {times(k)} is larger than the input {times(x[1:])} (avg_pool3d needs the input, "
                "without padding, at least as large as the kernel)"
            )
        return effect

    kind: ClassVar[str] = "avgpool3d"
    rank: ClassVar[int | None] = 3
    kernel_size: Axes3
    stride: Axes3 | None = Field(default=None, description="Default: kernel_size")
    padding: PoolPadding3 = 0


class _AdaptivePool(Layer):
    """Pooling to ``output_size`` per axis (None keeps that axis); no parameters."""

    formula_symbols: ClassVar[dict[str, str | tuple[str, ...]]] = {"output_size": "o"}
    saves: ClassVar[tuple[str, ...]] = ("input",)

    def kept(self, n_inputs: int = 1) -> tuple[str, ...]:
        # Average pooling to 1 everywhere is a mean, whose backward needs only the sizes.
        raw: Any = getattr(self, "output_size")  # noqa: B009 - declared per rank by the subclasses
        ones = all(o == 1 for o in (raw if isinstance(raw, tuple) else (raw,)))
        return () if ones and "max" not in self.kind else self.saves

    def apply(self, x: Shape, env: Env) -> Effect:
        c, *size = self._spatial(x)
        n = len(size)
        raw: Any = getattr(self, "output_size")  # noqa: B009 - declared per rank by the subclasses
        sizes = raw if isinstance(raw, tuple) else (raw,) * n
        out = tuple(m if o is None else env.resolve(o) for o, m in zip(sizes, size, strict=True))
        for o in out:
            if not isinstance(o, int):
                note("ge", o - 1, "output_size at least 1", ("output_size",))
            elif o < 1:
                raise ShapeError(f"output_size must be at least 1, got {o}", path=("output_size",))
        return Effect(output=(c, *out), rf=self._rf(tuple(size), out))

    @staticmethod
    def _rf(size: tuple[Value, ...], out: tuple[Value, ...]) -> Window | str:
        """Output 1 (global pooling) is one window over the whole input; an output that divides
        the input is a k = s = in/out window. Symbolically k = s = in/out, exact wherever out
        divides in. Otherwise PyTorch's windows (floor/ceil bounds) vary in size and step, and no
        single size/jump/start describes them: the field is unknown from here on."""
        kernels: list[Value] = []
        for i, o in zip(size, out, strict=True):
            if equal(i, o):
                kernels.append(1)
            elif equal(o, 1):
                kernels.append(i)
            elif isinstance(i, int) and isinstance(o, int):
                if i % o:
                    return UNKNOWN
                kernels.append(i // o)
            else:
                kernels.append(exact_div(i, o))
        k = tuple(kernels)
        return KEEP if all(v == 1 for v in k) else Window(k, k, (0,) * len(k))


#: Adaptive pooling's output size: one for every axis or one per axis (None keeps that axis).
OutputSize1 = Annotated[Int | tuple[Int], counted((1,), axes_text(1))]
OutputSize2 = Annotated[Int | tuple[Int | None, Int | None], counted((2,), axes_text(2))]
OutputSize3 = Annotated[Int | tuple[Int | None, Int | None, Int | None], counted((3,), axes_text(3))]


class AdaptiveAvgPool1d(_AdaptivePool):
    """1-D adaptive average pooling (https://pytorch.org/docs/stable/generated/torch.nn.AdaptiveAvgPool1d.html)."""

    kind: ClassVar[str] = "adaptiveavgpool1d"
    prefix: ClassVar[str] = "avgpool"
    rank: ClassVar[int | None] = 1
    output_size: OutputSize1


class AdaptiveAvgPool2d(_AdaptivePool):
    """Adaptive average pooling to ``output_size`` (https://pytorch.org/docs/stable/generated/torch.nn.AdaptiveAvgPool2d.html).

    out = output_size (None keeps that axis); no parameters.
    """

    kind: ClassVar[str] = "adaptiveavgpool2d"
    prefix: ClassVar[str] = "avgpool"
    rank: ClassVar[int | None] = 2
    output_size: OutputSize2


class AdaptiveAvgPool3d(_AdaptivePool):
    """3-D adaptive average pooling (https://pytorch.org/docs/stable/generated/torch.nn.AdaptiveAvgPool3d.html)."""

    kind: ClassVar[str] = "adaptiveavgpool3d"
    prefix: ClassVar[str] = "avgpool"
    rank: ClassVar[int | None] = 3
    output_size: OutputSize3


class _AdaptiveMaxPool(_AdaptivePool):
    prefix: ClassVar[str] = "maxpool"
    saves: ClassVar[tuple[str, ...]] = ("input", "indices")
    transient: ClassVar[tuple[str, ...]] = ("indices",)
    return_indices: Annotated[StrictBool, AfterValidator(no_indices)] = False


class AdaptiveMaxPool1d(_AdaptiveMaxPool):
    """1-D adaptive max pooling (https://pytorch.org/docs/stable/generated/torch.nn.AdaptiveMaxPool1d.html)."""

    kind: ClassVar[str] = "adaptivemaxpool1d"
    rank: ClassVar[int | None] = 1
    output_size: OutputSize1


class AdaptiveMaxPool2d(_AdaptiveMaxPool):
    """Adaptive max pooling to ``output_size`` (https://pytorch.org/docs/stable/generated/torch.nn.AdaptiveMaxPool2d.html)."""

    kind: ClassVar[str] = "adaptivemaxpool2d"
    rank: ClassVar[int | None] = 2
    output_size: OutputSize2


class AdaptiveMaxPool3d(_AdaptiveMaxPool):
    """3-D adaptive max pooling (https://pytorch.org/docs/stable/generated/torch.nn.AdaptiveMaxPool3d.html)."""

    kind: ClassVar[str] = "adaptivemaxpool3d"
    rank: ClassVar[int | None] = 3
    output_size: OutputSize3


__all__ = [
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "AdaptiveMaxPool3d",
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
]
