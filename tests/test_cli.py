"""The command line: golden files per example and format, printed rows that add up to the printed
totals, bad input as one line with exit code 2, and -o that never loses a file."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from cnncalc.render import FORMATS

from .conftest import ARCHITECTURES, ROOT, run

GOLDEN = Path(__file__).parent / "golden"
EXT = {"text": "txt", "markdown": "md", "latex": "tex", "csv": "csv", "json": "json", "html": "html"}
CASES = [("lenet5", False, fmt) for fmt in FORMATS] + [
    ("alexnet2012", False, "text"),
    ("vgg16", True, "json"),
    ("vgg16", True, "latex"),
    ("vgg16", True, "markdown"),
    ("alexnet", True, "text"),
    ("resnet50", False, "text"),
    ("resnet50", True, "json"),
    ("inception_v3", False, "csv"),
    ("unet", True, "markdown"),
]


@pytest.mark.parametrize(("example", "symbolic", "fmt"), CASES)
def test_golden(example: str, symbolic: bool, fmt: str, update_golden: bool) -> None:
    args = ["summarize", example, "--format", fmt] + (["--symbolic"] if symbolic else [])
    result = run(*args)
    assert result.exit_code == 0, result.stderr
    path = GOLDEN / f"{example}{'_symbolic' if symbolic else ''}.{EXT[fmt]}"
    if update_golden:
        path.write_text(result.stdout)
    assert path.exists(), f"no golden file {path.name}: run pytest --update-golden and review the diff"
    assert result.stdout == path.read_text()


@pytest.mark.parametrize("example", sorted(p.stem for p in ARCHITECTURES.glob("*.yaml")))
def test_printed_rows_add_up_to_the_printed_total(example: str) -> None:
    text = run("summarize", example, "--format", "csv").stdout
    rows = [r for r in csv.DictReader(io.StringIO(text)) if not r["name"].startswith("#")]
    *layers, total = rows
    assert total["name"] == "total"
    for key in ("params", "macs", "activations"):
        assert sum(int(r[key]) for r in layers) == int(total[key]), key
    data = json.loads(run("summarize", example, "--format", "json").stdout)
    for key in ("params", "trainable_params", "macs", "activations"):
        assert sum(layer[key] for layer in data["layers"]) == data["total"][key]
    assert data["total"]["params"] == int(total["params"])


@pytest.mark.parametrize("example", ["resnet152", "densenet201", "efficientnet_b0"])
def test_zoo_files_stay_short(example: str) -> None:
    # blocks, repeat and first keep even the deepest networks readable against their papers
    assert len((ARCHITECTURES / f"{example}.yaml").read_text().splitlines()) < 100


def test_json_contract() -> None:
    data = json.loads(run("summarize", "vgg16", "--symbolic", "--format", "json").stdout)
    assert set(data) >= {"name", "input", "layers", "total", "conventions"}
    layer = data["layers"][0]
    assert set(layer) == {
        "name", "kind", "from", "input", "output", "params", "trainable_params", "macs",
        "activations", "rf", "fc_params", "local_params",
    }  # fmt: skip
    assert layer["params"] == 1792 and isinstance(layer["params"], int)
    assert data["layers"][30]["output"] == [512, "floor(H/32)", "floor(W/32)"]  # pool5, as the issue states
    assert data["layers"][1]["fc_params"] is None
    assert set(data["total"]) == {"params", "trainable_params", "macs", "activations", "neurons"}
    assert "multiply-accumulates" in data["conventions"]["macs"]


def test_set_overrides_defaults_and_symbolic_keeps_the_rest() -> None:
    data = json.loads(run("summarize", "vgg16", "--set", "H=448", "--format", "json").stdout)
    assert data["layers"][30]["output"] == [512, 14, 7]  # 448/32 and 224/32
    data = json.loads(run("summarize", "vgg16", "--symbolic", "--set", "W=224", "--format", "json").stdout)
    assert data["layers"][30]["output"] == [512, "floor(H/32)", 7]


def test_columns_option() -> None:
    out = run("summarize", "lenet5", "--columns", "name,output,params").stdout
    assert "Layer  " in out and "MACs" not in out.split("\n")[2]
    bad = run("summarize", "lenet5", "--columns", "name,flops")
    assert bad.exit_code == 2 and "unknown column 'flops'" in bad.stderr


def test_list_validate_schema_and_help() -> None:
    listed = run("list").stdout
    assert "vgg16" in listed and "138,357,544" in listed
    first, limits = run("validate", "vgg16").stdout.splitlines()
    assert first.endswith("ok (VGG16, 40 layers, shapes checked at the default values)")
    # torchvision's VGG weights publish min_size (32, 32); pool5 is the fifth 2x2 pooling.
    assert limits == "valid values: H >= 32 (pool5); W >= 32 (pool5)"
    schema = json.loads(run("schema").stdout)
    assert "conv2d" in schema["$defs"]["layer"]["anyOf"][1]["properties"]
    for command in ("summarize", "validate", "list", "schema"):
        result = run(command, "--help")
        assert result.exit_code == 0 and "Usage:" in result.stdout


def test_bundled_files_match_the_json_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    schema = json.loads(run("schema").stdout)
    validator = jsonschema.Draft202012Validator(schema)
    for path in ARCHITECTURES.glob("*.yaml"):
        validator.validate(yaml.safe_load(path.read_text()))
    wrong = {"input": [3, 8, 8], "layers": [{"conv2d": {"out_channels": 8, "kernal_size": 3}}]}
    assert not validator.is_valid(wrong)


BAD = [
    (
        "input: [3, 32, 32]\nlayers:\n  - conv2d: {out_channels: 8, kernal_size: 3}\n",
        r"bad\.yaml:3:31: layer conv1 \(conv2d\): kernal_size is not a field \(did you mean 'kernel_size'\?\)",
    ),
    (
        "input: [3, 4, 4]\nlayers:\n  - conv2d: {out_channels: 8, kernel_size: 5}\n",
        r"bad\.yaml:3:5: layer conv1 \(conv2d\), input \[3, 4, 4\]: kernel 5x5 \(with dilation\) is larger than the padded input 4x4",
    ),
    (
        "input: [3, 32, 32]\nlayers:\n  - conv2d: {out_channels: 8, kernel_size: 3.5}\n",
        r"bad\.yaml:3:44: layer conv1 \(conv2d\): kernel_size must be a whole number or an expression such as 64\*k, got 3\.5",
    ),
    ("input: [3, 32, 32]\ninput: [3, 32, 32]\nlayers: [relu]\n", r"bad\.yaml:2:1: duplicate key 'input'"),
    (
        "input: [3, 32, 32]\nlayers:\n  - conv2d: {out_channels: 8, kernel_size: 3, groups: 2}\n",
        r"layer conv1 \(conv2d\), input \[3, 32, 32\]: 3 input channels are not divisible by groups=2",
    ),
    (
        "input: [4, 32, 32]\nlayers:\n  - conv2d: {out_channels: 7, kernel_size: 3, groups: 2}\n",
        r"bad\.yaml:3:28: layer conv1 \(conv2d\), input \[4, 32, 32\]: out_channels=7 is not divisible by groups=2",
    ),
    (
        "input: [3, 32, 32]\nlayers:\n  - conv2d: {out_channels: 8, kernel_size: 3}\n  - linear: {out_features: 10}\n",
        r"bad\.yaml:4:5: layer fc1 \(linear\), input \[8, 30, 30\]: linear needs a flat input: add `flatten`",
    ),
    (
        "input: [3, 32, 32]\nlayers:\n  - conv4d: {out_channels: 8}\n",
        r"bad\.yaml:3:5: layer 1: unknown layer kind 'conv4d' \(did you mean 'conv\dd'\?\)",
    ),
    (
        "input: [3, 32, 32]\nlayers:\n  - conv2d: {out_channels: 8, kernel_size: 0}\n",
        r"bad\.yaml:3:44: layer conv1 \(conv2d\), input \[3, 32, 32\]: kernel_size must be at least 1, got 0",
    ),
    (
        "input: [3, 32, 32]\nlayers:\n  - conv2d: {out_channels: \"__import__('os')\", kernel_size: 3}\n",
        r"out_channels .* is not an arithmetic expression: unexpected \"'\"",
    ),
    (
        'input: [3, 32, 32]\nlayers:\n  - !!python/object/apply:os.system ["echo hi"]\n',
        r"bad\.yaml:3:5: the YAML tag 'tag:yaml\.org,2002:python/object/apply:os\.system' is not allowed",
    ),
    ("- conv2d\n", r"bad\.yaml:1:1: an architecture is a mapping with name, input and layers, not a list"),
    ("", r"bad\.yaml: the file is empty"),
    ("input: [3, 32, 32\nlayers:\n", r"bad\.yaml:2:7: invalid YAML: did not find expected ',' or '\]'"),
    (
        "input: [3, 2, 2]\nlayers:\n  - maxpool2d: {kernel_size: 2}\n  - maxpool2d: {kernel_size: 2}\n",
        r"layer pool2 \(maxpool2d\), input \[3, 1, 1\]: output size 0x0 is too small \(below 1\): kernel 2x2 \(with dilation\) on a padded input 1x1",
    ),
    (
        "input: [3, 32, 32]\nlayers:\n  - maxpool2d: {kernel_size: 2, padding: 2}\n",
        r"bad\.yaml:3:42: layer pool1 \(maxpool2d\), input \[3, 32, 32\]: padding 2 is more than half the kernel",
    ),
    (
        "input: [3, 32, 32]\nlayers:\n  - conv2d: {out_channels: 8, kernel_size: 3, stride: 2, padding: same}\n",
        r"layer conv1 \(conv2d\).*: padding='same' needs stride 1",
    ),
    ("input: [3, H, 32]\nlayers:\n  - relu\n", r"bad\.yaml:1:12: input: H has no value: give one with --set H="),
    (
        "input: [3, 32, 32]\nlayers:\n  - conv2d: {out_channels: 8, kernel_size: [3]}\n",
        r"layer conv1 \(conv2d\): kernel_size needs 2 values \[height, width\]",
    ),
    (
        "input: [3, 32, 32]\nlayer:\n  - relu\n",
        r"bad\.yaml:2:1: 'layer' is not a top-level field \(did you mean 'layers'\?\)",
    ),
    (
        "input: [3, 32, 32]\nlayers:\n  - conv2d:\n    out_channels: 8\n  kernel_size: 3\n",
        r"bad\.yaml:\d+:\d+: invalid YAML",
    ),
    (
        "input: [3, 32, 32]\nlayers:\n  - conv2d: {out_channels: 8, kernel_size: 3, bias: maybe}\n",
        r"layer conv1 \(conv2d\): bias must be true or false, got 'maybe'",
    ),
    ("input: [3, 32, 32]\nsymbols: {H: 0}\nlayers:\n  - relu\n", r"symbol H must be a positive integer, got 0"),
    (
        "input: [3, 32, 32]\nlayers:\n  - flatten\n  - batchnorm2d\n",
        r"layer bn1 \(batchnorm2d\), input \[3072\]: batchnorm2d needs a \[channels, height, width\] input",
    ),
    (
        "input: [3, 32, 32]\nlayers:\n  - {conv2d: {out_channels: 8, kernel_size: 3}, relu: null}\n",
        r"bad\.yaml:3:5: layer 1: a layer is one `kind: \{fields\}` mapping or a bare kind, got keys conv2d, relu",
    ),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[f"bad{i}" for i in range(len(BAD))])
def test_bad_input_is_one_clear_line_with_exit_code_2(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = run("summarize", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("cnncalc: error: ")
    assert "Traceback" not in result.stderr
    import re

    assert re.search(message, lines[0]), lines[0]


def test_missing_files_folders_and_bytes(tmp_path: Path) -> None:
    assert "no such file" in run("summarize", str(tmp_path / "nope.yaml")).stderr
    assert "is a folder" in run("summarize", str(tmp_path)).stderr
    (tmp_path / "latin1.yaml").write_bytes(b"name: caf\xe9\ninput: [3, 8, 8]\nlayers: [relu]\n")
    assert "not UTF-8 text (byte 0xe9 at offset 9)" in run("summarize", str(tmp_path / "latin1.yaml")).stderr
    unknown = run("summarize", "vggg16")
    assert unknown.exit_code == 2 and "did you mean 'vgg16'" in unknown.stderr


def test_output_is_written_atomically_and_never_over_the_input(tmp_path: Path) -> None:
    out = tmp_path / "table.md"
    assert run("summarize", "lenet5", "--format", "markdown", "-o", str(out)).exit_code == 0
    assert out.read_text().startswith("**LeNet5")
    # a failed run leaves the existing output untouched
    before = out.read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [3, 4, 4]\nlayers:\n  - conv2d: {out_channels: 8, kernel_size: 5}\n")
    assert run("summarize", str(bad), "-o", str(out)).exit_code == 2
    assert out.read_text() == before
    # the input file is never the output
    src = tmp_path / "net.yaml"
    src.write_text((ARCHITECTURES / "lenet5.yaml").read_text())
    result = run("summarize", str(src), "-o", str(src))
    assert result.exit_code == 2 and "is the input file" in result.stderr
    assert src.read_text() == (ARCHITECTURES / "lenet5.yaml").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "net.yaml", "table.md"]


def test_console_script_and_module_run(tmp_path: Path) -> None:
    for cmd in ([sys.executable, "-m", "cnncalc"], [str(Path(sys.executable).with_name("cnncalc"))]):
        done = subprocess.run(
            [*cmd, "summarize", "lenet5", "--format", "json"], capture_output=True, text=True, cwd=tmp_path
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["total"]["params"] == 61_706  # the lecture's LeNet-5
    bad = tmp_path / "bad.yaml"
    bad.write_text("input: [3, 4, 4]\nlayers:\n  - conv2d: {out_channels: 8, kernel_size: 5}\n")
    done = subprocess.run(
        [sys.executable, "-m", "cnncalc", "summarize", str(bad)], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr and done.stderr.count("\n") == 1
