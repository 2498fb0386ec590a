#!/usr/bin/env python
"""cnncalc against torchinfo, measured in one run: prints figures, ratios and PASS/FAIL per target.

A benchmark, not a test: a missed target is printed as FAIL and the run still exits 0.

    python benchmarks/bench_torchinfo.py           # full run (about two minutes on 2 cores)
    python benchmarks/bench_torchinfo.py --quick   # fewer repeats (about a minute)

Needs cnncalc with its bench extra (torchinfo, numpy) and torch; see benchmarks/README.md.
The cnncalc-only figures are taken before torch is imported, so torch's modules are not in the
way of cnncalc's garbage collections; torch and torchinfo are imported afterwards, and the
figures compared with torchinfo in-process (VGG16 and ResNet-152) are taken in rounds
interleaved with its runs.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import functools
import gc
import importlib.metadata as metadata
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
PARAMS = 138_357_544  # VGG16, torchvision's count
RESNET152_PARAMS = 60_192_808  # torchvision's resnet152

# torchvision's vgg16 layout (features, avgpool, flatten, classifier) as one flat nn.Sequential,
# without torchvision. The same source builds the model in-process and in the child script.
VGG16_SOURCE = """
from torch import nn


def vgg16() -> nn.Sequential:
    cfg = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]
    layers: list[nn.Module] = []
    channels = 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(channels, v, kernel_size=3, padding=1), nn.ReLU(inplace=True)]
            channels = v
    return nn.Sequential(
        *layers,
        nn.AdaptiveAvgPool2d((7, 7)),
        nn.Flatten(),
        nn.Linear(512 * 7 * 7, 4096),
        nn.ReLU(True),
        nn.Dropout(p=0.5),
        nn.Linear(4096, 4096),
        nn.ReLU(True),
        nn.Dropout(p=0.5),
        nn.Linear(4096, 1000),
    )
