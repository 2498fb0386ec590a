"""One class per layer kind: its YAML fields (PyTorch's names and defaults) and its rules.

Each class is a frozen pydantic model. ``apply(shape, env)`` takes the input shape (channels first,
no batch axis) and returns an :class:`Effect`: output shape, parameters, multiply-accumulates and the
layer's step for the receptive field. :data:`KINDS` maps the YAML kind to its class; it is the
registry, and the only one.

Conventions (stated again in every summary):
- params: learnable tensors as ``nn.Module.parameters()`` counts them; BatchNorm's running
  statistics are buffers, not parameters.
- macs: multiply-accumulates of conv and linear weights, batch 1, bias excluded; normalisation,
  activation and pooling count zero (torchvision's "GFLOPS" convention).
"""

from typing import Annotated, Any, ClassVar, Literal, NamedTuple

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt

from .errors import CnncalcError, ExpressionError, ShapeError
from .symbolic import MAX_MAGNITUDE, Env, Expr, Value, equal, floordiv, minimum, parse, product, shape_text

Shape = tuple[Value, ...]


def _parse_field(value: Any) -> Any:
    """A string in an integer field is an expression; a number must be at most 10**30."""
    if isinstance(value, str):
        try:
            return parse(value)
        except ExpressionError as err:
            raise ValueError(err.reason) from None
    if isinstance(value, int) and abs(value) > MAX_MAGNITUDE:
        raise ValueError(f"{str(value)[:12]}... is too large (limit 10**30)")
    return value


def counted(sizes: tuple[int, ...], what: str) -> BeforeValidator:
    """A check that a list has one of ``sizes`` items, saying what they are when it has not."""

    def check(value: Any) -> Any:
        if isinstance(value, list) and len(value) not in sizes:
            counts = " or ".join(str(n) for n in sizes)
            alone = " (or one number for all)" if 1 not in sizes else ""
            raise ValueError(f"needs {counts} values {what}{alone}, got {value}")
        return value

    return BeforeValidator(check)


#: An integer field: a whole number, or an expression of symbols such as "64*k".
Int = Annotated[StrictInt | str, AfterValidator(_parse_field)]
#: A field that is one integer for both spatial axes, or a pair [height, width].
Pair = Annotated[Int | tuple[Int, Int], counted((2,), "[height, width]")]


def _parse_padding(value: Any) -> Any:
    if isinstance(value, str) and value not in ("same", "valid"):
        word = value.strip().lower()
        if word in ("same", "valid", "full", "causal"):
            raise ValueError(f"padding takes 'same' or 'valid' (lowercase, as PyTorch), got {value!r}")
    return value if value in ("same", "valid") else _parse_field(value)


#: Padding: an integer, a pair, or "same" / "valid" as in PyTorch's Conv2d.
Padding = Annotated[
    tuple[Int, Int] | Annotated[StrictInt | str, AfterValidator(_parse_padding)],
    counted((2,), "[height, width]"),
]


def _no_indices(value: bool) -> bool:
    if value:
        raise ValueError("must be false: with true PyTorch returns (values, indices), which no next layer takes")
    return value


class FieldError(ShapeError):
    """A field whose value is not allowed; ``field`` names it so the error can point at its line."""

    def __init__(self, message: str, *, field: str | None = None, **kwargs: Any):
        self.field = field
        super().__init__(message, **kwargs)


class Window(NamedTuple):
    """A sliding window's step for the receptive field, per spatial axis: effective kernel
    d(k-1)+1, stride and the padding before the first input pixel."""

    kernel: tuple[Value, Value]
    stride: tuple[Value, Value]
    padding: tuple[Value, Value]


#: Receptive-field steps other than a window: the layer keeps the field (elementwise), or its
#: output has no spatial axes (flatten, linear), or the field is not uniform (adaptive pooling
#: whose output does not divide its input).
KEEP = "keep"
FLAT = "flat"
UNKNOWN = "unknown"


class Effect(NamedTuple):
    """What one layer does to one input: output shape, counts and receptive-field step.

    ``fan_in`` is the number of inputs one output unit reads (conv: k1*k2*C_in/groups) for the
    locally-connected comparison; None for layers without weights. Immutable, and a tuple because
    a network builds one per distinct layer (cheaper than a frozen dataclass).
    """

    output: Shape
    params: Value = 0
    macs: Value = 0
    rf: Window | str = KEEP
    fan_in: Value | None = None
    bias: bool = False


