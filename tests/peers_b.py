"""The real tools behind the ptflops, torchscan, flopcounter and calflops presets: one function per
tool and mode, each running the tool itself on a PyTorch module at batch 1 and returning its total as
an int (the tool's own number, never recomputed here).

Versions pinned in CI: ptflops 0.7.5, torchscan 0.2.0, calflops 0.3.2, torch 2.13.0 (CPU). A tool
that is missing makes the caller fail (ImportError), never skip. ptflops and calflops patch
``torch.nn.functional`` and ``torch``'s tensor methods while they count; calflops leaves them patched
when it fails (a network without parameters, a per-axis scale factor), so every call here restores
them afterwards.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

#: The namespaces the tools patch.
_PATCHED = (F, torch, torch.Tensor)


def _tools(value: Any) -> bool:
    """Whether ``value`` is a tool's wrapper (a function or object of ptflops or calflops)."""
    module = getattr(value, "__module__", None) or type(value).__module__
    return isinstance(module, str) and module.split(".")[0] in ("ptflops", "calflops")


@contextlib.contextmanager
def _restored() -> Iterator[None]:
    """Whatever wrappers a tool leaves on torch's functions, the originals are back afterwards."""
    saved = [(space, dict(vars(space))) for space in _PATCHED]
    try:
        yield
    finally:
        for space, before in saved:
            for name, value in before.items():
                if vars(space).get(name) is not value and _tools(vars(space).get(name)):
                    setattr(space, name, value)


def _batch(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (1, *shape)


class ToolFailed(RuntimeError):
    """The tool ran but gave no count (its own failure, e.g. calflops on a network without parameters)."""


def ptflops_counts(module: nn.Module, shape: tuple[int, ...], backend: str = "pytorch") -> tuple[int, int]:
    """ptflops' (MACs, parameters) with its pytorch backend (module hooks plus wrapped functionals,
    its default) or its aten backend (a TorchDispatchMode over aten ops)."""
    from ptflops import get_model_complexity_info

    out = io.StringIO()
    with _restored(), contextlib.redirect_stdout(out):
        macs, params = get_model_complexity_info(
            module, shape, as_strings=False, print_per_layer_stat=False, backend=backend, ost=out
        )
    if macs is None or params is None:
        raise ToolFailed(f"ptflops ({backend}) failed: {out.getvalue()[-2000:]}")
    return int(macs), int(params)


def ptflops_pytorch(module: nn.Module, shape: tuple[int, ...]) -> int:
    """ptflops' total MACs with its default (pytorch) backend."""
    return ptflops_counts(module, shape, "pytorch")[0]


def ptflops_aten(module: nn.Module, shape: tuple[int, ...]) -> int:
    """ptflops' total MACs with its aten backend. It leaves forward hooks on the module's children
    (harmless to the other tools, but run it last on a module)."""
    return ptflops_counts(module, shape, "aten")[0]


def torchscan_report(module: nn.Module, shape: tuple[int, ...]) -> dict[str, Any]:
    """torchscan's report of one inference forward (``crawl_module``): its totals of MACs, module
    FLOPs and operator FLOPs (PyTorch's FlopCounterMode), with the diagnostics it gives."""
    from torchscan import crawl_module

    with _restored():
        report: dict[str, Any] = crawl_module(module, shape)  # type: ignore[assignment]
    return report


def _known(metric: dict[str, Any]) -> int:
    """A torchscan total: its value, or where some module is unsupported its known part (which is
    what it prints: the unsupported modules count 0)."""
    value = metric["value"] if metric["value"] is not None else metric["known_value"]
    if value is None:
        raise ToolFailed(f"torchscan gave no total: {metric}")
    return int(value)


def torchscan_macs(module: nn.Module, shape: tuple[int, ...], report: dict[str, Any] | None = None) -> int:
    """torchscan's total MACs (its per-module formulas, summed over leaf modules)."""
    return _known((report or torchscan_report(module, shape))["totals"]["macs"])


def torchscan_flops(module: nn.Module, shape: tuple[int, ...], report: dict[str, Any] | None = None) -> int:
    """torchscan's total FLOPs (its per-module formulas, summed over leaf modules)."""
    return _known((report or torchscan_report(module, shape))["totals"]["module_flops"])


def torchscan_operator_flops(module: nn.Module, shape: tuple[int, ...], report: dict[str, Any] | None = None) -> int:
    """torchscan's operator FLOPs: PyTorch's FlopCounterMode, as torchscan runs it."""
    return _known((report or torchscan_report(module, shape))["totals"]["operator_flops"])


def flopcounter(module: nn.Module, shape: tuple[int, ...], training: bool = False) -> int:
    """PyTorch's own count: ``torch.utils.flop_counter.FlopCounterMode`` over one forward, in eval
    mode (or ``training``: train mode, where auxiliary heads run)."""
    from torch.utils.flop_counter import FlopCounterMode

    module.train(training)
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        module(torch.rand(_batch(shape)))
    return int(counter.get_total_flops())


def calflops_counts(module: nn.Module, shape: tuple[int, ...]) -> tuple[int, int, int]:
    """calflops' (FLOPs, MACs, parameters) of one forward at batch 1."""
    from calflops import calculate_flops

    try:
        with _restored():
            flops, macs, params = calculate_flops(
                module, input_shape=_batch(shape), print_results=False, output_as_string=False
            )
    except StopIteration:
        # calculate_flops asks next(model.parameters()) for the device, unguarded
        raise ToolFailed("calflops 0.3.2 cannot count a network without parameters (StopIteration)") from None
    except TypeError as err:
        # its F.interpolate rule raises a tuple scale_factor to the power len(input) (the batch size)
        raise ToolFailed(f"calflops 0.3.2 failed: TypeError: {err}") from err
    return int(flops), int(macs), int(params)


def calflops_flops(module: nn.Module, shape: tuple[int, ...]) -> int:
    """calflops' total FLOPs."""
    return calflops_counts(module, shape)[0]


def calflops_macs(module: nn.Module, shape: tuple[int, ...]) -> int:
    """calflops' total MACs."""
    return calflops_counts(module, shape)[1]


def versions() -> dict[str, str]:
    """The installed versions of the tools (the presets follow ptflops 0.7.5, torchscan 0.2.0,
    calflops 0.3.2 and torch 2.13.0)."""
    from importlib.metadata import version

    return {name: version(name) for name in ("ptflops", "torchscan", "calflops", "torch")}


def every_tool(
    module: nn.Module, shape: tuple[int, ...], direct_flopcounter: bool = True
) -> tuple[dict[str, int], dict[str, str]]:
    """Each tool run once on ``module``: totals by preset name, with the parameters ptflops and
    calflops report ("ptflops params", "calflops params"); and the tools that failed, with why
    (calflops' figures are then absent). FlopCounterMode is run directly, or
    (``direct_flopcounter=False``) read from torchscan's report, which runs it around its forward."""
    report = torchscan_report(module, shape)
    found = {
        "torchscan-macs": torchscan_macs(module, shape, report),
        "torchscan-flops": torchscan_flops(module, shape, report),
        "flopcounter": flopcounter(module, shape)
        if direct_flopcounter
        else torchscan_operator_flops(module, shape, report),
    }
    found["ptflops"], found["ptflops params"] = ptflops_counts(module, shape, "pytorch")
    failed = {}
    try:
        found["calflops-flops"], found["calflops-macs"], found["calflops params"] = calflops_counts(module, shape)
    except ToolFailed as err:
        failed["calflops"] = str(err)
    found["ptflops-aten"], _ = ptflops_counts(module, shape, "aten")  # last: it leaves hooks behind
    return found, failed