"""

# torchvision's resnet152 (Bottleneck "v1.5": the stride on the 3x3 conv; layers [3, 8, 36, 3]) in
# plain torch.nn, without torchvision: the same module names (conv1, layer3.35.bn2, downsample.0)
# and the same 60,192,808 parameters. Also built both in-process and in the child script.
RESNET152_SOURCE = """
from torch import Tensor, nn


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, layers: list[int], num_classes: int = 1000) -> None:
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1], stride=2)
        self.layer3 = self._make_layer(256, layers[2], stride=2)
        self.layer4 = self._make_layer(512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * Bottleneck.expansion, num_classes)

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        out = planes * Bottleneck.expansion
        downsample = None
        if stride != 1 or self.inplanes != out:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, out, kernel_size=1, stride=stride, bias=False), nn.BatchNorm2d(out)
            )
        layers = [Bottleneck(self.inplanes, planes, stride, downsample)]
        self.inplanes = out
        layers += [Bottleneck(out, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def resnet152() -> ResNet:
    return ResNet([3, 8, 36, 3])
"""


def torch_script(source: str, builder: str) -> str:
    """A whole script: import torch and torchinfo, build the model, print torchinfo's summary."""
    return (
        "import torch\nimport torchinfo\n"
        + source
        + f"\n\ntorchinfo.summary({builder}(), input_size=(1, 3, 224, 224))  # verbose default: prints the table\n"
    )


def log(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def per_call(fn: Callable[[], Any], number: int, repeat: int) -> float:
    """Median over ``repeat`` samples of the mean time of ``number`` calls (gc left on, unlike timeit)."""
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - t0) / number)
    return statistics.median(samples)


def call_times(fn: Callable[[], Any], repeat: int, before: Callable[[], Any] | None = None) -> list[float]:
    """The times of ``repeat`` single calls; ``before`` runs untimed ahead of each one."""
    samples = []
    for _ in range(repeat):
        if before is not None:
            before()
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return samples


def median_time(fn: Callable[[], Any], repeat: int, before: Callable[[], Any] | None = None) -> float:
    """Median of ``repeat`` single calls; ``before`` runs untimed ahead of each one."""
    return statistics.median(call_times(fn, repeat, before))


GNU_TIME = "/usr/bin/time"

# What `import cnncalc.cli` spends, dependency by dependency (each step excludes the ones before).
IMPORT_STEPS = """
import json, time
steps, t = {}, time.perf_counter()
for label, module in (("yaml", "yaml"), ("click", "click"), ("pydantic", "pydantic.main"), ("cnncalc's modules", "cnncalc.cli")):
    __import__(module)
    now = time.perf_counter()
    steps[label], t = now - t, now
print(json.dumps(steps))
"""


class Run(NamedTuple):
    """One whole-process run."""

    wall: float  # s
    rss: int  # peak RSS, KiB
    ok: bool  # exited 0 and printed what was expected
    cpu: float  # user + system CPU time, s (of the command and its children, from wait4)


def run_process(argv: list[str], expect: str) -> Run:
    """Wall time (s), peak RSS (KiB), whether the run exited 0 and printed ``expect``, and CPU time.

    Peak RSS comes from GNU time (``%M``), which forks the command from its own small process.
    Linux keeps a process's peak RSS across exec, and a child forked (or vforked) from this
    benchmark starts with this process's peak, so ``os.wait4`` on a direct child would report
    the benchmark's own memory for any command smaller than it. Without /usr/bin/time that is
    the fallback, flagged in the report. CPU time is wait4's: user + system time of the child and
    of the processes it waited for (GNU time's own share is negligible), which a busy machine
    inflates far less than wall time.
    """
    use_time = os.access(GNU_TIME, os.X_OK)
    with tempfile.TemporaryFile() as out, tempfile.NamedTemporaryFile("r") as rss_file:
        cmd = [GNU_TIME, "-f", "%M", "-o", rss_file.name, *argv] if use_time else argv
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        text = out.read().decode(errors="replace")
        rss = int(rss_file.read().split()[-1]) if use_time else usage.ru_maxrss
    return Run(wall, rss, proc.returncode == 0 and expect in text, usage.ru_utime + usage.ru_stime)


class Depth(NamedTuple):
    """Figures for one generated architecture of ``layers`` layers (times in seconds)."""

    layers: int
    chars: int
    load: float
    load_nogc: float
    numeric: float
    symbolic: float
    out_numeric: list[Any]
    out_symbolic: list[Any]


# --- generated architectures ------------------------------------------------------------------


def deep_yaml(n: int, halvings: int = 6) -> str:
    """A sequential net of ``n`` layers on [8, H, W]: padding-preserving 3x3 convs and ReLUs, with
    ``halvings`` ceil-mode 2x2 max pools spread evenly (4096 -> 64, never below 1)."""
    lines = [f"name: deep{n}", "input: [8, H, W]", "symbols: {H: 4096, W: 4096}", "layers:"]
    every = max(n // (halvings + 1), 1)
    pools = 0
    for i in range(n):
        if (i + 1) % every == 0 and pools < halvings:
            lines.append("  - maxpool2d: {kernel_size: 2, stride: 2, ceil_mode: true}")
            pools += 1
        elif i % 2:
            lines.append("  - relu")
        else:
            lines.append("  - conv2d: {out_channels: 8, kernel_size: 3, padding: 1}")
    return "\n".join(lines) + "\n"


def residual_yaml(n: int) -> str:
    """A graph-shaped net of ``n`` layers on [16, H, W]: n/4 residual units written once as a block
    and chained with ``repeat``; each unit is conv3x3 + BN + ReLU + add with the unit's input."""
    return f"""name: residual{n}
input: [16, H, W]
symbols: {{H: 224, W: 224}}
blocks:
  unit:
    layers:
      - conv2d: {{out_channels: 16, kernel_size: 3, padding: 1, bias: false}}
      - batchnorm2d
      - relu
      - add: {{from: [relu1, input]}}
layers:
  - unit: {{repeat: {n // 4}, name: units}}
"""


def measure_depth(text: str, reps: int, clear_cache: Callable[[], Any]) -> Depth:
    """Load (gc on, then off), numeric and symbolic summary of one generated text: medians of ``reps``."""
    import cnncalc

    gc.collect()
    t_load = median_time(functools.partial(cnncalc.load, text), reps, before=gc.collect)
    gc.disable()  # the same load without the cyclic garbage collector: the algorithm's own cost
    try:
        t_load_nogc = median_time(functools.partial(cnncalc.load, text), reps)
    finally:
        gc.enable()
    arch = cnncalc.load(text)
    t_sum = median_time(arch.summarize, reps, before=gc.collect)

    def clean() -> None:
        clear_cache()
        gc.collect()

    t_sym = median_time(functools.partial(arch.summarize, symbolic=True), reps, before=clean)
    out_num = list(arch.summarize().rows[-1].output)
    out_sym = list(arch.summarize(symbolic=True).rows[-1].output)
    return Depth(len(arch.layers), len(text), t_load, t_load_nogc, t_sum, t_sym, out_num, out_sym)


STRIDED = [
    "conv2d: {out_channels: 16, kernel_size: 3, stride: 2, padding: 1}",
    "maxpool2d: {kernel_size: 2, stride: 2, ceil_mode: true}",
    "avgpool2d: {kernel_size: 3, stride: 2, padding: 1}",
    "conv2d: {out_channels: 16, kernel_size: 5, stride: 3, padding: 1}",
    "maxpool2d: {kernel_size: 3, stride: 2, padding: 1, ceil_mode: true}",
]


def strided_chain_yaml(blocks: int = 100) -> str:
    """``blocks`` blocks of 11 layers (1,100 for 100): convs that keep or shrink the size, pools,
    and in every tenth block a strided op (strides 2 and 3, floor and ceil mode)."""
    lines = ["name: chain", "input: [16, H, W]", "symbols: {H: 65536, W: 49152}", "layers:"]
    for b in range(blocks):
        last = STRIDED[(b // 10) % len(STRIDED)] if b % 10 == 9 else "relu"
        shrink = "conv2d: {out_channels: 16, kernel_size: 3}" if b % 4 == 1 else "identity"
        lines += [
            "  - conv2d: {out_channels: 16, kernel_size: 3, padding: 1}",
            "  - relu",
            "  - " + shrink,
            "  - relu",
            "  - maxpool2d: {kernel_size: 3, stride: 1, padding: 1}",
            "  - conv2d: {out_channels: 16, kernel_size: 1}",
            "  - relu",
            "  - conv2d: {out_channels: 16, kernel_size: 3, padding: 1, dilation: 1}",
            "  - relu",
            "  - dropout",
            "  - " + last,
        ]
    return "\n".join(lines) + "\n"


def floor_depth(expr: Any) -> int:
    """How deeply floor() nests in ``expr`` (0 for a number)."""
    import sympy

    if not isinstance(expr, sympy.Basic):
        return 0
    inner = max((floor_depth(a) for a in expr.args), default=0)
    return inner + (1 if isinstance(expr, sympy.floor) else 0)


# --- report ------------------------------------------------------------------------------------


def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def fmt_ratio(ratio: float) -> str:
    return f"{ratio:.4f}x" if ratio < 0.1 else f"{ratio:.3f}x"


class Report:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str, str, str]] = []
        self.failed = 0

    def add(self, name: str, ours: str, theirs: str, ratio: float, target: float | None) -> None:
        if target is None:
            verdict, target_text = "info", "-"
        else:
            ok = ratio <= target
            self.failed += not ok
            verdict, target_text = ("PASS" if ok else "FAIL"), f"<= {target:g}x"
        self.rows.append((name, ours, theirs, fmt_ratio(ratio), target_text, verdict))

    def print(self) -> None:
        head = ("figure", "cnncalc", "torchinfo", "ratio", "target", "result")
        widths = [max(len(r[i]) for r in [head, *self.rows]) for i in range(6)]
        line = "  ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" if i != 5 else f"{{:<{w}}}" for i, w in enumerate(widths))
        print(line.format(*head))
        print(line.format(*("-" * w for w in widths)))
        for r in self.rows:
            print(line.format(*r))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a rougher, faster run)")
    args = parser.parse_args()
    q = args.quick
    started = time.perf_counter()

    import yaml

    import cnncalc

    # Phase A: cnncalc alone (torch not imported) ---------------------------------------------
    log("cnncalc numeric summary, alone")
    arch = cnncalc.load("vgg16")
    numeric = arch.summarize()
    sympy_after_numeric = "sympy" in sys.modules  # a numeric run should not import sympy
    numeric_number = 50 if q else 100
    t_numeric_alone = per_call(arch.summarize, number=numeric_number, repeat=5 if q else 9)

    log("cnncalc symbolic summary, alone (sympy cache cleared before each run)")
    t0 = time.perf_counter()
    symbolic = arch.summarize(symbolic=True)  # warm-up: imports sympy
    t_first_symbolic = time.perf_counter() - t0
    from sympy.core.cache import clear_cache

    t_symbolic_alone = median_time(lambda: arch.summarize(symbolic=True), repeat=10 if q else 30, before=clear_cache)
    same = symbolic.subs(H=224, W=224)
    symbolic_agrees = same.total == numeric.total and [r.output for r in same.rows] == [r.output for r in numeric.rows]

    log("ResNet-152: cnncalc numeric and symbolic summaries, alone")
    t0 = time.perf_counter()
    arch152 = cnncalc.load("resnet152")
    t_load152 = time.perf_counter() - t0
    numeric152 = arch152.summarize()
    numeric152_number = 10 if q else 20
    t_numeric152_alone = per_call(arch152.summarize, number=numeric152_number, repeat=3 if q else 5)
    symbolic152 = arch152.summarize(symbolic=True)  # warm-up (sympy is imported already)
    t_symbolic152_alone = median_time(
        lambda: arch152.summarize(symbolic=True), repeat=5 if q else 10, before=clear_cache
    )
    same152 = symbolic152.subs(H=224, W=224)
    symbolic152_agrees = same152.total == numeric152.total and [r.output for r in same152.rows] == [
        r.output for r in numeric152.rows
    ]

    # 4 and 9. scaling with depth: a sequential net, and a graph-shaped one (residual units)
    depths = ((100, 3 if q else 7), (1_000, 3 if q else 5), (10_000, 1 if q else 3))
    scaling: list[Depth] = []
    for n, reps in depths:
        log(f"scaling, sequential: {n:,} layers")
        text = deep_yaml(n)
        scaling.append(measure_depth(text, reps, clear_cache))
    big_text = text
    graph_scaling: list[Depth] = []
    for n, reps in depths:
        log(f"scaling, graph-shaped (residual units): {n:,} layers")
        graph_scaling.append(measure_depth(residual_yaml(n), reps, clear_cache))

    log("symbolic chain of 1,100 layers with strided ops")
    chain = cnncalc.load(strided_chain_yaml(100))
    clear_cache()
    gc.collect()
    t0 = time.perf_counter()
    chain_sym = chain.summarize(symbolic=True)
    t_chain = time.perf_counter() - t0
    chain_layers, chain_defaults = len(chain.layers), dict(chain.symbols)
    chain_out = ", ".join(str(v) for v in chain_sym.rows[-1].output)
    chain_depth = max(floor_depth(v) for row in chain_sym.rows for v in (*row.output, row.macs))
    chain_num_out = list(chain.summarize().rows[-1].output)
    chain_agrees = list(chain_sym.subs(**chain_defaults).rows[-1].output) == chain_num_out
    del chain, chain_sym

    # 5. YAML parsing
    log("YAML: CSafeLoader vs SafeLoader")
    yreps = 1 if q else 3
    t_cload = median_time(lambda: yaml.load(big_text, Loader=yaml.CSafeLoader), yreps, before=gc.collect)
    t_pyload = median_time(lambda: yaml.load(big_text, Loader=yaml.SafeLoader), yreps, before=gc.collect)
    t_ccomp = median_time(lambda: yaml.compose(big_text, Loader=yaml.CSafeLoader), yreps, before=gc.collect)
    t_pycomp = median_time(lambda: yaml.compose(big_text, Loader=yaml.SafeLoader), yreps, before=gc.collect)
    big_kb = len(big_text) / 1024

    # 10. every bundled architecture: load and numeric summary
    log("bundled architectures: load and numeric summary")
    zoo: list[tuple[str, int, Any, list[float], list[float]] | tuple[str, str]] = []
    zreps = 3 if q else 5
    for zname in sorted(cnncalc.bundled()):
        try:
            t_zload = call_times(functools.partial(cnncalc.load, zname), zreps, before=gc.collect)
            zarch = cnncalc.load(zname)
            t_zsum = call_times(zarch.summarize, zreps, before=gc.collect)
            zoo.append((zname, len(zarch.layers), zarch.summarize().total.params, t_zload, t_zsum))
        except Exception as err:  # a benchmark: report the file that does not load, and go on
            zoo.append((zname, f"{type(err).__name__}: {str(err).splitlines()[0][:100]}"))

    # The CLI's own work, without start-up: `cnncalc summarize NET` run in this process, output to a buffer.
    log("the summarize command in-process (load, summarize, render the text table)")
    from cnncalc.cli import cli as cli_group

    def command(net: str) -> Callable[[], int]:
        def run() -> int:
            buffer = io.StringIO()
            with contextlib.redirect_stdout(buffer):
                cli_group(["summarize", net], prog_name="cnncalc", standalone_mode=False)
            return len(buffer.getvalue())

        return run

    command_work = {net: median_time(command(net), 3 if q else 7, before=gc.collect) for net in ("vgg16", "resnet152")}
    command_chars = {net: command(net)() for net in command_work}

    # Phase B, figure 2: whole processes ----------------------------------------------------------
    # A regular install (pip install .) byte-compiles the package; an editable one compiles on the
    # first run, unless PYTHONDONTWRITEBYTECODE is set, when every process compiles all of cnncalc
    # again (about 20 ms). Compile once, as an install would, so that the figure is a user's.
    compiled = compileall.compile_dir(str(Path(cnncalc.__file__).parent), quiet=1)
    cli = Path(sys.executable).parent / "cnncalc"
    if not cli.exists():
        cli = Path(shutil.which("cnncalc") or "cnncalc")
    runs = 3 if q else 5
    runs152 = 2 if q else 3  # torch's ResNet-152 script takes seconds a run

    def whole_processes(net: str, source: str, expect: str, n_runs: int, warm: tuple[str, ...]) -> dict[str, list[Run]]:
        """``cnncalc summarize net`` against a script printing torchinfo's summary of the same net,
        after one untimed run of each side named in ``warm``."""
        procs: dict[str, list[Run]] = {"cnncalc": [], "torch": []}
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / f"torchinfo_{net}.py"
            script.write_text(torch_script(source, net))
            argv = {"cnncalc": [str(cli), "summarize", net], "torch": [sys.executable, str(script)]}
            log(f"whole process, {net}: one warm-up run of {' and '.join(warm)} (page cache)")
            for key in warm:
                run_process(argv[key], expect)
            for i in range(n_runs):
                log(f"whole process, {net}: run {i + 1}/{n_runs} of each")
                for key in argv:  # alternate, so drift hits both alike
                    procs[key].append(run_process(argv[key], expect))
        return procs

    procs = whole_processes("vgg16", VGG16_SOURCE, "138,357,544", runs, warm=("cnncalc", "torch"))
    # The VGG16 runs have just read torch's files into the page cache: a torch warm-up would only cost seconds.
    procs152 = whole_processes("resnet152", RESNET152_SOURCE, "60,192,808", runs152, warm=("cnncalc",))
    log("whole process: where cnncalc's start-up goes")
    startup = {
        label: statistics.median(run_process([sys.executable, *cmd], "").wall for _ in range(3))
        # The import exits as the command does (cnncalc.cli.main freezes the collector's objects,
        # sparing Python's shutdown a walk over them), so the difference is the work itself.
        for label, cmd in (("python", ["-c", "pass"]), ("import", ["-c", "import cnncalc.cli, gc; gc.freeze()"]))
    }
    heavy = json.loads(
        subprocess.run([sys.executable, "-c", IMPORT_STEPS], capture_output=True, text=True, check=True).stdout
    )

    # Phase C, figures 1 and 3: torchinfo, interleaved with cnncalc --------------------------------
    gc.collect()
    log("importing torch and torchinfo; building VGG16 and ResNet-152")
    import torch
    import torchinfo

    namespace: dict[str, Any] = {}
    exec(VGG16_SOURCE, namespace)
    model = namespace["vgg16"]()
    namespace152: dict[str, Any] = {}
    exec(RESNET152_SOURCE, namespace152)
    model152 = namespace152["resnet152"]()
    torch_params152 = sum(p.numel() for p in model152.parameters())
    if torch_params152 != RESNET152_PARAMS:  # not an assert statement: python -O would drop it
        raise AssertionError(f"the plain-torch ResNet-152 has {torch_params152:,} parameters, not {RESNET152_PARAMS:,}")
    log("torchinfo.summary warm-ups, then rounds of torchinfo / cnncalc numeric / cnncalc symbolic, per net")
    ti = torchinfo.summary(model, input_size=(1, 3, 224, 224), verbose=0)
    ti152 = torchinfo.summary(model152, input_size=(1, 3, 224, 224), verbose=0)
    ti_runs: list[float] = []
    numeric_samples: list[float] = []
    symbolic_runs: list[float] = []
    ti152_runs: list[float] = []
    numeric152_samples: list[float] = []
    symbolic152_runs: list[float] = []
    rounds = 3 if q else 5
    for i in range(rounds):
        log(f"round {i + 1}/{rounds}")
        # Interleaved, so that a slow spell of a shared machine hits both sides alike.
        t0 = time.perf_counter()
        torchinfo.summary(model, input_size=(1, 3, 224, 224), verbose=0)
        ti_runs.append(time.perf_counter() - t0)
        numeric_samples.append(per_call(arch.summarize, number=numeric_number, repeat=1))
        for _ in range(6):
            clear_cache()
            t0 = time.perf_counter()
            arch.summarize(symbolic=True)
            symbolic_runs.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        torchinfo.summary(model152, input_size=(1, 3, 224, 224), verbose=0)
        ti152_runs.append(time.perf_counter() - t0)
        numeric152_samples.append(per_call(arch152.summarize, number=numeric152_number, repeat=1))
        for _ in range(3):
            clear_cache()
            t0 = time.perf_counter()
            arch152.summarize(symbolic=True)
            symbolic152_runs.append(time.perf_counter() - t0)
    t_torchinfo = statistics.median(ti_runs)
    t_numeric = statistics.median(numeric_samples)
    t_symbolic = statistics.median(symbolic_runs)
    t_torchinfo152 = statistics.median(ti152_runs)
    t_numeric152 = statistics.median(numeric152_samples)
    t_symbolic152 = statistics.median(symbolic152_runs)

    # --- report --------------------------------------------------------------------------------
    cpus = os.cpu_count()
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
    print("cnncalc vs torchinfo" + (" (--quick)" if q else ""))
    print(
        f"python {platform.python_version()}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"torchinfo {version('torchinfo')}, cnncalc {cnncalc.__version__}, sympy {version('sympy')}, "
        f"PyYAML {version('PyYAML')} (libyaml: {'yes' if hasattr(yaml, 'CSafeLoader') else 'no'})"
    )
    print(f"{platform.platform()}, {cpus} CPUs ({affinity} usable)")
    print()

    def medians(runs_: list[Run]) -> tuple[float, float, float]:
        """Median wall time, peak RSS and CPU time."""
        median = statistics.median
        return median(r.wall for r in runs_), median(r.rss for r in runs_), median(r.cpu for r in runs_)

    report = Report()
    n_ti = len(ti_runs)
    report.add(f"1. numeric summary, VGG16 (median; torchinfo of {n_ti})", fmt_time(t_numeric), fmt_time(t_torchinfo),
               t_numeric / t_torchinfo, 0.01)  # fmt: skip
    c_wall, c_rss, c_cpu = medians(procs["cnncalc"])
    t_wall, t_rss, t_cpu = medians(procs["torch"])
    report.add(f"2a. whole process VGG16, wall time (median of {runs})", f"{c_wall:.3f} s", f"{t_wall:.3f} s",
               c_wall / t_wall, 0.10)  # fmt: skip
    report.add(f"2b. whole process VGG16, peak RSS (median of {runs})", f"{c_rss / 1024:.1f} MiB",
               f"{t_rss / 1024:.1f} MiB", c_rss / t_rss, 0.10)  # fmt: skip
    report.add(f"2c. whole process VGG16, CPU time (median of {runs})", f"{c_cpu:.3f} s", f"{t_cpu:.3f} s",
               c_cpu / t_cpu, None)  # fmt: skip
    report.add(f"3. symbolic summary, VGG16 (median of {len(symbolic_runs)})", fmt_time(t_symbolic),
               fmt_time(t_torchinfo), t_symbolic / t_torchinfo, 0.1)  # fmt: skip
    report.add(f"6. numeric summary, ResNet-152 (median; torchinfo of {len(ti152_runs)})", fmt_time(t_numeric152),
               fmt_time(t_torchinfo152), t_numeric152 / t_torchinfo152, 0.01)  # fmt: skip
    report.add(f"7. symbolic summary, ResNet-152 (median of {len(symbolic152_runs)})", fmt_time(t_symbolic152),
               fmt_time(t_torchinfo152), t_symbolic152 / t_torchinfo152, 0.1)  # fmt: skip
    c_wall152, c_rss152, c_cpu152 = medians(procs152["cnncalc"])
    t_wall152, t_rss152, t_cpu152 = medians(procs152["torch"])
    report.add(f"8a. whole process ResNet-152, wall time (median of {runs152})", f"{c_wall152:.3f} s",
               f"{t_wall152:.3f} s", c_wall152 / t_wall152, 0.10)  # fmt: skip
    report.add(f"8b. whole process ResNet-152, peak RSS (median of {runs152})", f"{c_rss152 / 1024:.1f} MiB",
               f"{t_rss152 / 1024:.1f} MiB", c_rss152 / t_rss152, None)  # fmt: skip
    report.add(f"8c. whole process ResNet-152, CPU time (median of {runs152})", f"{c_cpu152:.3f} s",
               f"{t_cpu152:.3f} s", c_cpu152 / t_cpu152, None)  # fmt: skip
    report.print()

    def print_scaling(rows: list[Depth]) -> None:
        print(
            f"  {'layers':>7}  {'YAML':>6}  {'load':>9} {'ms/layer':>8}  {'load, gc off':>12} {'ms/layer':>8}  "
            f"{'summarize':>9} {'ms/layer':>8}  {'symbolic*':>9} {'ms/layer':>8}"
        )
        for n, size, t_load, t_nogc, t_sum, t_sym, _, _ in rows:
            print(
                f"  {n:>7,}  {size / 1024:>4.0f}KB  {fmt_time(t_load):>9} {t_load / n * 1e3:>8.4f}  "
                f"{fmt_time(t_nogc):>12} {t_nogc / n * 1e3:>8.4f}  "
                f"{fmt_time(t_sum):>9} {t_sum / n * 1e3:>8.4f}  {fmt_time(t_sym):>9} {t_sym / n * 1e3:>8.4f}"
            )
        first, last = rows[-2], rows[-1]
        n1, n2 = first.layers, last.layers
        growth = ", ".join(
            f"{name} {(getattr(last, key) / n2) / (getattr(first, key) / n1):.2f}"
            for name, key in (
                ("load", "load"),
                ("load gc off", "load_nogc"),
                ("summarize", "numeric"),
                ("symbolic", "symbolic"),
            )
        )
        print(f"  ms/layer at {n2:,} over ms/layer at {n1:,}: {growth}")
        print("  (1.00 = linear; below 1 = fixed costs amortised; above 1.5 = worse than linear)  *sympy cache cleared")
        print(
            f"  last output at {n2:,} layers: numeric {last.out_numeric}, "
            f"symbolic [{', '.join(str(v) for v in last.out_symbolic)}]"
        )

    print()
    print("4. scaling with depth: input [8, H, W], H = W = 4096, 3x3 convs + ReLUs + 6 ceil-mode max pools (medians)")
    print_scaling(scaling)
    n2 = scaling[-1].layers
    print()
    print(f"4b. symbolic chain: {chain_layers:,} layers, 10 strided ops (strides 2 and 3, floor and ceil mode)")
    print(f"  symbolic summary {fmt_time(t_chain)} (sympy cache cleared); deepest floor() nesting in any shape or MACs: {chain_depth}")  # fmt: skip
    print(f"  last output: [{chain_out}]")
    print(f"  at the defaults {chain_defaults}: {chain_num_out}; symbolic, substituted, agrees: {chain_agrees}")
    print()
    print(f"5. YAML parsing of the {n2:,}-layer text ({big_kb:.0f} KB), median of {yreps}")
    print(f"  yaml.load:    CSafeLoader {fmt_time(t_cload)}, SafeLoader {fmt_time(t_pyload)}: ratio "
          f"{fmt_ratio(t_cload / t_pyload)} (libyaml {t_pyload / t_cload:.1f}x faster)")  # fmt: skip
    print(f"  yaml.compose: CSafeLoader {fmt_time(t_ccomp)}, SafeLoader {fmt_time(t_pycomp)}: ratio "
          f"{fmt_ratio(t_ccomp / t_pycomp)} (libyaml {t_pycomp / t_ccomp:.1f}x faster; cnncalc.load composes)")  # fmt: skip
    print()
    print("9. scaling with depth, graph-shaped: input [16, H, W], H = W = 224, residual units written once as a block")
    print("   and chained with repeat, each conv3x3 (no bias) + BN + ReLU + add with the unit's input (medians)")
    print_scaling(graph_scaling)
    print()
    print(
        f"10. bundled architectures: load (a bundled name: read, parse, build) and numeric summary, ms, "
        f"median and fastest of {zreps}"
    )
    zwidth = max(len(z[0]) for z in zoo)
    print(
        f"  {'name':<{zwidth}}  {'layers':>6}  {'params':>12}  {'load':>6} {'fastest':>7}  "
        f"{'summarize':>9} {'fastest':>7}  {'us/layer':>8}"
    )
    for z in zoo:
        if len(z) == 2:
            print(f"  {z[0]:<{zwidth}}  FAILED: {z[1]}")
            continue
        zname, zlayers, zparams, zload, zsum = z
        print(
            f"  {zname:<{zwidth}}  {zlayers:>6,}  {zparams:>12,}  {statistics.median(zload) * 1e3:>6.2f} "
            f"{min(zload) * 1e3:>7.2f}  {statistics.median(zsum) * 1e3:>9.2f} {min(zsum) * 1e3:>7.2f}  "
            f"{statistics.median(zsum) / zlayers * 1e6:>8.1f}"
        )
    zok = [z for z in zoo if len(z) == 5]
    print(
        f"  {len(zok)} of {len(zoo)} loaded, {sum(z[1] for z in zok):,} layers; load + summarize of all of them: "
        f"{sum(statistics.median(z[3]) + statistics.median(z[4]) for z in zok) * 1e3:.0f} ms (medians), "
        f"{sum(min(z[3]) + min(z[4]) for z in zok) * 1e3:.0f} ms (fastest)"
    )
    print(
        "  (us/layer: the median summarize time per layer. On a busy machine a run of a few ms can lose whole"
        " scheduler slices to other processes: the fastest run is the cleanest figure)"
    )

    print()
    print("checks and spread:")
    macs_with_bias = numeric.total.macs + numeric.total.neurons
    print(f"  VGG16 params: cnncalc {numeric.total.params:,}, torchinfo {ti.total_params:,} -> "
          f"{'match' if numeric.total.params == ti.total_params == PARAMS else 'DIFFER'}")  # fmt: skip
    print(f"  VGG16 MACs: cnncalc {numeric.total.macs:,} (bias excluded) + {numeric.total.neurons:,} bias adds = "
          f"{macs_with_bias:,}; torchinfo {ti.total_mult_adds:,} -> "
          f"{'match' if macs_with_bias == ti.total_mult_adds else 'DIFFER'}")  # fmt: skip
    print(f"  symbolic VGG16 at H = W = 224 equals the numeric summary: {symbolic_agrees}")
    print(f"  torchinfo.summary runs, VGG16: {', '.join(fmt_time(t) for t in ti_runs)}; against the fastest, "
          f"figure 1 is {fmt_ratio(t_numeric / min(ti_runs))}, figure 3 {fmt_ratio(t_symbolic / min(ti_runs))}")  # fmt: skip
    print(f"  cnncalc before torch was imported: numeric {fmt_time(t_numeric_alone)}, symbolic {fmt_time(t_symbolic_alone)}; "
          f"first symbolic run (imports sympy) {fmt_time(t_first_symbolic)}; numeric run imports sympy: {sympy_after_numeric}")  # fmt: skip
    # torchinfo counts BatchNorm's weight and bias once each as mult-adds (batch x numel), and a
    # linear layer's bias once per output; cnncalc's MACs count neither (ResNet's convs have no bias).
    bn152 = sum(r.params for r in numeric152.rows if r.kind == "batchnorm2d")
    fc_bias152 = sum(r.activations for r in numeric152.rows if r.kind == "linear")
    macs152 = numeric152.total.macs + bn152 + fc_bias152
    print(f"  ResNet-152 params: cnncalc {numeric152.total.params:,}, torchinfo {ti152.total_params:,}, "
          f"plain torch {torch_params152:,} -> "
          f"{'match' if numeric152.total.params == ti152.total_params == RESNET152_PARAMS else 'DIFFER'}")  # fmt: skip
    print(f"  ResNet-152 MACs: cnncalc {numeric152.total.macs:,} + {fc_bias152:,} fc bias adds + {bn152:,} BatchNorm "
          f"weights and biases = {macs152:,}; torchinfo {ti152.total_mult_adds:,} -> "
          f"{'match' if macs152 == ti152.total_mult_adds else 'DIFFER'}")  # fmt: skip
    last152 = next(r for r in symbolic152.rows if r.name == "avgpool")
    print(f"  symbolic ResNet-152 at H = W = 224 equals the numeric summary: {symbolic152_agrees}; "
          f"{len(symbolic152.rows)} rows; avgpool's input [{', '.join(str(v) for v in last152.input)}]")  # fmt: skip
    print(f"  torchinfo.summary runs, ResNet-152: {', '.join(fmt_time(t) for t in ti152_runs)}; against the fastest, "
          f"figure 6 is {fmt_ratio(t_numeric152 / min(ti152_runs))}, "
          f"figure 7 {fmt_ratio(t_symbolic152 / min(ti152_runs))}")  # fmt: skip
    print(f"  ResNet-152 before torch was imported: load {fmt_time(t_load152)} (first), numeric {fmt_time(t_numeric152_alone)}, "
          f"symbolic {fmt_time(t_symbolic152_alone)}")  # fmt: skip
    rss_how = "GNU time %M" if os.access(GNU_TIME, os.X_OK) else "wait4 ru_maxrss, INFLATED by this process's own peak"
    for label, runs_ in (("VGG16", procs), ("ResNet-152", procs152)):
        print(
            f"  whole-process runs {label}, wall s/CPU s/peak MiB ({rss_how}): "
            f"cnncalc {', '.join(f'{r.wall:.2f}/{r.cpu:.2f}/{r.rss / 1024:.0f}' for r in runs_['cnncalc'])}; "
            f"torch {', '.join(f'{r.wall:.2f}/{r.cpu:.2f}/{r.rss / 1024:.0f}' for r in runs_['torch'])}"
        )
    print(
        f"  cnncalc process: interpreter start-up {startup['python']:.3f} s, + import cnncalc.cli "
        f"{startup['import'] - startup['python']:.3f} s, + load/summarize/render/print ~{max(c_wall - startup['import'], 0):.3f} s "
        f"for VGG16, ~{max(c_wall152 - startup['import'], 0):.3f} s for ResNet-152 "
        "(differences of medians; cnncalc byte-compiled as an install leaves it"
        f"{'' if compiled else ': COMPILING FAILED'}, PYTHONDONTWRITEBYTECODE "
        f"{'set' if os.environ.get('PYTHONDONTWRITEBYTECODE') else 'unset'}); "
        "the import, step by step in one run: " + ", ".join(f"{k} {v * 1e3:.0f} ms" for k, v in heavy.items())
    )
    print(
        "  the summarize command run in-process (load, summarize, render the text table into a buffer; no start-up): "
        + ", ".join(
            f"{net} {fmt_time(command_work[net])} ({command_chars[net]:,} characters)" for net in ("vgg16", "resnet152")
        )
    )
    ok_out = all(r.ok for r in procs["cnncalc"] + procs["torch"])
    ok_out152 = all(r.ok for r in procs152["cnncalc"] + procs152["torch"])
    print(f"  every child process exited 0 and printed its total: VGG16 138,357,544 {ok_out}, "
          f"ResNet-152 60,192,808 {ok_out152}")  # fmt: skip
    print()
    verdict = "all targets met" if report.failed == 0 else f"{report.failed} target(s) missed"
    print(f"{verdict}; the benchmark took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