def _pair(value: Any) -> tuple[Any, Any]:
    return (value[0], value[1]) if isinstance(value, tuple) else (value, value)


class Layer(BaseModel):
    """Fields every layer kind has. The structural fields (name, from, when, repeat, first) are
    read by :mod:`cnncalc.blocks` before a layer's own fields are validated."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    kind: ClassVar[str]
    prefix: ClassVar[str]
    #: How many inputs the layer takes: 1, or None for merges (two or more).
    arity: ClassVar[int | None] = 1
    trainable: StrictBool = Field(default=True, description="false: parameters are frozen (not trainable)")

    def apply(self, x: Shape, env: Env) -> Effect:
        """Output shape and counts for input ``x`` (channels first, no batch axis)."""
        return Effect(output=x)

    def apply_many(self, xs: list[Shape], env: Env) -> Effect:
        """Output for several inputs; only merge kinds take more than one."""
        return self.apply(xs[0], env)

    # --- helpers shared by the rules ---------------------------------------------------------

    def _values(self, env: Env, field: str, minimum_value: int = 1) -> tuple[Value, Value]:
        """A pair field resolved to values, each checked to be at least ``minimum_value``."""
        raw = getattr(self, field)
        if type(raw) is int and raw >= minimum_value:  # most fields are plain numbers: no resolving
            return (raw, raw)
        if isinstance(raw, tuple):
            resolved = (env.resolve(raw[0]), env.resolve(raw[1]))
        else:
            one = env.resolve(raw)
            resolved = (one, one)
        for v in resolved:
            if isinstance(v, int) and v < minimum_value:
                raise FieldError(f"{field} must be at least {minimum_value}, got {v}", field=field)
        return resolved

    def _value(self, env: Env, field: str, minimum_value: int = 1) -> Value:
        v = env.resolve(getattr(self, field))
        if isinstance(v, int) and v < minimum_value:
            raise FieldError(f"{field} must be at least {minimum_value}, got {v}", field=field)
        return v

    def _spatial(self, x: Shape) -> Shape:
        if len(x) != 3:
            raise ShapeError(f"{self.kind} needs a [channels, height, width] input, got a rank-{len(x)} one")
        return x


def _window_output(size: Value, kernel: Value, stride: Value, pad_total: Value, ceil_mode: bool, pad: Value) -> Value:
    """floor((size + pad_total - kernel)/stride) + 1, or PyTorch's ceil-mode count.

    In ceil mode a window may start in the right padding but not past it, so the last start must
    be at most size + pad - 1: the count is floor((size + min(2p - k + s - 1, p - 1))/s) + 1,
    which is exact and closed-form (PyTorch: ceil, then drop a window starting past the input).
    """
    # The "+ 1" goes inside the floor (floor(a/s) + 1 = floor((a + s)/s)) so that chains collapse.
    if ceil_mode:
        return floordiv(size + minimum(pad_total - kernel + stride - 1, pad - 1) + stride, stride)
    return floordiv(size + pad_total - kernel + stride, stride)


def _check_fits(size: tuple[Value, Value], pads: tuple[Value, Value], kernel: tuple[Value, Value]) -> None:
    padded = (size[0] + pads[0], size[1] + pads[1])
    numbers = (
        isinstance(padded[0], int)
        and isinstance(padded[1], int)
        and isinstance(kernel[0], int)
        and isinstance(kernel[1], int)
    )
    if numbers and (padded[0] < kernel[0] or padded[1] < kernel[1]):
        raise ShapeError(
            f"kernel {kernel[0]}x{kernel[1]} (with dilation) is larger than the padded input {padded[0]}x{padded[1]}"
        )


def _check_wrap(mode: str, size: tuple[Value, Value], before: tuple[Value, Value], after: tuple[Value, Value]) -> None:
    """Reflect padding needs padding < size; circular padding at most the size (PyTorch)."""
    for n, a, b in zip(size, before, after, strict=True):
        for pad in (a, b):
            if isinstance(n, int) and isinstance(pad, int) and (pad >= n if mode == "reflect" else pad > n):
                bound = "smaller than" if mode == "reflect" else "at most"
                raise FieldError(f"{mode} padding {pad} must be {bound} the input size {n}", field="padding")


def _check_output(out: tuple[Value, ...], why: str = "") -> None:
    for v in out:
        if isinstance(v, int) and v < 1:
            raise ShapeError(f"output size {'x'.join(str(v) for v in out)} is too small (below 1){why}")


class Conv2d(Layer):
    """2-D convolution (https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html).

    out = floor((in + 2p - d(k-1) - 1)/s) + 1 per axis;
    params = k1*k2*(C_in/groups)*C_out + C_out (bias); MACs = k1*k2*(C_in/groups)*C_out*H_out*W_out.
    """

    kind: ClassVar[str] = "conv2d"
    prefix: ClassVar[str] = "conv"
    out_channels: Int
    kernel_size: Pair
    stride: Pair = 1
    padding: Padding = 0
    dilation: Pair = 1
    groups: Int = 1
    bias: StrictBool = True
    padding_mode: Literal["zeros", "reflect", "replicate", "circular"] = "zeros"

    def apply(self, x: Shape, env: Env) -> Effect:
        c, h, w = self._spatial(x)
        out_c = self._value(env, "out_channels")
        groups = self._value(env, "groups")
        k = self._values(env, "kernel_size")
        s = self._values(env, "stride")
        d = self._values(env, "dilation")
        eff = (d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1)
        if self.padding == "same":
            if s != (1, 1):
                raise FieldError("padding='same' needs stride 1 (as in PyTorch)", field="padding")
            # PyTorch pads d(k-1) in total, the odd pixel on the right.
            totals = (eff[0] - 1, eff[1] - 1)
            left = (floordiv(totals[0], 2), floordiv(totals[1], 2))
        else:
            p = (0, 0) if self.padding == "valid" else self._values(env, "padding", 0)
            totals, left = (2 * p[0], 2 * p[1]), p
        if isinstance(groups, int) and isinstance(c, int) and c % groups:
            raise ShapeError(f"{c} input channels are not divisible by groups={groups}")
        if isinstance(groups, int) and isinstance(out_c, int) and out_c % groups:
            raise FieldError(f"out_channels={out_c} is not divisible by groups={groups}", field="out_channels")
        if self.padding_mode in ("reflect", "circular"):
            _check_wrap(self.padding_mode, (h, w), left, (totals[0] - left[0], totals[1] - left[1]))
        _check_fits((h, w), totals, eff)
        out = (
            _window_output(h, eff[0], s[0], totals[0], False, left[0]),
            _window_output(w, eff[1], s[1], totals[1], False, left[1]),
        )
        _check_output(out)
        fan_in = k[0] * k[1] * _exact_div(c, groups)
        params = fan_in * out_c + (out_c if self.bias else 0)
        return Effect(
            output=(out_c, *out),
            params=params,
            macs=product((fan_in, out_c, *out)),
            rf=Window(eff, s, left),
            fan_in=fan_in,
            bias=self.bias,
        )


def _exact_div(a: Value, b: Value) -> Value:
    if isinstance(a, int) and isinstance(b, int):
        return a // b
    from .symbolic import simplify_integer

    return simplify_integer(a / b)


class _Pool(Layer):
    kernel_size: Pair
    stride: Pair | None = Field(default=None, description="Default: kernel_size")
    padding: Pair = 0
    ceil_mode: StrictBool = False

    def _dilation(self, env: Env) -> tuple[Value, Value]:
        return (1, 1)

    def apply(self, x: Shape, env: Env) -> Effect:
        c, h, w = self._spatial(x)
        k = self._values(env, "kernel_size")
        s = k if self.stride is None else self._values(env, "stride")
        p = self._values(env, "padding", 0)
        d = self._dilation(env)
        eff = (d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1)
        # PyTorch bounds the padding by half the kernel as written, dilation or not.
        for pad, lim in zip(p, k, strict=True):
            if isinstance(pad, int) and isinstance(lim, int) and 2 * pad > lim:
                raise FieldError(
                    f"padding {pad} is more than half the kernel ({lim}); PyTorch allows at most half",
                    field="padding",
                )
        # No "kernel fits" check as for conv: in ceil mode PyTorch pools a window that hangs over
        # the edge (3x3, stride 2 on 2x2 gives 1x1); only an empty output is an error.
        out = tuple(_window_output(size, eff[i], s[i], 2 * p[i], self.ceil_mode, p[i]) for i, size in enumerate((h, w)))
        _check_output(
            out, f": kernel {eff[0]}x{eff[1]} (with dilation) on a padded input {h + 2 * p[0]}x{w + 2 * p[1]}"
        )
        return Effect(output=(c, *out), rf=Window(eff, s, p))


class MaxPool2d(_Pool):
    """Max pooling (https://pytorch.org/docs/stable/generated/torch.nn.MaxPool2d.html).

    out = floor((in + 2p - d(k-1) - 1)/s) + 1 (ceil in ceil_mode, no window starting past the
    input); stride defaults to kernel_size; no parameters.
    """

    kind: ClassVar[str] = "maxpool2d"
    prefix: ClassVar[str] = "pool"
    dilation: Pair = 1
    return_indices: Annotated[StrictBool, AfterValidator(_no_indices)] = False

    def _dilation(self, env: Env) -> tuple[Value, Value]:
        return self._values(env, "dilation")


class AvgPool2d(_Pool):
    """Average pooling (https://pytorch.org/docs/stable/generated/torch.nn.AvgPool2d.html).

    out = floor((in + 2p - k)/s) + 1 (ceil in ceil_mode); no parameters.
    """

    kind: ClassVar[str] = "avgpool2d"
    prefix: ClassVar[str] = "pool"
    count_include_pad: StrictBool = True
    divisor_override: StrictInt | None = None

    def apply(self, x: Shape, env: Env) -> Effect:
        if self.divisor_override == 0:
            raise FieldError("divisor_override must not be 0", field="divisor_override")
        return super().apply(x, env)


class _AdaptivePool(Layer):
    output_size: Annotated[Int | tuple[Int | None, Int | None], counted((2,), "[height, width]")]

    def apply(self, x: Shape, env: Env) -> Effect:
        c, h, w = self._spatial(x)
        sizes = _pair(self.output_size)
        out = tuple(size if o is None else env.resolve(o) for o, size in zip(sizes, (h, w), strict=True))
        for o in out:
            if isinstance(o, int) and o < 1:
                raise FieldError(f"output_size must be at least 1, got {o}", field="output_size")
        return Effect(output=(c, *out), rf=self._rf((h, w), out))

    @staticmethod
    def _rf(size: tuple[Value, Value], out: tuple[Value, ...]) -> Window | str:
        """Output 1 (global pooling) is one window over the whole input; an output that divides
        the input is a k = s = in/out window. Symbolically k = s = in/out, exact wherever out
        divides in. Otherwise PyTorch's windows (floor/ceil bounds) vary in size and step, and no
        single size/jump/start describes them: the field is unknown from here on."""
        kernels = []
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
                kernels.append(_exact_div(i, o))
        k = (kernels[0], kernels[1])
        return KEEP if k == (1, 1) else Window(k, k, (0, 0))


class AdaptiveAvgPool2d(_AdaptivePool):
    """Adaptive average pooling to ``output_size`` (https://pytorch.org/docs/stable/generated/torch.nn.AdaptiveAvgPool2d.html).

    out = output_size (None keeps that axis); no parameters.
    """

    kind: ClassVar[str] = "adaptiveavgpool2d"
    prefix: ClassVar[str] = "avgpool"


class AdaptiveMaxPool2d(_AdaptivePool):
    """Adaptive max pooling to ``output_size`` (https://pytorch.org/docs/stable/generated/torch.nn.AdaptiveMaxPool2d.html)."""

    kind: ClassVar[str] = "adaptivemaxpool2d"
    prefix: ClassVar[str] = "maxpool"
    return_indices: Annotated[StrictBool, AfterValidator(_no_indices)] = False


class BatchNorm2d(Layer):
    """Batch normalisation (https://pytorch.org/docs/stable/generated/torch.nn.BatchNorm2d.html).

    params = 2C (weight and bias) when affine; running mean and variance are buffers.
    """

    kind: ClassVar[str] = "batchnorm2d"
    prefix: ClassVar[str] = "bn"
    eps: float = 1e-5
    momentum: float | None = 0.1
    affine: StrictBool = True
    track_running_stats: StrictBool = True

    def apply(self, x: Shape, env: Env) -> Effect:
        c, h, w = self._spatial(x)
        if not self.track_running_stats and isinstance(h, int) and isinstance(w, int) and h * w == 1:
            # Without running statistics PyTorch normalises by batch statistics even in eval mode.
            raise ShapeError("batch statistics need more than one value per channel; a 1x1 map at batch 1 has one")
        return Effect(output=x, params=2 * c if self.affine else 0)


class LocalResponseNorm(Layer):
    """Local response normalisation across channels (https://pytorch.org/docs/stable/generated/torch.nn.LocalResponseNorm.html).

    Shape unchanged, no parameters; ``size`` neighbouring channels.
    """

    kind: ClassVar[str] = "localresponsenorm"
    prefix: ClassVar[str] = "lrn"
    size: StrictInt = Field(ge=1)
    alpha: float = 1e-4
    beta: float = 0.75
    k: float = 1.0

    def apply(self, x: Shape, env: Env) -> Effect:
        if len(x) < 2:
            raise ShapeError(f"localresponsenorm needs an input with channels and spatial axes, got rank {len(x)}")
        return Effect(output=x)


class Dropout(Layer):
    """Dropout (https://pytorch.org/docs/stable/generated/torch.nn.Dropout.html): identity in shape."""

    kind: ClassVar[str] = "dropout"
    prefix: ClassVar[str] = "dropout"
    p: float = Field(default=0.5, ge=0, le=1)
    inplace: StrictBool = False


class Identity(Layer):
    """Identity (https://pytorch.org/docs/stable/generated/torch.nn.Identity.html)."""

    kind: ClassVar[str] = "identity"
    prefix: ClassVar[str] = "identity"


class Flatten(Layer):
    """Flatten (https://pytorch.org/docs/stable/generated/torch.nn.Flatten.html).

    Dimensions count the batch as 0, as in PyTorch: the default start_dim=1, end_dim=-1 turns
    [C, H, W] into [C*H*W].
    """

    kind: ClassVar[str] = "flatten"
    prefix: ClassVar[str] = "flatten"
    start_dim: StrictInt = 1
    end_dim: StrictInt = -1

    def apply(self, x: Shape, env: Env) -> Effect:
        rank = len(x) + 1
        start = self.start_dim + rank if self.start_dim < 0 else self.start_dim
        end = self.end_dim + rank if self.end_dim < 0 else self.end_dim
        if not 1 <= start <= end < rank:
            raise FieldError(
                f"start_dim={self.start_dim}, end_dim={self.end_dim} do not select dimensions 1.."
                f"{rank - 1} of a batch of {list(x)} (dimension 0 is the batch)",
                field="start_dim",
            )
        merged: Value = 1
        for v in x[start - 1 : end]:
            merged = merged * v
        out = (*x[: start - 1], merged, *x[end:])
        return Effect(output=out, rf=FLAT if len(out) == 1 else KEEP)


class Linear(Layer):
    """Fully connected layer (https://pytorch.org/docs/stable/generated/torch.nn.Linear.html).

    params = in*out + out (bias); MACs = in*out.
    """

    kind: ClassVar[str] = "linear"
    prefix: ClassVar[str] = "fc"
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


class _Activation(Layer):
    """An elementwise activation: shape unchanged, no parameters, no MACs."""


class _InplaceActivation(_Activation):
    """An activation PyTorch can apply in place (which changes nothing counted here)."""

    inplace: StrictBool = False


class ReLU(_InplaceActivation):
    """ReLU (https://pytorch.org/docs/stable/generated/torch.nn.ReLU.html): max(0, x)."""

    kind: ClassVar[str] = "relu"
    prefix: ClassVar[str] = "relu"


class ReLU6(_InplaceActivation):
    """ReLU6 (https://pytorch.org/docs/stable/generated/torch.nn.ReLU6.html): min(max(0, x), 6)."""

    kind: ClassVar[str] = "relu6"
    prefix: ClassVar[str] = "relu"


class LeakyReLU(_InplaceActivation):
    """LeakyReLU (https://pytorch.org/docs/stable/generated/torch.nn.LeakyReLU.html)."""

    kind: ClassVar[str] = "leakyrelu"
    prefix: ClassVar[str] = "relu"
    negative_slope: float = 0.01


class Sigmoid(_Activation):
    """Sigmoid (https://pytorch.org/docs/stable/generated/torch.nn.Sigmoid.html)."""

    kind: ClassVar[str] = "sigmoid"
    prefix: ClassVar[str] = "sigmoid"


class Tanh(_Activation):
    """Tanh (https://pytorch.org/docs/stable/generated/torch.nn.Tanh.html)."""

    kind: ClassVar[str] = "tanh"
    prefix: ClassVar[str] = "tanh"


class GELU(_Activation):
    """GELU (https://pytorch.org/docs/stable/generated/torch.nn.GELU.html)."""

    kind: ClassVar[str] = "gelu"
    prefix: ClassVar[str] = "gelu"
    approximate: Literal["none", "tanh"] = "none"


class SiLU(_InplaceActivation):
    """SiLU / swish (https://pytorch.org/docs/stable/generated/torch.nn.SiLU.html)."""

    kind: ClassVar[str] = "silu"
    prefix: ClassVar[str] = "silu"


class Hardswish(_InplaceActivation):
    """Hardswish (https://pytorch.org/docs/stable/generated/torch.nn.Hardswish.html)."""

    kind: ClassVar[str] = "hardswish"
    prefix: ClassVar[str] = "hardswish"


class Softmax(_Activation):
    """Softmax (https://pytorch.org/docs/stable/generated/torch.nn.Softmax.html); dim counts the batch as 0."""

    kind: ClassVar[str] = "softmax"
    prefix: ClassVar[str] = "softmax"
    dim: StrictInt = 1

    def apply(self, x: Shape, env: Env) -> Effect:
        rank = len(x) + 1  # with the batch axis
        if not -rank <= self.dim < rank:
            raise FieldError(
                f"dim {self.dim} is out of range for a batch of rank {rank} ({-rank}..{rank - 1})", field="dim"
            )
        return Effect(output=x)


class Hardsigmoid(_InplaceActivation):
    """Hardsigmoid (https://pytorch.org/docs/stable/generated/torch.nn.Hardsigmoid.html)."""

    kind: ClassVar[str] = "hardsigmoid"
    prefix: ClassVar[str] = "hardsigmoid"


class ChannelShuffle(Layer):
    """Channel shuffle (https://pytorch.org/docs/stable/generated/torch.nn.ChannelShuffle.html):
    shape unchanged; channels must divide into ``groups``."""

    kind: ClassVar[str] = "channel_shuffle"
    prefix: ClassVar[str] = "shuffle"
    groups: Int

    def apply(self, x: Shape, env: Env) -> Effect:
        groups = self._value(env, "groups")
        c = self._spatial(x)[0]
        if isinstance(c, int) and isinstance(groups, int) and c % groups:
            raise FieldError(f"{c} channels are not divisible by groups={groups}", field="groups")
        return Effect(output=x)


class Chunk(Layer):
    """One of ``chunks`` equal parts of the channels, as ``x.chunk(chunks, dim=1)[index]``
    (ShuffleNetV2's channel split). Output channels C/chunks; no parameters."""

    kind: ClassVar[str] = "chunk"
    prefix: ClassVar[str] = "chunk"
    chunks: Int
    index: StrictInt = Field(ge=0)

    def apply(self, x: Shape, env: Env) -> Effect:
        chunks = self._value(env, "chunks")
        c = x[0]
        if isinstance(chunks, int) and self.index >= chunks:
            raise FieldError(f"index {self.index} is not below chunks={chunks}", field="index")
        if isinstance(c, int) and isinstance(chunks, int) and c % chunks:
            raise FieldError(f"{c} channels do not split into {chunks} equal chunks", field="chunks")
        return Effect(output=(_exact_div(c, chunks), *x[1:]))


class LayerNorm2d(Layer):
    """Layer normalisation over the channels at each position, as ConvNeXt's LayerNorm2d
    (https://pytorch.org/docs/stable/generated/torch.nn.LayerNorm.html over C, channels last).

    params = 2C with elementwise_affine (weight and bias), C without bias.
    """

    kind: ClassVar[str] = "layernorm2d"
    prefix: ClassVar[str] = "norm"
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
    prefix: ClassVar[str] = "scale"
    init: float = 1e-6

    def apply(self, x: Shape, env: Env) -> Effect:
        return Effect(output=x, params=self._spatial(x)[0])


class StochasticDepth(Layer):
    """Stochastic depth (torchvision.ops.StochasticDepth): randomly drops a residual branch in
    training; the identity at inference. No parameters."""

    kind: ClassVar[str] = "stochasticdepth"
    prefix: ClassVar[str] = "stochastic_depth"
    p: float = Field(default=0.0, ge=0, le=1)
    mode: Literal["row", "batch"] = "row"


class ZeroPad2d(Layer):
    """Zero padding (https://pytorch.org/docs/stable/generated/torch.nn.ZeroPad2d.html): an int
    for all sides or [left, right, top, bottom]; out = in + top + bottom (height), + left + right."""

    kind: ClassVar[str] = "zeropad2d"
    prefix: ClassVar[str] = "pad"
    padding: Annotated[Int | tuple[Int, Int, Int, Int], counted((4,), "[left, right, top, bottom]")]

    def apply(self, x: Shape, env: Env) -> Effect:
        c, h, w = self._spatial(x)
        sides = self.padding if isinstance(self.padding, tuple) else (self.padding,) * 4
        left, right, top, bottom = (env.resolve(v) for v in sides)
        out = (h + top + bottom, w + left + right)
        _check_output(out)
        # A 1x1 window with padding moves the first output's centre by the padding.
        return Effect(output=(c, *out), rf=Window((1, 1), (1, 1), (top, left)))


class ConvTranspose2d(Layer):
    """Transposed convolution (https://pytorch.org/docs/stable/generated/torch.nn.ConvTranspose2d.html).

    out = (in - 1)*s - 2p + d(k-1) + output_padding + 1;
    params = C_in*(C_out/groups)*k1*k2 + C_out; MACs = C_in*(C_out/groups)*k1*k2*H_in*W_in
    (every input value meets every kernel weight of its group once).
    """

    kind: ClassVar[str] = "convtranspose2d"
    prefix: ClassVar[str] = "upconv"
    out_channels: Int
    kernel_size: Pair
    stride: Pair = 1
    padding: Pair = 0
    output_padding: Pair = 0
    groups: Int = 1
    bias: StrictBool = True
    dilation: Pair = 1

    def apply(self, x: Shape, env: Env) -> Effect:
        c, h, w = self._spatial(x)
        out_c = self._value(env, "out_channels")
        groups = self._value(env, "groups")
        k = self._values(env, "kernel_size")
        s = self._values(env, "stride")
        p = self._values(env, "padding", 0)
        op = self._values(env, "output_padding", 0)
        d = self._values(env, "dilation")
        for i in range(2):
            if all(isinstance(v, int) for v in (op[i], s[i], d[i])) and op[i] >= max(s[i], d[i]):
                raise FieldError(
                    f"output_padding {op[i]} must be smaller than stride or dilation ({s[i]}, {d[i]})",
                    field="output_padding",
                )
        for v in (c, out_c):
            if isinstance(v, int) and isinstance(groups, int) and v % groups:
                raise ShapeError(f"{v} channels are not divisible by groups={groups}")
        out = tuple((size - 1) * s[i] - 2 * p[i] + d[i] * (k[i] - 1) + op[i] + 1 for i, size in enumerate((h, w)))
        _check_output(out)
        weights = c * _exact_div(out_c, groups) * k[0] * k[1]
        return Effect(
            output=(out_c, *out),
            params=weights + (out_c if self.bias else 0),
            macs=product((weights, h, w)),
            rf=UNKNOWN,  # upsampling: an output's field is not one window of the input grid
            fan_in=None,
        )


class Upsample(Layer):
    """Upsampling (https://pytorch.org/docs/stable/generated/torch.nn.Upsample.html): out =
    ``size``, or floor(in * scale_factor) with a whole-number scale; no parameters."""

    kind: ClassVar[str] = "upsample"
    prefix: ClassVar[str] = "upsample"
    size: Pair | None = None
    scale_factor: Pair | None = None
    mode: Literal["nearest", "bilinear", "bicubic", "nearest-exact"] = "nearest"
    align_corners: StrictBool | None = None

    def apply(self, x: Shape, env: Env) -> Effect:
        c, h, w = self._spatial(x)
        if (self.size is None) == (self.scale_factor is None):
            raise FieldError("give exactly one of size and scale_factor", field="size")
        if self.align_corners is not None and self.mode in ("nearest", "nearest-exact"):
            raise FieldError(f"align_corners applies to interpolating modes, not {self.mode!r}", field="align_corners")
        out = (
            self._values(env, "size")
            if self.size is not None
            else tuple(v * f for v, f in zip((h, w), self._values(env, "scale_factor"), strict=True))
        )
        return Effect(output=(c, *out), rf=UNKNOWN)


def _broadcast(xs: list[Shape], kind: str) -> Shape:
    """PyTorch's broadcasting over shapes without the batch axis: align on the right; each axis
    equal, or 1 in all but one input."""
    first = xs[0]
    if all(x == first for x in xs):  # a residual add: nothing to broadcast
        return first
    from .symbolic import to_text

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
            if not equal(v, big[0]):
                shapes = " and ".join(shape_text(x) for x in xs)
                cond = ""
                if not (isinstance(v, int) and isinstance(big[0], int)):
                    cond = f" (they agree only where {to_text(big[0])} = {to_text(v)})"
                raise ShapeError(f"{kind}: the shapes {shapes} differ in axis {axis}{cond}")
        out.append(big[0])
    return tuple(out)


class Add(Layer):
    """Elementwise sum of two or more inputs (a residual connection), with PyTorch's broadcasting.
    No parameters; MACs 0."""

    kind: ClassVar[str] = "add"
    prefix: ClassVar[str] = "add"
    arity: ClassVar[int | None] = None

    def apply_many(self, xs: list[Shape], env: Env) -> Effect:
        return Effect(output=_broadcast(xs, self.kind))


class Mul(Layer):
    """Elementwise product of two or more inputs (a squeeze-and-excitation gate [C, 1, 1] times
    [C, H, W]), with broadcasting. No parameters; MACs 0."""

    kind: ClassVar[str] = "mul"
    prefix: ClassVar[str] = "mul"
    arity: ClassVar[int | None] = None

    def apply_many(self, xs: list[Shape], env: Env) -> Effect:
        return Effect(output=_broadcast(xs, self.kind))


class Concat(Layer):
    """Concatenation along channels (``torch.cat(xs, dim=1)``): spatial sizes must agree; output
    channels are the sum. No parameters."""

    kind: ClassVar[str] = "concat"
    prefix: ClassVar[str] = "cat"
    arity: ClassVar[int | None] = None

    def apply_many(self, xs: list[Shape], env: Env) -> Effect:
        from .symbolic import to_text

        first = xs[0]
        for x in xs[1:]:
            if len(x) != len(first) or not all(equal(a, b) for a, b in zip(x[1:], first[1:], strict=True)):
                conds = [
                    f"{to_text(a)} = {to_text(b)}"
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


#: The registry: YAML kind -> layer class.
KINDS: dict[str, type[Layer]] = {
    cls.kind: cls
    for cls in (
        Conv2d,
        MaxPool2d,
        AvgPool2d,
        AdaptiveAvgPool2d,
        AdaptiveMaxPool2d,
        BatchNorm2d,
        LocalResponseNorm,
        Dropout,
        Flatten,
        Linear,
        Identity,
        ReLU,
        ReLU6,
        LeakyReLU,
        Sigmoid,
        Tanh,
        GELU,
        SiLU,
        Hardswish,
        Softmax,
        Hardsigmoid,
        ChannelShuffle,
        Chunk,
        LayerNorm2d,
        LayerScale,
        StochasticDepth,
        ZeroPad2d,
        ConvTranspose2d,
        Upsample,
        Add,
        Mul,
        Concat,
    )
}

__all__ = ["KINDS", "CnncalcError", "Effect", "Expr", "FieldError", "Layer", "Shape", "Window"]
