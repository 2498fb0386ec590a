"""The two engines of a sweep: the compiled program point by point on Python ints, or on chunks of
points as numpy arrays (see :mod:`cnncalc.sweep`)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .sweep import Grid, Model

#: Points per compiled call on numpy arrays (and between progress reports).
CHUNK = 1 << 18


def run_python(
    model: Model, points: Grid, progress: Callable[[int, int], None] | None
) -> tuple[dict[str, Any], dict[str, int]]:
    """Point by point on Python ints."""
    n_tests, conditioned = model.n_tests, model.condition is not None
    first = n_tests + conditioned
    n_columns, n_output = len(model.columns), len(model.output)
    names = [*points.axes, *points.derived]
    data: dict[str, list[Any]] = {k: [] for k in [*names, "valid", "reason", *model.columns, "output"]}
    invalid: dict[str, int] = {}
    total, function, labels = points.size, model.function, model.labels
    for done, combo in enumerate(itertools.product(*points.axes.values()), 1):
        out = function(*combo)
        tests = out[:n_tests]
        valid = all(tests)
        reason = "" if valid else labels[tests.index(False)]
        if reason:
            invalid[reason] = invalid.get(reason, 0) + 1
        if progress is not None and done % CHUNK == 0:
            progress(done, total)
        if conditioned and not (valid and out[n_tests]):
            continue
        derived = out[len(out) - len(points.derived) :] if points.derived else ()
        for name, v in zip(names, (*combo, *derived), strict=True):
            data[name].append(v)
        data["valid"].append(valid)
        data["reason"].append(reason)
        for c, v in zip(model.columns, out[first : first + n_columns], strict=True):
            data[c].append(v)
        data["output"].append(tuple(out[first + n_columns : first + n_columns + n_output]))
    if progress is not None:
        progress(total, total)
    return data, invalid


def run_numpy(
    model: Model, points: Grid, huge: bool, progress: Callable[[int, int], None] | None
) -> tuple[dict[str, Any], dict[str, int]]:
    """Chunks of points as numpy arrays (int64, or exact Python ints in object arrays when ``huge``)."""
    import numpy as np

    dtype: Any = object if huge else np.int64
    axes = [np.array(v, dtype=dtype) for v in points.axes.values()]
    shape = tuple(len(a) for a in axes)
    total, n_tests, conditioned = points.size, model.n_tests, model.condition is not None
    first = n_tests + conditioned
    n_columns, n_output, n_derived = len(model.columns), len(model.output), len(points.derived)
    labels = np.array([*model.labels, ""], dtype=object)
    pieces: dict[str, list[Any]] = {}
    invalid: dict[str, int] = {}
    for start in range(0, total, CHUNK):
        index = np.unravel_index(np.arange(start, min(total, start + CHUNK)), shape)
        args = [a[i] for a, i in zip(axes, index, strict=True)]
        n = len(args[0])
        out = [np.broadcast_to(v, (n,)) for v in model.function(*args)]
        tests = np.array(out[:n_tests], dtype=bool).reshape(n_tests, n)
        valid = tests.all(axis=0)
        which = np.where(valid, n_tests, np.argmin(tests, axis=0)) if n_tests else np.full(n, 0)
        reasons = labels[which] if n_tests else np.full(n, "", dtype=object)
        for i, count in zip(*np.unique(which[~valid], return_counts=True), strict=True):
            invalid[model.labels[i]] = invalid.get(model.labels[i], 0) + int(count)
        keep = valid & out[n_tests].astype(bool) if conditioned else np.ones(n, dtype=bool)
        derived = out[len(out) - n_derived :] if n_derived else []
        columns: dict[str, Any] = {
            **dict(zip([*points.axes, *points.derived], [*args, *derived], strict=True)),
            "valid": valid,
            "reason": reasons,
            **dict(zip(model.columns, out[first : first + n_columns], strict=True)),
        }
        if n_output:
            columns["output"] = np.stack(out[first + n_columns : first + n_columns + n_output], axis=1)
        for k, v in columns.items():
            pieces.setdefault(k, []).append(v[keep])
        if progress is not None:
            progress(min(total, start + CHUNK), total)
    data = {k: np.concatenate(v) for k, v in pieces.items()}
    data.setdefault("output", np.zeros((len(data["valid"]), 0), dtype=np.int64))
    return data, invalid


__all__ = ["CHUNK", "run_numpy", "run_python"]
