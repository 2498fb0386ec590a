"""What every layer kind shares: the field types, the :class:`Layer` base, the :class:`Effect` a layer
has on its input, the receptive-field steps, and the window arithmetic of convolutions and pools.

Shapes are channels first without the batch axis: ``[C]`` (flat features), ``[C, L]``, ``[C, H, W]``
or ``[C, D, H, W]``; the number of spatial axes (the rank) is decided by the network's input.
Per-axis fields are one value for every axis or a list of the kind's rank.
"""

# No `from __future__ import annotations`: pydantic then builds each class from evaluated
# annotations instead of resolving strings, which halves the import time of the layer classes.

from typing import Annotated, Any, ClassVar, NamedTuple

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt

from ..errors import ExpressionError, ShapeError, YamlPath, note
from ..expressions import MAX_MAGNITUDE, parse
from ..symbolic import Env, Value, floordiv, minimum
from .same import SAME, same_padding, same_sizes

Shape = tuple[Value, ...]

#: Names of the spatial axes by rank, for messages and list fields.
AXES: dict[int, tuple[str, ...]] = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}
#: The input a kind of each rank needs, in words.
NEEDS: dict[int, str] = {
    1: "[channels, length]",
    2: "[channels, height, width]",
    3: "[channels, depth, height, width]",
}
#: How a shape of each rank (channels included) is written in messages.
SHAPES: dict[int, str] = {1: "[features]", 2: "[C, L]", 3: "[C, H, W]", 4: "[C, D, H, W]"}
#: Every kind defined so far (filled as classes are made), for "use conv1d" hints.
DEFINED: set[str] = set()


def parse_field(value: Any) -> Any:
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


def axes_text(rank: int) -> str:
    """ "[height, width]" for rank 2: the names a per-axis list gives, in order."""
    return "[" + ", ".join(AXES[rank]) + "]"


#: An integer field: a whole number, or an expression of symbols such as "64*k".
Int = Annotated[StrictInt | str, AfterValidator(parse_field)]
#: Per-axis integer fields: one value for every axis, or a list of the kind's rank.
Axes1 = Annotated[Int | tuple[Int], counted((1,), axes_text(1))]
Axes2 = Annotated[Int | tuple[Int, Int], counted((2,), axes_text(2))]
Axes3 = Annotated[Int | tuple[Int, Int, Int], counted((3,), axes_text(3))]
#: Per-axis fields of any rank (upsample), checked against the input's rank when applied.
AnyAxes = Annotated[Int | tuple[Int, ...], counted((1, 2, 3), "(one per spatial axis)")]


#: Words a padding field may hold that are no one's spelling here, and what to write instead.
_WORD_HINTS = {
    "same": "'same' (lowercase: PyTorch's, stride 1) or 'SAME_UPPER' (TF/Keras padding=\"same\", any stride)",
    "same_upper": "'SAME_UPPER' (upper case, as ONNX spells it)",
    "same_lower": "'SAME_LOWER' (upper case, as ONNX spells it)",
    "valid": "'valid' (lowercase, as PyTorch) or 0",
    "full": "numbers (PyTorch has no 'full' padding)",
    "causal": "numbers (PyTorch has no 'causal' padding: zeropad1d k - 1 on the left)",
}
#: The same for pools, which take no 'same' or 'valid'.
_POOL_HINTS = {
    **_WORD_HINTS,
    "same": "'SAME_UPPER' (TF/Keras padding=\"same\"; PyTorch's pools have no 'same')",
    "valid": "0 (TF/Keras padding=\"valid\"; PyTorch's pools have no 'valid')",
}


def _padding_word(value: Any, words: tuple[str, ...], hints: dict[str, str]) -> Any:
    """``value`` if it is one of ``words``; a misspelt padding word is refused with the right
    spelling; any other text is an expression."""
    if value in words:
        return value
    if isinstance(value, str):
        hint = hints.get(value.strip().lower())
        if hint is not None:
            takes = ", ".join(repr(w) for w in words)
            raise ValueError(f"takes {takes} or numbers, got {value!r}: write {hint}")  # after "padding"
    return parse_field(value)


def _parse_padding(value: Any) -> Any:
    return _padding_word(value, ("same", "valid", *SAME), _WORD_HINTS)


def _parse_pool_padding(value: Any) -> Any:
    return _padding_word(value, SAME, _POOL_HINTS)


