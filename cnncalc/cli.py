"""The ``cnncalc`` command: a thin click shell over the library (load -> summarize -> render -> echo).

Errors in the input become one line on stderr and exit code 2; nothing a user owns is overwritten
unless asked with ``-o``, and then atomically (a failed run leaves the old file as it was).
"""

from __future__ import annotations

import gc
from pathlib import Path

import click

from . import __version__
from .architecture import Architecture, bundled, load
from .cli_counting import conventions, count_option
from .cli_design import constraints, limit_text, solve, sweep, with_memory
from .cli_import import import_group
from .cli_io import (
    Group,
    Sizes,
    diagram_svg,
    format_options,
    load_file,
    memory_options,
    output_options,
    picture_output,
    picture_path,
    save_picture,
    set_option,
    size_option,
    write,
)
from .errors import CnncalcError
from .render import render
from .report import Summary


def _summary(
    arch: Architecture,
    assignments: tuple[tuple[str, int], ...],
    size: int | None,
    symbolic: bool,
    *,
    depth: int | None = None,
    hide: str | None = None,
    only: str | None = None,
    training: bool = False,
    count: str | None = None,
) -> Summary:
    """The summary the options ask for: --set values over --size (counted as ``count`` says), then
    the view, if any."""
    # A mapping: any symbol name.
    summary = arch.summarize(dict(assignments), symbolic=symbolic, size=size, training=training, count=count)
    return summary.view(depth=depth, hide=hide or (), only=only or ()) if depth or hide or only else summary


def _columns(text: str | None) -> list[str] | None:
    return [c.strip() for c in text.split(",") if c.strip()] if text else None


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cnncalc")
def cli() -> None:
    """Exact, symbolic shapes, parameters, MACs and receptive fields of convolutional networks.

    FILE is a YAML architecture or the name of a bundled one (see `cnncalc list`).
    """


@cli.command()
@click.argument("file")
@set_option
@size_option
@click.option(
    "--symbolic", is_flag=True, help="Keep symbols without a --set value symbolic instead of using the file's defaults."
)
@output_options
@memory_options
@count_option
def summarize(
    file: str,
    assignments: tuple[tuple[str, int], ...],
    size: int | None,
    symbolic: bool,
    batch: int | str | None,
    dtype: str | None,
    training: str | None,
    fmt: str,
    columns: str | None,
    wide: bool,
    depth: int | None,
    hide: str | None,
    only: str | None,
    notes: bool,
    caption: bool,
    latex_as: str | None,
    fit: str | None,
    out: Path | None,
    count: str | None,
) -> None:
    """Per-layer output shape, parameters, MACs, activations, receptive field and the
    fully-connected comparison, with totals.

    \b
    Examples:
      cnncalc summarize vgg16
      cnncalc summarize vgg16 --symbolic --format latex -o vgg16.tex
      cnncalc summarize my_net.yaml --set H=512 --set W=384 --format json
      cnncalc summarize resnet50 --training adam --batch 64 --dtype bfloat16
      cnncalc summarize resnet50 --count fvcore
    """
    arch = load_file(file)
    # A training step runs the training-only layers (auxiliary heads): --training counts them.
    summary = _summary(
        arch, assignments, size, symbolic, depth=depth, hide=hide, only=only, training=bool(training), count=count
    )
    options = format_options(fmt, wide=wide, notes=notes, caption=caption, fit=fit, latex_as=latex_as)
    if fmt == "html":
        options["diagram_svg"] = diagram_svg(summary)
    text = render(summary, fmt, _columns(columns), **options)
    if batch is not None or dtype is not None or training is not None:
        text = with_memory(text, arch, dict(assignments), size, fmt, batch or 1, dtype or "float32", training, depth)
    write(text, out, arch.source)


@cli.command()
@click.argument("file")
def validate(file: str) -> None:
    """Check FILE: the schema, every expression and every layer's shape rules.

    Shapes are checked at the file's default symbol values, or symbolically where a symbol has none.
    """
    arch = load_file(file)
    missing = arch.symbol_names - set(arch.defaults)
    arch.summarize(symbolic=bool(missing))
    where = "symbolically" if missing else "at the default values"
    click.echo(f"{arch.source}: ok ({arch.name}, {len(arch.nodes)} layers, shapes checked {where})")
    limits = arch.constraints()
    if limits.sets:
        click.echo("valid values: " + "; ".join(limit_text(limits, n) for n in limits.sets))


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
@click.option(
    "--memory", is_flag=True, help="Also bytes saved for backward and the inference peak (batch 1, float32, on CPU)."
)
@click.pass_context
def verify(
    ctx: click.Context,
    file: str,
    assignments: tuple[tuple[str, int], ...],
    sizes: tuple[int, ...] | None,
    device: str,
    fmt: str,
    memory: bool,
) -> None:
    """Check cnncalc against PyTorch: build FILE's network in PyTorch, run it, and compare every
    layer's output shape, parameters and MACs (exit 0: all agree, 1: a disagreement).

    Needs PyTorch (pip install "cnncalc[torch]"). Values where both refuse the input agree.

    \b
    Examples:
      cnncalc verify vgg16
      cnncalc verify vgg16 --sizes 97,224,513
      cnncalc verify my_net.yaml --set H=512 --set W=384 --format json
      cnncalc verify resnet18 --sizes 224 --memory
    """
    from .backends import torch_backend

    backend = torch_backend()
    arch = load_file(file)
    result = backend.verify(arch, dict(assignments), sizes, device=device, memory=memory)
    click.echo(result.render(fmt), nl=False)
    ctx.exit(0 if result.agrees else 1)


