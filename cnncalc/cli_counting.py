"""Counting conventions on the command line: the ``--count NAME`` option of summarize, list and
compare, and ``cnncalc conventions`` (a preset's rules, or one network's total under every
convention). Plain click pieces; :mod:`cnncalc.cli` adds them to its group."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from .cli_io import load_file, set_option, size_option
from .errors import CnncalcError

#: The names ``--count`` takes, for its help (tests/test_counting.py checks it against the registry:
#: listing them here keeps the presets' modules off the start-up path of every command).
NAMES = (
    "torchinfo, fvcore, ptflops, ptflops-aten, thop, torchscan-macs, torchscan-flops, flopcounter, "
    "calflops-macs, calflops-flops, keras, flops"
)


def _checked(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """The preset's name, or cnncalc's one-line error (exit 2) naming the closest."""
    if value is None:
        return None
    from .counting import preset

    return preset(value).name


count_option = click.option(
    "--count",
    metavar="NAME",
    callback=_checked,
    help=f"Count as another tool does: {NAMES} (cnncalc conventions NAME prints its rules). The MACs column "
    "(and params, for keras and thop) is then that tool's figure.",
)


def _closest(word: str) -> str:
    """ " (did you mean 'fvcore'?)": the closest convention or bundled network, if one is close."""
    from .counting import PRESETS
    from .spec import bundled
    from .spec.messages import suggest

    return suggest(word, [*PRESETS, *bundled()], foreign_names=False)


def _format(choices: list[str]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return click.option(
        "--format", "fmt", type=click.Choice(choices), default="text", show_default=True, help="Output format."
    )


@click.command()
@click.argument("target", required=False, metavar="[NAME|FILE]")
@click.option("--all", "every", is_flag=True, help="The rules of every convention.")
@set_option
@size_option
@_format(["text", "markdown", "json"])
def conventions(
    target: str | None, every: bool, assignments: tuple[tuple[str, int], ...], size: int | None, fmt: str
) -> None:
    """How other tools count: a convention's rules (NAME), or one network's total under every
    convention (FILE), each with the rule that makes it differ from cnncalc's MACs.

    \b
    Examples:
      cnncalc conventions resnet50
      cnncalc conventions unet --format markdown
      cnncalc conventions fvcore
      cnncalc conventions --all --format markdown
    """
    from .counting import PRESETS, preset
    from .render.conventions import render_rules

    if every or target is None:
        if target is not None or assignments or size is not None:
            raise CnncalcError("--all prints the rules of every convention: give no NAME, FILE, --set or --size")
        click.echo(render_rules(tuple(PRESETS.values()), fmt), nl=False)
        return
    if target.lower() in PRESETS:
        if assignments or size is not None:
            raise CnncalcError(f"{target} is a convention: --set and --size apply to a network")
        click.echo(render_rules((preset(target),), fmt), nl=False)
        return
    try:
        arch = load_file(target)
    except CnncalcError as err:
        if "neither a file nor a bundled architecture" not in str(err):
            raise
        raise CnncalcError(
            f"{target!r} is neither a convention nor a file or bundled architecture{_closest(target)}; "
            "`cnncalc conventions --all` lists the conventions, `cnncalc list` the bundled networks"
        ) from None
    click.echo(arch.conventions(dict(assignments), size=size).render(fmt), nl=False)


__all__ = ["NAMES", "conventions", "count_option"]
