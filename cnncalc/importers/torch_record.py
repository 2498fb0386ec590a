"""Where torch.fx cannot follow a submodule's forward (``if x.size(2) != skip.size(2)``,
``if x.sum() > 0``), its layers are recorded from one real forward instead: module hooks see each
module cnncalc reads as a layer, a TorchFunctionMode sees every function and method call between
them, and tensors are followed by identity. Control flow is then evaluated at that one input, so
the importer says which submodules were recorded ("flattened") and at what size."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from .graph import Unsupported
from .torch_calls import bind, call_name, find
from .torch_modules import Mapped, Unmappable, is_mapped, module_layer

#: The kind of a placeholder for an op cnncalc cannot map: an error only if the output depends on it.
UNMAPPED = "?"


@dataclass(frozen=True)
class Step:
    """One recorded call: where (module path + op), what (class and op), its layers, the keys of
    the tensors it read (``@0``: the recorded module's first tensor input) and of its output."""

    path: str
    what: str
    layers: tuple[Mapped, ...]
    sources: tuple[str, ...]
    output: str


@dataclass
class Recording:
    """The steps of one forward of a recorded module, and what could not be mapped."""

    steps: list[Step] = field(default_factory=list)
    unsupported: list[Unsupported] = field(default_factory=list)
    output: str = ""


def _key(tensor: torch.Tensor) -> str:
    return f"t{id(tensor)}"


def _tensors(value: Any) -> list[torch.Tensor]:
    """The tensors in a call's arguments, lists and tuples opened (torch.cat's)."""
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tensors(v)]
    return []


def _target(func: Any) -> Any:
    """A call's key in cnncalc.importers.torch_calls: a Tensor method by name (``x + y`` comes as
    ``Tensor.add``), else the function itself."""
    qualname = getattr(func, "__qualname__", "")
    if qualname.startswith(("TensorBase.", "Tensor.")):
        return str(func.__name__)
    return func


