"""The ``cnncalc`` command: a thin click shell over the library (load -> summarize -> render -> echo).

Errors in the input become one line on stderr and exit code 2; nothing a user owns is overwritten
unless asked with ``-o``, and then atomically (a failed run leaves the old file as it was).
"""

from __future__ import annotations

import functools
import gc
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from . import __version__
from .architecture import Architecture, bundled, load
from .errors import CnncalcError
from .render import FORMATS, render
from .render.table import BY_KEY
from .spec import not_found


class Assignment(click.ParamType):  # type: ignore[type-arg]
    """``NAME=VALUE`` with a positive whole-number value, for ``--set H=224``."""

    name = "NAME=INT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[str, int]:
        if isinstance(value, tuple):
            return value
        name, sep, number = str(value).partition("=")
        name, number = name.strip(), number.strip()
        if not sep or not name.isidentifier():
            self.fail(f"{value!r} is not NAME=INT (e.g. H=224)", param, ctx)
        if not number.isdigit() or int(number) < 1 or len(number) > 18:
            self.fail(f"{value!r}: the value must be a positive whole number", param, ctx)
        return name, int(number)


def one_line(text: str) -> str:
    """``text`` with control characters escaped (\\n, \\x1b...): a name in a file cannot break
    the message into two lines or send escape codes to the terminal."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


class _Group(click.Group):
    """Turns cnncalc's errors into one line and exit code 2, and anything unexpected into a short
    internal-error line (exit 3) instead of a traceback."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        """click's main, with its usage errors also as one ``cnncalc: error:`` line (exit 2)."""
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)  # type: ignore[call-overload]
        except click.ClickException as err:
            hint = f" (see {err.ctx.command_path} --help)" if isinstance(err, click.UsageError) and err.ctx else ""
            click.echo(f"cnncalc: error: {one_line(err.format_message())}{hint}", err=True)
            code = err.exit_code
        except click.Abort:
            click.echo("cnncalc: error: aborted", err=True)
            code = 1
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CnncalcError as err:
            click.echo(f"cnncalc: error: {one_line(str(err))}", err=True)
            ctx.exit(2)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except RecursionError:
            click.echo("cnncalc: error: the input is nested too deeply", err=True)
            ctx.exit(2)
        except MemoryError:
            click.echo("cnncalc: error: the input needs more memory than is available", err=True)
            ctx.exit(2)
        except Exception as err:  # a bug: say so in one line, never a traceback
            message = one_line(f"{type(err).__name__}: {err}")
            click.echo(f"cnncalc: internal error: {message} (please report it)", err=True)
            ctx.exit(3)


#: --set NAME=INT, shared by the commands that evaluate an architecture.
set_option = click.option(
    "--set",
    "assignments",
    type=Assignment(),
    multiple=True,
    metavar="NAME=INT",
    help="Give a symbol a value (repeatable), overriding the file's defaults.",
)


def output_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--format, --columns and -o, shared by the commands that print a summary."""

    @click.option(
        "--format",
        "fmt",
        type=click.Choice(list(FORMATS)),
        default="text",
        show_default=True,
        help="Output format: a terminal table, Markdown or LaTeX for slides, CSV for spreadsheets, JSON for scripts.",
    )
    @click.option(
        "--columns",
        metavar="KEYS",
        help=f"Comma-separated columns to show (not for json), or all: {', '.join(BY_KEY)}. The text "
        "table otherwise fits the terminal, leaving out columns it says.",
    )
    @click.option("--wide", is_flag=True, help="Text: every column, however wide (no fitting to the terminal).")
    @click.option(
        "--depth",
        type=click.IntRange(min=1),
        help="Collapse blocks below this depth of dotted names into one row each (layer1.0.conv1 has depth 3).",
    )
    @click.option(
        "--hide", metavar="KINDS", help="Leave out layers of these kinds or families (relu,batchnorm2d,activation)."
    )
    @click.option("--only", metavar="KINDS", help="Show only layers of these kinds or families (conv2d,linear).")
    @click.option(
        "--notes/--no-notes",
        default=True,
        help="With or without the counting conventions under the table (csv, markdown, latex).",
    )
    @click.option("--caption/--no-caption", default=True, help="LaTeX: with or without the caption (title and totals).")
    @click.option(
        "--fit",
        type=click.Choice(["resizebox", "tabularx", "none"]),
        help="LaTeX: fit the page width by scaling the table (resizebox) or wrapping names (tabularx).",
    )
    @click.option(
        "-o",
        "--output",
        "out",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Write to this file (atomically) instead of standard output.",
    )
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return command(*args, **kwargs)

    return wrapper


#: The options each format takes, as the CLI's flags set them (flags left at their defaults pass nothing).
_OPTIONS = {
    "text": {"wide"},
    "csv": {"notes"},
    "markdown": {"notes"},
    "latex": {"notes", "caption", "fit"},
    "html": set(),
}


def format_options(fmt: str, *, wide: bool, notes: bool, caption: bool, fit: str | None) -> dict[str, Any]:
    """The renderer's options for the flags given, or an error naming a flag the format ignores."""
    given = {"wide": wide, "notes": not notes, "caption": not caption, "fit": fit is not None}
    wrong = [k for k, v in given.items() if v and k not in _OPTIONS.get(fmt, set())]
    if wrong:
        flag = {"wide": "--wide", "notes": "--no-notes", "caption": "--no-caption", "fit": "--fit"}[wrong[0]]
        raise CnncalcError(f"{flag} does not apply to --format {fmt}")
    options: dict[str, Any] = {}
    if wide:
        options["width"] = 0
    if not notes:
        options["notes"] = False
    if not caption:
        options["caption"] = False
    if fit is not None:
        options["fit"] = fit
    return options


