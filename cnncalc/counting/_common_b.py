"""What the ptflops, torchscan, flopcounter and calflops rules read of a layer, as cnncalc's PyTorch
module holds it at batch 1 (``Architecture.to_torch``): element counts, a field as the module stores
it, which module class a layer becomes (hook-based tools match exact types), and the tools' own
estimates (torchscan's adaptive-pool kernel, the left-aligned sizes ptflops and calflops give
torch.add and torch.mul).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from ..layers.base import exact_div
from ..layers.same import SAME
from ..symbolic import Value, equal, floordiv, maximum, product
from .base import Facts, Rule


def family(kind: str) -> str:
    """A kind without its rank: conv2d -> conv, adaptivemaxpool3d -> adaptivemaxpool."""
    return kind[:-2] if kind[-2:] in ("1d", "2d", "3d") else kind


def by_family(rules: Mapping[str, Rule]) -> Rule:
    """One rule of the layer's family (``rules["conv"]`` for conv1d to conv3d, or its kind); 0 for
    a family the tool does not count."""

    def rule(f: Facts) -> Value:
        found = rules.get(family(f.kind))
        return 0 if found is None else found(f)

    return rule


def in_eval(rule: Rule) -> Rule:
    """``rule`` for a tool that calls model.eval() before it counts: a layer that runs only in
    training (an auxiliary head) counts 0, in the training view too."""

    def rule_in_eval(f: Facts) -> Value:
        return 0 if f.row.training_only else rule(f)

    return rule_in_eval


def field(f: Facts, name: str, default: Any = None) -> Any:
    """A field as written (a bool, a float, an int or an expression, a per-axis tuple), or
    ``default`` for a kind without it."""
    return getattr(f.layer, name, default)


def numel_in(f: Facts) -> Value:
    """Elements of the (first) input, batch 1."""
    return product(f.input)


def numel_out(f: Facts) -> Value:
    """Elements of the output, batch 1."""
    return product(f.output)


def self_padding(f: Facts) -> bool:
    """Whether the layer pads as TF (SAME_UPPER/SAME_LOWER): to_torch builds a subclass of the
    PyTorch class (SameConv2d, SameMaxPool2d...) that pads its input in forward, then runs the
    class's own forward with padding 0."""
    return field(f, "padding") in SAME


def padded_numel(f: Facts) -> Value:
    """Elements of the input a pool's F.max_pool/F.avg_pool call sees: once padded, with SAME."""
    if not self_padding(f):
        return numel_in(f)
    return f.input[0] * product(f.layer.padded(f.input[1:], f.env))  # type: ignore[attr-defined]


def bias_adds(f: Facts) -> Value:
    """One addition per output element where a conv or linear layer has a bias, else 0."""
    return numel_out(f) if field(f, "bias") else 0


def kernel_terms(f: Facts) -> Value:
    """Terms of one output's sum in a conv, or one input's spread in a transposed conv:
    prod(k)*C_in/groups."""
    return product(f.values("kernel_size")) * exact_div(f.input[0], f.value("groups"))


def stored_kernel(f: Facts) -> Value:
    """The kernel as nn.MaxPoolNd and nn.AvgPool2d/3d keep it, multiplied out as torchscan does:
    a per-axis list gives its product, one number for all axes stays that number (3, not 3x3)."""
    raw = field(f, "kernel_size")
    if isinstance(raw, tuple):
        return product(tuple(f.env.resolve(v) for v in raw))
    return f.env.resolve(raw)


class Norm(NamedTuple):
    """A batch norm as to_torch builds it: ``partial`` for PartialBatchNorm (Keras's scale or
    center alone: a _BatchNorm built with affine=False, then one of weight and bias added), which
    is no nn.BatchNormNd; else nn.BatchNormNd, with ``weight`` and ``bias`` where affine."""

    partial: bool
    weight: bool
    bias: bool


def batchnorm(f: Facts) -> Norm:
    """The module a batchnorm1d/2d/3d becomes (see :class:`Norm`)."""
    affine, scale, center = field(f, "affine"), field(f, "scale", True), field(f, "center", True)
    if affine and scale != center:
        return Norm(True, scale, center)
    return Norm(False, affine and scale, affine and center)


def adaptive_kernel(f: Facts) -> Value:
    """torchscan's kernel of an adaptive pool: per axis in//out where out divides in, else
    in % out + 1 (its estimate); the product over the axes. Symbolically with floors only: with
    r = in - out*floor(in/out), z = 1 - floor((r + out - 1)/out) is 1 where r = 0, else 0."""
    sizes: list[Value] = []
    for i, o in zip(f.input[1:], f.output[1:], strict=True):
        if isinstance(i, int) and isinstance(o, int):
            sizes.append(i // o if i % o == 0 else i % o + 1)
        elif equal(o, 1) or equal(i, o):
            sizes.append(i if equal(o, 1) else 1)
        else:
            quotient = floordiv(i, o)
            rest = i - o * quotient
            divides = 1 - floordiv(rest + o - 1, o)
            sizes.append(divides * quotient + (1 - divides) * (rest + 1))
    return product(sizes)


def left_aligned(f: Facts) -> Value:
    """Elements ptflops and calflops count for add or mul: torch.add (torch.mul) pairwise from the
    left, each pair counted over the larger size of each axis with the shapes aligned on the left
    (the batch axis first), where PyTorch broadcasts them aligned on the right."""
    shapes = [(1, *s) for s in f.inputs]
    count: Value = 0
    partial: tuple[Value, ...] = shapes[0]
    for x in shapes[1:]:
        n = max(len(partial), len(x))
        left = [maximum(*(s[i] if i < len(s) else 1 for s in (partial, x))) for i in range(n)]
        count = count + product(left)
        right = [(1,) * (n - len(s)) + tuple(s) for s in (partial, x)]
        partial = tuple(maximum(a, b) for a, b in zip(*right, strict=True))
    return count


def lrn_tensor_ops(f: Facts) -> Value:
    """The elements of the wrapped tensor ops F.local_response_norm is made of (torch 2.13): x*x,
    the average pool over the channels padded by size - 1, times alpha, plus k (the power and the
    division are not wrapped): 3*C*S + (C + size - 1)*S, S the elements per channel."""
    c = f.input[0]
    per_channel = product(f.input[1:])
    return 3 * c * per_channel + (c + field(f, "size") - 1) * per_channel


__all__ = [
    "Norm",
    "adaptive_kernel",
    "batchnorm",
    "bias_adds",
    "by_family",
    "family",
    "field",
    "in_eval",
    "kernel_terms",
    "left_aligned",
    "lrn_tensor_ops",
    "numel_in",
    "numel_out",
    "padded_numel",
    "self_padding",
    "stored_kernel",
]
