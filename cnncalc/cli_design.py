"""The design commands of ``cnncalc``: valid inputs (``constraints``), sweeps over symbol values
(``sweep``) and searches for the largest or smallest value meeting a condition (``solve``). Plain
click commands; :mod:`cnncalc.cli` adds them to its group."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from .cli_io import load_file, set_option, values_option
from .errors import CnncalcError

if TYPE_CHECKING:
    from .architecture import Architecture
    from .constraints import Constraints


def limit_text(limits: Constraints, name: str) -> str:
    """``H >= 63 (pool3)``: one symbol's valid values and the layers that impose them."""
    layers = ", ".join(dict.fromkeys(r.layer for r in limits.reasons[name] if r.kind != "declared"))
    declared = " (declared)" if name in limits.declared and not layers else ""
    side = (
        "" if limits.main[name] == limits.sets[name] else f", without side branches {limits.main[name].describe(name)}"
    )
    return limits.describe(name) + (f" ({layers}{side})" if layers else declared)


def _memory(command: Callable[..., Any]) -> Callable[..., Any]:
    """--dtype and --training for the memory totals (train_bytes, infer_bytes...) at the batch B."""
    from .units import DTYPES, OPTIMIZERS

    dtype = click.option("--dtype", type=click.Choice(list(DTYPES)), default="float32", show_default=True)
    training = click.option(
        "--training", type=click.Choice(list(OPTIMIZERS)), help="Optimizer of train_bytes (and grad_bytes...)."
    )
    return dtype(training(command))


def _format(choices: list[str]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "--format", "fmt", type=click.Choice(choices), default="text", show_default=True, help="Output format."
    )


@click.command()
@click.argument("file")
@set_option
@_format(["text", "markdown", "latex", "json"])
def constraints(file: str, assignments: tuple[tuple[str, int], ...], fmt: str) -> None:
    """The valid values of every symbol of FILE, exactly, and the layers that impose them.

    Every output size must be at least 1, merged sizes must agree, channels must divide into groups:
    each rule is solved exactly (a bound, a residue class or a finite set). With --set, also says
    whether those values are valid, and why not (exit code 1 when they are not).

    \b
    Examples:
      cnncalc constraints alexnet
      cnncalc constraints unet --format json
      cnncalc constraints alexnet --set H=50 --set W=50
    """
    arch = load_file(file)
    limits = arch.constraints()
    given = dict(assignments)
    for name in given:
        if name not in arch.symbol_names:
            choices = ", ".join(sorted(arch.symbol_names)) or "none"
            raise CnncalcError(f"{arch.name} has no symbol {name!r} (its symbols: {choices})", location=arch.location())
    click.echo(limits.render(fmt), nl=False)
    if given and fmt != "json":
        why = limits.why(**given)
        shown = ", ".join(f"{k}={v}" for k, v in given.items())
        click.echo(f"\ninvalid: {why}" if why else f"\n{shown}: valid")
    if given and not limits.valid(**given):
        raise SystemExit(1)


class _Progress:
    """A progress bar on stderr, shown once a sweep has run for half a second and is not nearly done."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.bar: Any = None
        self.shown = 0

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            elapsed = time.perf_counter() - self.start
            if elapsed < 0.5 or done >= total or elapsed * total / max(done, 1) < 1:
                return
            self.bar = click.progressbar(length=total, label="sweeping", file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.shown)
        self.shown = done
        if done >= total:
            self.bar.__exit__(None, None, None)


@click.command()
@click.argument("file")
@values_option
@click.option("--where", metavar="CONDITION", help='Keep the points meeting it: "macs <= 4e8 and params <= 5e6".')
@click.option(
    "--columns",
    default="params,macs,activations",
    show_default=True,
    help="Totals to show: params, trainable_params, macs, flops, activations, neurons, output.",
)
@click.option(
    "--engine",
    type=click.Choice(["auto", "numpy", "python"]),
    default="auto",
    show_default=True,
    help="numpy (vectorised, the fast extra) or plain Python; auto takes numpy when installed.",
)
@_format(["text", "markdown", "latex", "csv", "json"])
@_memory
def sweep(
    file: str,
    assignments: tuple[tuple[str, str], ...],
    where: str | None,
    columns: str,
    engine: str,
    fmt: str,
    dtype: str,
    training: str | None,
) -> None:
    """Totals of FILE at every point of a grid of symbol values, exactly.

    The closed forms are compiled once into integer arithmetic, so millions of points take about a
    second. Invalid points are listed with the rule they break; --where keeps the valid points that
    meet a condition on the totals and symbols.

    \b
    Examples:
      cnncalc sweep resnet50 --set H=32:1024:32 --set W=H
      cnncalc sweep densenet121 --set k=4:64:4 --columns params,macs --format csv
      cnncalc sweep resnet50 --set H=32:1024 --set W=32:1024 --where "macs <= 1e9" --format csv
    """
    arch = load_file(file)
    keys = [c.strip() for c in columns.split(",") if c.strip()]
    done = arch.sweep(
        dict(assignments),
        where=where,
        columns=keys,
        engine=engine,
        progress=_Progress(),
        dtype=dtype,
        training=training,
    )
    click.echo(done.render(fmt), nl=False)


@click.command()
@click.argument("file")
@values_option
@click.option("--max", "maximize", metavar="NAME", help="The symbol to make as large as the condition allows.")
@click.option("--min", "minimize", metavar="NAME", help="The symbol to make as small as the condition allows.")
@click.option("--where", metavar="CONDITION", required=True, help='The condition: "params <= 5e6".')
@click.option("--upto", type=click.IntRange(min=1), default=1 << 20, show_default=True, help="Search 1..UPTO.")
@_format(["text", "json"])
@_memory
def solve(
    file: str,
    assignments: tuple[tuple[str, str], ...],
    maximize: str | None,
    minimize: str | None,
    where: str,
    upto: int,
    fmt: str,
    dtype: str,
    training: str | None,
) -> None:
    """The largest (--max) or smallest (--min) value of a symbol meeting a condition, exactly, with
    the totals there. Other symbols take --set values (numbers or expressions such as W=H) or their
    defaults.

    \b
    Examples:
      cnncalc solve densenet121 --max k --where "params <= 5e6"
      cnncalc solve resnet50 --max H --set W=H --where "macs <= 1e9"
      cnncalc solve resnet50 --max B --training adam --where "train_bytes <= 24*2**30"
    """
    arch = load_file(file)
    found = arch.solve(
        dict(assignments), where=where, maximize=maximize, minimize=minimize, upto=upto, dtype=dtype, training=training
    )
    click.echo(found.render(fmt), nl=False)


def with_memory(
    text: str,
    arch: Architecture,
    given: dict[str, int],
    size: int | None,
    fmt: str,
    batch: int | str,
    dtype: str,
    training: str | None,
    depth: int | None = None,
) -> str:
    """A summary's ``text`` followed by the memory figures (text, Markdown), or with them under
    "memory" (JSON)."""
    if fmt not in ("text", "markdown", "json"):
        raise CnncalcError(f"--batch, --dtype and --training apply to --format text, markdown and json, not {fmt}")
    figures = arch.memory(given, batch=batch, dtype=dtype, training=training, size=size)
    if depth:
        figures = figures.view(depth, arch.summarize(given, size=size).groups)
    if fmt == "json":
        data = json.loads(text)
        data["memory"] = figures.to_dict()
        return json.dumps(data, indent=2) + "\n"
    return text + "\n" + figures.render(fmt)


__all__ = ["constraints", "limit_text", "solve", "sweep", "with_memory"]
