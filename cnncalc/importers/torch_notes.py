"""What the PyTorch importer says beside the layers: the file's header notes (where it came from,
what was flattened, what was never called) and its errors (a failing forward, unsupported ops)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from torch import fx, nn

from ..errors import CnncalcError
from .graph import ImportedLayer, Unsupported
from .torch_record import UNMAPPED

#: The path of the user's module in torch_fx's wrapper, where fx cannot follow its own forward.
WHOLE = "net"
#: At most this many unsupported ops are listed one by one in the error.
_LISTED = 20


def uncalled(module: nn.Module, gm: fx.GraphModule, recorded: Sequence[str]) -> str:
    """The submodules whose parameters no imported layer holds (an auxiliary head that runs only
    in training, a module never called), outermost, with their parameter counts; "" if none."""
    called = {str(n.target) for n in gm.graph.nodes if n.op == "call_module"} | set(recorded)
    used = {id(p) for path in called for p in gm.get_submodule(path).parameters()}
    idle: list[tuple[str, str]] = []
    for path, sub in module.named_modules():
        own = list(sub.parameters())
        if path and own and not any(id(p) in used for p in own) and not any(path.startswith(f"{i}.") for i, _ in idle):
            idle.append((path, f"{path} ({type(sub).__name__}, {sum(p.numel() for p in own):,} parameters)"))
    return ", ".join(text for _, text in idle)


def notes(
    module: nn.Module, gm: fx.GraphModule, opaque: list[str], whole: bool, sizes: Sequence[int]
) -> tuple[str, ...]:
    """The file's header: where it came from, what was flattened, what was never called."""
    notes: tuple[str, ...] = (
        f"Imported by cnncalc from the PyTorch module {type(module).__module__}.{type(module).__qualname__}",
    )
    if opaque:
        shape = "x".join(map(str, sizes))
        parts = ", ".join(f"{p} ({type(gm.get_submodule(p)).__name__})" for p in opaque)
        notes += (
            f"Flattened (torch.fx cannot follow their forward; recorded from one run at {shape}, so their "
            f"control flow is as it went at that size): {type(module).__name__ if whole else parts}",
        )
    idle = uncalled(module, gm, opaque if not whole else [WHOLE])
    if idle:
        notes += (f"Left out, never called in eval mode (their parameters are not counted): {idle}",)
    return notes


def dropped(made: Sequence[ImportedLayer], kept: Sequence[ImportedLayer]) -> tuple[str, ...]:
    dropped = sum(layer.kind != UNMAPPED for layer in made) - len(kept)
    return (f"{dropped} layer{'s' if dropped > 1 else ''} the output does not use left out",) if dropped else ()


def forward_error(module: nn.Module, sizes: Sequence[int], err: BaseException) -> CnncalcError:
    """The user's forward failing at this size, in one line: the module where it failed (ShapeProp
    names the node), then the first line of the innermost error."""
    where = re.search(r"target=([\w.]+)", str(err))
    while err.__cause__ is not None:
        err = err.__cause__
    at = f" at {where.group(1)}" if where else ""
    first = str(err).strip().splitlines()[0] if str(err).strip() else ""
    shape = "x".join(map(str, sizes))
    return CnncalcError(f"{type(module).__name__} fails on an input of {shape}{at}: {type(err).__name__}: {first}")


def unsupported_error(found: Sequence[Unsupported], what: str) -> CnncalcError:
    """One error listing everything that could not be mapped (the first ones by path, class and op)."""
    listed = "; ".join(str(u) for u in found[:_LISTED])
    more = f"; and {len(found) - _LISTED} more" if len(found) > _LISTED else ""
    return CnncalcError(f"{what}: {len(found)} unsupported op{'s' if len(found) > 1 else ''}: {listed}{more}")


__all__ = ["WHOLE", "dropped", "forward_error", "notes", "uncalled", "unsupported_error"]