class Recorder(TorchFunctionMode):
    """Records the calls of one module's forward (see the module's docstring)."""

    def __init__(self, root: nn.Module, root_path: str, inputs: Sequence[torch.Tensor]) -> None:
        super().__init__()
        self.paths = {id(m): f"{root_path}.{p}".strip(".") if p else root_path for p, m in root.named_modules()}
        self.root_path = root_path
        self.known: dict[str, str] = {_key(t): f"@{k}" for k, t in enumerate(inputs)}
        self.kept: list[Any] = list(inputs)  # ids stay unique while the tensors live
        self.stack: list[str] = [root_path]
        self.leaf = 0
        self.recording = Recording()
        self.hooks: tuple[Any, ...] = ()

    def source(self, tensor: torch.Tensor) -> str | None:
        return self.known.get(_key(tensor))

    def produced(self, out: Any, key: str) -> None:
        self.kept.append(out)
        self.known[_key(out)] = key

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if self.leaf == 0:
            self.call(func, args, kwargs, out)
        return out

    def call(self, func: Any, args: Any, kwargs: dict[str, Any], out: Any) -> None:
        target = _target(func)
        tensors = _tensors((args, kwargs))
        read = [t for t in tensors if self.source(t) is not None]
        op = call_name(target)
        where = self.stack[-1]
        path = f"{where}.{op}" if where else op
        what = f"{'Tensor.' if isinstance(target, str) else ''}{op}"
        if not isinstance(out, torch.Tensor) or not read:
            if target == "chunk" and read and isinstance(out, tuple):
                self.chunk(args, kwargs, out, path, what)
            elif read and isinstance(out, (tuple, list)):  # torch.sort's (values, indices)
                sources = tuple(str(self.source(t)) for t in read)
                for piece in _tensors(out):
                    self.step(
                        path, what, [(UNMAPPED, {"reason": "cnncalc has no layer for this call"})], sources, piece
                    )
            return  # sizes, conditions, tensors made from nothing: no layer reads them, or reports them
        found = find(target)
        sources = tuple(str(self.source(t)) for t in read)
        try:
            if len(read) < len(tensors):
                raise Unmappable("it reads a tensor no layer made (a parameter, a constant or an unmapped op's)")
            if found is None:
                raise Unmappable("cnncalc has no layer for this call")
            names, defaults, reader = found
            if names[:2] == ("input", "other") and len(read) < 2:
                raise Unmappable("an operand that is a constant or a parameter (cnncalc: two layers' outputs)")
            mapped = reader(bind(args, kwargs, names, defaults), tuple(read[0].shape), tuple(out.shape))
        except Unmappable as err:
            mapped = [(UNMAPPED, {"reason": str(err.args[0])})]
        if not mapped:
            self.produced(out, sources[0])
            return
        self.step(path, what, mapped, sources, out)

    def step(self, path: str, what: str, mapped: list[Mapped], sources: tuple[str, ...], out: torch.Tensor) -> None:
        """Records one call's layers, reading ``sources``, made of ``out``."""
        key = f"s{len(self.recording.steps)}"
        self.recording.steps.append(Step(path, what, tuple(mapped), sources, key))
        self.produced(out, key)

    def chunk(self, args: Any, kwargs: dict[str, Any], out: tuple[Any, ...], path: str, what: str) -> None:
        a = bind(args, kwargs, ("input", "chunks", "dim"), {"dim": 0})
        if a["dim"] % a["input"].dim() != 1:
            self.recording.unsupported.append(Unsupported(path, what, f"chunk along dim={a['dim']}"))
            return
        source = str(self.source(a["input"]))
        for index, piece in enumerate(out):
            key = f"s{len(self.recording.steps)}"
            fields = {"chunks": a["chunks"], "index": index}
            self.recording.steps.append(
                Step(path.removesuffix("chunk") + "chunk", what, (("chunk", fields),), (source,), key)
            )
            self.produced(piece, key)

    def before(self, module: nn.Module, inputs: Any) -> None:
        if self.leaf:
            self.leaf += is_mapped(module)
            return
        if is_mapped(module):
            self.leaf += 1
        else:
            self.stack.append(self.paths.get(id(module), self.stack[-1]))

    def after(self, module: nn.Module, inputs: Any, out: Any) -> None:
        if not is_mapped(module):
            if self.leaf == 0 and len(self.stack) > 1:
                self.stack.pop()
            return
        self.leaf -= 1
        if self.leaf:
            return
        path = self.paths.get(id(module), type(module).__name__)
        what = type(module).__name__
        read = [t for t in _tensors(inputs) if self.source(t) is not None]
        try:
            if not read or not isinstance(out, torch.Tensor):
                raise Unmappable("its input or output is not one tensor a layer made")
            kind, fields = module_layer(module, read[0].dim() - 2)
        except Unmappable as err:
            self.recording.unsupported.append(Unsupported(path, what, str(err.args[0])))
            return
        key = f"s{len(self.recording.steps)}"
        sources = tuple(str(self.source(t)) for t in read)
        self.recording.steps.append(Step(path, what, ((kind, fields),), sources, key))
        self.produced(out, key)

    def start(self) -> None:
        """Starts recording: the module hooks and this function mode."""
        self.hooks = (
            nn.modules.module.register_module_forward_pre_hook(self.before),
            nn.modules.module.register_module_forward_hook(self.after),
        )
        self.__enter__()  # type: ignore[no-untyped-call]

    def stop(self, out: Any) -> Recording:
        """Stops recording; ``out`` is the module's output."""
        self.__exit__(None, None, None)  # type: ignore[no-untyped-call]
        for hook in self.hooks:
            hook.remove()
        self.recording.output = self.known.get(_key(out), "") if isinstance(out, torch.Tensor) else ""
        if not self.recording.output:
            reason = "not one tensor made by layers cnncalc could follow"
            self.recording.unsupported.append(Unsupported(self.root_path or "output", "output", reason))
        return self.recording


def record_calls(modules: dict[str, tuple[nn.Module, str]]) -> tuple[dict[str, list[Recording]], list[Any]]:
    """Hooks on ``modules`` (by path: the module and the path its layers are named under) that
    record each of their forwards (see :class:`Recorder`) into the returned lists; remove the
    returned handles when done."""
    found: dict[str, list[Recording]] = {path: [] for path in modules}
    active: dict[str, Recorder] = {}
    handles = []
    for path, (module, named) in modules.items():

        def before(m: nn.Module, inputs: Any, path: str = path, named: str = named) -> None:
            active[path] = Recorder(m, named, _tensors(inputs))
            active[path].start()

        def after(m: nn.Module, inputs: Any, out: Any, path: str = path) -> None:
            found[path].append(active.pop(path).stop(out))

        handles += [module.register_forward_pre_hook(before), module.register_forward_hook(after)]
    return found, handles


__all__ = ["UNMAPPED", "Recorder", "Recording", "Step", "record_calls"]
