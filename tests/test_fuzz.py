"""Fuzzing the whole path from bytes to answer: whatever the file holds, cnncalc ends in exit 0 with
well-formed output or exit 2 with one clear line, never a traceback, within a time bound per case.

(a) mutates valid architectures (the bundled ones and a few small ones using every feature): as data
    (fields deleted, retyped to numbers of any size, text, lists, mappings, null; list items
    duplicated; values swapped; keys renamed) and as text (lines deleted, duplicated, swapped,
    re-indented; tokens replaced by hostile values or retyped; keys renamed or duplicated; random text
    and unicode inserted; the text cut short).
(b) random bytes, alone or spliced into a valid file.

Both are derandomized (the same cases on every run) and bounded to run in about a minute together;
CNNCALC_FUZZ_SCALE scales the number of cases (e.g. 10 for a long hunt). Each test counts the cases
it ran and prints the count.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import functools
import io
import json
import os
import re
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnncalc.layers import KINDS

from .conftest import ARCHITECTURES, alarm, run

SCALE = float(os.environ.get("CNNCALC_FUZZ_SCALE", "1"))
MUTATED_CASES = int(6000 * SCALE)
BYTES_CASES = int(6000 * SCALE)
#: Seconds one case may take (in-process).
TIME_LIMIT = float(os.environ.get("CNNCALC_TIME_LIMIT", "2"))
#: Seconds after which a case is stopped: it failed the time limit already, and must not stall CI.
HANG_LIMIT = 10 * TIME_LIMIT

SMALL = [
    # every layer kind, symbols and expressions
    """name: kinds
