#!/usr/bin/env python
"""cnncalc against torchinfo, measured in one run: prints figures, ratios and PASS/FAIL per target.

A benchmark, not a test: a missed target is printed as FAIL and the run still exits 0.

    python benchmarks/bench_torchinfo.py           # full run (about a minute on 2 cores)
    python benchmarks/bench_torchinfo.py --quick   # fewer repeats

Needs cnncalc with its bench extra (torchinfo, numpy) and torch; see benchmarks/README.md.
Every cnncalc figure measured in-process is taken before torch is imported, so torch's modules
are not in the way of cnncalc's garbage collections; torch and torchinfo are imported afterwards.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata as metadata
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
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PARAMS = 138_357_544  # VGG16, torchvision's count

# torchvision's vgg16 layout (features, avgpool, flatten, classifier) as one flat nn.Sequential,
# without torchvision. The same source builds the model in-process and in the child script.
VGG16_SOURCE = '''
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
'''

TORCH_SCRIPT = (
    "import torch\nimport torchinfo\n"
    + VGG16_SOURCE
    + "\n\ntorchinfo.summary(vgg16(), input_size=(1, 3, 224, 224))  # verbose default: prints the table\n"
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


def median_time(fn: Callable[[], Any], repeat: int, before: Callable[[], Any] | None = None) -> float:
    """Median of ``repeat`` single calls; ``before`` runs untimed ahead of each one."""
    samples = []
    for _ in range(repeat):
        if before is not None:
            before()
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def run_process(argv: list[str], expect: str) -> tuple[float, int, bool]:
    """Wall time (s), peak RSS (KiB, from wait4's rusage of this child alone) and whether the
    output contained ``expect``."""
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        text = out.read().decode(errors="replace")
    return wall, usage.ru_maxrss, proc.returncode == 0 and expect in text


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
        line = "  ".join(
            f"{{:{'<' if i == 0 else '>'}{w}}}" if i != 5 else f"{{:<{w}}}" for i, w in enumerate(widths)
        )
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

    import cnncalc  # noqa: I001  (sympy is not imported by a numeric run)

    notes: list[str] = []
    report = Report()

    # 1. numeric summary in-process ------------------------------------------------------------
    log("cnncalc numeric summary")
    arch = cnncalc.load("vgg16")
    numeric = arch.summarize()
    sympy_after_numeric = "sympy" in sys.modules
    t_numeric = per_call(arch.summarize, number=50 if q else 200, repeat=5 if q else 9)

    # 3. symbolic summary in-process -----------------------------------------------------------
    log("cnncalc symbolic summary (sympy cache cleared before each run)")
    t0 = time.perf_counter()
    symbolic = arch.summarize(symbolic=True)  # warm-up: imports sympy
    t_first_symbolic = time.perf_counter() - t0
    from sympy.core.cache import clear_cache

    t_symbolic = median_time(lambda: arch.summarize(symbolic=True), repeat=10 if q else 30, before=clear_cache)
    same = symbolic.subs(H=224, W=224)
    symbolic_agrees = same.total == numeric.total and [r.output for r in same.rows] == [r.output for r in numeric.rows]

    # 4. scaling with depth --------------------------------------------------------------------
    scaling = []
    for n, reps in ((100, 3 if q else 7), (1_000, 3 if q else 5), (10_000, 1 if q else 3)):
        log(f"scaling: {n:,} layers")
        text = deep_yaml(n)
        gc.collect()
        t_load = median_time(lambda text=text: cnncalc.load(text), reps, before=gc.collect)
        deep = cnncalc.load(text)
        t_sum = median_time(deep.summarize, reps, before=gc.collect)
        t_sym = median_time(
            lambda deep=deep: deep.summarize(symbolic=True), reps, before=lambda: (clear_cache(), gc.collect())
        )
        out_num = deep.summarize().rows[-1].output
        out_sym = deep.summarize(symbolic=True).rows[-1].output
        scaling.append((n, len(text), t_load, t_sum, t_sym, out_num, out_sym))

    log("symbolic chain of 1,100 layers with strided ops")
    chain_text = strided_chain_yaml(100)
    chain = cnncalc.load(chain_text)
    clear_cache()
    t0 = time.perf_counter()
    chain_sym = chain.summarize(symbolic=True)
    t_chain = time.perf_counter() - t0
    chain_num = chain.summarize()
    chain_out = chain_sym.rows[-1].output
    chain_depth = max(floor_depth(v) for row in chain_sym.rows for v in (*row.output, row.macs))
    chain_agrees = chain_sym.subs(**chain.symbols).rows[-1].output == chain_num.rows[-1].output

    # 5. YAML parsing --------------------------------------------------------------------------
    import yaml

    log("YAML: CSafeLoader vs SafeLoader")
    big = scaling[-1]
    big_text = deep_yaml(big[0])
    yreps = 1 if q else 3
    t_cload = median_time(lambda: yaml.load(big_text, Loader=yaml.CSafeLoader), yreps, before=gc.collect)
    t_pyload = median_time(lambda: yaml.load(big_text, Loader=yaml.SafeLoader), yreps, before=gc.collect)
    t_ccomp = median_time(lambda: yaml.compose(big_text, Loader=yaml.CSafeLoader), yreps, before=gc.collect)
    t_pycomp = median_time(lambda: yaml.compose(big_text, Loader=yaml.SafeLoader), yreps, before=gc.collect)

    # 2. whole process -------------------------------------------------------------------------
    cli = Path(sys.executable).parent / "cnncalc"
    if not cli.exists():
        cli = Path(shutil.which("cnncalc") or "cnncalc")
    runs = 3 if q else 5
    procs: dict[str, list[tuple[float, int, bool]]] = {"cnncalc": [], "torch": []}
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "torchinfo_vgg16.py"
        script.write_text(TORCH_SCRIPT)
        argv = {"cnncalc": [str(cli), "summarize", "vgg16"], "torch": [sys.executable, str(script)]}
        log("whole process: warm-up of each (page cache)")
        for key in argv:
            run_process(argv[key], "138,357,544")
        for i in range(runs):
            log(f"whole process: run {i + 1}/{runs} of each")
            for key in argv:  # alternate, so drift hits both alike
                procs[key].append(run_process(argv[key], "138,357,544"))

    # torchinfo in-process (torch imported only now) -------------------------------------------
    log("importing torch and torchinfo; building VGG16")
    import torch
    import torchinfo

    namespace: dict[str, Any] = {}
    exec(VGG16_SOURCE, namespace)
    model = namespace["vgg16"]()
    log("torchinfo.summary: warm-up and timed runs")
    ti = torchinfo.summary(model, input_size=(1, 3, 224, 224), verbose=0)
    t_torchinfo = median_time(
        lambda: torchinfo.summary(model, input_size=(1, 3, 224, 224), verbose=0), repeat=3 if q else 5
    )

    # --- report --------------------------------------------------------------------------------
    cpus = os.cpu_count()
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
    print("cnncalc vs torchinfo" + (" (--quick)" if q else ""))
    print(
        f"python {platform.python_version()} ({platform.python_implementation()}), torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), torchinfo {version('torchinfo')}, cnncalc {cnncalc.__version__}, "
        f"sympy {version('sympy')}, PyYAML {version('PyYAML')} (libyaml: {'yes' if hasattr(yaml, 'CSafeLoader') else 'no'})"
    )
    print(f"{platform.platform()}, {cpus} CPUs ({affinity} usable)")
    print()

    report.add("1. numeric summary, VGG16, in-process", fmt_time(t_numeric), fmt_time(t_torchinfo),
               t_numeric / t_torchinfo, 0.01)  # fmt: skip
    c_wall = statistics.median(r[0] for r in procs["cnncalc"])
    t_wall = statistics.median(r[0] for r in procs["torch"])
    c_rss = statistics.median(r[1] for r in procs["cnncalc"])
    t_rss = statistics.median(r[1] for r in procs["torch"])
    report.add(f"2a. whole process, wall time (median of {runs})", f"{c_wall:.3f} s", f"{t_wall:.3f} s",
               c_wall / t_wall, 0.10)  # fmt: skip
    report.add(f"2b. whole process, peak RSS (median of {runs})", f"{c_rss / 1024:.1f} MiB", f"{t_rss / 1024:.1f} MiB",
               c_rss / t_rss, 0.10)  # fmt: skip
    report.add("3. symbolic summary, VGG16, in-process", fmt_time(t_symbolic), fmt_time(t_torchinfo),
               t_symbolic / t_torchinfo, 0.1)  # fmt: skip
    report.print()

    print()
    print("4. scaling with depth (input [8, H, W], H = W = 4096; symbolic: sympy cache cleared; medians)")
    head = f"  {'layers':>7}  {'YAML':>7}  {'load':>9} {'ms/layer':>8}  {'summarize':>9} {'ms/layer':>8}  {'symbolic':>9} {'ms/layer':>8}"
    print(head)
    for n, size, t_load, t_sum, t_sym, _, _ in scaling:
        print(
            f"  {n:>7,}  {size / 1024:>5.0f}KB  {fmt_time(t_load):>9} {t_load / n * 1e3:>8.4f}  "
            f"{fmt_time(t_sum):>9} {t_sum / n * 1e3:>8.4f}  {fmt_time(t_sym):>9} {t_sym / n * 1e3:>8.4f}"
        )
    (n1, _, l1, s1, y1, _, _), (n2, _, l2, s2, y2, _, _) = scaling[-2], scaling[-1]
    growth = {"load": (l2 / n2) / (l1 / n1), "summarize": (s2 / n2) / (s1 / n1), "symbolic": (y2 / n2) / (y1 / n1)}
    print(
        f"  ms/layer at {n2:,} / ms/layer at {n1:,}: "
        + ", ".join(f"{k} {v:.2f}" for k, v in growth.items())
        + "  (1.00 = linear; > 1.5 = worse than linear)"
    )
    print(f"  last output at {n2:,} layers: numeric {list(scaling[-1][5])}, symbolic {list(scaling[-1][6])}")
    print()
    print(f"4b. symbolic chain, {len(chain.layers):,} layers, 10 strided ops (strides 2 and 3, floor and ceil mode)")
    print(f"  symbolic summary {fmt_time(t_chain)} (cache cleared); deepest floor nesting in any shape or MACs: {chain_depth}")
    print(f"  last output: [{', '.join(str(v) for v in chain_out)}]")
    print(f"  at the defaults {chain.symbols}: {list(chain_num.rows[-1].output)}, symbolic substituted agrees: {chain_agrees}")
    print()
    print(f"5. YAML parsing of the {n2:,}-layer text ({len(big_text) / 1024:.0f} KB), median of {yreps}")
    print(f"  yaml.load:    CSafeLoader {fmt_time(t_cload)}, SafeLoader {fmt_time(t_pyload)}, ratio {fmt_ratio(t_cload / t_pyload)} "
          f"(libyaml {t_pyload / t_cload:.1f}x faster)")  # fmt: skip
    print(f"  yaml.compose: CSafeLoader {fmt_time(t_ccomp)}, SafeLoader {fmt_time(t_pycomp)}, ratio {fmt_ratio(t_ccomp / t_pycomp)} "
          f"(libyaml {t_pycomp / t_ccomp:.1f}x faster; compose is what cnncalc.load calls)")  # fmt: skip

    print()
    print("checks:")
    macs_with_bias = numeric.total.macs + numeric.total.neurons
    print(f"  params: cnncalc {numeric.total.params:,}, torchinfo {ti.total_params:,} -> "
          f"{'match' if numeric.total.params == ti.total_params == PARAMS else 'DIFFER'}")  # fmt: skip
    print(f"  MACs: cnncalc {numeric.total.macs:,} (bias excluded) + {numeric.total.neurons:,} bias adds = "
          f"{macs_with_bias:,}; torchinfo {ti.total_mult_adds:,} -> "
          f"{'match' if macs_with_bias == ti.total_mult_adds else 'DIFFER'}")  # fmt: skip
    print(f"  symbolic VGG16 at H = W = 224 equals the numeric summary: {symbolic_agrees}")
    ok_out = all(r[2] for r in procs["cnncalc"] + procs["torch"])
    print(f"  every child process exited 0 and printed 138,357,544: {ok_out}")
    print(f"  sympy imported by the numeric run: {sympy_after_numeric}; first symbolic run (imports sympy): "
          f"{fmt_time(t_first_symbolic)}")  # fmt: skip
    for note in notes:
        print(f"  {note}")
    print()
    verdict = "all targets met" if report.failed == 0 else f"{report.failed} target(s) missed"
    print(f"{verdict}; benchmark took {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
