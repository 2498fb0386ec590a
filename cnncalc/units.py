"""What a byte count is made of: element sizes per dtype and optimizer state per parameter.

Kept apart from :mod:`cnncalc.memory` so that the command line can list the choices without
importing the memory model.
"""

from __future__ import annotations

#: Bytes per element of each dtype a network may run in.
DTYPES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1}
#: Optimizer state per parameter, in parameter-sized tensors: momentum 1, Adam's two moments 2.
OPTIMIZERS = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}

__all__ = ["DTYPES", "OPTIMIZERS"]