def write(text: str, out: Path | None, source: str) -> None:
    """Echo ``text``, or write it to ``out`` atomically; never over the input file."""
    if out is None:
        click.echo(text, nl=False)
        return
    directory = _check_output(out, source)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, out)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise CnncalcError(f"-o {out}: cannot write: {err.strerror}") from None


def _check_output(out: Path, source: str) -> Path:
    """The folder ``out`` goes in, once ``out`` is known to be a file cnncalc may write."""
    src = Path(source)
    if out.exists() and not out.is_file():
        raise CnncalcError(f"-o {out} is not a regular file (a folder, pipe or device); choose a file")
    if src.exists() and out.exists() and os.path.samefile(src, out):
        raise CnncalcError(f"-o {out} is the input file; choose another output file")
    directory = out.parent if str(out.parent) else Path(".")
    if not directory.is_dir():
        raise CnncalcError(f"-o {out}: the folder {directory} does not exist")
    return directory


def save_picture(make: Callable[[str], Any], out: Path, source: str) -> None:
    """Let ``make(path)`` write a picture, then move it to ``out`` atomically (a failed drawing
    leaves an existing file as it was)."""
    if out.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise CnncalcError(f"-o {out}: pictures are .png, .svg or .pdf")
    directory = _check_output(out, source)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}.", suffix=out.suffix, dir=directory)
    os.close(fd)
    try:
        make(tmp)
        os.replace(tmp, out)
    except OSError as err:
        raise CnncalcError(f"-o {out}: cannot write: {err.strerror}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    click.echo(f"wrote {out}")


def _picture_path(out: Path | None, arch: Architecture, suffix: str) -> Path:
    """``out``, or NAME{suffix} in the current folder when no -o is given (never over a file)."""
    if out is not None:
        return out
    default = Path(Path(arch.source).stem if arch.source != "<string>" else arch.name).with_suffix(suffix)
    if default.exists():
        raise CnncalcError(f"{default} exists already; name the output with -o (it will then be replaced)")
    return default


def _columns(text: str | None) -> list[str] | None:
    return [c.strip() for c in text.split(",") if c.strip()] if text else None


def _load(file: str) -> Architecture:
    """FILE is a path or a bundled architecture's name, never YAML text (a name may hold a colon
    or a newline)."""
    if file in bundled():
        return load(file)
    if Path(file).suffix in (".yaml", ".yml") or "/" in file or "\\" in file:
        return load(Path(file))
    try:
        return load(Path(file))
    except CnncalcError as err:
        if err.reason != "no such file":
            raise
        raise not_found(file) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cnncalc")
def cli() -> None:
    """Exact, symbolic shapes, parameters, MACs and receptive fields of convolutional networks.

    FILE is a YAML architecture or the name of a bundled one (see `cnncalc list`).
    """


#: --size N, shared by the commands that evaluate an architecture.
size_option = click.option(
    "--size",
    type=click.IntRange(min=1),
    metavar="N",
    help="Give every spatial size of the input this value (a square or cubic input): --size 224 is --set H=224 --set W=224.",
)


@cli.command()
@click.argument("file")
@set_option
@size_option
@click.option(
    "--symbolic", is_flag=True, help="Keep symbols without a --set value symbolic instead of using the file's defaults."
)
@output_options
def summarize(
    file: str,
    assignments: tuple[tuple[str, int], ...],
    size: int | None,
    symbolic: bool,
    fmt: str,
    columns: str | None,
    wide: bool,
    depth: int | None,
    hide: str | None,
    only: str | None,
    notes: bool,
    caption: bool,
    fit: str | None,
    out: Path | None,
) -> None:
    """Per-layer output shape, parameters, MACs, activations, receptive field and the
    fully-connected comparison, with totals.

    \b
    Examples:
      cnncalc summarize vgg16
      cnncalc summarize vgg16 --symbolic --format latex -o vgg16.tex
      cnncalc summarize my_net.yaml --set H=512 --set W=384 --format json
    """
    arch = _load(file)
    values = {**arch.square(size), **dict(assignments)} if size else dict(assignments)
    summary = arch.summarize(symbolic=symbolic, **values)
    if depth or hide or only:
        summary = summary.view(depth=depth, hide=hide or (), only=only or ())
    options = format_options(fmt, wide=wide, notes=notes, caption=caption, fit=fit)
    if fmt == "html":
        options["diagram_svg"] = diagram_svg(summary)
    write(render(summary, fmt, _columns(columns), **options), out, arch.source)


#: Above this many rows an HTML page's diagram shows blocks (depth 1) rather than every layer.
DIAGRAM_ROWS = 60


def diagram_svg(summary: Any) -> str | None:
    """The network's drawing as SVG text for an HTML page, or None without matplotlib (the page
    then has no diagram; nothing else changes)."""
    try:
        import matplotlib  # noqa: F401 - only asking whether it is there
    except ImportError:
        return None
    from .render.draw import draw as draw_picture

    shown = summary.view(depth=1) if len(summary.rows) > DIAGRAM_ROWS and not summary.shown else summary
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "diagram.svg"
        draw_picture(shown, path)
        return path.read_text(encoding="utf-8")


@cli.command()
@click.argument("file")
def validate(file: str) -> None:
    """Check FILE: the schema, every expression and every layer's shape rules.

    Shapes are checked at the file's default symbol values, or symbolically where a symbol has none.
    """
    arch = _load(file)
    missing = arch.symbol_names - set(arch.defaults)
    arch.summarize(symbolic=bool(missing))
    where = "symbolically" if missing else "at the default values"
    click.echo(f"{arch.source}: ok ({arch.name}, {len(arch.nodes)} layers, shapes checked {where})")


class Sizes(click.ParamType):  # type: ignore[type-arg]
    """``97,224,513``: positive whole numbers separated by commas, for ``--sizes``."""

    name = "N,N,..."

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[int, ...]:
        if isinstance(value, tuple):
            return value
        parts = [p.strip() for p in str(value).split(",")]
        if not all(p.isdigit() and int(p) > 0 and len(p) <= 9 for p in parts):
            self.fail(f"{value!r} is not a list of positive whole numbers (e.g. 97,224,513)", param, ctx)
        return tuple(int(p) for p in parts)


@cli.command()
@click.argument("file")
@set_option
@click.option(
    "--sizes",
    type=Sizes(),
    help="Input sizes to check: each is given to every symbol of the input's height and width "
    "[default: a few across the valid range, the smallest one and the one below it included].",
)
@click.option(
    "--device",
    type=click.Choice(["auto", "meta", "cpu"]),
    default="auto",
    show_default=True,
    help="Where PyTorch runs: meta (shapes only, no memory), cpu (real zero tensors), auto (meta, "
    "and small layers on CPU as well).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format: a table per set of values, or JSON for scripts.",
)
@click.pass_context
def verify(
    ctx: click.Context,
    file: str,
    assignments: tuple[tuple[str, int], ...],
    sizes: tuple[int, ...] | None,
    device: str,
    fmt: str,
) -> None:
    """Check cnncalc against PyTorch: build FILE's network in PyTorch, run it, and compare every
    layer's output shape, parameters and MACs (exit 0: all agree, 1: a disagreement).

    Needs PyTorch (pip install "cnncalc[torch]"). Values where both refuse the input agree.

    \b
    Examples:
      cnncalc verify vgg16
      cnncalc verify vgg16 --sizes 97,224,513
      cnncalc verify my_net.yaml --set H=512 --set W=384 --format json
    """
    from .backends import torch_backend

    backend = torch_backend()
    arch = _load(file)
    result = backend.verify(arch, dict(assignments), sizes, device=device)
    click.echo(result.render(fmt), nl=False)
    ctx.exit(0 if result.agrees else 1)


_picture_output = click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The picture's file: .png (default, NAME.png here), .svg or .pdf; written atomically.",
)