@cli.command()
@click.argument("file")
@set_option
@size_option
@click.option("--depth", type=click.IntRange(min=1), help="Collapse blocks below this depth (a readable ResNet: 1).")
@click.option("--hide", metavar="KINDS", help="Leave out layers of these kinds or families.")
@click.option("--symbolic", is_flag=True, help="Label sizes symbolically (boxes drawn at the default sizes).")
@picture_output
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

    arch = load_file(file)
    summary = _summary(arch, assignments, size, symbolic, depth=depth, hide=hide)
    save_picture(lambda path: draw_picture(summary, path), picture_path(out, arch, ".png"), arch.source)


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
@picture_output
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

    arch = load_file(file)
    summary = _summary(arch, assignments, size, False, depth=depth, hide=hide)
    path = picture_path(out, arch, f"_{y}.png")
    save_picture(lambda p: plot_picture(summary, y, p, log=log), path, arch.source)


@cli.command()
@click.argument("files", nargs=-1, required=True)
@set_option
@size_option
@click.option("--symbolic", is_flag=True, help="Compare in closed form (differences as formulas).")
@click.option("--depth", type=click.IntRange(min=1), help="Match blocks below this depth instead of layers.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@count_option
def compare(
    files: tuple[str, ...],
    assignments: tuple[tuple[str, int], ...],
    size: int | None,
    symbolic: bool,
    depth: int | None,
    fmt: str,
    count: str | None,
) -> None:
    """Compare two or more networks: totals side by side with differences and ratios against the
    first, and the layers (or blocks, with --depth) added, removed or changed, matched by name.

    \b
    Examples:
      cnncalc compare vgg16 vgg16_bn
      cnncalc compare resnet50 resnext50_32x4d wide_resnet50_2 --depth 1
      cnncalc compare vgg16 vgg16_bn --symbolic
      cnncalc compare vgg16 vgg16_bn --count fvcore
    """
    from . import compare as compare_networks
    from .comparison import render as render_comparison

    if len(files) < 2:
        raise CnncalcError("compare needs two or more networks")
    comparison = compare_networks(
        *(load_file(f) for f in files), symbolic=symbolic, depth=depth, size=size, given=dict(assignments), count=count
    )
    click.echo(render_comparison(comparison, fmt), nl=False)


@cli.command()
@click.argument("file")
@click.argument("layers", nargs=-1)
@set_option
@size_option
@click.option("--symbolic", is_flag=True, help="Keep symbols without a --set value symbolic (formulas in H, W).")
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "latex", "json"]), default="text",
              show_default=True, help="Output format: text (80 columns), Markdown, LaTeX (align*) or JSON.")  # fmt: skip
@click.option("--quantities", metavar="KEYS", help="Only these, comma-separated: output, params, macs, "
              "activations, rf, jump, start, fc_params, local_params.")  # fmt: skip
@click.option("-o", "--output", "out", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file.")
def explain(
    file: str, layers: tuple[str, ...], assignments: tuple[tuple[str, int], ...], size: int | None,
    symbolic: bool, fmt: str, quantities: str | None, out: Path | None,
) -> None:  # fmt: skip
    """Worked formulas of LAYERS (full names or blocks; all when none): for each quantity the
    formula, the formula with the layer's numbers, and the result.

    \b
    Examples:
      cnncalc explain vgg16 conv1
      cnncalc explain alexnet conv1 pool1 --symbolic --format latex -o alexnet.tex
    """
    arch = load_file(file)
    explanation = arch.explain(*layers, given=dict(assignments), symbolic=symbolic, size=size)
    write((explanation.only(quantities) if quantities else explanation).render(fmt), out, arch.source)


@cli.command("list")
@count_option
def list_(count: str | None) -> None:
    """The bundled architectures, with parameters and MACs (or --count's figures) at their default input."""
    rows, notes = [], []
    headers: dict[str, str] = {}
    for name, path in bundled().items():
        arch = load(path)
        summary = arch.summarize(count=count)
        total, headers = summary.total, summary.headers
        smallest = _smallest(arch)
        rows.append((name, arch.name, f"{total.params:,}", f"{total.macs / 1e9:.2f} G", smallest))
        if smallest.endswith("*"):
            notes.append(f"* {name}: {_smallest(arch, side_branches=True)} with its side branches (training only)")
    head = ("file", "network", headers.get("params", "params"), headers.get("macs", "MACs"), "min size")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    for r in [head, *rows]:
        cells = [
            r[0].ljust(widths[0]),
            r[1].ljust(widths[1]),
            *(c.rjust(w) for c, w in zip(r[2:], widths[2:], strict=True)),
        ]
        click.echo("  ".join(cells))
    for note in notes:
        click.echo(note)


def _smallest(arch: Architecture, side_branches: bool = False) -> str:
    """The smallest n valid for every spatial size of the input at once ("63"), marked "*" where
    side branches need more; "-" if there is none."""
    from .verify import spatial_symbols

    limits = arch.constraints()
    n, full = limits.smallest(spatial_symbols(arch), side_branches), limits.smallest(spatial_symbols(arch))
    if n is None:
        return "-"
    return f"{n}*" if n != full else str(n)


@cli.command()
def schema() -> None:
    """The JSON Schema of the YAML format (for editors' YAML validation)."""
    import json

    from .spec.schema import json_schema

    click.echo(json.dumps(json_schema(), indent=2))


for _command in (constraints, sweep, solve, conventions, import_group):
    cli.add_command(_command)


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
