"""The real counting tools, run on real PyTorch modules: one function per tool returning the total it
prints, for the counting presets' tests (tests/test_counting.py) to compare with cnncalc's recount.

Each function takes a module (``arch.to_torch(**values)``) and its input shape without the batch
(``summary.input``), runs the tool exactly as its documentation shows, at batch 1, in eval mode,
and returns its total as an int. A tool that is not installed raises ImportError: the tests call
:func:`need`, which fails (never skips), since ``pip install ".[test]"`` installs every tool.
"""

from __future__ import annotations

import importlib
import logging
import os
import warnings
from collections.abc import Sequence
from typing import Any

import pytest


def need(module: str) -> Any:
    """``module`` imported, or the test fails saying how to install it (CI installs it)."""
    try:
        return importlib.import_module(module)
    except ImportError as err:  # a missing tool is a failure in CI, not a skip
        pytest.fail(f"{module} is not installed ({err}): pip install '.[test]' installs it")


def _input(shape: Sequence[int]) -> Any:
    import torch

    return torch.zeros((1, *shape))


def torchinfo_total(model: Any, shape: Sequence[int]) -> int:
    """torchinfo.summary(...).total_mult_adds: the "Total mult-adds" line, in eval mode."""
    torchinfo = need("torchinfo")
    stats = torchinfo.summary(model, input_data=[_input(shape)], verbose=0, mode="eval", device="cpu")
    return int(stats.total_mult_adds)


def fvcore_total(model: Any, shape: Sequence[int]) -> int:
    """fvcore.nn.FlopCountAnalysis(model, x).total() in eval mode (its README's use), with its
    warnings about skipped operators silenced (they are the rules the preset states)."""
    fvcore_nn = need("fvcore.nn")
    model.eval()
    analysis = fvcore_nn.FlopCountAnalysis(model, (_input(shape),))
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's warnings about Python values in the trace
        return int(analysis.total())


def thop_profile(model: Any, shape: Sequence[int]) -> tuple[int, int]:
    """thop.profile(model, inputs=(x,)): (its MACs, its params), both returned as floats by thop."""
    thop = need("thop")
    level = logging.getLogger().level
    logging.getLogger().setLevel(logging.ERROR)  # "mode trilinear is not implemented yet": a stated rule
    try:
        ops, params = thop.profile(model, inputs=(_input(shape),), verbose=False)
    finally:
        logging.getLogger().setLevel(level)
    assert float(ops).is_integer() and float(params).is_integer(), (ops, params)
    return int(ops), int(params)


def flop_counter_total(model: Any, shape: Sequence[int]) -> int:
    """PyTorch's own torch.utils.flop_counter.FlopCounterMode over one eval forward: the FLOPs of
    its matrix products and convolutions (2 per multiply-accumulate)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(_input(shape))
    return int(counter.get_total_flops())


def keras_module() -> Any:
    """keras on the torch backend (the backend is chosen once per process, before the import)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = need("keras")
    assert keras.backend.backend() == "torch", "keras was imported with another backend before this test"
    return keras


def keras_params(model: Any) -> tuple[int, int]:
    """A Keras model's (count_params(), trainable params): the totals model.summary() prints."""
    keras = keras_module()
    trainable = sum(int(keras.ops.size(w)) for w in model.trainable_weights)
    return int(model.count_params()), trainable


__all__ = [
    "flop_counter_total",
    "fvcore_total",
    "keras_module",
    "keras_params",
    "need",
    "thop_profile",
    "torchinfo_total",
]
