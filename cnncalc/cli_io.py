"""The command line's parts that are not commands: parameter types, shared options, one-line errors,
and writing outputs (atomically, never over the input or, by default, over a picture).
"""

from __future__ import annotations

import functools
import os
import sys
import tempfile
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .errors import CnncalcError
from .functions import exact
from .render import FORMATS
from .render.table import BY_KEY

if TYPE_CHECKING:
    from .architecture import Architecture


class Values(click.ParamType):  # type: ignore[type-arg]
    """``NAME=VALUES`` for sweeps: a number, START:STOP[:STEP], a list 1,2,4 or an expression (W=H)."""

    name = "NAME=VALUES"
    example = "H=32:1024:32, k=1,2,4, W=H"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, tuple):
            return value
        name, sep, text = str(value).partition("=")
        if not sep or not name.strip().isidentifier():
            self.fail(f"{value!r} is not {self.name} (e.g. {self.example})", param, ctx)
        return name.strip(), text.strip()


class Assignment(Values):
    """``NAME=VALUE`` for ``--set H=224``: a positive whole number, or for a symbol the file declares
    rational a positive decimal or fraction (``alpha=0.35``, ``alpha=7/20``), read exactly; the
    evaluation checks which symbols may take which."""

    name = "NAME=INT"
    example = "H=224"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> tuple[str, int | Fraction]:
        name, number = super().convert(value, param, ctx)
        if isinstance(number, (int, Fraction)):
            return name, number
        try:
            exact_number = exact(number) if len(number) <= 18 else 0
        except ValueError:
            exact_number = 0
        if exact_number <= 0:
            self.fail(
                f"{value!r}: the value must be a positive whole number (or, for a rational symbol, a "
                "positive decimal or fraction: 0.35, 7/20)",
                param,
                ctx,
            )
        return name, exact_number


def one_line(text: str) -> str:
    """``text`` with control characters escaped (\\n, \\x1b...): a name in a file cannot break
    the message into two lines or send escape codes to the terminal."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


class Group(click.Group):
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
    help="Give a symbol a value (repeatable), overriding the file's defaults; a rational symbol takes "
    "decimals or fractions (alpha=0.35, alpha=7/20).",
)


def load_file(file: str) -> Architecture:
    """FILE is a path or a bundled architecture's name, never YAML text (a name may hold a colon
    or a newline)."""
    from .architecture import load
    from .spec import find_bundled, not_found

    if find_bundled(file) is not None:
        return load(file)
    if Path(file).suffix in (".yaml", ".yml") or "/" in file or "\\" in file:
        return load(Path(file))
    try:
        return load(Path(file))
    except CnncalcError as err:
        if err.reason != "no such file":
            raise
        raise not_found(file) from None


class Batch(click.ParamType):  # type: ignore[type-arg]
    """A batch size: a positive whole number, or a symbol name (B) for figures in closed form."""

    name = "N|NAME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int | str:
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if text.isdigit() and int(text) >= 1 and len(text) <= 12:
            return int(text)
        if text.isidentifier():
            return text
        self.fail(f"{value!r}: give a positive whole number (64) or a symbol name (B)", param, ctx)


def memory_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--batch, --dtype and --training: memory figures after the summary."""
    from .units import DTYPES, OPTIMIZERS

    @click.option("--batch", type=Batch(), help="Batch size for the memory figures, or a symbol (B) [default: 1].")
    @click.option(
        "--dtype", type=click.Choice(list(DTYPES)), help="Element type for the memory figures [default: float32]."
    )
    @click.option(
        "--training",
        type=click.Choice(list(OPTIMIZERS)),
        help="Memory of a training step with this optimizer (gradients, optimizer state, saved activations); "
        "the summary then counts the MACs of training-only layers (auxiliary heads) too.",
    )
    @functools.wraps(command)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        return command(*args, **kwargs)

    return wrapped


values_option = click.option(
    "--set",
    "assignments",
    type=Values(),
    multiple=True,
    metavar="NAME=VALUES",
    help="A symbol's values (repeatable): a number, START:STOP[:STEP] (both ends included), a list "
    "1,2,4, or an expression in other symbols (W=H); decimals for a rational symbol (alpha=0.35,0.5,1.4 "
    "or alpha=0.25:1.5:0.25). Other symbols take the file's defaults.",
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
        "--latex",
        "latex_as",
        type=click.Choice(["table", "beamer", "document", "beamer-document"]),
        help="LaTeX: a table for an article (default), a beamer frame, or a whole compilable document of either.",
    )
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
    "latex": {"notes", "caption", "fit", "latex"},
    "html": set(),
}


def format_options(
    fmt: str, *, wide: bool, notes: bool, caption: bool, fit: str | None, latex_as: str | None = None
) -> dict[str, Any]:
    """The renderer's options for the flags given, or an error naming a flag the format ignores."""
    given = {"wide": wide, "notes": not notes, "caption": not caption, "fit": fit is not None, "latex": bool(latex_as)}
    wrong = [k for k, v in given.items() if v and k not in _OPTIONS.get(fmt, set())]
    if wrong:
        flag = {"wide": "--wide", "notes": "--no-notes", "caption": "--no-caption", "fit": "--fit", "latex": "--latex"}
        raise CnncalcError(f"{flag[wrong[0]]} does not apply to --format {fmt}")
    options: dict[str, Any] = {}
    if latex_as:
        options["kind"] = "beamer" if latex_as.startswith("beamer") else "article"
        options["standalone"] = latex_as.endswith("document")
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


def picture_path(out: Path | None, arch: Architecture, suffix: str) -> Path:
    """``out``, or NAME{suffix} in the current folder when no -o is given (never over a file)."""
    if out is not None:
        return out
    default = Path(Path(arch.source).stem if arch.source != "<string>" else arch.name).with_suffix(suffix)
    if default.exists():
        raise CnncalcError(f"{default} exists already; name the output with -o (it will then be replaced)")
    return default


#: --size N, shared by the commands that evaluate an architecture.
size_option = click.option(
    "--size",
    type=click.IntRange(min=1),
    metavar="N",
    help="Give every spatial size of the input this value (a square or cubic input): --size 224 is --set H=224 --set W=224.",
)


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


picture_output = click.option(
    "-o",
    "--output",
    "out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The picture's file: .png (default, NAME.png here), .svg or .pdf; written atomically.",
)
