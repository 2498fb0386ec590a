"""Invariants over hypothesis-generated sequential networks.

- a symbolic summary with values substituted equals the numeric summary at those values;
- totals are the sums of the rows, and neurons the outputs of conv and linear rows;
- symbolic sizes stay one floor deep however long the chain.

Seeded and bounded (derandomize, a fixed example count) so CI is repeatable and fast.
"""

from __future__ import annotations

from typing import Any

import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cnncalc
from cnncalc.errors import ShapeError
from cnncalc.report import ReceptiveField

SETTINGS = settings(max_examples=150, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def conv(draw: st.DrawFn) -> dict[str, Any]:
    k = draw(st.integers(1, 5))
    fields: dict[str, Any] = {
        "out_channels": draw(st.sampled_from([4, 6, 8, "4*m"])),
        "kernel_size": k if draw(st.booleans()) else [k, draw(st.integers(1, 5))],
        "stride": draw(st.integers(1, 3)),
        "padding": draw(st.integers(0, 2)),
        "dilation": draw(st.integers(1, 2)),
        "bias": draw(st.booleans()),
    }
    if draw(st.booleans()):
        fields["groups"] = 2
    return {"conv2d": fields}


@st.composite
def pool(draw: st.DrawFn) -> dict[str, Any]:
    k = draw(st.integers(1, 4))
    kind = draw(st.sampled_from(["maxpool2d", "avgpool2d"]))
    fields: dict[str, Any] = {
        "kernel_size": k,
        "stride": draw(st.integers(1, 3)),
        "padding": draw(st.integers(0, k // 2)),
        "ceil_mode": draw(st.booleans()),
    }
    if kind == "maxpool2d" and draw(st.booleans()):
        fields["dilation"] = 2
        fields["padding"] = draw(st.integers(0, k - 1))  # at most half of d(k-1)+1 = 2k-1
    return {kind: fields}


ELEMENTWISE = st.sampled_from(["relu", "batchnorm2d", "dropout", "identity", "gelu", {"leakyrelu": {}}])


@st.composite
def network(draw: st.DrawFn) -> dict[str, Any]:
    layers = draw(st.lists(st.one_of(conv(), pool(), ELEMENTWISE), min_size=1, max_size=10))
    if draw(st.booleans()):
        layers += [{"adaptiveavgpool2d": {"output_size": 1}}, "flatten", {"linear": {"out_features": "10*m"}}]
    return {"name": "random", "input": [4, "H", "W"], "symbols": {"m": 1}, "layers": layers}


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, ReceptiveField) and isinstance(b, ReceptiveField):
        return all(_equal(getattr(a, f), getattr(b, f)) for f in ("size", "jump", "start"))
    return bool(a == b) and type(a) is type(b)


@SETTINGS
@given(network(), st.integers(17, 160), st.integers(17, 160), st.integers(1, 3))
def test_symbolic_then_substituted_equals_numeric(data: dict[str, Any], h: int, w: int, m: int) -> None:
    arch = cnncalc.load(data)
    try:
        numeric = arch.summarize(H=h, W=w, m=m)
    except ShapeError:
        return  # too small an input for this network: nothing to compare
    symbolic = arch.summarize(symbolic=True)
    substituted = symbolic.subs(H=h, W=w, m=m)
    assert substituted.total == numeric.total
    for s_row, n_row in zip(substituted.rows, numeric.rows, strict=True):
        for field in ("output", "params", "trainable_params", "macs", "activations", "fc_params", "local_params"):
            assert _equal(getattr(s_row, field), getattr(n_row, field)), (n_row.name, field)
        assert _equal(s_row.rf, n_row.rf), n_row.name
    # rows add up to totals, in both summaries
    for summary in (numeric, symbolic):
        t = summary.total
        assert sympy.expand(t.params - sum(r.params for r in summary.rows)) == 0
        assert sympy.expand(t.macs - sum(r.macs for r in summary.rows)) == 0
        assert sympy.expand(t.activations - sum(r.activations for r in summary.rows)) == 0
        weighted = [r.activations for r in summary.rows if r.kind in ("conv2d", "linear")]
        assert sympy.expand(t.neurons - sum(weighted)) == 0


@SETTINGS
@given(st.lists(st.one_of(conv(), pool()), min_size=1, max_size=40))
def test_symbolic_sizes_stay_one_floor_deep(layers: list[dict[str, Any]]) -> None:
    arch = cnncalc.load({"input": [4, "H", "W"], "symbols": {"m": 1}, "layers": layers})
    try:
        rows = arch.summarize(symbolic=True, m=1).rows
    except ShapeError:
        return  # e.g. channels not divisible by groups
    for row in rows:
        for size in row.output[1:]:
            for f in sympy.sympify(size).atoms(sympy.floor):
                assert not f.args[0].atoms(sympy.floor), size


@st.composite
def branchy(draw: st.DrawFn) -> dict[str, Any]:
    """A chain of plain layers, residual units (strided 3x3 path plus 1x1 projection, added) and
    inception units (size-preserving branches, concatenated)."""
    layers: list[Any] = []
    for u in range(draw(st.integers(1, 6))):
        choice = draw(st.sampled_from(["plain", "residual", "inception"]))
        if choice == "plain":
            layers.append(draw(st.one_of(conv(), pool(), ELEMENTWISE)))
            continue
        source = f"u{u - 1}" if layers else "input"
        if layers and not (isinstance(layers[-1], dict) and "name" in next(iter(layers[-1].values()), {})):
            layers.append({"identity": {"name": f"u{u - 1}"}})
        if choice == "residual":
            s = draw(st.integers(1, 2))
            width = draw(st.sampled_from([4, 8, "4*m"]))
            layers += [
                {"conv2d": {"out_channels": width, "kernel_size": 3, "stride": s, "padding": 1, "name": f"a{u}"}},
                {"conv2d": {"out_channels": width, "kernel_size": 1, "stride": s, "from": source, "name": f"b{u}"}},
                {"add": {"from": [f"a{u}", f"b{u}"], "name": f"u{u}"}},
            ]
        else:
            k = draw(st.sampled_from([1, 3, 5]))
            layers += [
                {"conv2d": {"out_channels": 4, "kernel_size": 1, "from": source, "name": f"c{u}"}},
                {"conv2d": {"out_channels": 6, "kernel_size": k, "padding": k // 2, "from": source, "name": f"d{u}"}},
                {"maxpool2d": {"kernel_size": 3, "stride": 1, "padding": 1, "from": source, "name": f"e{u}"}},
                {"concat": {"from": [f"c{u}", f"d{u}", f"e{u}"], "name": f"u{u}"}},
            ]
    return {"name": "branchy", "input": [4, "H", "W"], "symbols": {"m": 1}, "layers": layers}


@SETTINGS
@given(branchy(), st.integers(9, 120), st.integers(9, 120), st.integers(1, 3))
def test_graphs_symbolic_then_substituted_equals_numeric(data: dict[str, Any], h: int, w: int, m: int) -> None:
    arch = cnncalc.load(data)
    try:
        numeric = arch.summarize(H=h, W=w, m=m)
    except ShapeError:
        return
    substituted = arch.summarize(symbolic=True).subs(H=h, W=w, m=m)
    assert substituted.total == numeric.total
    for s_row, n_row in zip(substituted.rows, numeric.rows, strict=True):
        assert _equal(s_row.output, n_row.output) and _equal(s_row.rf, n_row.rf), n_row.name
        assert s_row.sources == n_row.sources
