#!/usr/bin/env python
"""cnncalc's own speed, without torch: in-process figures and the whole command, optionally against a baseline.

    python benchmarks/bench_core.py                    # the working tree alone
    python benchmarks/bench_core.py --baseline HEAD    # HEAD and the working tree, side by side, in one run
    python benchmarks/bench_core.py --baseline HEAD --quick --json core.json

Each tree is measured in its own child processes, with PYTHONPATH pointing at that tree and the
current directory outside the repository, so that each imports its own ``cnncalc`` and finds its own
bundled architectures (the report prints which ``cnncalc/__init__.py`` each side imported). A
baseline revision is checked out with ``git worktree add --detach`` into a temporary folder that is
removed at the end, even on failure. The two trees' runs are interleaved (A B A B ...), so that a
slow spell of a shared machine weighs on both alike. Only the public API is used (``cnncalc.load``,
``Architecture.summarize``), so that the script runs on an old layout and a restructured one.

Standard library only; neither this script nor its children import torch. A benchmark, not a test:
a figure beyond the tolerance is printed as such and the run still exits 0.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve()
GNU_TIME = "/usr/bin/time"
EXPECT = "60,192,808"  # ResNet-152's parameter count, printed by `cnncalc summarize resnet152`
SAMPLE_TARGET = 0.01  # s: a sample of an in-process figure repeats its call to take about this long

# In-process figures, in report order: (key, label). The worker (below) knows how to run each one.
IN_PROCESS = (
    ("resnet152_numeric", "ResNet-152 summarize()"),
    ("resnet152_symbolic", "ResNet-152 summarize(symbolic=True)*"),
    ("vgg16_numeric", "VGG16 summarize()"),
    ("vgg16_symbolic", "VGG16 summarize(symbolic=True)*"),
    ("resnet152_load", 'cnncalc.load("resnet152")'),
)
WHOLE = (
    ("process_wall", "process: wall time"),
    ("process_cpu", "process: CPU time (user + sys)"),
    ("process_rss", "process: peak RSS"),
)
LABELS = dict(IN_PROCESS + WHOLE)


# --- the worker: runs in a child process, with PYTHONPATH set to one tree ---------------------------


def worker() -> None:
    """Answer JSON requests, one a line on stdin, one JSON answer a line on the original stdout.

    Requests: {"op": "setup"}, {"op": "sample", "figure": key, "number": n, "count": k},
    {"op": "finish"}. Anything cnncalc might print goes to stderr, never into the answers.
    """
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    figures: dict[str, tuple[Callable[[], Any], Callable[[], Any] | None]] = {}
    for line in sys.stdin:
        request = json.loads(line)
        try:
            if request["op"] == "setup":
                answer = worker_setup(figures)
            elif request["op"] == "sample":
                fn, before = figures[request["figure"]]
                answer = {"samples": [sample(fn, before, request["number"]) for _ in range(request["count"])]}
            elif request["op"] == "finish":
                answer = {"torch_imported": "torch" in sys.modules, "modules": len(sys.modules)}
            else:
                answer = {"error": f"unknown request {request!r}"}
        except Exception as err:  # reported by the parent, with the tree it came from
            import traceback

            answer = {"error": f"{type(err).__name__}: {err}\n{traceback.format_exc()}"}
        answers.write(json.dumps(answer) + "\n")
        if request["op"] == "finish":
            break


def worker_setup(figures: dict[str, tuple[Callable[[], Any], Callable[[], Any] | None]]) -> dict[str, Any]:
    """Import cnncalc, load both networks, warm every figure up; fill ``figures``; describe this tree."""
    import cnncalc

    resnet = cnncalc.load("resnet152")
    vgg = cnncalc.load("vgg16")
    totals = {}
    for net, arch in (("resnet152", resnet), ("vgg16", vgg)):
        summary = arch.summarize()
        total = getattr(summary, "total", None)
        totals[net] = {
            "rows": len(getattr(summary, "rows", ())),
            "params": getattr(total, "params", None),
            "macs": getattr(total, "macs", None),
        }
    resnet.summarize(symbolic=True)  # the first symbolic run imports sympy
    from sympy.core.cache import clear_cache  # sympy is cnncalc's own dependency

    figures.update(
        resnet152_numeric=(resnet.summarize, None),
        resnet152_symbolic=(lambda: resnet.summarize(symbolic=True), clear_cache),
        vgg16_numeric=(vgg.summarize, None),
        vgg16_symbolic=(lambda: vgg.summarize(symbolic=True), clear_cache),
        resnet152_load=(lambda: cnncalc.load("resnet152"), None),
    )
    for fn, before in figures.values():  # warm-up
        sample(fn, before, 2)
    # Everything so far (imports, the loaded networks) lives to the end: out of the collector's way, so
    # that the collection before each sample costs little and the samples see only their own garbage.
    gc.collect()
    gc.freeze()
    # The fastest of 5 calls: what sets how many calls make a sample (in the parent, from the first tree).
    estimates = {key: min(sample(fn, before, 1) for _ in range(5)) for key, (fn, before) in figures.items()}
    try:  # informational only: where this tree's bundled resnet152.yaml is (cnncalc.bundled may move)
        where = str(cnncalc.bundled()["resnet152"])
    except Exception:
        where = "n/a (cnncalc.bundled() not available)"
    import sympy

    return {
        "cnncalc_file": cnncalc.__file__,
        "cnncalc_version": getattr(cnncalc, "__version__", "?"),
        "resnet152_yaml": where,
        "sympy_version": sympy.__version__,
        "totals": totals,
        "estimates": estimates,
    }


def sample(fn: Callable[[], Any], before: Callable[[], Any] | None, number: int) -> float:
    """The mean time of ``number`` calls of ``fn`` (s); ``before`` runs untimed ahead of each call.
    The garbage collector is run before the sample and stays on during it (as in normal use)."""
    gc.collect()
    total = 0.0
    for _ in range(number):
        if before is not None:
            before()
        t0 = time.perf_counter()
        fn()
        total += time.perf_counter() - t0
    return total / number


# --- the parent: trees, workers, whole processes -----------------------------------------------------


def log(message: str) -> None:
    print(f"  .. {message}", file=sys.stderr, flush=True)


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=True).stdout.strip()


class Tree(NamedTuple):
    """A source tree to measure."""

    key: str  # "baseline" or "tree"
    label: str  # for the report
    path: Path
    revision: str  # what it is: a commit, or the working tree and its state


@contextlib.contextmanager
def worktree(rev: str, folder: Path, name: str) -> Iterator[tuple[Path, str]]:
    """A detached ``git worktree`` of ``rev`` in ``folder/name``, removed on the way out."""
    try:
        commit = git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except subprocess.CalledProcessError:
        raise RuntimeError(f"{rev!r} is not a commit of {ROOT}") from None
    path = folder / name
    log(f"git worktree add --detach {path} {rev} ({commit[:10]})")
    git("worktree", "add", "--detach", "--quiet", str(path), commit)
    try:
        subject = git("log", "-1", "--format=%s", commit)
        yield path, f"{rev} = {commit[:10]} {subject[:70] + '...' if len(subject) > 70 else subject}"
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            git("worktree", "remove", "--force", str(path))
        shutil.rmtree(path, ignore_errors=True)
        with contextlib.suppress(subprocess.CalledProcessError):
            git("worktree", "prune")


def working_tree_state() -> str:
    head = git("log", "-1", "--format=%h", "HEAD")
    changed = [line for line in git("status", "--porcelain", "--untracked-files=all").splitlines() if line.strip()]
    return f"working tree (HEAD {head}" + (f" + {len(changed)} uncommitted file(s))" if changed else ", clean)")


def child_env(tree: Path, pycache: Path | None = None) -> dict[str, str]:
    """The environment of a child measuring ``tree``: PYTHONPATH is that tree alone.

    With ``pycache``, byte code is read from and written to that folder (PYTHONPYCACHEPREFIX), never
    into the trees: the trees are not touched, and each process does not compile cnncalc again as it
    would under PYTHONDONTWRITEBYTECODE (these machines set it) with no byte code anywhere.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tree)
    env.pop("PYTHONHOME", None)
    if pycache is not None:
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


