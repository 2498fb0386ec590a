"""The facade: :func:`load` an architecture from a file, a bundled name, YAML text or a dict, and ask
it for a summary, a PyTorch module or a verification. Everything below returns data; nothing here
prints.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import CnncalcError, Location, SchemaError, ShapeError
from .evaluate import evaluate
from .layers import Layer
from .network import Network, Node, depth_values, network
from .spec import (
    MAX_FILE_BYTES,
    Header,
    Spec,
    SymbolSpec,
    build,
    bundled,
    exists,
    find_bundled,
    not_found,
    parse_yaml,
    read_text,
)

if TYPE_CHECKING:
    from .constraints import Constraints
    from .counting.table import Conventions
    from .explain import Explanation
    from .memory import Memory
    from .report import Summary
    from .solve import Solution
    from .sweep import Sweep
    from .verify import Verification


class Architecture:
    """A network as written in YAML: its name, input shape, symbols and expanded layers.

    ``summarize(**values)`` computes a numeric summary (defaults from ``symbols`` filled in);
    ``summarize(symbolic=True)`` keeps every symbol without a given value as a symbol.
    """

    __slots__ = ("_constraints", "_header", "_network", "_networks", "_spec")

    def __init__(self, header: Header, net: Network, spec: Spec | None = None) -> None:
        self._header = header
        self._network = net
        self._constraints: Constraints | None = None
        self._spec = spec  # to lay the network out again where a repeat's count reads a symbol
        self._networks: dict[tuple[tuple[str, Any], ...], Network] = {}

    def layout(self, values: Mapping[str, Any], symbolic: bool = False) -> Network:
        """The network laid out for ``values``: a ``repeat: d`` with d's value there if whole (a list
        to sweep keeps d symbolic), else (``symbolic``) as one copy counted d times, else d's default."""
        net = self._network
        if not net.depth_names or self._spec is None:
            return net
        depths = depth_values(net, values, symbolic)
        if depths is None:
            return net  # laid out so at load
        key = tuple(depths.items())
        found = self._networks.get(key)
        if found is None:
            if len(self._networks) >= 64:  # a loop over many values: keep memory bounded
                self._networks.clear()
            with _collector_paused():
                found = self._networks[key] = network(self._spec, depths)
        return found

    def at(self, **values: Any) -> Architecture:
        """This architecture with its repeats laid out at ``values``, as PyTorch builds it."""
        net = self.layout(values)
        return self if net is self._network else Architecture(self._header, net, None)

    @property
    def name(self) -> str:
        """The network's name, shown in every summary."""
        return self._header.name

    @property
    def input(self) -> tuple[Any, ...]:
        """The input shape as written: ints and parsed expressions, channels first."""
        return self._header.input

    @property
    def symbols(self) -> dict[str, int | SymbolSpec]:
        """The ``symbols:`` section as written."""
        return self._header.symbols

    @property
    def rank(self) -> int:
        """Spatial axes of the input: 0 (flat), 1 ([C, L]), 2 ([C, H, W]) or 3 ([C, D, H, W])."""
        return self._network.rank

    @property
    def defaults(self) -> dict[str, int]:
        """Default values of the symbols that have one."""
        return self._network.defaults

    @property
    def multiples(self) -> dict[str, int]:
        """Symbols declared ``multiple_of`` something other than 1."""
        return self._network.multiples

    @property
    def network(self) -> Network:
        """The expanded network that evaluation reads."""
        return self._network

    @property
    def nodes(self) -> tuple[Node, ...]:
        """The expanded network: every layer with its full name, its inputs and its block scope."""
        return self._network.nodes

    @property
    def layers(self) -> tuple[Layer, ...]:
        """Every layer of the expanded network, in the order of :attr:`layer_names`."""
        return tuple(n.layer for n in self._network.nodes)

    @property
    def layer_names(self) -> tuple[str, ...]:
        """Every layer's full name: given or numbered per kind (conv1, pool2), dotted inside blocks
        and repeats like PyTorch module paths (layer3.4.conv2)."""
        return tuple(n.name for n in self._network.nodes)

    @property
    def source(self) -> str:
        """The file this architecture came from ("<string>" for text or a dict)."""
        return self._network.where.source

    @property
    def symbol_names(self) -> frozenset[str]:
        """Every symbol the file uses (input, fields outside block arguments) or gives a default for."""
        return self._network.symbol_names

    def square(self, size: int) -> dict[str, int]:
        """``size`` for every symbol of the input's spatial sizes (H and W of [3, H, W]): the values
        of a square (or cubic) input. A spatial size that is an expression (2*H) is not set."""
        from .errors import CnncalcError

        names = [v.tree[1] for v in self.input[1:] if getattr(v, "tree", ("",))[0] == "name"]
        if not names:
            raise CnncalcError(
                f"input [{', '.join(map(str, self.input))}] has no spatial size symbol for --size to set",
                location=self.location("input"),
            )
        return dict.fromkeys(names, size)

    def location(self, *path: str | int) -> Location:
        """Where ``path`` (e.g. ``("layers", 3, "conv2d", "padding")``) stands, or its nearest parent."""
        return self._network.where.location(*path)

    def summarize(
        self,
        given: Mapping[str, int] | None = None,
        /,
        *,
        symbolic: bool = False,
        size: int | None = None,
        training: bool = False,
        count: str | None = None,
        **values: int,
    ) -> Summary:
        """Per-layer shapes, parameters, MACs, activations and receptive fields, with totals.

        Numeric (default): symbols take ``values``, else their defaults; every result is an int.
        ``symbolic=True``: symbols without a value in ``values`` stay symbols (sympy expressions).
        ``size``: every spatial size of the input (``size=224`` is ``H=224, W=224``). ``given``: values
        as a mapping, for symbols named like this method's own arguments (a symbol called ``size``).
        ``training=True``: the training view, where layers marked ``training_only`` (auxiliary heads)
        count their MACs and activations too (by default they count their params only, as in inference).
        ``count``: a counting convention (``"fvcore"``, ``"thop"``...: ``cnncalc.counting.PRESETS``); the
        MACs column (and params, for Keras and thop) is then that tool's count, layer by layer.
        """
        values = {**(self.square(size) if size is not None else {}), **(given or {}), **values}
        with _collector_paused():
            try:
                net = self.layout(values, symbolic)
                summary = evaluate(net, values, symbolic, training)
            except ShapeError as err:
                raise self._explained(err, values) from None
        if count is None or count == "cnncalc":
            return summary
        from .counting import preset, recount

        return recount(net, summary, preset(count))

    def conventions(
        self, given: Mapping[str, int] | None = None, /, *, size: int | None = None, **values: int
    ) -> Conventions:
        """This network's total under every counting convention (cnncalc's own first), each with why
        it differs from cnncalc's MACs; values as :meth:`summarize` takes them. ``.render()`` prints
        the table ("text", "markdown", "json"); ``["fvcore"].total`` is one convention's total."""
        from .counting import PRESETS
        from .counting.table import conventions

        everything = {**(given or {}), **values}
        summary = self.summarize(everything, size=size)
        return conventions(self.layout(everything), summary, tuple(PRESETS.values()))

    def explain(
        self,
        *layers: str,
        given: Mapping[str, int] | None = None,
        symbolic: bool = False,
        size: int | None = None,
        **values: int,
    ) -> Explanation:
        """Worked formulas of ``layers`` (full names, or blocks such as ``layer1.0``; every layer when
        none): per quantity the formula, the formula with the layer's numbers, and the result (see
        :mod:`cnncalc.explain`). Values as :meth:`summarize` takes them; symbolic where asked or
        where a symbol has neither a value nor a default."""
        from .explain import explain

        values = {**(self.square(size) if size is not None else {}), **(given or {}), **values}
        symbolic = symbolic or bool(self.symbol_names - set(self.defaults) - set(values))
        with _collector_paused():
            try:
                return explain(self.layout(values, symbolic), layers, values, symbolic)
            except ShapeError as err:
                raise self._explained(err, values) from None

    def sweep(
        self,
        given: Mapping[str, Any] | None = None,
        /,
        *,
        where: str | None = None,
        columns: Sequence[str] = ("params", "macs", "activations"),
        engine: str = "auto",
        progress: Callable[[int, int], None] | None = None,
        dtype: str = "float32",
        training: str | None = None,
        **values: Any,
    ) -> Sweep:
        """Totals at every point of a grid, exactly: ``sweep(H=range(32, 1025, 32), W="H", k=[1, 2, 4],
        where="macs <= 4e8 and params <= 5e6")``. Each symbol takes a whole number, a list or range,
        text such as "32:1024:32" (ends included) or "1,2,4", or an expression in other symbols;
        the rest take their defaults. Invalid points carry the rule they break. The closed forms are
        compiled once into integer arithmetic (numpy when installed). See :mod:`cnncalc.sweep`."""
        from .sweep import run

        return run(
            self,
            {**(given or {}), **values},
            columns=columns,
            where=where,
            engine=engine,
            progress=progress,
            dtype=dtype,
            training=training,
        )

    def solve(
        self,
        given: Mapping[str, Any] | None = None,
        /,
        *,
        where: str,
        maximize: str | None = None,
        minimize: str | None = None,
        upto: int = 1 << 20,
        dtype: str = "float32",
        training: str | None = None,
        **values: Any,
    ) -> Solution:
        """The largest (``maximize="k"``) or smallest (``minimize="H"``) value of a symbol meeting
        ``where`` ("params <= 5e6"), the others at ``values`` (numbers or expressions such as W="H")
        or their defaults, with the totals there; exact within 1..``upto`` and, where the condition
        is monotone in the symbol, beyond. See :mod:`cnncalc.solve`."""
        from .solve import solve

        values = {**(given or {}), **values}
        return solve(
            self, where, maximize=maximize, minimize=minimize, values=values, upto=upto, dtype=dtype, training=training
        )

    def memory(
        self,
        given: Mapping[str, int] | None = None,
        /,
        *,
        batch: int | str = 1,
        dtype: str = "float32",
        training: str | None = None,
        size: int | None = None,
        **values: int,
    ) -> Memory:
        """Bytes at ``batch`` (a number, or a symbol name such as "B": figures are then a*B + b)
        in ``dtype`` (float32, float16, bfloat16, float64, int8): parameters, buffers, per layer
        its output and what its backward keeps, and with ``training`` ("sgd", "momentum", "adam",
        "adamw") gradients, optimizer state and the training total; the inference peak. The
        other symbols take ``values`` or their defaults. See :mod:`cnncalc.memory`."""
        from .memory import memory
        from .symbolic import symbol

        if isinstance(batch, str):
            if not batch.isidentifier() or batch in self.symbol_names:
                raise CnncalcError(f"the batch symbol {batch!r} must be a name that is not one of the file's symbols")
            count: Any = symbol(batch)
        else:
            count = batch
        everything = {**(given or {}), **values}
        summary = self.summarize(everything, size=size)
        return memory(self.layout(everything), summary, batch=count, dtype=dtype, training=training)

    def constraints(self) -> Constraints:
        """The exact valid values of every symbol, and the layers that impose them (computed once):
        ``.describe("H")`` -> "H >= 63", ``.minimum("H")``, ``.valid(H=50)``, ``.why(H=50)``,
        ``.render("text" | "markdown" | "json")``."""
        if self._constraints is None:
            from .constraints import constraints  # sympy and the solver: only when asked

            self._constraints = constraints(self._network)
        return self._constraints

    def _explained(self, err: ShapeError, values: Mapping[str, int]) -> ShapeError:
        """``err`` with the condition the values break, when they break one ("H=50: AlexNet needs
        H >= 63 (because of pool3 ...)")."""
        shape = [v if isinstance(v, int) else None for v in self.input]
        if len(shape) == 3 and shape[2] in (1, 3, 4) and all(isinstance(v, int) and v >= 16 for v in shape[:2]):
            c, h, w = shape[2], shape[0], shape[1]
            return err.noted(
                f"the input {shape} looks channels-last (Keras, TF): cnncalc's is [C, H, W], here [{c}, {h}, {w}]"
            )
        try:
            why = self.constraints().why(**{**self.defaults, **values})
        except CnncalcError:  # the network is broken for every value: the error says enough
            return err
        return err.noted(why) if why else err

    def verify(
        self, sizes: Sequence[int] | None = None, *, device: str = "auto", memory: bool = False, **values: int
    ) -> Verification:
        """Build this network in PyTorch and compare every layer's shape, parameters and MACs with
        cnncalc's, at the defaults (or ``values``) and at each size in ``sizes`` for the input's
        spatial sizes. Returns a :class:`~cnncalc.verify.Verification` (``.agrees``, ``.runs``,
        ``.render()``). ``memory``: also the bytes saved for backward and the inference peak at batch
        1 in float32, against a real CPU forward. Needs PyTorch (``pip install "cnncalc[torch]"``)."""
        from .backends import torch_backend

        result: Verification = torch_backend().verify(self, values or None, sizes, device=device, memory=memory)
        return result

    def _default_summary(self) -> Summary:
        """The summary a notebook shows: at the defaults, symbolic where a symbol has none."""
        return self.summarize(symbolic=bool(self.symbol_names - set(self.defaults)))

    def _repr_html_(self) -> str:
        return self._default_summary()._repr_html_()

    def _repr_markdown_(self) -> str:
        return self._default_summary()._repr_markdown_()

    def _repr_latex_(self) -> str:
        return self._default_summary()._repr_latex_()

    def __repr__(self) -> str:
        shape = "[" + ", ".join(str(v) for v in self.input) + "]"
        defaults = ", ".join(f"{k}={v}" for k, v in sorted(self.defaults.items()))
        where = "" if self.source == "<string>" else f" from {Path(self.source).name}"
        return (
            f"<Architecture {self.name} {shape}: {len(self.nodes)} layers{', ' + defaults if defaults else ''}{where}>"
        )

    def to_torch(self, **values: int) -> Any:
        """This network as a PyTorch ``nn.Module`` at ``values`` (defaults from the file), with
        submodules at cnncalc's layer names (``model.get_submodule("layer2.0.downsample.0")``)."""
        from .backends import torch_backend

        return torch_backend().build(self.at(**values), values or None)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Loading and evaluating make many small objects, in trees without cycles, and free none
    until the end: Python's cyclic collector would rescan them again and again (load time per
    layer doubled from 1,000 to 10,000 layers), and in a process holding a large heap (torch
    imported) each full collection scans all of it. Reference counting still frees garbage."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def from_data(data: Any, positions: Any = None, source: str = "<string>") -> Architecture:
    """An architecture from plain data (as parsed from YAML), or a SchemaError saying where."""
    spec = build(data, positions, source)
    net = network(spec)
    return Architecture(spec.header, net, spec if net.depth_names else None)


