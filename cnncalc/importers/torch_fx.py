"""A PyTorch module as an :class:`ImportedGraph`, by torch.fx's symbolic tracing in eval mode:
modules cnncalc has a layer for stay whole (leaves), everything else is traced through to its
calls. A submodule whose forward fx cannot follow (control flow on sizes or values) is recorded from
the one real run instead (cnncalc.importers.torch_record) and named in the file's header. Shapes
come from running the traced graph once at the input's default size (ShapeProp), which is what tells
a flatten from another reshape. Whatever cannot be mapped, and is used, is collected and reported all
at once, by module path, class and op; submodules never called (training-only heads) are named."""

from __future__ import annotations

import contextlib
import io
import operator
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import ShapeProp

from ..errors import CnncalcError
from .graph import INPUT, ImportedGraph, ImportedLayer, Unsupported
from .torch_calls import bind, call_name, find
from .torch_modules import Unmappable, is_mapped, module_layer
from .torch_notes import dropped as _dropped
from .torch_notes import forward_error as _forward_error
from .torch_notes import notes as _notes
from .torch_notes import unsupported_error
from .torch_record import UNMAPPED, Recording, record_calls

#: Calls on a tensor that give sizes, not tensors (``x.size(0)``, ``x.shape``): read by mapped calls.
_SIZES = {"size", "dim", "numel", "getattr"}


class _Tracer(fx.Tracer):
    """Keeps every module cnncalc reads as one layer whole, and the ``opaque`` ones fx could not
    follow (recorded from a real forward instead); traces through the rest (PyTorch's own modules
    cnncalc has no layer for stay whole too, and are reported). ``failed_at``: the innermost
    module whose forward fx could not follow, once tracing fails."""

    def __init__(self, opaque: set[str]) -> None:
        super().__init__()
        self.opaque = opaque
        self.failed_at: str | None = None

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        return module_qualified_name in self.opaque or is_mapped(m) or super().is_leaf_module(m, module_qualified_name)

    def call_module(self, m: nn.Module, forward: Any, args: Any, kwargs: Any) -> Any:
        try:
            return super().call_module(m, forward, args, kwargs)
        except Exception:
            if self.failed_at is None:  # the innermost module: the first to see the error
                self.failed_at = self.path_of_module(m)
            raise