@cli.command()
@click.argument("file")
@set_option
@size_option
@click.option("--depth", type=click.IntRange(min=1), help="Collapse blocks below this depth (a readable ResNet: 1).")
@click.option("--hide", metavar="KINDS", help="Leave out layers of these kinds or families.")
@click.option("--symbolic", is_flag=True, help="Label sizes symbolically (boxes drawn at the default sizes).")
@_picture_output
def draw(
    file: str,
    assignments: tuple[tuple[str, int], ...],
    size: int | None,
    depth: int | None,
    hide: str | None,
    symbolic: bool,
    out: Path | None,
) -> None:
    """A picture of the network as the lecture figures draw it: each feature map a box sized by its
    height, width and channels, labelled, left to right; branches and merges as a graph.

    Needs matplotlib (pip install "cnncalc[plot]").

    \b
    Examples:
      cnncalc draw vgg16 -o vgg16.svg
      cnncalc draw resnet50 --depth 1 -o resnet50.pdf
    """
    from .render.draw import draw as draw_picture

    arch = _load(file)
    values = {**arch.square(size), **dict(assignments)} if size else dict(assignments)
    summary = arch.summarize(symbolic=symbolic, **values)
    if depth or hide:
        summary = summary.view(depth=depth, hide=hide or ())
    save_picture(lambda path: draw_picture(summary, path), _picture_path(out, arch, ".png"), arch.source)