def load(source: str | Path | Mapping[str, Any]) -> Architecture:
    """An architecture from a file path, a bundled name (``"vgg16"``), YAML text or a dict."""
    with _collector_paused():
        return _load(source)


def _load(source: str | Path | Mapping[str, Any]) -> Architecture:
    if isinstance(source, Mapping):
        return from_data(source)
    if isinstance(source, Path):
        return _load_file(source)
    if not isinstance(source, str):
        raise SchemaError(f"load() takes a path, a bundled name, YAML text or a dict, not {type(source).__name__}")
    looks_like_path = "\n" not in source and source.strip().endswith((".yaml", ".yml"))
    if "\n" in source or (":" in source and not looks_like_path and not exists(Path(source))):
        if len(source.encode()) > MAX_FILE_BYTES:
            raise SchemaError(f"the text has more than {MAX_FILE_BYTES:,} bytes")
        data, positions = parse_yaml(source)
        return from_data(data, positions)
    path = Path(source)
    if looks_like_path or "/" in source or exists(path):
        return _load_file(path)
    found = find_bundled(source)
    if found is not None:
        return _load_file(found)
    raise not_found(source)


def _load_file(path: Path) -> Architecture:
    text = read_text(path)
    data, positions = parse_yaml(text, str(path))
    return from_data(data, positions, str(path))


__all__ = ["Architecture", "bundled", "from_data", "load"]