class Worker:
    """A child process measuring one tree's in-process figures, driven by JSON lines."""

    def __init__(self, tree: Tree, cwd: Path) -> None:
        self.tree = tree
        # -P: the script's folder is not put on sys.path; cwd is outside the repository.
        self.proc = subprocess.Popen(
            [sys.executable, "-P", str(SCRIPT), "--worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=cwd,
            env=child_env(tree.path),
        )

    def ask(self, **request: Any) -> dict[str, Any]:
        stdin, stdout = self.proc.stdin, self.proc.stdout
        assert stdin is not None and stdout is not None
        stdin.write(json.dumps(request) + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise RuntimeError(f"the {self.tree.label} worker died (exit {self.proc.wait()}); see its stderr above")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"the {self.tree.label} worker failed: {answer['error']}")
        return answer

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


class Run(NamedTuple):
    """One whole-process run."""

    wall: float  # s
    cpu: float  # user + system, s
    rss: int  # peak RSS, KiB
    ok: bool  # exited 0 and printed ResNet-152's parameter count


def run_process(argv: list[str], env: dict[str, str], cwd: Path) -> Run:
    """Wall time, CPU time (wait4, children included) and peak RSS (GNU time's %M) of one command.

    Peak RSS is not taken from wait4 or getrusage(RUSAGE_CHILDREN) on a direct child when GNU time is
    there: Linux keeps a process's peak RSS across exec, so a child forked from this script would start
    with this script's peak; RUSAGE_CHILDREN is moreover the largest of all children so far, not this run's.
    """
    use_time = os.access(GNU_TIME, os.X_OK)
    with tempfile.TemporaryFile() as out, tempfile.NamedTemporaryFile("r") as rss_file:
        cmd = [GNU_TIME, "-f", "%M", "-o", rss_file.name, *argv] if use_time else argv
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        text = out.read().decode(errors="replace")
        rss = int(rss_file.read().split()[-1]) if use_time else usage.ru_maxrss
    return Run(wall, usage.ru_utime + usage.ru_stime, rss, proc.returncode == 0 and EXPECT in text)


# --- statistics and the report ------------------------------------------------------------------------


def stats(samples: list[float]) -> dict[str, Any]:
    q1, _, q3 = statistics.quantiles(samples, n=4) if len(samples) > 1 else (samples[0],) * 3
    return {
        "median": statistics.median(samples),
        "q1": q1,
        "q3": q3,
        "min": min(samples),
        "n": len(samples),
        "samples": samples,
    }


def unit(key: str, like: float) -> tuple[float, str, int]:
    """How to print figure ``key``'s values of the size of ``like``: factor, unit, decimals."""
    if key == "process_rss":
        return 1 / 1024, "MiB", 1
    factor, name = (1e6, "us") if like < 1e-3 else (1e3, "ms") if like < 1 else (1.0, "s")
    scaled = like * factor
    return factor, name, 3 if scaled < 10 else 2 if scaled < 100 else 1


def cell(key: str, s: dict[str, Any]) -> str:
    """Median [first quartile - third quartile], in the median's unit."""
    factor, name, d = unit(key, s["median"])
    return f"{s['median'] * factor:.{d}f} {name} [{s['q1'] * factor:.{d}f}-{s['q3'] * factor:.{d}f}]"


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def print_table(rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def ratios(base: dict[str, Any], tree: dict[str, Any], chunk: int) -> dict[str, Any]:
    """Tree over baseline: of the medians, of the minima, and paired: the median over the rounds of the
    ratio of the two trees' medians in that round (``chunk`` samples each, taken one after the other),
    which cancels a slow spell that lasted a round or more."""
    a, b = base["samples"], tree["samples"]
    paired = [
        statistics.median(b[i : i + chunk]) / statistics.median(a[i : i + chunk]) for i in range(0, len(a), chunk)
    ]
    q1, _, q3 = statistics.quantiles(paired, n=4) if len(paired) > 1 else (paired[0],) * 3
    return {
        "median": tree["median"] / base["median"],
        "min": tree["min"] / base["min"],
        "paired": statistics.median(paired),
        "paired_q1": q1,
        "paired_q3": q3,
        "pairs": len(paired),
    }


def verdict(r: dict[str, Any], tolerance: float) -> str:
    """Within the tolerance or not, judged on the paired ratio, with its spread and the other two beside it."""
    ratio = r["paired"]
    text = f"{'within' if ratio <= 1 + tolerance else 'BEYOND'} {tolerance:.0%}: "
    text += f"paired {ratio:.3f}x ({(ratio - 1) * 100:+.1f}%"
    text += f", rounds' IQR {r['paired_q1']:.3f}-{r['paired_q3']:.3f} over {r['pairs']})"
    if ratio < 1 - tolerance:
        text += f", faster by more than {tolerance:.0%}"
    return text + f"; medians {r['median']:.3f}x, minima {r['min']:.3f}x"


# --- main -----------------------------------------------------------------------------------------------


def measure(args: argparse.Namespace, trees: list[Tree], scratch: Path) -> dict[str, Any]:
    """Every figure of every tree, interleaved; returns the results (as saved by --json)."""
    q = args.quick
    sessions = args.sessions or (1 if q else 6)
    rounds = args.rounds or (3 if q else 6)
    per_round = 3 if q else 5
    runs = args.runs or (3 if q else 25)
    cwd = scratch / "cwd"  # an empty folder outside the repository: no `cnncalc` or `resnet152` in it
    cwd.mkdir()
    result: dict[str, Any] = {t.key: {"label": t.label, "path": str(t.path), "revision": t.revision} for t in trees}

    # In-process figures: in each session, one fresh worker process per tree, asked in turn (A B A B ...).
    # Several sessions, so that what differs between two processes of the same code (memory layout, hash
    # seed) is averaged over several processes on each side rather than taken as the trees' difference.
    samples: dict[str, dict[str, list[float]]] = {t.key: {key: [] for key, _ in IN_PROCESS} for t in trees}
    numbers: dict[str, int] = {}
    for session in range(sessions):
        workers = [Worker(t, cwd) for t in trees]
        try:
            for w in workers:
                log(f"session {session + 1}/{sessions}, {w.tree.label}: import cnncalc, load the networks, warm up")
                info = w.ask(op="setup")
                expected = w.tree.path.resolve() / "cnncalc"
                if Path(info["cnncalc_file"]).resolve().parent != expected:
                    raise RuntimeError(f"the {w.tree.label} worker imported {info['cnncalc_file']}, not {expected}")
                result[w.tree.key].update(info)
            if not numbers:  # the same number of calls per sample for both trees, from the first tree's estimates
                estimates = result[trees[0].key]["estimates"]
                numbers = {key: max(1, min(1000, round(SAMPLE_TARGET / estimates[key]))) for key, _ in IN_PROCESS}
            for r in range(rounds):
                log(f"session {session + 1}/{sessions}, round {r + 1}/{rounds}: {per_round} samples of each figure")
                for key, _ in IN_PROCESS:
                    for w in workers:
                        answer = w.ask(op="sample", figure=key, number=numbers[key], count=per_round)
                        samples[w.tree.key][key] += answer["samples"]
            for w in workers:
                torch_imported = w.ask(op="finish")["torch_imported"]
                result[w.tree.key]["torch_imported"] = result[w.tree.key].get("torch_imported", False) or torch_imported
        finally:
            for w in workers:
                w.close()

    # Whole processes: `python -m cnncalc summarize resnet152`, byte code in a scratch folder.
    pycache = scratch / "pycache"
    runs_of: dict[str, list[Run]] = {t.key: [] for t in trees}
    argv = [sys.executable, "-m", "cnncalc", "summarize", "resnet152"]
    for t in trees:
        log(f"{t.label}: byte-compile cnncalc (into {pycache}), one untimed run")
        env = child_env(t.path, pycache)
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(t.path / "cnncalc")], env=env, cwd=cwd, check=True
        )
        run_process(argv, env, cwd)  # also compiles the dependencies' modules it imports into the folder
    for i in range(runs):
        log(f"whole process run {i + 1}/{runs} of each tree")
        for t in trees:
            runs_of[t.key].append(run_process(argv, child_env(t.path, pycache), cwd))

    for t in trees:
        figures = {key: stats(samples[t.key][key]) for key, _ in IN_PROCESS}
        per_session = rounds * per_round
        for key, _ in IN_PROCESS:
            figures[key]["calls_per_sample"] = numbers[key]
            figures[key]["session_medians"] = [
                statistics.median(samples[t.key][key][i : i + per_session])
                for i in range(0, len(samples[t.key][key]), per_session)
            ]
        rs = runs_of[t.key]
        figures["process_wall"] = stats([r.wall for r in rs])
        figures["process_cpu"] = stats([r.cpu for r in rs])
        figures["process_rss"] = stats([float(r.rss) for r in rs])
        result[t.key]["figures"] = figures
        result[t.key]["processes_ok"] = all(r.ok for r in rs)
    result["settings"] = {
        "quick": q,
        "sessions": sessions,
        "rounds": rounds,
        "samples_per_round": per_round,
        "whole_process_runs": runs,
        "peak_rss_from": "GNU time %M" if os.access(GNU_TIME, os.X_OK) else "os.wait4 (inflated by this script's peak)",
    }
    return result


