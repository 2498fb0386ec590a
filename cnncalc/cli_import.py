"""``cnncalc import torch`` and ``cnncalc import onnx``: an existing network as a cnncalc YAML file.
Importing from PyTorch loads the user's Python file, which runs their code; nothing else in cnncalc
runs user code (ONNX files are parsed, never run)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import click

from .cli_io import Group, set_option, write
from .errors import CnncalcError

_RUNS_CODE = (
    "This runs the Python file you name (it imports it, executing its code, then calls the "
    "function): import only code you trust. No other cnncalc command runs user code."
)


def _input_shape(text: str) -> tuple[int | str, ...]:
    """``3,H,W`` -> (3, "H", "W")."""
    sizes: list[int | str] = []
    for part in (p.strip() for p in text.split(",")):
        if part.isdigit() and int(part) > 0:
            sizes.append(int(part))
        elif part.isidentifier():
            sizes.append(part)
        else:
            raise CnncalcError(f"--input: {part!r} is neither a positive whole number nor a symbol name (3,H,W)")
    return tuple(sizes)


def _load_user_object(target: str) -> Any:
    """``path/to/model.py:make_model``: the file imported (its code runs), then the attribute."""
    path_text, _, attribute = target.rpartition(":")
    path = Path(path_text)
    if not path_text or not attribute.isidentifier():
        raise CnncalcError(f"{target!r}: write FILE.py:NAME, NAME a function, class or module in the file")
    if not path.is_file():
        raise CnncalcError(f"{path}: no such file")
    spec = importlib.util.spec_from_file_location(f"cnncalc_user_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise CnncalcError(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.resolve().parent))  # the file's own imports of its neighbours
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # the user's code failed: say where, in one line
        raise CnncalcError(f"{path}: running it failed: {type(err).__name__}: {err}") from None
    finally:
        sys.path.remove(str(path.resolve().parent))
    if not hasattr(module, attribute):
        raise CnncalcError(f"{path} has no {attribute!r}")
    return getattr(module, attribute)


def _model(target: str, args_text: str | None) -> Any:
    from .backends import torch_backend

    torch_backend()  # PyTorch missing: one line saying how to install it, before the user's file runs
    from torch import nn

    made = _load_user_object(target)
    if isinstance(made, nn.Module):
        if args_text:
            raise CnncalcError(f"{target} is a module already: --args does not apply")
        return made
    try:
        kwargs = json.loads(args_text) if args_text else {}
    except json.JSONDecodeError as err:
        raise CnncalcError(f"--args: not JSON: {err}") from None
    if not isinstance(kwargs, dict):
        raise CnncalcError('--args: a JSON object of keyword arguments, such as {"num_classes": 10}')
    try:
        model = made(**kwargs)
    except Exception as err:  # the user's function failed
        raise CnncalcError(f"{target}({', '.join(kwargs)}) failed: {type(err).__name__}: {err}") from None
    if not isinstance(model, nn.Module):
        raise CnncalcError(f"{target} returned a {type(model).__name__}, not a torch.nn.Module")
    return model


def _new_file(out: Path | None, force: bool) -> None:
    """Refuse an ``out`` that exists, unless ``force``: checked before anything is read or run."""
    if out is not None and out.exists() and not force:
        raise CnncalcError(f"-o {out} exists already; import never replaces a file unless --force is given")


def _emit(graph: Any, out: Path | None, source: str) -> None:
    """The file's text, checked by loading it, to stdout or ``out``."""
    from .architecture import load
    from .importers.emit import to_yaml

    text = to_yaml(graph)
    load(text)  # an importer's mistake shows here, before a file is written
    write(text, out, source)


_output = click.option(
    "-o", "--output", "out", type=click.Path(path_type=Path), help="Write the YAML file here (a new file)."
)
_force = click.option("--force", is_flag=True, help="Replace the -o file if it exists.")
_name = click.option("--name", help="The network's name in the file (default: the class or file name).")


@click.group("import", cls=Group)
def import_group() -> None:
    """Bring an existing network in: a PyTorch module or an ONNX file, as a cnncalc YAML file."""


@import_group.command("torch", epilog=_RUNS_CODE)
@click.argument("target", metavar="FILE.py:NAME")
@click.option("--args", "args_text", metavar="JSON", help="Keyword arguments for NAME: '{\"num_classes\": 10}'.")
@click.option(
    "--input", "input_text", required=True, metavar="C,H,W", help="Input shape, no batch: 3,H,W or 3,224,224."
)
@set_option
@_name
@_output
@_force
def import_torch(
    target: str,
    args_text: str | None,
    input_text: str,
    assignments: tuple[tuple[str, Any], ...],
    name: str | None,
    out: Path | None,
    force: bool,
) -> None:
    """A PyTorch module as YAML: FILE.py:NAME names a function or class returning an nn.Module
    (called with --args) or a module. It is traced by torch.fx at the --set sizes (224 where none
    is given); repeated submodules become blocks. Unsupported modules and calls are listed by path,
    class and op. RUNS THE CODE OF FILE.py."""
    from .importers.torch_fx import read_torch

    _new_file(out, force)  # before the user's code runs
    shape = _input_shape(input_text)
    values = dict(assignments)
    for symbol, value in values.items():
        if symbol not in shape:
            raise CnncalcError(f"--set {symbol}: the input {','.join(map(str, shape))} has no size named {symbol}")
        if value != int(value) or value < 1:
            raise CnncalcError(f"--set {symbol}={value}: an input size is a positive whole number")
    graph = read_torch(_model(target, args_text), shape, {k: int(v) for k, v in values.items()}, name=name)
    _emit(graph, out, target.rpartition(":")[0])


@import_group.command("onnx")
@click.argument("file", type=click.Path(path_type=Path))
@set_option
@_name
@_output
@_force
def import_onnx(
    file: Path, assignments: tuple[tuple[str, Any], ...], name: str | None, out: Path | None, force: bool
) -> None:
    """An ONNX file as YAML (parsed with the onnx package, never run). Symbolic input dimensions
    keep their names (--set H=224 gives one a default); unsupported operators are listed by node
    name and op type."""
    from dataclasses import replace

    from .importers.onnx import read_onnx

    _new_file(out, force)
    values = dict(assignments)
    for symbol, value in values.items():
        if value != int(value) or value < 1:
            raise CnncalcError(f"--set {symbol}={value}: an input size is a positive whole number")
    graph = read_onnx(file, {k: int(v) for k, v in values.items()})
    named = [v for v in graph.input if isinstance(v, str)]
    for symbol in values:
        if symbol not in named:
            sizes = ", ".join(named) or "none: its input has fixed sizes"
            raise CnncalcError(f"--set {symbol}: the ONNX input has no size named {symbol} (its named sizes: {sizes})")
    _emit(replace(graph, name=name) if name else graph, out, str(file))


__all__ = ["import_group"]