input: [3, H, W]
symbols: {H: 32, W: 32, k: 2}
layers:
  - conv2d: {out_channels: 8*k, kernel_size: 3, padding: same, bias: false}
  - batchnorm2d
  - relu6
  - maxpool2d: {kernel_size: 2, ceil_mode: true}
  - avgpool2d: {kernel_size: [2, 1], stride: 1, padding: [1, 0]}
  - localresponsenorm: {size: 3}
  - leakyrelu: {negative_slope: 0.2}
  - zeropad2d: {padding: [1, 1, 2, 0]}
  - convtranspose2d: {out_channels: 4, kernel_size: 2, stride: 2}
  - upsample: {scale_factor: 2}
  - channel_shuffle: {groups: 2}
  - chunk: {chunks: 2, index: 1}
  - layernorm2d
  - layerscale
  - stochasticdepth: {p: 0.1}
  - gelu: {approximate: tanh}
  - hardswish
  - hardsigmoid
  - silu
  - sigmoid
  - tanh
  - adaptiveavgpool2d: {output_size: [4, null]}
  - adaptivemaxpool2d: {output_size: 2}
  - dropout: {p: 0.2}
  - identity
  - flatten
  - linear: {out_features: H // 2, name: fc}
  - softmax: {dim: 1}
""",
    # branches, merges, blocks, when, repeat, first, in_channels
    """name: branches
input: [3, H, W]
symbols: {H: 64, W: 48}
blocks:
  unit:
    args: {planes: null, stride: 1, project: false}
    layers:
      - conv2d: {out_channels: planes, kernel_size: 3, stride: stride, padding: 1, bias: false}
      - batchnorm2d
      - relu
      - conv2d: {out_channels: planes, kernel_size: 1, from: input, stride: stride, name: shortcut, when: project}
      - add: {from: [relu1, shortcut]}
  squeeze:
    layers:
      - adaptiveavgpool2d: {output_size: 1}
      - conv2d: {out_channels: in_channels // 2, kernel_size: 1}
      - conv2d: {out_channels: 16, kernel_size: 1}
      - sigmoid
      - mul: {from: [input, sigmoid1]}
layers:
  - conv2d: {out_channels: 16, kernel_size: 3, padding: 1}
  - unit: {planes: 16, repeat: 2, name: stage1}
  - unit: {planes: 16, repeat: 2, name: stage2, first: {stride: 2, project: true}}
  - squeeze
  - maxpool2d: {kernel_size: 3, stride: 1, padding: 1, from: stage2}
  - concat: {from: [squeeze1, pool1]}
  - adaptiveavgpool2d: {output_size: 1}
  - flatten
  - linear: {out_features: 10}
""",
    # anchors, aliases, merge keys and flow style
    """name: anchors
input: [1, 28, 28]
layers:
  - conv2d: &c {out_channels: 6, kernel_size: 5, padding: 2}
  - relu
  - conv2d: {<<: *c, out_channels: 16, padding: 0}
  - maxpool2d: {kernel_size: 2}
  - flatten
  - linear: {out_features: 10}
""",
]
BASES = [p.read_text() for p in sorted(ARCHITECTURES.glob("*.yaml"))] + SMALL
SMALL_BASES = set(range(len(BASES) - len(SMALL), len(BASES)))

#: Values a fuzzer should try where a number, a name or a structure stands.
HOSTILE = [
    "0", "-1", "-0", "1.5", "1e9", "1e400", ".inf", ".nan", "0x10", "0o7", "1_000", "1:30",
    "99999999999999999999999999999999999999", "2**64", "2**63", "10**30", "(H", "H)", "H//0", "7/2",
    "null", "~", "true", "no", "''", '""', "[]", "{}", "[1, 2, 3]", "{a: 1}", "[[3]]",
    "H", "W", "k", "E", "I", "S", "N", "oo", "nan", "lambda", "in_channels", "input", "same", "valid",
    "__import__('os').system('touch pwned')", "$(touch pwned)", "\"eval('1')\"",
    "&a x", "*a", "*undefined", "<<: *a", "!!python/object/apply:os.system ['touch pwned']",
    "!!binary aGk=", "!!set {a}", "!custom x", "!!str 3", "!!int x",
    "|", ">", "%", "@", "`", "#", "- ", ": ", "? ", "---", "...", "\t", "\\", "'", '"',
    "é", "\u202e", "\u200b", "\ufeff", "\U0001f600", "\x85", "\u2028", "\x7f", "\x00", "\x1b[31m",
    "name", "from", "when", "repeat", "first", "args", "layers", "blocks", "symbols",
    "conv2d", "add", "concat", "flatten", "linear",
]  # fmt: skip
TOKEN = re.compile(r"-?\d+|[A-Za-z_][A-Za-z0-9_]*|\S")
KEY = re.compile(r"^(\s*-?\s*)([A-Za-z_][A-Za-z0-9_]*)(:)", re.M)

text_insert = st.text(
    alphabet=st.one_of(
        st.sampled_from(list(" \n\t:-[]{},#&*!|>'\"%@`?<=.0123456789Hkx")),
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
    ),
    max_size=12,
)


@st.composite
def mutation(draw: st.DrawFn, text: str) -> str:
    lines = text.split("\n")
    op = draw(
        st.sampled_from(
            ["delete", "duplicate", "swap", "indent", "token", "token", "token", "insert", "key", "retype", "cut"]
        )
    )
    i = draw(st.integers(0, max(len(lines) - 1, 0)))
    if op == "delete" and len(lines) > 1:
        del lines[i]
    elif op == "duplicate":
        lines.insert(i, lines[i])
    elif op == "swap":
        j = draw(st.integers(0, len(lines) - 1))
        lines[i], lines[j] = lines[j], lines[i]
    elif op == "indent":
        change = draw(st.sampled_from([-4, -2, -1, 1, 2, 4]))
        lines[i] = " " * change + lines[i] if change > 0 else lines[i][-change:]
    elif op in ("token", "retype"):
        tokens = list(TOKEN.finditer(lines[i]))
        if tokens:
            m = draw(st.sampled_from(tokens))
            if op == "token":
                new = draw(st.sampled_from(HOSTILE))
            else:  # the same token as another type: number <-> text <-> list <-> mapping
                new = draw(
                    st.sampled_from([f"[{m.group()}]", f"{{v: {m.group()}}}", f"'{m.group()}'", f"{m.group()}.5"])
                )
            lines[i] = lines[i][: m.start()] + new + lines[i][m.end() :]
    elif op == "insert":
        at = draw(st.integers(0, len(lines[i])))
        lines[i] = lines[i][:at] + draw(text_insert) + lines[i][at:]
    elif op == "key":  # rename a key (a typo, a duplicate, another field), or add a duplicate key
        keys = list(KEY.finditer(text))
        if keys:
            m = draw(st.sampled_from(keys))
            other = draw(st.sampled_from([k.group(2) for k in keys] + [m.group(2) + "s", m.group(2)[:-1] or "x"]))
            if draw(st.booleans()):
                return text[: m.start(2)] + other + text[m.end(2) :]
            return text[: m.end()] + f" 1\n{m.group(1)}{m.group(2)}:" + text[m.end() :]
    elif op == "cut":
        return text[: draw(st.integers(0, len(text)))]
    return "\n".join(lines)


FIELDS = sorted({f for cls in KINDS.values() for f in cls.model_fields} | {"name", "from", "when", "repeat", "first"})
#: Values for a retyped field: numbers of every size and sign, text, lists, mappings, null, hostile strings.
VALUES = st.one_of(
    st.integers(-3, 300),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=12),
    st.sampled_from(HOSTILE),
    st.sampled_from(FIELDS + sorted(KINDS)),
    st.lists(st.integers(-2, 12), max_size=4),
    st.dictionaries(st.sampled_from(FIELDS), st.integers(-1, 9), max_size=2),
)


def _slots(node: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) in a parsed YAML tree."""
    found: list[tuple[Any, Any]] = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in items:
        found.append((node, key))
        found.extend(_slots(value))
    return found


@st.composite
def mutated_data(draw: st.DrawFn, text: str) -> str:
    """Parse, mutate the data (delete, retype, duplicate, swap, rename), and write YAML back."""
    data = yaml.safe_load(text)
    for _ in range(draw(st.integers(1, 3))):
        slots = _slots(data)
        if not slots:
            break
        container, key = draw(st.sampled_from(slots))
        op = draw(st.sampled_from(["delete", "retype", "retype", "retype", "duplicate", "swap", "rename"]))
        if op == "delete":
            del container[key]
        elif op == "retype":
            container[key] = draw(VALUES)
        elif op == "duplicate" and isinstance(container, list):
            container.insert(key, copy.deepcopy(container[key]))
        elif op == "swap":
            other, other_key = draw(st.sampled_from(slots))
            container[key], other[other_key] = other[other_key], container[key]
        elif op == "rename" and isinstance(container, dict):
            new = draw(st.one_of(st.sampled_from(FIELDS + sorted(KINDS)), st.text(min_size=1, max_size=8)))
            container[new] = container.pop(key)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@st.composite
def mutated_architecture(draw: st.DrawFn) -> tuple[int, str]:
    index = draw(st.integers(0, len(BASES) - 1))
    text = BASES[index]
    if draw(st.booleans()):
        with contextlib.suppress(RecursionError):  # a swap made the tree contain itself
            text = draw(mutated_data(text))
    for _ in range(draw(st.sampled_from([0, 0, 0, 1])) if text != BASES[index] else draw(st.integers(1, 4))):
        text = draw(mutation(text))
    return index, text


#: Findings the fuzz tests once met, now fixed (each is a file of tests/bad/): a case that meets one
#: again is counted apart and fails the tests at the end of this module, which must see none.
KNOWN = {
    "non-scalar mapping key crashes (TypeError: unhashable type)": re.compile(
        r"^cnncalc: internal error: TypeError: unhashable type"
    ),
    "a tag on a mapping key is not checked (internal error from the key's constructor)": re.compile(
        r"^cnncalc: internal error: (ConstructorError: could not determine a constructor|ValueError: invalid literal)"
    ),
    "a block argument passed as null crashes (AttributeError on None)": re.compile(
        r"^cnncalc: internal error: AttributeError: 'NoneType' object has no attribute '(names|tree)'"
    ),
    "'blocks must be a mapping' names no file, line or column": re.compile(
        r"^cnncalc: error: blocks must be a mapping"
    ),
    "an unknown field, argument or kind with a newline is printed raw (a two-line error)": re.compile(
        r"(?s)^cnncalc: error: [^\n]*\n.*(is not a field|is not an argument of block|: fields must be a mapping)"
    ),
    "a control character gives a two-line YAML reader error": re.compile(
        r"^cnncalc: error: .*invalid YAML: unacceptable character #x[0-9a-f]+: control characters are not allowed\n"
    ),
}


def _known(stderr: str) -> str | None:
    return next((name for name, pattern in KNOWN.items() if pattern.search(stderr)), None)


class Hung(BaseException):
    """A case ran past :data:`HANG_LIMIT` (a BaseException: the CLI's handler of errors lets it through)."""


def check(path: Path, args: list[str]) -> str:
    """Run one case and assert the contract; return the outcome's kind ("answer", "error" or a known finding)."""
    shown = path.read_bytes()[:300]
    start = time.perf_counter()
    with alarm(HANG_LIMIT, lambda: Hung(f"over {HANG_LIMIT} s: {shown!r}")):
        result = run("summarize", str(path), *args)
    seconds = time.perf_counter() - start
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, (shown, result.stderr[-1500:])
    known = _known(result.stderr)
    if known:
        return known
    assert result.exit_code in (0, 2), (shown, result.exit_code, result.stderr)
    assert seconds < TIME_LIMIT, (shown, f"{seconds:.2f} s")
    if result.exit_code == 0:
        assert result.stderr == "", (shown, result.stderr)
        if "json" in args:
            data = json.loads(result.stdout)
            assert {"name", "input", "layers", "total"} <= set(data), shown
            assert all({"name", "kind", "output", "params"} <= set(layer) for layer in data["layers"]), shown
        elif "csv" in args:
            rows = list(csv.reader(io.StringIO(result.stdout)))
            assert rows[0][:2] == ["name", "kind"] and any(r and r[0] == "total" for r in rows), shown
        else:
            assert "Total params:" in result.stdout, (shown, result.stdout[:500])
        return "answer"
    assert result.stdout == "", (shown, result.stdout[:500])
    lines = result.stderr.rstrip("\n").split("\n")
    assert len(lines) == 1 and lines[0].startswith("cnncalc: error: "), (shown, result.stderr)
    assert path.name in lines[0], (shown, lines[0])
    return "error"


#: Beyond derandomize/max_examples/deadline: no example database (the same cases every run).
QUIET = {
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
}


def _report(what: str, seen: Counter[str], seconds: float) -> str:
    known = {k: v for k, v in seen.items() if k not in ("answer", "error")}
    text = (
        f"{what}: {sum(seen.values())} cases in {seconds:.1f} s "
        f"({seen['answer']} answers, {seen['error']} errors, {sum(known.values())} known findings)"
    )
    return text + "".join(f"\n  {n} x {k}" for k, n in known.items())


@functools.cache
def mutated_run() -> tuple[Counter[str], float]:
    """Run fuzz (a) once per session: the test below and its xfail twin share the cases."""
    path = Path(tempfile.mkdtemp(prefix="cnncalc-fuzz-")) / "mutant.yaml"
    seen: Counter[str] = Counter()

    @settings(derandomize=True, max_examples=MUTATED_CASES, deadline=None, **QUIET)
    @given(case=mutated_architecture(), fmt=st.sampled_from(["json", "json", "text", "csv"]), symbolic=st.booleans())
    def one(case: tuple[int, str], fmt: str, symbolic: bool) -> None:
        index, text = case
        path.write_text(text, encoding="utf-8")
        args = ["--format", fmt]
        if symbolic and index in SMALL_BASES:  # symbolic summaries of the big zoo take seconds by design
            args.append("--symbolic")
        seen[check(path, args)] += 1

    start = time.perf_counter()
    one()
    return seen, time.perf_counter() - start


@functools.cache
def bytes_run() -> tuple[Counter[str], float]:
    """Run fuzz (b) once per session."""
    path = Path(tempfile.mkdtemp(prefix="cnncalc-fuzz-")) / "bytes.yaml"
    seen: Counter[str] = Counter()
    valid = (ARCHITECTURES / "lenet5.yaml").read_bytes()

    @settings(derandomize=True, max_examples=BYTES_CASES, deadline=None, **QUIET)
    @given(data=st.binary(max_size=400), splice=st.booleans(), at=st.integers(0, len(valid)))
    def one(data: bytes, splice: bool, at: int) -> None:
        path.write_bytes(valid[:at] + data + valid[at:] if splice else data)
        seen[check(path, ["--format", "json"])] += 1

    start = time.perf_counter()
    one()
    return seen, time.perf_counter() - start


def test_mutated_architectures(capsys: pytest.CaptureFixture[str]) -> None:
    seen, seconds = mutated_run()
    with capsys.disabled():
        print("\n" + _report("fuzz (a), mutated architectures", seen, seconds))
    assert sum(seen.values()) >= MUTATED_CASES * 0.9
    assert seen["answer"] > 0 and seen["error"] > 0


def test_random_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    seen, seconds = bytes_run()
    with capsys.disabled():
        print("\n" + _report("fuzz (b), random bytes", seen, seconds))
    assert sum(seen.values()) >= BYTES_CASES * 0.9
    assert seen["error"] > 0


def test_mutated_architectures_meet_no_known_finding() -> None:
    seen, _ = mutated_run()
    assert set(seen) <= {"answer", "error"}, _report("fuzz (a)", seen, 0)


def test_random_bytes_meet_no_known_finding() -> None:
    seen, _ = bytes_run()
    assert set(seen) <= {"answer", "error"}, _report("fuzz (b)", seen, 0)