def report(result: dict[str, Any], trees: list[Tree], tolerance: float) -> None:
    settings = result["settings"]
    print("cnncalc core benchmark (no torch)" + (" --quick" if settings["quick"] else ""))
    first = result[trees[0].key]
    bytecode = "set" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "unset"
    print(
        f"python {platform.python_version()}, sympy {first['sympy_version']}, {platform.platform()}, "
        f"{os.cpu_count()} CPUs; PYTHONDONTWRITEBYTECODE {bytecode}"
    )
    for t in trees:
        r = result[t.key]
        print(f"  {t.label}: {t.revision}")
        print(
            f"    imported {r['cnncalc_file']} (cnncalc {r['cnncalc_version']}); resnet152 from {r['resnet152_yaml']}"
        )
        print(f"    torch imported: {'YES' if r['torch_imported'] else 'no'}; every whole-process run exited 0 "
              f"and printed {EXPECT}: {r['processes_ok']}")  # fmt: skip
    if len(trees) == 2:
        a, b = (result[t.key]["totals"] for t in trees)
        same = "yes" if a == b else f"NO: {a} vs {b}"
        print(f"  both trees compute the same rows, params and MACs (ResNet-152, VGG16): {same}")
    figures0 = first["figures"]
    calls = ", ".join(f"{figures0[key]['calls_per_sample']}" for key, _ in IN_PROCESS)
    print(
        f"  in-process: median of {figures0['resnet152_numeric']['n']} samples per figure "
        f"({plural(settings['sessions'], 'session')} of fresh processes x {settings['rounds']} rounds x "
        f"{settings['samples_per_round']}), a sample being the mean of n calls (n: {calls})"
    )
    print(
        f"  whole process: `python -m cnncalc summarize resnet152`, {settings['whole_process_runs']} runs of each tree,"
        f" peak RSS from {settings['peak_rss_from']}"
    )
    print()
    keys = [key for key, _ in IN_PROCESS + WHOLE]
    head = ["figure (median [q1-q3])", *(t.label for t in trees)]
    if len(trees) == 2:
        head += [f"ratio {trees[1].label}/{trees[0].label}", "paired"]
    rows = [head]
    for key in keys:
        row = [LABELS[key], *(cell(key, result[t.key]["figures"][key]) for t in trees)]
        if len(trees) == 2:
            row += [f"{result['ratios'][key]['median']:.3f}", f"{result['ratios'][key]['paired']:.3f}"]
        rows.append(row)
    print_table(rows)
    print("  * sympy's cache cleared before each call (untimed)")
    if len(trees) == 2:
        print("  ratio: of the medians; paired: the median over rounds of the ratio within a round (A then B)")
        print()
        print(f"kept within {tolerance:.0%}? ({trees[1].label} against {trees[0].label}, judged on the paired ratio)")
        width = max(len(LABELS[k]) for k in keys)
        for key in keys:
            print(f"  {LABELS[key]:<{width}}  {verdict(result['ratios'][key], tolerance)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", metavar="REV", help="also measure git revision REV, in a temporary worktree")
    parser.add_argument("--tree", metavar="REV", help="measure revision REV instead of the working tree")
    parser.add_argument("--quick", action="store_true", help="a few repetitions: a smoke run")
    parser.add_argument("--json", metavar="FILE", type=Path, help="save the figures (and every sample) as JSON")
    parser.add_argument("--sessions", type=int, help="in-process sessions, fresh processes each (default 6, --quick 1)")
    parser.add_argument("--rounds", type=int, help="in-process rounds per session (default 6, --quick 3)")
    parser.add_argument("--runs", type=int, help="whole-process runs per tree (default 25, --quick 3)")
    parser.add_argument("--tolerance", type=float, default=0.05, help="the slow-down allowed (default 0.05)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker()
        return
    started = time.perf_counter()
    # A terminated run cleans up as an interrupted one does (the worktree, the temporary folder).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="cnncalc-bench-") as tmp, contextlib.ExitStack() as stack:
        scratch = Path(tmp)
        trees: list[Tree] = []
        if args.baseline:
            path, what = stack.enter_context(worktree(args.baseline, scratch, "baseline"))
            trees.append(Tree("baseline", "baseline", path, what))
        if args.tree:
            path, what = stack.enter_context(worktree(args.tree, scratch, "tree"))
            trees.append(Tree("tree", "tree", path, what))
        else:
            trees.append(Tree("tree", "working tree", ROOT, working_tree_state()))
        result = measure(args, trees, scratch)
    if len(trees) == 2:
        chunk = {key: result["settings"]["samples_per_round"] for key, _ in IN_PROCESS} | {key: 1 for key, _ in WHOLE}
        result["ratios"] = {
            key: ratios(result["baseline"]["figures"][key], result["tree"]["figures"][key], chunk[key])
            for key in result["tree"]["figures"]
        }
    elapsed = time.perf_counter() - started
    result["seconds"] = elapsed
    report(result, trees, args.tolerance)
    print()
    print(f"the benchmark took {elapsed:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
        print(f"figures saved to {args.json}")


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as err:
        detail = err.stderr.strip() if isinstance(err.stderr, str) and err.stderr.strip() else f"exit {err.returncode}"
        sys.exit(f"bench_core: error: {' '.join(map(str, err.cmd))}: {detail}")
    except RuntimeError as err:
        sys.exit(f"bench_core: error: {err}")
