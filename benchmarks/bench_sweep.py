#!/usr/bin/env python
"""Sweeps: ResNet-50's totals (params, MACs, activations) over many input sizes, side by side.

    python benchmarks/bench_sweep.py           # about a minute on 2 cores
    python benchmarks/bench_sweep.py --quick   # fewer points

Figures, in configurations (H, W) per second:
1. ``arch.sweep(...)`` with numpy (the compiled closed forms on int64 arrays), 4,194,304 points;
2. the same with ``engine="python"`` (the compiled closed forms on Python ints);
3. a loop of numeric summaries, ``arch.summarize(H=h, W=w).total``, as a user would write it;
4. a loop of ``Summary.subs(H=h, W=w)`` on one symbolic summary;
5. torchinfo per configuration: ``torchinfo.summary(model, input_size=(1, 3, h, w))`` on the same
   ResNet-50 built by cnncalc's PyTorch backend (skipped, and said so, without torch and torchinfo).
Then exactness: a random sample of sweep points (large sizes included) against the numeric
evaluator, and torchinfo's parameters and MACs beside the sweep's at one size (the parameters agree;
torchinfo's MACs are larger by a few ten thousand, its own convention of counting BatchNorm and
bias terms - cnncalc's MACs count conv and linear weights only, as its conventions say).

A benchmark, not a test: goals (>= 1e6 configurations/s with numpy, >= 1e5 without) print PASS or
FAIL and the run exits 0.
"""

from __future__ import annotations

import argparse
import platform
import random
import time
from collections.abc import Callable

import cnncalc

GOALS = {"numpy": 1e6, "python": 1e5}


def rate(label: str, count: int, seconds: float, goal: float | None = None) -> float:
    per_second = count / seconds
    verdict = "" if goal is None else ("  PASS" if per_second >= goal else "  FAIL") + f" (goal >= {goal:,.0f}/s)"
    shown = f"{per_second:>14,.0f}" if per_second >= 10 else f"{per_second:>14.3g}"
    print(f"{label:<52} {count:>10,} configs in {seconds:8.3f} s = {shown}/s{verdict}")
    return per_second


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer points")
    args = parser.parse_args()
    side = 1024 if args.quick else 2048
    arch = cnncalc.load("resnet50")
    print(f"ResNet-50, H and W in 1..{side} (every pair), Python {platform.python_version()}, {platform.machine()}")
    grid = {"H": f"1:{side}", "W": f"1:{side}"}
    arch.sweep(H="1:8", W="1:8")  # warm-up: sympy import, the symbolic evaluation, constraints
    n = side * side
    numpy_rate = rate("1. sweep, numpy engine", n, timed(lambda: arch.sweep(grid, engine="numpy")), GOALS["numpy"])
    small = {"H": "1:512", "W": "1:256"}
    python_rate = rate(
        "2. sweep, python engine", 512 * 256, timed(lambda: arch.sweep(small, engine="python")), GOALS["python"]
    )
    rng = random.Random(5)
    points = [(rng.randint(32, 1024), rng.randint(32, 1024)) for _ in range(100 if args.quick else 300)]
    loop = rate(
        "3. loop of arch.summarize(H=h, W=w)",
        len(points),
        timed(lambda: [arch.summarize(H=h, W=w).total for h, w in points]),
    )
    symbolic = arch.summarize(symbolic=True)
    few = points[:20]
    subs = rate(
        "4. loop of Summary.subs(H=h, W=w)", len(few), timed(lambda: [symbolic.subs(H=h, W=w).total for h, w in few])
    )
    print(
        f"   numpy sweep vs 3: {numpy_rate / loop:,.0f}x; vs 4: {numpy_rate / subs:,.0f}x; python sweep vs 3: {python_rate / loop:,.0f}x"
    )
    torchinfo_rate = _torchinfo(arch, points[:5])
    if torchinfo_rate:
        print(
            f"   numpy sweep vs torchinfo: {numpy_rate / torchinfo_rate:,.0f}x; python sweep: {python_rate / torchinfo_rate:,.0f}x"
        )
    _exactness(arch, rng)


def _torchinfo(arch: cnncalc.Architecture, points: list[tuple[int, int]]) -> float | None:
    try:
        import torch
        import torchinfo
    except ImportError:
        print("5. torchinfo per configuration: skipped (pip install torch==2.13.0 torchinfo)")
        return None
    model = arch.to_torch().eval()
    with torch.no_grad():
        torchinfo.summary(model, input_size=(1, 3, 224, 224), verbose=0)  # warm-up
        seconds = timed(lambda: [torchinfo.summary(model, input_size=(1, 3, h, w), verbose=0) for h, w in points])
        found = rate("5. torchinfo.summary per configuration", len(points), seconds)
        row = arch.sweep(H=points[0][0], W=points[0][1])[0]
        info = torchinfo.summary(model, input_size=(1, 3, *points[0]), verbose=0)
    print(
        f"   at H, W = {points[0]}: torchinfo params {info.total_params:,} MACs {info.total_mult_adds:,}; "
        f"sweep params {row['params']:,} MACs {row['macs']:,}"
    )
    return found


def _exactness(arch: cnncalc.Architecture, rng: random.Random) -> None:
    sample = [(rng.randint(1, 5000), rng.randint(1, 5000)) for _ in range(300)] + [(10**9 + 7, 3), (2**40, 2**40 + 1)]
    agree = 0
    for h, w in sample:
        row = arch.sweep(H=[h, h + 1], W=w, engine="numpy")[0]
        total = arch.summarize(H=h, W=w).total
        agree += (row["params"], row["macs"], row["activations"]) == (total.params, total.macs, total.activations)
    print(f"exactness: {agree} of {len(sample)} random points equal the numeric evaluator (large sizes included)")


if __name__ == "__main__":
    main()
