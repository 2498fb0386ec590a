"""The network from its layers' modules: placed at cnncalc's dotted layer names, run as an
``nn.Sequential`` for a chain or a :class:`Graph` that frees each output after its last use."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ...errors import CnncalcError
from ...evaluate import scope_envs
from ...layers import Layer
from ...symbolic import Env

if TYPE_CHECKING:
    from ...architecture import Architecture


def _add(parent: nn.Module, name: str, module: nn.Module, full: str) -> None:
    try:
        parent.add_module(name, module)
    except (KeyError, TypeError) as err:
        reason = err.args[0] if err.args else err
        raise CnncalcError(f"the layer name {full!r} cannot name a PyTorch submodule: {reason}") from None


class _NotAChain(Exception):
    """Dotted names that nested Sequentials cannot run in order."""


def _place(root: nn.Module, name: str, module: nn.Module, group: Callable[[], nn.Module], chain: bool) -> None:
    """Puts ``module`` at the dotted path ``name`` below ``root``, making groups on the way.
    PyTorch forbids dots in one submodule's name, so ``layer3.4.conv2`` nests like torchvision's."""
    *path, leaf = name.split(".")
    parent = root
    for part in path:
        child = parent._modules.get(part)
        if child is None:
            child = group()
            _add(parent, part, child, name)
        elif chain and (not isinstance(child, nn.Sequential) or next(reversed(parent._modules)) != part):
            raise _NotAChain(name)  # a Sequential group runs its layers only where it stands
        parent = child
    if leaf in parent._modules:
        raise CnncalcError(f"the layer name {name!r} is a group of other layers' names already")
    _add(parent, leaf, module, name)


def _frees(inputs: Sequence[tuple[int, ...]], runs: Sequence[bool]) -> list[list[int]]:
    """Per step, the outputs to let go after it when the steps flagged in ``runs`` run."""
    last_use = {i: j for j, ins in enumerate(inputs) if runs[j] for i in ins}
    # An output no later layer reads (an auxiliary head's) goes as soon as it is made; the last
    # layer's is the network's output.
    dead = [[j] if j not in last_use and j < len(inputs) - 1 else [] for j in range(len(inputs))]
    return [
        [i for i in ins if i >= 0 and last_use[i] == j] + dead[j] if runs[j] else [] for j, ins in enumerate(inputs)
    ]


class Graph(nn.Module):
    """Named layers run in definition order, each on the outputs of the layers it reads (-1: the
    network input); the output is the last layer's. Submodules sit at the layers' dotted names.
    Layers flagged in ``training_only`` (auxiliary heads) run only in training mode, as torchvision's
    Inception runs its AuxLogits, unless ``every_layer`` is set (to measure each layer in eval mode)."""

    def __init__(
        self,
        named: Sequence[tuple[str, nn.Module]],
        inputs: Sequence[tuple[int, ...]],
        training_only: Sequence[bool] = (),
    ) -> None:
        super().__init__()
        for name, module in named:
            _place(self, name, module, nn.Module, chain=False)
        # A plain list, not a ModuleList: the modules are registered once, at their names.
        self._steps = [(module, tuple(ins)) for (_, module), ins in zip(named, inputs, strict=True)]
        self._skip = tuple(training_only) or (False,) * len(self._steps)
        self._free = _frees(inputs, [True] * len(self._steps))
        self._free_eval = _frees(inputs, [not s for s in self._skip])
        self.every_layer = False

    def forward(self, x: torch.Tensor) -> Any:
        every = self.training or self.every_layer
        free = self._free if every else self._free_eval
        outputs: list[Any] = []
        for j, (module, ins) in enumerate(self._steps):
            if not every and self._skip[j]:
                outputs.append(None)  # runs only in training
                continue
            outputs.append(module(*(x if i < 0 else outputs[i] for i in ins)))
            for i in free[j]:
                outputs[i] = None  # no later layer reads it: let it go
        return outputs[-1]


def assemble(
    named: Sequence[tuple[str, nn.Module]],
    inputs: Sequence[tuple[int, ...]] | None = None,
    training_only: Sequence[bool] = (),
) -> nn.Module:
    """The network from its named modules: an ``nn.Sequential`` (nested for dotted names) when
    every layer reads the one before it (``inputs`` None or a chain) and none runs only in training
    (``training_only``), else a :class:`Graph`. Either way ``model.get_submodule(name)`` finds each layer."""
    inputs = list(inputs) if inputs is not None else [(j - 1,) for j in range(len(named))]
    if any(training_only):
        return Graph(named, inputs, training_only)
    if all(ins == (j - 1,) for j, ins in enumerate(inputs)):
        root = nn.Sequential()
        try:
            for name, module in named:
                _place(root, name, module, nn.Sequential, chain=True)
            return root
        except _NotAChain:
            pass
    return Graph(named, inputs)


@dataclass(frozen=True, slots=True)
class Step:
    """One layer to build: its name, layer, the indices of the steps it reads (-1: the network
    input), the symbol values its fields see, whether a field reads ``in_channels`` and whether it
    runs only in training."""

    name: str
    layer: Layer
    inputs: tuple[int, ...]
    env: Env
    uses_in_channels: bool = False
    training_only: bool = False


def numeric_env(arch: Architecture, values: Mapping[str, int] | None = None) -> Env:
    """The symbol values of cnncalc's numeric summary: the file's defaults, overridden by ``values``."""
    return Env({**arch.defaults, **(values or {})}, False)


def steps(arch: Architecture, values: Mapping[str, int] | None = None) -> list[Step]:
    """The architecture's layers as steps at ``values`` (the file's defaults filled in).

    Block arguments are evaluated where the block is called and the body sees them and the file's
    symbols, as in cnncalc's evaluation (lexical scope)."""
    scope_env = scope_envs(numeric_env(arch, values))

    return [
        Step(n.name, n.layer, n.inputs, scope_env(n.scope), n.uses_in_channels, n.training_only) for n in arch.nodes
    ]


def chain(layers: Sequence[Layer], names: Sequence[str], env: Env) -> list[Step]:
    """Layers one after the other as steps, all seeing ``env`` (e.g. layers made with pydantic's
    ``model_construct``, which cnncalc's loader would refuse, to see what PyTorch does with them)."""
    return [Step(name, layer, (j - 1,), env) for j, (layer, name) in enumerate(zip(layers, names, strict=True))]


__all__ = ["Graph", "Step", "assemble", "chain", "numeric_env", "steps"]