def _no_padding_word(value: Any) -> Any:
    """A transposed convolution's padding is numbers: TF's "same" there is a shape rule, out = in*s,
    that padding p and output_padding 2p + s - k meet at every size."""
    if isinstance(value, str) and value.strip().lower() in (*_WORD_HINTS, "same_upper", "same_lower"):
        raise ValueError(
            f"{value!r} is not taken on a transposed convolution: its padding does not depend on "
            'the input size; TF\'s "same" (out = in*stride) is padding p with output_padding 2p + stride - k'
        )
    return value


_PaddingWord = Annotated[StrictInt | str, AfterValidator(_parse_padding)]
_PoolPaddingWord = Annotated[StrictInt | str, AfterValidator(_parse_pool_padding)]
#: Convolution padding: per-axis integers, "same" / "valid" as in PyTorch's ConvNd, or SAME_UPPER /
#: SAME_LOWER (TF's and ONNX's, any stride).
Padding1 = Annotated[tuple[Int] | _PaddingWord, counted((1,), axes_text(1))]
Padding2 = Annotated[tuple[Int, Int] | _PaddingWord, counted((2,), axes_text(2))]
Padding3 = Annotated[tuple[Int, Int, Int] | _PaddingWord, counted((3,), axes_text(3))]
#: A transposed convolution's padding: per-axis integers (a padding word is refused with the rule).
TransposedPadding1 = Annotated[Axes1, BeforeValidator(_no_padding_word)]
TransposedPadding2 = Annotated[Axes2, BeforeValidator(_no_padding_word)]
TransposedPadding3 = Annotated[Axes3, BeforeValidator(_no_padding_word)]
#: Pooling padding: per-axis integers, or SAME_UPPER / SAME_LOWER.
PoolPadding1 = Annotated[tuple[Int] | _PoolPaddingWord, counted((1,), axes_text(1))]
PoolPadding2 = Annotated[tuple[Int, Int] | _PoolPaddingWord, counted((2,), axes_text(2))]
PoolPadding3 = Annotated[tuple[Int, Int, Int] | _PoolPaddingWord, counted((3,), axes_text(3))]


def no_indices(value: bool) -> bool:
    """return_indices must be false: no next layer takes PyTorch's (values, indices) pair."""
    if value:
        raise ValueError("must be false: with true PyTorch returns (values, indices), which no next layer takes")
    return value


# --- receptive-field steps ---------------------------------------------------------------------------


class Window(NamedTuple):
    """A sliding window's step for the receptive field, per spatial axis: effective kernel
    d(k-1)+1, stride, the padding before the first input pixel, and the dilation (None: 1), which
    only an irregular field needs (a dilated window reads every d-th unit of its span)."""

    kernel: tuple[Value, ...]
    stride: tuple[Value, ...]
    padding: tuple[Value, ...]
    dilation: tuple[Value, ...] | None = None


class Spread:
    """An upsampling step, per spatial axis: each output reads the inputs PyTorch's index map for
    ``mode`` gives (``factor`` = out/in, exact), so the fields no longer form a regular grid.
    A plain class with slots (a named tuple costs a quarter of a millisecond to define)."""

    __slots__ = ("align_corners", "factor", "mode")

    def __init__(self, mode: str, factor: tuple[Any, ...], align_corners: bool | None) -> None:
        self.mode, self.factor, self.align_corners = mode, factor, align_corners


class Scatter:
    """A transposed convolution's step, per spatial axis: input i reaches outputs i*s - p + d*t."""

    __slots__ = ("dilation", "kernel", "padding", "stride")

    def __init__(
        self,
        kernel: tuple[Value, ...],
        stride: tuple[Value, ...],
        padding: tuple[Value, ...],
        dilation: tuple[Value, ...],
    ) -> None:
        self.kernel, self.stride, self.padding, self.dilation = kernel, stride, padding, dilation


#: Receptive-field steps other than those above: the layer keeps the field (elementwise), or its
#: output has no spatial axes (flatten, linear), or the field is not known (adaptive pooling whose
#: output does not divide its input).
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
    rf: Window | Spread | Scatter | str = KEEP
    fan_in: Value | None = None
    bias: bool = False


# --- the base class ----------------------------------------------------------------------------------