class _Whole(nn.Module):
    """The user's module as the one submodule ``net``: where fx cannot follow the top forward itself."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> Any:
        return self.net(x)


#: At most this many submodules are recorded instead of traced.
_MAX_FLATTENED = 64
#: The value of an input symbol given none: torchvision's image size.
DEFAULT_SIZE = 224


def _input_values(shape: Sequence[int | str], symbols: dict[str, int]) -> list[int]:
    """The input's sizes at the symbols' values (:data:`DEFAULT_SIZE` where none is given, added to
    ``symbols``): what the module is run at once to learn shapes."""
    values = []
    for size in shape:
        if isinstance(size, str):
            if not size.isidentifier():
                raise CnncalcError(f"an input size must be a positive integer or a symbol name, got {size!r}")
            values.append(int(symbols.setdefault(size, DEFAULT_SIZE)))
        elif isinstance(size, int) and not isinstance(size, bool) and size > 0:
            values.append(size)
        else:
            raise CnncalcError(f"an input size must be a positive integer or a symbol name, got {size!r}")
    return values


def trace(module: nn.Module) -> tuple[fx.GraphModule, list[str], bool]:
    """``module`` traced by torch.fx, and the paths of the submodules fx could not follow (to be
    recorded from a real forward: see cnncalc.importers.torch_record), outermost only. Where fx
    cannot follow the top forward, the whole module is recorded (path ``net`` of a wrapper; the
    last value says so)."""
    opaque: set[str] = set()
    for _ in range(_MAX_FLATTENED):
        tracer = _Tracer(opaque)
        try:
            return fx.GraphModule(module, tracer.trace(module)), sorted(opaque), isinstance(module, _Whole)
        except Exception as err:  # fx raises TraceError, TypeError, RuntimeError... from user code
            where = tracer.failed_at
            if where is None and not isinstance(module, _Whole):
                return trace(_Whole(module))
            if where is None or where in opaque:
                raise CnncalcError(
                    f"torch.fx cannot trace {type(module).__name__}: {type(err).__name__}: {err}"
                ) from None
            opaque = {p for p in opaque if not p.startswith(f"{where}.")} | {where}
    raise CnncalcError(f"torch.fx cannot follow more than {_MAX_FLATTENED} submodules of {type(module).__name__}")


def _is_parameter(gm: fx.GraphModule, node: fx.Node) -> bool:
    try:
        gm.get_parameter(str(node.target))
    except AttributeError:
        return False
    return True


def _shape(node: Any) -> tuple[int, ...] | None:
    meta = node.meta.get("tensor_meta") if isinstance(node, fx.Node) else None
    return tuple(meta.shape) if meta is not None and hasattr(meta, "shape") else None


def _module_path(node: fx.Node) -> str:
    """The path of the module whose forward made the call ("" at the top)."""
    stack = node.meta.get("nn_module_stack") or {}
    return str(next(reversed(stack))) if stack else ""


class _Reader:
    """Walks the traced graph once, turning nodes into layers."""

    def __init__(self, gm: fx.GraphModule, root: str, recordings: dict[str, list[Recording]]) -> None:
        self.gm, self.root, self.recordings = gm, root, recordings
        self.layers: list[ImportedLayer] = []
        self.unsupported: list[Unsupported] = []
        self.made: dict[str, str] = {}  # fx node -> the layer holding its value (or INPUT)
        self.chunks: dict[str, tuple[int, str]] = {}  # fx node of x.chunk(n, 1) -> (n, its input's layer)
        self.problems: dict[str, Unsupported] = {}  # placeholder layer -> what it could not map
        self.paths: dict[str, int] = {}
        #: Reading the train-mode trace, and the layers of its auxiliary outputs there.
        self.training = False
        self.extra: list[str] = []

    def unique_path(self, path: str) -> str:
        """``path``, or ``path_1``, ``path_2``... where it is taken (a module called twice)."""
        n = self.paths.get(path, 0)
        self.paths[path] = n + 1
        return path if n == 0 else f"{path}_{n}"

    def sources(self, node: fx.Node) -> tuple[str, ...]:
        """The layers of the tensors a call reads, in order (lists flattened, as torch.cat's)."""
        found: list[str] = []
        fx.node.map_arg((node.args, node.kwargs), lambda n: found.append(n.name) or n)  # type: ignore[func-returns-value]
        return tuple(self.made[n] for n in found if n in self.made)

    def add(self, node: fx.Node, path: str, origin: str, mapped: list[tuple[str, dict[str, Any]]]) -> None:
        sources = self.sources(node)
        if not mapped:  # a pass-through: the node's value is its input's
            self.made[node.name] = sources[0]
            return
        for j, (kind, fields) in enumerate(mapped):
            name = self.unique_path(path if j == 0 else f"{path}_{kind}")
            self.layers.append(ImportedLayer(name, kind, fields, sources, origin, name))
            sources = (name,)
        self.made[node.name] = sources[0]

    def recorded(self, node: fx.Node, recording: Recording) -> None:
        """The layers recorded for an opaque submodule's call, in place of the call."""
        local = {f"@{k}": s for k, s in enumerate(self.sources(node))}
        self.unsupported += recording.unsupported
        for step in recording.steps:
            sources = tuple(local[s] for s in step.sources)
            for kind, fields in step.layers:
                name = self.unique_path(step.path)
                self.layers.append(ImportedLayer(name, kind, fields, sources, step.what, name))
                if kind == UNMAPPED:
                    self.problems[name] = Unsupported(step.path, step.what, str(fields["reason"]))
                sources = (name,)
            local[step.output] = sources[0]
        if recording.output in local:
            self.made[node.name] = local[recording.output]

    def module(self, node: fx.Node) -> None:
        target = str(node.target)
        if target in self.recordings:
            self.recorded(node, self.recordings[target].pop(0))
            return
        module = self.gm.get_submodule(target)
        x = _shape(node.args[0]) if node.args else None
        origin = f"{target} ({type(module).__name__})"
        try:
            if x is None:
                raise Unmappable("its input is not one tensor")
            kind, fields = module_layer(module, len(x) - 2)
        except Unmappable as err:
            self.failed(node, Unsupported(target, type(module).__name__, str(err.args[0])))
            return
        self.add(node, target, origin, [(kind, fields)])

    def call(self, node: fx.Node) -> None:
        op = call_name(node.target)
        where = _module_path(node)
        path = f"{where}.{op}" if where else op
        owner = type(self.gm.get_submodule(where)).__name__ if where else self.root
        what = f"{owner}: {'Tensor.' if node.op == 'call_method' else ''}{op}"
        try:
            self.read_call(node, path, what)
        except Unmappable as err:
            self.failed(node, Unsupported(path, what, str(err.args[0])))

    def failed(self, node: fx.Node, what: Unsupported) -> None:
        """An op cnncalc cannot map: a placeholder layer, reported only if the output depends on it
        (``x.sum()`` of a condition is no layer of the network)."""
        name = self.unique_path(what.path)
        self.layers.append(ImportedLayer(name, UNMAPPED, {}, self.sources(node), str(what), name))
        self.problems[name] = what
        self.made[node.name] = name

    def read_call(self, node: fx.Node, path: str, what: str) -> None:
        if node.target in ("chunk", torch.chunk):
            args = bind(node.args, dict(node.kwargs), ("input", "chunks", "dim"), {"dim": 0})
            if args["dim"] != 1:
                raise Unmappable(f"chunk along dim={args['dim']} (cnncalc: along the channels)")
            self.chunks[node.name] = (args["chunks"], self.sources(node)[0])
            return
        split = node.args[0] if node.target is operator.getitem else None
        if isinstance(split, fx.Node) and split.name in self.chunks:  # x.chunk(n, 1)[i]
            chunks, source = self.chunks[split.name]
            name = self.unique_path(path.removesuffix("getitem") + "chunk")
            fields = {"chunks": chunks, "index": node.args[1]}
            self.layers.append(ImportedLayer(name, "chunk", fields, (source,), what, name))
            self.made[node.name] = name
            return
        out = _shape(node)
        if out is None:
            if self.sources(node) and call_name(node.target) not in _SIZES:
                raise Unmappable("cnncalc has no layer for this call")  # a tuple, as torch.sort's
            return  # not a tensor (x.size(0), an int): only mapped calls read it
        found = find(node.target)
        if found is None:
            raise Unmappable("cnncalc has no layer for this call")
        names, defaults, reader = found
        if self.layer_scale(node, path, what):
            return
        unknown = [n for n in node.all_input_nodes if n.name not in self.made and _shape(n) is not None]
        if unknown and node.target not in ("size", "dim"):
            raise Unmappable(f"it reads {unknown[0].name}, a tensor no layer made (a parameter or a constant)")
        first = node.args[0] if node.args else None
        x = _shape(first[0] if isinstance(first, (list, tuple)) and first else first)
        if x is None or not self.sources(node):
            raise Unmappable("its input is not a tensor a layer made")
        if names[:2] == ("input", "other") and len(self.sources(node)) < 2:
            raise Unmappable("an operand that is a constant or a parameter (cnncalc: two layers' outputs)")
        mapped = reader(bind(node.args, dict(node.kwargs), names, defaults), x, out)
        self.add(node, path, what, mapped)

    def layer_scale(self, node: fx.Node, path: str, what: str) -> bool:
        """``self.gamma * x`` with a parameter gamma of shape [C, 1, ...] (torchvision's ConvNeXt
        block): a layerscale layer, named after the parameter. Whether it was one."""
        if call_name(node.target) != "mul" or len(node.all_input_nodes) != 2:
            return False
        params = [n for n in node.all_input_nodes if n.op == "get_attr"]
        others = [n for n in node.all_input_nodes if n.name in self.made]
        if len(params) != 1 or len(others) != 1:
            return False
        gamma = self.gm.get_parameter(str(params[0].target)) if _is_parameter(self.gm, params[0]) else None
        x = _shape(others[0])
        if gamma is None or x is None or tuple(gamma.shape) != (x[1], *(1,) * (len(x) - 2)):
            return False
        name = self.unique_path(str(params[0].target))
        fields = {} if gamma.requires_grad else {"trainable": False}
        self.layers.append(ImportedLayer(name, "layerscale", fields, (self.made[others[0].name],), what, name))
        self.made[node.name] = name
        return True

    def walk(self) -> str:
        """Reads every node; returns the layer holding the output."""
        output = INPUT
        for node in self.gm.graph.nodes:
            if node.op == "placeholder":
                if INPUT in self.made.values():
                    self.unsupported.append(Unsupported(node.name, "input", "a second input (cnncalc: one)"))
                self.made[node.name] = INPUT
            elif node.op == "call_module":
                self.module(node)
            elif node.op in ("call_function", "call_method"):
                self.call(node)
            elif node.op == "output":
                result = node.args[0]
                if self.training and isinstance(result, (tuple, list)) and result:
                    # train mode: (output, auxiliary outputs...), as torchvision's InceptionOutputs
                    self.extra = [
                        self.made[r.name] for r in result[1:] if isinstance(r, fx.Node) and r.name in self.made
                    ]
                    result = result[0]
                if not isinstance(result, fx.Node):
                    self.unsupported.append(
                        Unsupported("output", type(result).__name__, "several outputs (cnncalc: one)")
                    )
                elif result.name in self.made:
                    output = self.made[result.name]
        return output


def _used(layers: Sequence[ImportedLayer], output: str) -> list[ImportedLayer]:
    """The layers the output depends on, in order (a branch nothing reads is left out)."""
    needed = {output}
    for layer in reversed(layers):
        if layer.name in needed:
            needed.update(layer.sources)
    return [layer for layer in layers if layer.name in needed]


def _training_only(
    module: nn.Module, sizes: Sequence[int], layers: list[ImportedLayer], output: str, title: str
) -> tuple[list[ImportedLayer], str] | None:
    """``layers`` with the layers that run only in train mode (auxiliary heads) added, marked
    ``training_only``, each after its inputs; and the heads' outermost module paths. None where
    train mode cannot be read the same way (a submodule fx cannot follow, another main output, an
    op cnncalc cannot map): the heads are then left out, as the note says."""
    was_training = module.training
    module.train()
    try:
        gm, opaque, _ = trace(module)
        if opaque:
            return None
        with torch.no_grad(), contextlib.redirect_stderr(io.StringIO()):
            ShapeProp(gm).propagate(torch.zeros(2, *sizes))  # 2: a train-mode BatchNorm needs two values
    except Exception:  # train mode is a bonus: the eval import stands without it
        return None
    finally:
        module.train(was_training)
    reader = _Reader(gm, title, {})
    reader.training = True
    if reader.walk() != output or reader.unsupported:
        return None
    known = {layer.name for layer in layers}
    new = [layer for layer in reader.layers if layer.name not in known]
    if reader.extra:  # auxiliary outputs: what they depend on
        needed = {layer.name for out in reader.extra for layer in _used(reader.layers, out)}
        new = [layer for layer in new if layer.name in needed]
    extra = new
    if not extra or any(layer.kind == UNMAPPED for layer in extra):
        return None
    merged = list(layers)
    for layer in extra:
        if not all(s in known or s == INPUT for s in layer.sources):
            return None
        at = max((i for i, m in enumerate(merged) if m.name in layer.sources), default=-1) + 1
        if at >= len(merged):  # after the output: the output must stay last
            return None
        merged.insert(at, ImportedLayer(
            layer.name, layer.kind, {**layer.fields, "training_only": True}, layer.sources, layer.origin, layer.path
        ))  # fmt: skip
        known.add(layer.name)
    heads = sorted({layer.path.split(".")[0] for layer in extra})
    return merged, ", ".join(heads)


def read_torch(
    module: nn.Module,
    input: Sequence[int | str],
    symbols: Mapping[str, int] | None = None,
    name: str | None = None,
) -> ImportedGraph:
    """``module`` as an imported graph whose input is ``input`` (channels first, no batch: ints or
    symbol names), traced at the ``symbols``' values (each symbol of the input needs one)."""
    symbols = dict(symbols or {})
    sizes = _input_values(input, symbols)
    was_training = module.training
    module.eval()  # inference: what cnncalc counts; fx follows `if self.training` as it stands
    try:
        gm, opaque, whole = trace(module)
        hooked = {path: (gm.get_submodule(path), "" if whole else path) for path in opaque}
        recordings, handles = record_calls(hooked)
        try:
            # ShapeProp prints the traceback of a failing forward itself: the error below says it in one line
            with torch.no_grad(), contextlib.redirect_stderr(io.StringIO()):
                ShapeProp(gm).propagate(torch.zeros(1, *sizes))
        finally:
            for handle in handles:
                handle.remove()
    except CnncalcError:
        raise
    except Exception as err:  # the user's forward failed on an input of this shape
        raise _forward_error(module, sizes, err) from None
    finally:
        module.train(was_training)
    reader = _Reader(gm, type(module).__name__, recordings)
    output = reader.walk()
    title = name or type(module).__name__
    layers = _used(reader.layers, output)
    problems = reader.unsupported + [reader.problems[layer.name] for layer in layers if layer.kind == UNMAPPED]
    if problems:
        raise unsupported_error(problems, title)
    if not layers or layers[-1].name != output:
        raise CnncalcError(f"{title}: the output is the input itself (no layer to import)")
    notes = _notes(module, gm, opaque, whole, sizes) + _dropped(reader.layers, layers)
    if any("never called in eval mode" in n for n in notes):  # an auxiliary head: try train mode
        found = _training_only(module, sizes, layers, output, title)
        if found is not None:
            layers, heads = found
            kept_notes = tuple(n for n in notes if "never called in eval mode" not in n)
            notes = (*kept_notes, f"Runs only in training (train mode; imported as training_only): {heads}")
    kept = {k: v for k, v in symbols.items() if k in input}
    classes = {path: type(m).__name__ for path, m in module.named_modules() if path}
    return ImportedGraph(title, tuple(input), kept, tuple(layers), notes, classes)


__all__ = ["read_torch", "trace", "unsupported_error"]
