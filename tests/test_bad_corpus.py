"""Hostile and broken input: every file of the corpus in tests/bad/ must end in a clear answer, quickly.

Each ``tests/bad/*.yaml`` file states what it expects in its first comment lines:

    # expect: 2                      exit code (2: an input error; 0: a correct answer; 0,2: either)
    # message: <regex>               what the one stderr line must contain (re.search)
    # args: --symbolic ...           extra arguments after `summarize FILE` (optional)
    # stdout: <regex>                what stdout must contain, for exit 0 (optional)
    # where: file                    the error is about the whole file: no line:column required
    # run: subprocess                run it as a separate process with a timeout (it may hang today)
    # xfail: <reason>                a finding: cnncalc misbehaves today, for the reason given

and a line of the body may end in ``# <- error``: the error must name that line. Raw-byte files
(``*.bin``) keep the same keys in ``tests/bad/EXPECTED.toml``.

For exit 2 the checks are: exactly one line on stderr, starting ``cnncalc: error: ``, naming the file
(and line:column unless ``where: file``), containing the message; nothing on stdout; no traceback;
and an answer within TIME_LIMIT seconds. Beyond the corpus: generated files (6 MB, very long lines,
folders, missing files, FIFOs, devices), ``-o`` that never loses or clobbers a file, real processes
that show no traceback reaches a terminal, and payloads in every place text can go that must run
nothing and create nothing.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .conftest import ARCHITECTURES, ROOT, run

BAD = Path(__file__).parent / "bad"
#: Seconds an answer may take (in-process; a subprocess gets STARTUP more for the interpreter).
TIME_LIMIT = float(os.environ.get("CNNCALC_TIME_LIMIT", "2"))
STARTUP = 2.0
MARKER = "# <- error"
HEADER = re.compile(r"#\s*(expect|message|args|stdout|where|run|xfail):\s?(.*)")


@dataclass(frozen=True)
class Case:
    """One corpus file and what it expects."""

    path: Path
    expect: tuple[int, ...]
    message: str = ""
    args: tuple[str, ...] = ()
    stdout: str = ""
    where: str = "line"
    run: str = "inprocess"
    xfail: str = ""
    line: int | None = None  # the line marked `# <- error`, 1-based
    extra: dict[str, Any] = field(default_factory=dict)


def _codes(text: str) -> tuple[int, ...]:
    return tuple(int(c) for c in text.split(","))


def _yaml_case(path: Path) -> Case:
    text = path.read_bytes().decode("utf-8-sig")
    keys: dict[str, str] = {}
    lines = text.splitlines()
    for line in lines:
        m = HEADER.fullmatch(line.strip())
        if not m:
            break
        keys[m.group(1)] = m.group(2)
    assert "expect" in keys, f"{path.name}: the first lines must say `# expect: N`"
    marked = [i + 1 for i, line in enumerate(lines) if line.rstrip().endswith(MARKER)]
    assert len(marked) <= 1, f"{path.name}: more than one `{MARKER}` line"
    return Case(
        path=path,
        expect=_codes(keys["expect"]),
        message=keys.get("message", ""),
        args=tuple(keys.get("args", "").split()),
        stdout=keys.get("stdout", ""),
        where=keys.get("where", "line"),
        run=keys.get("run", "inprocess"),
        xfail=keys.get("xfail", ""),
        line=marked[0] if marked else None,
    )


def _bin_cases() -> list[Case]:
    table = tomllib.loads((BAD / "EXPECTED.toml").read_text(encoding="utf-8"))
    cases = []
    for name, spec in table.items():
        cases.append(
            Case(
                path=BAD / name,
                expect=_codes(str(spec["expect"])),
                message=spec.get("message", ""),
                args=tuple(spec.get("args", "").split()),
                stdout=spec.get("stdout", ""),
                where=spec.get("where", "line"),
                run=spec.get("run", "inprocess"),
                xfail=spec.get("xfail", ""),
            )
        )
    return cases


def all_cases() -> list[Case]:
    return [_yaml_case(p) for p in sorted(BAD.glob("*.yaml"))] + _bin_cases()


CASES = all_cases()


def _param(case: Case) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
    return pytest.param(case, id=case.path.name, marks=marks)


# --- running cnncalc ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    stdout: str
    stderr: str
    seconds: float


def run_inprocess(*args: str) -> Outcome:
    start = time.perf_counter()
    result = run(*args)
    return Outcome(result.exit_code, result.stdout, result.stderr, time.perf_counter() - start)


def run_process(*args: str, cwd: Path | None = None, timeout: float | None = None, **kwargs: Any) -> Outcome:
    """``python -m cnncalc ARGS`` as a real process; a run past ``timeout`` is killed and fails the test."""
    timeout = timeout or TIME_LIMIT + STARTUP
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "cnncalc", *args],
        cwd=cwd or ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        **kwargs,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail(f"cnncalc {' '.join(a[:60] for a in args)}: no answer within {timeout:.0f} s (killed)")
    return Outcome(
        proc.returncode,
        out.decode("utf-8", "replace"),
        err.decode("utf-8", "replace"),
        time.perf_counter() - start,
    )


def check_outcome(
    outcome: Outcome,
    *,
    expect: int | tuple[int, ...],
    message: str = "",
    file: str | None = None,
    where: str = "line",
    line: int | None = None,
    stdout: str = "",
    limit: float = TIME_LIMIT,
) -> None:
    """The contract: exit 0 with a well-formed answer, or exit 2 with one clear stderr line; fast."""
    assert "Traceback" not in outcome.stderr and "Traceback" not in outcome.stdout, outcome.stderr[-2000:]
    assert outcome.exit_code != 3, f"internal error (a bug): {outcome.stderr.strip()}"
    codes = (expect,) if isinstance(expect, int) else expect
    assert outcome.exit_code in codes, f"exit {outcome.exit_code}, expected {expect}: {outcome.stderr.strip()!r}"
    assert outcome.seconds < limit, f"took {outcome.seconds:.2f} s (limit {limit} s)"
    if outcome.exit_code == 0:
        assert outcome.stderr == "", outcome.stderr
        if stdout:
            assert re.search(stdout, outcome.stdout), outcome.stdout[:2000]
        return
    assert outcome.stdout == "", outcome.stdout[:2000]
    lines = outcome.stderr.splitlines()
    assert len(lines) == 1, f"{len(lines)} stderr lines: {outcome.stderr!r}"
    error = lines[0]
    assert error.startswith("cnncalc: error: "), error
    if file is not None:
        assert file in error, f"the error does not name the file {file!r}: {error}"
        if where != "file":
            located = re.search(re.escape(file) + r":(\d+):(\d+): ", error)
            assert located, f"no line:column after the file name: {error}"
            if line is not None:
                assert int(located.group(1)) == line, f"the error names line {located.group(1)}, not {line}: {error}"
    if message:
        assert re.search(message, error), f"{message!r} not in {error!r}"


# --- the corpus ----------------------------------------------------------------------------------------


def test_the_corpus_is_large_and_every_file_states_its_expectation() -> None:
    files = sorted(p.name for p in BAD.iterdir() if p.is_file() and p.suffix in (".yaml", ".bin"))
    assert len(files) >= 60
    described = {c.path.name for c in CASES}
    assert described == set(files), set(files) ^ described
    for case in CASES:
        assert set(case.expect) <= {0, 2}, case.path.name
        assert 2 not in case.expect or case.message, f"{case.path.name}: an error case needs `# message:`"
        re.compile(case.message)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_corpus_file(case: Case) -> None:
    args = ("summarize", str(case.path), *case.args)
    outcome = run_process(*args) if case.run == "subprocess" else run_inprocess(*args)
    limit = TIME_LIMIT + STARTUP if case.run == "subprocess" else TIME_LIMIT
    check_outcome(
        outcome,
        expect=case.expect,
        message=case.message,
        file=case.path.name,
        where=case.where,
        line=case.line,
        stdout=case.stdout,
        limit=limit,
    )


@pytest.mark.parametrize("command", [("validate",), ("summarize", "--symbolic"), ("summarize", "--format", "latex")])
def test_the_corpus_through_other_commands(command: tuple[str, ...]) -> None:
    """`validate` (symbolic where a symbol has no default), --symbolic and LaTeX take other paths
    through the code; the contract is the same (the files' messages may differ, so only its shape
    is checked). Files with a known finding and those that need a subprocess are left out."""
    problems = []
    for case in CASES:
        if case.xfail or case.run == "subprocess":
            continue
        args = (command[0], str(case.path), *command[1:])
        try:
            check_outcome(run_inprocess(*args), expect=(0, 2), file=case.path.name, where="file")
        except AssertionError as err:
            problems.append(f"{case.path.name}: {str(err).splitlines()[0]}")
    assert problems == []


def test_the_library_raises_only_cnncalc_errors() -> None:
    """The same files through the Python API: every problem is a CnncalcError (README, "Python")."""
    import cnncalc

    problems = []
    for case in CASES:
        if case.xfail or case.run == "subprocess":
            continue
        try:
            summary = cnncalc.load(case.path).summarize()
            summary.render("text")
            summary.to_dict()
        except cnncalc.CnncalcError:
            pass
        except Exception as err:
            problems.append(f"{case.path.name}: {type(err).__name__}: {err}")
    assert problems == []


def test_the_library_reads_long_one_line_yaml_text() -> None:
    import cnncalc

    text = "{name: n, input: [3, 32, 32], layers: [" + ", ".join(["relu"] * 50) + "]}"
    assert cnncalc.load(text).summarize().total.params == 0


# --- generated files: sizes, long lines, folders, missing files, special files ----------------------


def _summarize(path: Path, *args: str) -> Outcome:
    return run_inprocess("summarize", str(path), *args)


NET = "name: net\ninput: [3, 8, 8]\n"


def test_a_6_mb_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text(NET + "layers:\n" + "  - relu\n" * 750_000)  # 6 MB
    assert path.stat().st_size > 6_000_000
    check_outcome(
        _summarize(path),
        expect=2,
        file="huge.yaml",
        where="file",
        message=r"the file has 6,\d{3},\d{3} bytes; the limit is 5,242,880",
    )


def test_a_file_just_under_the_size_limit_is_read(tmp_path: Path) -> None:
    path = tmp_path / "big_comments.yaml"
    path.write_text(("# " + "c" * 98 + "\n") * 50_000 + NET + "layers: [relu]\n")  # 5.0 MB of comments
    check_outcome(_summarize(path), expect=0, stdout=r"Total params: 0")


def test_a_file_of_many_layers_stops_at_the_value_limit(tmp_path: Path) -> None:
    path = tmp_path / "many.yaml"
    path.write_text(NET + "layers:\n" + "  - relu\n" * 500_000)  # 4.5 MB, 500,000 values
    check_outcome(_summarize(path), expect=2, file="many.yaml", message=r"more than 200,000 YAML values")


LONG_LINES = {
    # a 4 MB network name is a name: a correct (if wide) answer
    "name": (lambda: "name: " + "x" * 4_000_000 + "\ninput: [3, 8, 8]\nlayers: [relu]\n", 0, ""),
    "expression": (
        lambda: NET + "layers:\n  - conv2d: {out_channels: '" + "1+" * 500_000 + "1', kernel_size: 3}\n",
        2,
        r"out_channels an expression of 1000001 characters is too long \(limit 200\)",
    ),
    "key": (
        lambda: NET + "layers: [relu]\n" + "k" * 1_000_000 + ": 1\n",
        2,
        r"invalid YAML: could not find expected ':'",
    ),
    "string": (lambda: NET + "layers: [{relu: {name: '" + "n" * 2_000_000 + "'}}]\n", 0, ""),
    "comment": (lambda: NET + "layers: [relu]  #" + "c" * 4_000_000 + "\n", 0, ""),
}


@pytest.mark.parametrize("kind", list(LONG_LINES))
def test_very_long_lines(tmp_path: Path, kind: str) -> None:
    make, expect, message = LONG_LINES[kind]
    path = tmp_path / f"long_{kind}.yaml"
    path.write_text(make())
    outcome = _summarize(path, "--format", "json")
    check_outcome(outcome, expect=expect, message=message, file=path.name)
    if expect == 0:
        assert json.loads(outcome.stdout)["layers"]


def test_a_long_line_of_layers_ends_in_the_layer_bound(tmp_path: Path) -> None:
    path = tmp_path / "flow.yaml"
    path.write_text(NET + "layers: [" + ", ".join(["relu"] * 199_990) + "]\n")
    # Every entry is validated before the 20,000-layer bound stops it: 2-3 s here, hence the wider bound.
    outcome = _summarize(path)
    check_outcome(outcome, expect=2, file="flow.yaml", message=r"more than 20,000 layers", limit=5 * TIME_LIMIT)


def test_a_network_at_the_layer_limit_answers_within_the_time_bound(tmp_path: Path) -> None:
    path = tmp_path / "at_limit.yaml"
    from cnncalc.network import MAX_LAYERS

    path.write_text(NET + f"layers:\n  - relu: {{repeat: {MAX_LAYERS}}}\n")
    check_outcome(_summarize(path, "--format", "json"), expect=0)


def test_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "net.yaml"
    folder.mkdir()
    check_outcome(_summarize(folder), expect=2, file="net.yaml", where="file", message=r"is a folder, not a YAML file")


def test_a_missing_file(tmp_path: Path) -> None:
    check_outcome(
        _summarize(tmp_path / "nope.yaml"), expect=2, file="nope.yaml", where="file", message=r": no such file$"
    )


def test_a_missing_bundled_name_suggests_one() -> None:
    check_outcome(
        run_inprocess("summarize", "resnet19"),
        expect=2,
        message=r"'resnet19' is neither a file nor a bundled architecture \(did you mean 'resnet18'\?\)",
    )


def test_a_missing_file_whose_name_has_a_colon(tmp_path: Path) -> None:
    path = tmp_path / "run:2.yaml"
    check_outcome(_summarize(path), expect=2, file="run:2.yaml", where="file", message=r"no such file")


def test_a_file_name_too_long() -> None:
    check_outcome(run_inprocess("summarize", "n" * 300 + ".yaml"), expect=2, message=r"(too long|no such file)")


def test_a_file_name_with_a_newline(tmp_path: Path) -> None:
    path = tmp_path / "a\nb.yaml"
    path.write_text(NET + "layers: [{conv2d: {out_channels: 4, kernel_size: 9}}]\n")
    check_outcome(_summarize(path), expect=2, message=r"kernel 9x9")


def test_a_fifo_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    check_outcome(
        run_process("summarize", str(fifo)), expect=2, file="pipe.yaml", where="file", limit=TIME_LIMIT + STARTUP
    )


def _limit_memory() -> None:  # in the child: 1 GiB of address space, so a runaway read cannot hurt the host
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30))


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_device_is_bounded() -> None:
    outcome = run_process("summarize", "/dev/zero", preexec_fn=_limit_memory)
    check_outcome(outcome, expect=2, file="/dev/zero", where="file", message=r"(5,242,880|limit|not a regular file)")


# --- command-line options ------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [("--set", "H=0"), ("--format", "nope"), ("-o", ".")])
def test_bad_options_are_one_line(args: tuple[str, ...]) -> None:
    check_outcome(run_inprocess("summarize", "lenet5", *args), expect=2)


# --- -o: atomic, never over the input, never clobbering what is not a regular file -----------------------


def test_a_failed_run_leaves_the_output_and_the_folder_as_they_were(tmp_path: Path) -> None:
    out = tmp_path / "table.txt"
    out.write_text("precious\n")
    for case in [c for c in CASES if c.expect == (2,) and not c.xfail and c.run == "inprocess"][:40]:
        outcome = run_inprocess("summarize", str(case.path), "-o", str(out))
        assert outcome.exit_code == 2, (case.path.name, outcome.stderr)
        assert out.read_text() == "precious\n", case.path.name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.txt"]  # no temporary files left


def test_the_output_is_never_the_input(tmp_path: Path) -> None:
    src = tmp_path / "net.yaml"
    text = (ARCHITECTURES / "lenet5.yaml").read_text()
    src.write_text(text)
    (tmp_path / "link.yaml").symlink_to(src)
    os.link(src, tmp_path / "hard.yaml")
    (tmp_path / "sub").mkdir()
    for out in ("net.yaml", "link.yaml", "hard.yaml", "sub/../net.yaml", str(src)):
        outcome = run_inprocess("summarize", str(src), "-o", str(tmp_path / out))
        check_outcome(outcome, expect=2, message=r"is the input file; choose another output file")
        assert src.read_text() == text
    # the input named through the link is protected as well
    outcome = run_inprocess("summarize", str(tmp_path / "link.yaml"), "-o", str(src))
    check_outcome(outcome, expect=2, message=r"is the input file")
    assert src.read_text() == text and (tmp_path / "link.yaml").is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hard.yaml", "link.yaml", "net.yaml", "sub"]


def test_output_into_a_missing_folder(tmp_path: Path) -> None:
    outcome = run_inprocess("summarize", "lenet5", "-o", str(tmp_path / "nope" / "t.txt"))
    check_outcome(outcome, expect=2, message=r"-o .*t\.txt: the folder .*nope does not exist")


def test_output_never_replaces_a_special_file(tmp_path: Path) -> None:
    fifo = tmp_path / "out.pipe"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # so that writing into the pipe cannot block
    try:
        outcome = run_inprocess("summarize", "lenet5", "-o", str(fifo))
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.lstat().st_mode), f"the FIFO was replaced by a regular file (exit {outcome.exit_code})"
    assert outcome.exit_code in (0, 2) and "Traceback" not in outcome.stderr


# --- real processes: nothing but one line reaches a terminal ----------------------------------------------

PROCESS_SAMPLE = [
    "conv2d_unknown_field.yaml",
    "expr_unsafe_import.yaml",
    "tag_python_object_apply.yaml",
    "alias_bomb.yaml",
    "deep_nesting_2000.yaml",
    "block_mutual_recursion.yaml",
    "add_symbolic_condition.yaml",
    "latin1.bin",
    "empty.bin",
]


@pytest.mark.parametrize("name", PROCESS_SAMPLE)
def test_a_real_process_prints_one_line_and_no_traceback(name: str) -> None:
    case = next(c for c in CASES if c.path.name == name)
    outcome = run_process("summarize", str(case.path), *case.args)
    check_outcome(
        outcome,
        expect=case.expect,
        message=case.message,
        file=name,
        where=case.where,
        line=case.line,
        limit=TIME_LIMIT + STARTUP,
    )


def test_a_real_process_with_a_closed_pipe_stays_quiet() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "cnncalc", "summarize", "resnet152"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(10)
    proc.stdout.close()  # like `cnncalc summarize resnet152 | head -c 10`
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=TIME_LIMIT + STARTUP) in (0, 1, 2, -signal.SIGPIPE), err
    assert "Traceback" not in err


# --- injection: text anywhere in the file runs nothing and creates nothing -------------------------------

PAYLOADS = [
    "__import__('os').system('touch pwned')",
    "eval(\"__import__('os').system('touch pwned')\")",
    'exec(\'open("pwned", "w")\')',
    "$(touch pwned)",
    "`touch pwned`",
    "; touch pwned #",
    "lambda: open('pwned', 'w')",
    "Symbol('pwned').__class__.__init__.__globals__['os'].system('touch pwned')",
    "{{ cycler.__init__.__globals__.os.popen('touch pwned') }}",
    "pwned",
]

#: Where text can go: each template has one {P}, replaced by the payload as a YAML string.
PLACES = {
    "network name": "name: {P}\ninput: [3, H, W]\nsymbols: {{H: 8, W: 8}}\nlayers: [relu]\n",
    "input size": "name: n\ninput: [3, {P}, 8]\nlayers: [relu]\n",
    "field value": "name: n\ninput: [3, 8, 8]\nlayers:\n  - conv2d: {{out_channels: {P}, kernel_size: 3}}\n",
    "pair element": "name: n\ninput: [3, 8, 8]\nlayers:\n  - conv2d: {{out_channels: 4, kernel_size: [3, {P}]}}\n",
    "padding": "name: n\ninput: [3, 8, 8]\nlayers:\n  - conv2d: {{out_channels: 4, kernel_size: 3, padding: {P}}}\n",
    "float field": "name: n\ninput: [3, 8, 8]\nlayers:\n  - dropout: {{p: {P}}}\n",
    "choice field": "name: n\ninput: [3, 8, 8]\nlayers:\n  - gelu: {{approximate: {P}}}\n",
    "layer name": "name: n\ninput: [3, 8, 8]\nlayers:\n  - relu: {{name: {P}}}\n",
    "layer kind": "name: n\ninput: [3, 8, 8]\nlayers:\n  - {P}: {{}}\n",
    "bare kind": "name: n\ninput: [3, 8, 8]\nlayers:\n  - {P}\n",
    "field name": "name: n\ninput: [3, 8, 8]\nlayers:\n  - relu: {{{P}: 1}}\n",
    "top-level key": "name: n\ninput: [3, 8, 8]\nlayers: [relu]\n{P}: 1\n",
    "symbols key": "name: n\ninput: [3, 8, 8]\nsymbols: {{{P}: 3}}\nlayers: [relu]\n",
    "symbols value": "name: n\ninput: [3, H, 8]\nsymbols: {{H: {P}}}\nlayers: [relu]\n",
    "block name": "name: n\ninput: [3, 8, 8]\nblocks:\n  {P}:\n    layers: [relu]\nlayers: [relu]\n",
    "block argument name": "name: n\ninput: [3, 8, 8]\nblocks:\n  b:\n    args: {{{P}: 1}}\n    layers: [relu]\nlayers: [b]\n",
    "block argument default": "name: n\ninput: [3, 8, 8]\nblocks:\n  b:\n    args: {{x: {P}}}\n    layers:\n      - conv2d: {{out_channels: x, kernel_size: 1}}\nlayers: [b]\n",
    "block call argument": "name: n\ninput: [3, 8, 8]\nblocks:\n  b:\n    args: {{x: 1}}\n    layers:\n      - conv2d: {{out_channels: x, kernel_size: 1}}\nlayers:\n  - b: {{x: {P}}}\n",
    "block call key": "name: n\ninput: [3, 8, 8]\nblocks:\n  b:\n    layers: [relu]\nlayers:\n  - b: {{{P}: 1}}\n",
    "first": "name: n\ninput: [3, 8, 8]\nblocks:\n  b:\n    args: {{x: 1}}\n    layers:\n      - conv2d: {{out_channels: x, kernel_size: 1}}\nlayers:\n  - b: {{repeat: 2, first: {{x: {P}}}}}\n",
    "from": "name: n\ninput: [3, 8, 8]\nlayers:\n  - relu\n  - add: {{from: [input, {P}]}}\n",
    "when": "name: n\ninput: [3, 8, 8]\nblocks:\n  b:\n    args: {{f: true}}\n    layers: [{{relu: {{when: {P}}}}}]\nlayers: [b]\n",
    "repeat": "name: n\ninput: [3, 8, 8]\nlayers:\n  - relu: {{repeat: {P}}}\n",
    "in_channels expression": "name: n\ninput: [3, 8, 8]\nblocks:\n  b:\n    layers:\n      - conv2d: {{out_channels: in_channels * {P}, kernel_size: 1}}\nlayers: [b]\n",
    "tag apply": "name: n\ninput: [3, 8, 8]\nlayers:\n  - !!python/object/apply:os.system [{P}]\n",
    "tag subprocess": "name: !!python/object/apply:subprocess.check_call [[sh, -c, {P}]]\ninput: [3, 8, 8]\nlayers: [relu]\n",
    "tag new": "name: n\ninput: [3, 8, 8]\nlayers:\n  - relu: !!python/object/new:os.system [{P}]\n",
    "tag on a key": "name: n\ninput: [3, 8, 8]\nlayers: [relu]\n? !!python/object/apply:os.system [{P}]\n: 1\n",
    "tag on a string key": "name: n\ninput: [3, 8, 8]\nlayers:\n  - relu: {{!!python/object/apply:os.system {P}: 1}}\n",
    "custom tag": "name: n\ninput: [3, 8, 8]\nlayers:\n  - relu: {{name: !pwned {P}}}\n",
    "tag directive": "%TAG !p! tag:yaml.org,2002:python/object/apply:\n---\nname: n\ninput: [3, 8, 8]\nlayers: [!p!os.system [{P}]]\n",
    "merge key": "name: n\ninput: [3, 8, 8]\nlayers:\n  - conv2d: {{<<: {{out_channels: {P}}}, kernel_size: 3}}\n",
    "binary": "name: n\ninput: [3, 8, 8]\nlayers:\n  - conv2d: {{out_channels: !!binary X19pbXBvcnRfXygnb3MnKS5zeXN0ZW0oJ3RvdWNoIHB3bmVkJyk=, kernel_size: 3}}\n",
}

#: Audit events that start a process.
SPAWN_EVENTS = {
    "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty", "os.popen",
    "subprocess.Popen", "pty.spawn", "os.startfile",
}  # fmt: skip
_AUDIT: dict[str, Any] = {"on": False, "cwd": "", "seen": []}


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _AUDIT["on"]:
        return
    if event in SPAWN_EVENTS:
        _AUDIT["seen"].append((event, repr(args)[:200]))
    elif event == "compile" and args and "pwned" in str(args[0])[:100_000]:
        _AUDIT["seen"].append((event, str(args[0])[:200]))  # eval/exec/sympify compile their text first
    elif event == "open" and len(args) >= 3:
        path, mode, flags = args[0], args[1], args[2]
        writes = (mode and any(c in str(mode) for c in "wax+")) or (
            isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT)
        )
        if writes and str(path).startswith(_AUDIT["cwd"]):
            _AUDIT["seen"].append((event, repr(args)[:200]))


_HOOKED = False


def _install_audit_hook() -> None:
    global _HOOKED
    if not _HOOKED:
        sys.addaudithook(_audit)
        _HOOKED = True


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh working directory, watched: no process may start and no file may be written in it."""
    import sympy  # noqa: F401  (imported before watching, so its own start-up does not count)

    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    _install_audit_hook()
    return work


