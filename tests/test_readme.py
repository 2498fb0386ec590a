"""The README tests itself: its two set-up commands are the ones CI runs, its Python examples run,
and the CLI lines it shows are what cnncalc prints."""

from __future__ import annotations

import re
import shlex

from .conftest import ROOT, run

README = (ROOT / "README.md").read_text()


def test_readme_starts_with_the_two_commands_and_ci_runs_the_second() -> None:
    block = re.search(r"```sh\n(.*?)```", README, re.S)
    assert block is not None and README.index(block.group(0)) < 40
    install, test = block.group(1).strip().splitlines()
    assert install == "pip install . && cnncalc summarize vgg16"
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == test


def test_python_examples_run() -> None:
    namespace: dict[str, object] = {}
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    assert len(blocks) >= 2
    for code in blocks:
        exec(compile(code, "README.md", "exec"), namespace)  # the README's own examples, not user input
    assert str(namespace["net"].summarize(symbolic=True).total.params) == "4608*k**2 + 480*k"  # type: ignore[attr-defined]


def test_shown_cli_output_matches() -> None:
    shown = re.findall(r"```text\n\$ cnncalc summarize (\w+) (.*?)\n(.*?)```", README, re.S)
    assert {name for name, _, _ in shown} >= {"vgg16", "r3d_18"}
    for name, args, lines in shown:
        actual = run("summarize", name, *args.split()).stdout.splitlines()
        for line in lines.splitlines():
            if line != "..." and not line.startswith("$"):
                assert line in actual, line
    alexnet = run("summarize", "alexnet", "--symbolic", "--columns", "name,output,macs").stdout
    assert "pool3     256xfloor((H - 31)/32)xfloor((W - 31)/32)" in alexnet


def test_shown_design_answers_match() -> None:
    """The constraints, sweep and solve runs the README shows: every line it prints is printed."""
    shown = re.findall(
        r"^\$ cnncalc (constraints|sweep|solve|summarize) (.*?)\n(.*?)(?=^\$ |^```)", README, re.S | re.M
    )
    shown = [s for s in shown if s[0] != "summarize" or "--batch" in s[1]]
    assert {command for command, _, _ in shown} == {"constraints", "sweep", "solve", "summarize"}
    for command, args, lines in shown:
        result = run(command, *shlex.split(args))
        actual = result.stdout.splitlines()
        for line in lines.splitlines():
            if line != "...":
                assert line in actual, (command, args, line)


def test_the_resnet18_shown_is_the_bundled_file() -> None:
    shown = re.search(r"```yaml\n(name: ResNet18\n.*?)```", README, re.S)
    assert shown is not None
    strip = lambda text: [line.split("#")[0].rstrip() for line in text.splitlines() if not line.startswith("#")]  # noqa: E731
    assert [ln for ln in strip(shown.group(1)) if ln.strip()] == [
        ln for ln in strip((ROOT / "architectures" / "resnet18.yaml").read_text()) if ln.strip()
    ]
