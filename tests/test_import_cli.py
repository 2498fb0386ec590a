"""``cnncalc import torch`` and ``cnncalc import onnx`` on the command line: a user's file becomes
a YAML file that summarizes to PyTorch's own parameter count; bad targets, inputs and files are one
line each; the help says plainly that the command runs the user's code. Time: about 5 s."""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path
from typing import Any

import torch

import cnncalc

from .conftest import run

MODEL = """
import torch
from torch import nn
import torch.nn.functional as F

class Net(nn.Module):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 16, 3, padding=1)
        self.fc = nn.Linear(16, num_classes)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = x + F.relu(self.conv2(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

def make_model(num_classes=1000):
    return Net(num_classes)
"""


def test_import_torch_writes_a_file_that_summarizes_as_pytorch_counts(tmp_path: Path) -> None:
    source = tmp_path / "model.py"
    source.write_text(MODEL)
    out = tmp_path / "net.yaml"
    result = run("import", "torch", f"{source}:make_model", "--args", '{"num_classes": 10}', "--input", "3,H,W",
                 "--set", "H=32", "--set", "W=32", "--name", "Net", "-o", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "symbols: {H: 32, W: 32}" in out.read_text()
    summary = run("summarize", str(out), "--format", "json")
    assert summary.exit_code == 0, summary.output
    # PyTorch's count of Net(10): 3*16*9+16 + 16*16*9+16 + 16*10+10 = 448 + 2320 + 170
    assert json.loads(summary.output)["total"]["params"] == 2938
    verified = run("verify", str(out))  # PyTorch builds the imported file and agrees, layer by layer
    assert verified.exit_code == 0 and "all agree" in verified.output, verified.output


def test_the_help_says_the_command_runs_the_users_code() -> None:
    text = " ".join(run("import", "torch", "--help").output.split())
    assert "RUNS THE CODE OF FILE.py" in text and "This runs the Python file you name" in text
    assert "No other cnncalc command runs user code" in text


def test_bad_targets_and_inputs_are_one_line_errors(tmp_path: Path) -> None:
    source = tmp_path / "model.py"
    source.write_text(MODEL)
    cases = {
        (f"{source}:nothing", "3,H,W"): f"cnncalc: error: {source} has no 'nothing'",
        (f"{source}", "3,H,W"): "write FILE.py:NAME",
        (f"{tmp_path / 'missing.py'}:f", "3,H,W"): "no such file",
        (f"{source}:make_model", "3,H,-1"): "'-1' is neither a positive whole number nor a symbol name",
        (f"{source}:make_model", "3,H,W --set K=3"): "--set K: the input 3,H,W has no size named K",
        (f"{source}:make_model", "3,H,W --set H=7/2"): "--set H=3.5: an input size is a positive whole number",
    }
    for (target, shape), message in cases.items():
        result = run("import", "torch", target, "--input", *shape.split())
        assert result.exit_code == 2
        assert message in result.stderr and len(result.stderr.splitlines()) == 1, result.stderr
    result = run("import", "torch", f"{source}:make_model", "--input", "1,H,W")  # Net wants 3 channels
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1, result.stderr  # no traceback
    assert "Net fails on an input of 1x224x224 at conv1: RuntimeError: Given groups=1" in result.stderr
    broken = tmp_path / "broken.py"
    broken.write_text("raise ValueError('no model here')\n")
    result = run("import", "torch", f"{broken}:f", "--input", "3,H,W")
    assert result.exit_code == 2 and "running it failed: ValueError: no model here" in result.stderr


def test_import_onnx_writes_a_file_with_the_symbolic_sizes_and_pytorchs_count(tmp_path: Path) -> None:
    """The same Net exported by PyTorch's exporter, H and W dynamic: the file keeps their names."""
    source = tmp_path / "model.py"
    source.write_text(MODEL)
    spec = importlib.util.spec_from_file_location("cnncalc_test_model", source)
    assert spec is not None and spec.loader is not None
    user: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(user)
    model = user.make_model(10).eval()
    path = tmp_path / "net.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, 3, 32, 32),), str(path), dynamo=False, opset_version=18,
                          input_names=["x"], dynamic_axes={"x": {2: "H", 3: "W"}})  # fmt: skip
    out = tmp_path / "net.yaml"
    result = run("import", "onnx", str(path), "--name", "Net", "-o", str(out))
    assert result.exit_code == 0, result.output
    summary = run("summarize", str(out), "--set", "H=32", "--set", "W=32", "--format", "json")
    assert summary.exit_code == 0, summary.output
    assert json.loads(summary.output)["total"]["params"] == sum(p.numel() for p in model.parameters())
    assert "input: [3, H, W]" in out.read_text()
    arch = cnncalc.from_onnx(path)  # the same in Python
    assert arch.summarize(H=32, W=32).total.params == sum(p.numel() for p in model.parameters())


def test_import_onnx_of_a_file_that_is_no_onnx_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    result = run("import", "onnx", str(bad))
    assert result.exit_code == 2 and result.stderr.startswith("cnncalc: error:"), result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_import_never_replaces_a_file_unless_forced(tmp_path: Path) -> None:
    """An existing -o file is the user's: refused before their code runs; --force replaces it."""
    source = tmp_path / "model.py"
    source.write_text(MODEL + "\nopen(__file__ + '.ran', 'w').close()\n")
    out = tmp_path / "net.yaml"
    out.write_text("my own notes\n")
    result = run("import", "torch", f"{source}:make_model", "--input", "3,H,W", "-o", str(out))
    assert result.exit_code == 2 and "exists already; import never replaces a file unless --force" in result.stderr
    assert out.read_text() == "my own notes\n" and not Path(f"{source}.ran").exists()
    result = run("import", "torch", f"{source}:make_model", "--input", "3,H,W", "-o", str(out), "--force")
    assert result.exit_code == 0, result.output
    assert cnncalc.load(out).summarize().total.params == 448 + 2320 + 16 * 1000 + 1000  # Net(1000), by hand


def test_import_onnx_takes_defaults_for_the_named_sizes(tmp_path: Path) -> None:
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU()).eval()
    path = tmp_path / "net.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(1, 3, 20, 20),), str(path), dynamo=False, opset_version=18,
                          input_names=["x"], dynamic_axes={"x": {2: "height", 3: "width"}})  # fmt: skip
    result = run("import", "onnx", str(path), "--set", "height=40", "--set", "width=30")
    assert result.exit_code == 0, result.output
    arch = cnncalc.load(result.output)
    with torch.no_grad():
        expected = tuple(model(torch.zeros(1, 3, 40, 30)).shape[1:])
    assert tuple(arch.summarize().rows[-1].output) == expected
    result = run("import", "onnx", str(path), "--set", "H=40")
    assert (
        result.exit_code == 2 and "the ONNX input has no size named H (its named sizes: height, width)" in result.stderr
    )