@pytest.mark.parametrize("place", list(PLACES))
def test_payloads_anywhere_run_nothing(sandbox: Path, place: str) -> None:
    src = sandbox.parent / "payload.yaml"  # outside the watched folder
    for payload in PAYLOADS:
        src.write_text(PLACES[place].format(P=json.dumps(payload)))
        for extra in ((), ("--symbolic",), ("--format", "json")):
            _AUDIT.update(on=True, cwd=str(sandbox), seen=[])
            try:
                result = run("summarize", str(src), *extra)
            finally:
                _AUDIT["on"] = False
            assert _AUDIT["seen"] == [], (place, payload, _AUDIT["seen"])
            assert list(sandbox.iterdir()) == [], (place, payload, list(sandbox.iterdir()))
            assert "Traceback" not in result.stderr
            assert result.exit_code in (0, 2, 3), (place, payload, result.exit_code)


def test_payloads_in_a_real_process_create_nothing(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    for i, place in enumerate(["field value", "symbols key", "block argument default", "tag subprocess", "from"]):
        src = tmp_path / f"payload{i}.yaml"
        src.write_text(PLACES[place].format(P=json.dumps(PAYLOADS[0])))
        outcome = run_process("summarize", str(src), "--symbolic", cwd=work)
        assert outcome.exit_code in (0, 2), (place, outcome.stderr)
        assert "Traceback" not in outcome.stderr
    assert list(work.iterdir()) == []


def test_an_unsafe_expression_is_a_clear_error_and_runs_nothing(sandbox: Path) -> None:
    src = sandbox.parent / "unsafe.yaml"
    src.write_text(
        "name: n\ninput: [3, 8, 8]\nlayers:\n  - conv2d: {out_channels: \"__import__('os').system('touch pwned')\", kernel_size: 3}\n"
    )
    _AUDIT.update(on=True, cwd=str(sandbox), seen=[])
    try:
        outcome = run_inprocess("summarize", str(src))
    finally:
        _AUDIT["on"] = False
    check_outcome(outcome, expect=2, file="unsafe.yaml", line=4, message=r"is not an arithmetic expression")
    assert _AUDIT["seen"] == [] and list(sandbox.iterdir()) == []


DEEP = {
    # PyYAML 6.0.3's libyaml composed these recursively in C and crashed (exit -11) at 200,000 levels;
    # 6.0.4's stops at 1,000 levels with its own words. cnncalc answers the same on both.
    "flow": lambda n: NET + "layers: [relu]\nx: " + "[" * n + "]" * n + "\n",
    "flow_mapping": lambda n: NET + "layers: [relu]\nx: " + "{a: " * n + "1" + "}" * n + "\n",
    "block": lambda n: (
        NET + "layers: [relu]\nx:\n" + "".join("  " * i + "- \n" for i in range(1, n)) + "  " * n + "- 1\n"
    ),
    "compact": lambda n: NET + "layers: [relu]\nx:\n  " + "- " * n + "1\n",
}


@pytest.mark.parametrize("levels", [66, 1_500, 300_000])
@pytest.mark.parametrize("style", list(DEEP))
def test_deep_nesting_is_refused_in_a_real_process(tmp_path: Path, style: str, levels: int) -> None:
    if style == "block" and levels > 2_000:
        levels = 2_000  # indentation grows with depth: 2,000 levels is already 4 MB
    path = tmp_path / f"deep_{style}.yaml"
    path.write_text(DEEP[style](levels))
    outcome = run_process("summarize", str(path))
    assert outcome.exit_code >= 0, f"killed by signal {-outcome.exit_code}"
    check_outcome(
        outcome,
        expect=2,
        file=path.name,
        message=r"the file is nested more than 64 levels deep",
        line={"flow": 4, "flow_mapping": 4, "compact": 5}.get(style),  # a block nests one line a level
        limit=TIME_LIMIT + STARTUP,
    )


def test_a_long_flow_list_stops_at_the_value_limit_before_composing(tmp_path: Path) -> None:
    # One line of 250,000 values: long enough that the event scan runs, and it stops at the limit.
    path = tmp_path / "wide.yaml"
    path.write_text(NET + "layers: [relu]\nx: [" + ", ".join(["1"] * 250_000) + "]\n")
    check_outcome(_summarize(path), expect=2, file="wide.yaml", message=r"more than 200,000 YAML values", line=4)
