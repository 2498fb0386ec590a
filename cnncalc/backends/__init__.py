"""Optional framework backends. Nothing here imports a framework: :func:`torch_backend` imports
:mod:`cnncalc.backends.torch` on demand and says how to install PyTorch when it is missing.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import CnncalcError

#: The one line a user without PyTorch sees.
MISSING_TORCH = 'PyTorch is not installed; install it with: pip install "cnncalc[torch]"'


def torch_backend() -> ModuleType:
    """:mod:`cnncalc.backends.torch`, or a CnncalcError saying how to install PyTorch."""
    try:
        return importlib.import_module(f"{__name__}.torch")
    except ImportError as err:
        # Only a missing torch is the user's to fix; any other import error is a bug to surface.
        if err.name is None or err.name.split(".")[0] != "torch":
            raise
        raise CnncalcError(MISSING_TORCH) from None


__all__ = ["MISSING_TORCH", "torch_backend"]
