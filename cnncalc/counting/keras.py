"""Keras's parameter count (Keras 3.15.1, ``model.count_params()`` and ``model.summary()``'s "Total
params"): every weight a layer creates, trainable or not. BatchNormalization creates its moving mean
and variance as non-trainable weights, so they count; PyTorch keeps them as buffers, outside
``parameters()``. Keras states no operation count: the ops are cnncalc's MACs.
"""

from __future__ import annotations

from ..symbolic import Value
from .base import Facts, Preset

VERSION = "3.15.1"


def params(f: Facts) -> Value:
    """cnncalc's params, plus a batch norm's moving mean and variance (2C) where it keeps them."""
    if f.kind.startswith("batchnorm") and getattr(f.layer, "track_running_stats", True):
        return f.row.params + 2 * f.input[0]
    return f.row.params


def trainable(f: Facts) -> Value:
    """The moving statistics are not trainable: cnncalc's trainable parameters."""
    return f.row.trainable_params


def ops(f: Facts) -> Value:
    """Keras counts no operations: cnncalc's MACs."""
    return f.row.macs


PRESET = Preset(
    name="keras",
    tool="Keras",
    version=VERSION,
    unit="MACs",
    rules=(
        f"Keras {VERSION}: model.count_params(), the 'Total params' line of model.summary(): every weight "
        "a layer creates, trainable or not",
        "BatchNormalization's moving mean and moving variance are non-trainable weights: params + 2C per "
        "batch norm (PyTorch's running statistics, buffers outside parameters()); a batch norm without "
        "running statistics has none (Keras always keeps them: such a layer has no Keras equivalent)",
        "trainable params are PyTorch's: gamma and beta (affine), kernels and biases",
        "every other layer has the same weights in Keras as in PyTorch (kernel + bias, gamma + beta)",
        "Keras counts no operations: the MACs are cnncalc's",
    ),
    differs="params include BatchNorm's moving mean and variance (2C a norm); MACs are cnncalc's",
    ops=ops,
    checked=(
        "equal to Keras's own count_params() and trainable weights on Keras models built beside the same networks written as cnncalc files, in the tests"
    ),
    params=params,
    trainable=trainable,
    same_ops=True,
    trains=True,
)

__all__ = ["PRESET", "VERSION", "ops", "params", "trainable"]