class Layer(BaseModel):
    """Fields every layer kind has. The structural fields (name, from, when, repeat, first) are
    read by :mod:`cnncalc.spec` before a layer's own fields are validated."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    kind: ClassVar[str]
    prefix: ClassVar[str]
    #: Spatial axes the kind needs (conv2d: 2), or None where any input will do.
    rank: ClassVar[int | None] = None
    #: How many inputs the layer takes: 1, or None for merges (two or more).
    arity: ClassVar[int | None] = 1
    #: Fields ``cnncalc explain`` (:mod:`cnncalc.explain`) runs ``apply`` on as symbols, with their
    #: names: a per-axis field gets one per axis (k: k_h, k_w), a tuple names each item.
    formula_symbols: ClassVar[dict[str, str | tuple[str, ...]]] = {}
    #: Of those, the fields left as numbers where they have their default (textbooks write no d = 1).
    formula_optional: ClassVar[frozenset[str]] = frozenset()
    #: What backward keeps in training (PyTorch 2.13 on CPU; cnncalc.memory counts it), one tensor
    #: each: "input", "inputs" (each input another input's gradient needs), "output", "like_input"
    #: and "like_output" (new tensors of those sizes), "indices" (int64, the output's size),
    #: "channels" ([C]), "positions" ([N, *spatial]), "scalar"; "input?": the input where it needs
    #: a gradient (an op without parameters inside the layer). Measured with autograd's hooks.
    saves: ClassVar[tuple[str, ...]] = ()
    #: What an inference forward makes besides its output and frees within the layer.
    transient: ClassVar[tuple[str, ...]] = ()
    #: The output is a view of the input (flatten, chunk): no memory of its own.
    view: ClassVar[bool] = False
    trainable: StrictBool = Field(default=True, description="false: parameters are frozen (not trainable)")

    def kept(self, n_inputs: int = 1) -> tuple[str, ...]:
        """What backward keeps (:attr:`saves`, where no field changes it)."""
        return self.saves

    def transients(self, n_inputs: int = 1) -> tuple[str, ...]:
        """What an inference forward makes and frees within the layer (:attr:`transient`)."""
        return self.transient

    def aliases(self, training: bool) -> bool:
        """Whether the output lives in the input's storage: a view, or an in-place op."""
        return self.view or bool(getattr(self, "inplace", False))

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "kind" in cls.__dict__:
            DEFINED.add(cls.kind)

    def apply(self, x: Shape, env: Env) -> Effect:
        """Output shape and counts for input ``x`` (channels first, no batch axis)."""
        return Effect(output=x)

    def apply_many(self, xs: list[Shape], env: Env) -> Effect:
        """Output for several inputs; only merge kinds take more than one."""
        return self.apply(xs[0], env)

    # --- helpers shared by the rules ---------------------------------------------------------

    def _values(self, env: Env, field: str, minimum_value: int = 1, rank: int | None = None) -> tuple[Value, ...]:
        """A per-axis field resolved to one value per axis, each at least ``minimum_value``."""
        raw = getattr(self, field)
        n = rank or self.rank or 1
        if type(raw) is int and raw >= minimum_value:  # most fields are plain numbers: no resolving
            return (raw,) * n
        if isinstance(raw, tuple):
            if len(raw) != n:
                raise ShapeError(
                    f"{field} has {len(raw)} values but the input has {n} spatial axes {axes_text(n)}", path=(field,)
                )
            resolved = tuple(env.field(field, v) for v in raw)
        else:
            resolved = (env.field(field, raw),) * n
        for v in resolved:
            if isinstance(v, int):
                if v < minimum_value:
                    raise ShapeError(f"{field} must be at least {minimum_value}, got {v}", path=(field,))
            else:
                note("ge", v - minimum_value, f"{field} at least {minimum_value}", (field,))
        return resolved

    def _value(self, env: Env, field: str, minimum_value: int = 1) -> Value:
        v = env.field(field, getattr(self, field))
        if isinstance(v, int):
            if v < minimum_value:
                raise ShapeError(f"{field} must be at least {minimum_value}, got {v}", path=(field,))
        else:
            note("ge", v - minimum_value, f"{field} at least {minimum_value}", (field,))
        return v

    def _spatial(self, x: Shape) -> Shape:
        """``x`` itself, once checked to have the kind's rank of spatial axes after the channels."""
        rank = self.rank or 2
        if len(x) != rank + 1:
            raise ShapeError(f"{self.kind} needs a {NEEDS[rank]} input, this input is {shape_kind(x)}{self._hint(x)}")
        return x

    def _hint(self, x: Shape) -> str:
        suffix = f"{self.rank}d"
        if not self.kind.endswith(suffix) or not 2 <= len(x) <= 4:
            return ""
        sibling = f"{self.kind[: -len(suffix)]}{len(x) - 1}d"
        return f" (use {sibling})" if sibling in DEFINED else ""


def shape_kind(x: Shape) -> str:
    """How a shape's rank is written: [features], [C, L], [C, H, W], [C, D, H, W] or "rank n"."""
    return SHAPES.get(len(x), f"of rank {len(x)}")


