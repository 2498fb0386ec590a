"""Evaluation: threads shapes and receptive fields through an architecture's layers.

Each layer's rule (``Layer.apply``) sees only its input shape; this module adds what needs the
whole chain (receptive fields, the dense and locally-connected comparisons, totals) and places
every error at its file, line and layer.

Receptive fields follow Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional Neural
Networks" (Distill, 2019): for a window of effective kernel k, stride s and left padding p,
size' = size + (k-1)*jump, jump' = jump*s, start' = start + ((k-1)/2 - p)*jump.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import CnncalcError, ShapeError
from .layers import FLAT, KEEP, FieldError, Window
from .report import CONVENTIONS, LayerRow, ReceptiveField, Summary, Totals
from .symbolic import Env, Value, half, to_text

if TYPE_CHECKING:
    from .schema import Architecture


def shape_text(shape: tuple[Value, ...]) -> str:
    """[64, 224, 224] as text, symbols in sympy syntax."""
    return "[" + ", ".join(to_text(v) for v in shape) + "]"


def _product(values: tuple[Value, ...]) -> Value:
    result: Value = 1
    for v in values:
        result = result * v
    return result


def evaluate(arch: Architecture, values: dict[str, int], symbolic: bool) -> Summary:
    """The summary of ``arch``: numeric (symbols take ``values``, then defaults) or symbolic."""
    known = arch.symbol_names
    for name, value in values.items():
        if name not in known:
            choices = ", ".join(sorted(known)) or "none"
            raise CnncalcError(f"{arch.name} has no symbol {name!r} (its symbols: {choices})", location=arch.location())
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise CnncalcError(f"the value of {name} must be a positive integer, got {value!r}")
    env = Env(dict(values) if symbolic else {**arch.symbols, **values}, symbolic)

    shape: tuple[Value, ...] = ()
    for i, v in enumerate(arch.input):
        try:
            dim = env.resolve(v)
        except CnncalcError as err:
            raise err.at(arch.location("input", i), "input") from None
        if isinstance(dim, int) and dim < 1:
            raise ShapeError(f"input size {dim} must be at least 1", location=arch.location("input", i))
        shape = (*shape, dim)

    # Receptive field state per spatial axis; start is kept doubled so it stays a whole number.
    rf: tuple[tuple[Value, Value], tuple[Value, Value], tuple[Value, Value]] | None = None
    if len(shape) == 3:
        rf = ((1, 1), (1, 1), (0, 0))

    rows: list[LayerRow] = []
    weighted: list[bool] = []
    for i, (layer, name) in enumerate(zip(arch.layers, arch.layer_names, strict=True)):
        try:
            effect = layer.apply(shape, env)
        except FieldError as err:
            field = err.field or ""
            raise err.at(
                arch.location("layers", i, layer.kind, field), f"layer {name} ({layer.kind}), input {shape_text(shape)}"
            ) from None
        except CnncalcError as err:
            raise err.at(
                arch.location("layers", i), f"layer {name} ({layer.kind}), input {shape_text(shape)}"
            ) from None

        step = effect.rf
        if step == FLAT or (step != KEEP and not isinstance(step, Window)):
            rf = None
        elif isinstance(step, Window) and rf is not None:
            size, jump, start2 = rf
            rf = (
                (size[0] + (step.kernel[0] - 1) * jump[0], size[1] + (step.kernel[1] - 1) * jump[1]),
                (jump[0] * step.stride[0], jump[1] * step.stride[1]),
                (
                    start2[0] + (step.kernel[0] - 1 - 2 * step.padding[0]) * jump[0],
                    start2[1] + (step.kernel[1] - 1 - 2 * step.padding[1]) * jump[1],
                ),
            )

        out = effect.output
        activations = _product(out)
        fc = local = None
        if effect.fan_in is not None:
            bias = activations if effect.bias else 0
            local = activations * effect.fan_in + bias
            if len(shape) == 3:
                fc = _product(shape) * activations + bias
        rows.append(
            LayerRow(
                name=name,
                kind=layer.kind,
                input=shape,
                output=out,
                params=effect.params,
                trainable_params=effect.params if layer.trainable else 0,
                macs=effect.macs,
                activations=activations,
                rf=None if rf is None else ReceptiveField(rf[0], rf[1], (half(rf[2][0]), half(rf[2][1]))),
                fc_params=fc,
                local_params=local if len(shape) == 3 else None,
            )
        )
        weighted.append(effect.fan_in is not None)
        shape = out

    row_tuple = tuple(rows)
    return Summary(
        name=arch.name,
        input=tuple(rows[0].input),
        rows=row_tuple,
        total=Totals.of(row_tuple, weighted),
        values=dict(env.values),
        conventions=CONVENTIONS,
    )