@cli.command()
@click.argument("file")
@set_option
@size_option
@click.option(
    "--y",
    "y",
    type=click.Choice(["params", "macs", "activations", "rf"]),
    default="params",
    show_default=True,
    help="What to plot per layer (rf: receptive field size against depth).",
)
@click.option("--depth", type=click.IntRange(min=1), help="One bar per block below this depth.")
@click.option("--hide", metavar="KINDS", help="Leave out layers of these kinds or families.")
@click.option("--log/--linear", "log", default=None, help="Log or linear axis [default: log when values span 1000x].")
@_picture_output
def plot(
    file: str,
    assignments: tuple[tuple[str, int], ...],
    size: int | None,
    y: str,
    depth: int | None,
    hide: str | None,
    log: bool | None,
    out: Path | None,
) -> None:
    """Per-layer (or per-block) bars of parameters, MACs or activations, or the receptive field
    against depth. Needs matplotlib (pip install "cnncalc[plot]").

    \b
    Examples:
      cnncalc plot vgg16 --y rf -o vgg16_rf.png
      cnncalc plot resnet50 --y macs --depth 1 -o resnet50_macs.svg
    """
    from .render.draw import plot as plot_picture

    arch = _load(file)
    values = {**arch.square(size), **dict(assignments)} if size else dict(assignments)
    summary = arch.summarize(symbolic=False, **values)
    if depth or hide:
        summary = summary.view(depth=depth, hide=hide or ())
    path = _picture_path(out, arch, f"_{y}.png")
    save_picture(lambda p: plot_picture(summary, y, p, log=log), path, arch.source)


@cli.command("list")
def list_() -> None:
    """The bundled architectures, with parameters and MACs at their default input."""
    rows = []
    for name, path in bundled().items():
        arch = load(path)
        total = arch.summarize().total
        rows.append((name, arch.name, f"{total.params:,}", f"{total.macs / 1e9:.2f} G"))
    widths = [max(len(r[i]) for r in [("file", "network", "params", "MACs"), *rows]) for i in range(4)]
    for r in [("file", "network", "params", "MACs"), *rows]:
        click.echo(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]:>{widths[3]}}")


@cli.command()
def schema() -> None:
    """The JSON Schema of the YAML format (for editors' YAML validation)."""
    import json

    from .spec.schema import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


def main() -> None:
    """Entry point of the console script and of ``python -m cnncalc``."""
    try:
        cli(prog_name="cnncalc")
    finally:
        # The process ends here. Python's shutdown would make the cyclic collector walk every
        # object the imports made (pydantic's schemas above all): ~20 ms of a ~150 ms run, to
        # free memory the operating system takes back anyway. Frozen objects are left out of it;
        # output is flushed and exit handlers run as usual.
        gc.freeze()