# --- window arithmetic ---------------------------------------------------------------------------


def window_output(size: Value, kernel: Value, stride: Value, pad_total: Value, ceil_mode: bool, pad: Value) -> Value:
    """floor((size + pad_total - kernel)/stride) + 1, or PyTorch's ceil-mode count.

    In ceil mode a window may start in the right padding but not past it, so the last start must
    be at most size + pad - 1: the count is floor((size + min(2p - k + s - 1, p - 1))/s) + 1,
    which is exact and closed-form (PyTorch: ceil, then drop a window starting past the input).
    """
    # The "+ 1" goes inside the floor (floor(a/s) + 1 = floor((a + s)/s)) so that chains collapse.
    if ceil_mode:
        return floordiv(size + minimum(pad_total - kernel + stride - 1, pad - 1) + stride, stride)
    return floordiv(size + pad_total - kernel + stride, stride)


def effective(kernel: tuple[Value, ...], dilation: tuple[Value, ...]) -> tuple[Value, ...]:
    """The kernel's extent with dilation, d(k-1)+1 per axis."""
    if all(d == 1 for d in dilation):  # most layers: the kernel itself
        return kernel
    return tuple([d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True)])


def times(values: tuple[Any, ...]) -> str:
    """5x5, or 3x5x5: per-axis values as printed in messages."""
    return "x".join(str(v) for v in values)


def check_fits(size: tuple[Value, ...], pads: tuple[Value, ...], kernel: tuple[Value, ...]) -> None:
    """A convolution's kernel (with dilation) must fit in its padded input, on every axis."""
    # One loop, not generators: this runs for every convolution of every summary.
    fits = True
    for n, p, k in zip(size, pads, kernel, strict=True):
        if type(n) is not int or type(p) is not int or type(k) is not int:
            return  # a symbolic size: the kernel fits wherever the output size is at least 1
        if n + p < k:
            fits = False
    if not fits:
        padded = tuple(a + b for a, b in zip(size, pads, strict=True))
        raise ShapeError(f"kernel {times(kernel)} (with dilation) is larger than the padded input {times(padded)}")


def check_wrap(mode: str, size: tuple[Value, ...], before: tuple[Value, ...], after: tuple[Value, ...]) -> None:
    """Reflect padding needs padding < size; circular padding at most the size (PyTorch)."""
    for n, a, b in zip(size, before, after, strict=True):
        for pad in (a, b):
            bound = "smaller than" if mode == "reflect" else "at most"
            if not (isinstance(n, int) and isinstance(pad, int)):
                note("ge", n - pad - int(mode == "reflect"), f"{mode} padding {bound} the input size", ("padding",))
            elif pad >= n if mode == "reflect" else pad > n:
                raise ShapeError(f"{mode} padding {pad} must be {bound} the input size {n}", path=("padding",))


def check_output(out: tuple[Value, ...], why: str = "") -> None:
    """Every output size must be at least 1 (PyTorch would make an empty tensor)."""
    for v in out:
        if not isinstance(v, int):
            note("ge", v - 1, "output size at least 1")
        elif v < 1:
            raise ShapeError(f"output size {times(out)} is too small (below 1){why}")


def divides(n: Value, d: Value, what: str, path: YamlPath = ()) -> None:
    """n must be a multiple of d: checked for numbers by the caller, noted as a condition here when
    either is symbolic (n - d*floor(n/d) = 0)."""
    if not (isinstance(n, int) and isinstance(d, int)):
        note("eq", n - d * floordiv(n, d), what, path)


def exact_div(a: Value, b: Value) -> Value:
    """a/b where b divides a (checked by the caller for numbers)."""
    if isinstance(a, int) and isinstance(b, int):
        return a // b
    from ..symbolic import simplify_integer

    return simplify_integer(a / b)


__all__ = [
    "AXES",
    "FLAT",
    "KEEP",
    "SAME",
    "UNKNOWN",
    "AnyAxes",
    "Axes1",
    "Axes2",
    "Axes3",
    "Effect",
    "Int",
    "Layer",
    "Padding1",
    "Padding2",
    "Padding3",
    "PoolPadding1",
    "PoolPadding2",
    "PoolPadding3",
    "Scatter",
    "Shape",
    "Spread",
    "TransposedPadding1",
    "TransposedPadding2",
    "TransposedPadding3",
    "Window",
    "counted",
    "divides",
    "parse_field",
    "same_padding",
    "same_sizes",
]
