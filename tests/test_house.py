"""The house rules, checked on every run: imports flow one way (no cycle, and no module imports one
above it in :data:`LAYERS`), files stay readable in one sitting, long functions say why, every layer
kind is complete (JSON Schema entry, README row, property-test strategy; its torch builder is checked
in test_torch.py), and ruff, ruff format and mypy --strict pass on the package.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cnncalc.layers import KINDS

from .conftest import ROOT

PACKAGE = ROOT / "cnncalc"

#: The package's layers, bottom up: a module may import modules of its own layer or below, never
#: above. Renderers sit below the report, which offers ``Summary.render``; they see it only as a type.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("cnncalc.errors", "cnncalc.units"),
    ("cnncalc.expressions",),
    ("cnncalc.functions",),
    ("cnncalc.symbolic",),
    ("cnncalc.compiled", "cnncalc.periodic"),
    ("cnncalc.layers",),
    ("cnncalc.spec",),
    ("cnncalc.scopes",),
    ("cnncalc.nodes",),
    ("cnncalc.network",),
    ("cnncalc.grids",),
    ("cnncalc.receptive",),
    ("cnncalc.views",),
    ("cnncalc.render",),
    ("cnncalc.report",),
    ("cnncalc.evaluate",),
    ("cnncalc.constraints", "cnncalc.explain", "cnncalc.memory"),
    ("cnncalc.counting",),
    ("cnncalc.engines", "cnncalc.slices"),
    ("cnncalc.sweep", "cnncalc.solve"),
    ("cnncalc.verify",),
    ("cnncalc.comparison",),
    ("cnncalc.backends",),
    ("cnncalc.architecture",),
    ("cnncalc.importers",),
    ("cnncalc.cli_io",),
    ("cnncalc.cli_design", "cnncalc.cli_counting", "cnncalc.cli_import"),
    ("cnncalc", "cnncalc.cli", "cnncalc.__main__"),
)
#: Modules over this many lines need splitting ("readable in one sitting").
MAX_MODULE_LINES = 440
#: Functions over this many lines must say why in a comment or docstring ("Long for a reason").
MAX_FUNCTION_LINES = 60


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def _imports(path: Path, name: str | None = None) -> set[str]:
    """cnncalc modules ``path`` (module ``name``) imports, at module level or inside functions, not
    for types only."""
    name = name or _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                for other in child.orelse:
                    visit(other)
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names if a.name.startswith("cnncalc"))
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - child.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                if base.startswith("cnncalc"):
                    found.add(base)
                    found.update(f"{base}.{a.name}" for a in child.names)  # `from . import grids`
            visit(child)

    visit(ast.parse(path.read_text()))
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {m for m in _imports(path) if m in modules and m != name} for name, path in modules.items()}


def _layer(module: str) -> int:
    best = -1
    for i, names in enumerate(LAYERS):
        for n in names:
            if module == n or (n != "cnncalc" and module.startswith(n + ".")):
                best = i
    assert best >= 0, f"{module} is in no layer of LAYERS: place it"
    return best


def _inside(module: str, other: str) -> bool:
    """Whether ``other`` is ``module``'s own package or inside it (a package imports its parts)."""
    return other == module or other.startswith(module + ".") or module.startswith(other + ".")


def test_imports_flow_one_way() -> None:
    graph = _graph()
    upward = [
        f"{m} imports {o} (layer {_layer(o)} above {_layer(m)})"
        for m, targets in graph.items()
        for o in targets
        if _layer(o) > _layer(m) and not _inside(m, o)
    ]
    assert not upward, "\n".join(sorted(upward))


def test_no_import_cycle() -> None:
    graph = _graph()
    # A package's __init__ re-exporting its own modules is not a cycle of the design: drop those edges.
    edges = {m: {o for o in t if not (o.startswith(m + ".") and (PACKAGE.parent / m.replace(".", "/")).is_dir())}
             for m, t in graph.items()}  # fmt: skip
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for o in sorted(edges[m]):
            if state.get(o) == 1:
                cycle = [*stack[stack.index(o) :], o]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if o not in state:
                visit(o)
        stack.pop()
        state[m] = 2

    for m in sorted(edges):
        if m not in state:
            visit(m)


def test_the_rule_sees_upward_imports(tmp_path: Path) -> None:
    """The checker itself (a rule that cannot fail checks nothing): upward imports are seen at
    module level and inside functions, relative or absolute; imports for types only are not."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from typing import TYPE_CHECKING\nfrom ..report import Summary\n"
        "if TYPE_CHECKING:\n    from ..cli import cli\n"
        "def f():\n    import cnncalc.architecture\n    from .. import evaluate\n"
    )
    found = _imports(probe, "cnncalc.layers.probe")
    assert {"cnncalc.report", "cnncalc.architecture", "cnncalc.evaluate"} <= found
    assert "cnncalc.cli" not in found
    assert all(_layer(m) > _layer("cnncalc.layers.probe") for m in ("cnncalc.report", "cnncalc.evaluate"))


def test_modules_stay_readable_and_long_functions_say_why() -> None:
    long_modules = []
    long_functions = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text()
        lines = text.count("\n")
        if lines > MAX_MODULE_LINES:
            long_modules.append(f"{path.relative_to(ROOT)}: {lines} lines")
        source = text.splitlines()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno:
                length = node.end_lineno - node.lineno + 1
                doc = node.body[0] if node.body and isinstance(node.body[0], ast.Expr) else None
                if doc is not None and isinstance(doc.value, ast.Constant) and doc.end_lineno:
                    length -= doc.end_lineno - doc.lineno + 1  # a docstring stating formulas is welcome
                body = "\n".join(source[node.lineno - 1 : node.end_lineno])
                if length > MAX_FUNCTION_LINES and "long for a reason" not in body.lower():
                    long_functions.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {length} lines")
    assert not long_modules, long_modules
    assert not long_functions, long_functions


def test_every_kind_is_in_the_json_schema_the_readme_and_the_property_tests() -> None:
    from cnncalc.spec.schema import json_schema

    schema_kinds = set(json_schema()["$defs"]["layer"]["anyOf"][1]["properties"])
    assert schema_kinds == set(KINDS)
    readme = (ROOT / "README.md").read_text()
    rows = [line.strip() for line in readme.splitlines() if line.strip().startswith("|")]
    in_readme = {k for k in KINDS if any(re.search(rf"`{re.escape(k)}`", row) for row in rows)}
    assert in_readme == set(KINDS), f"kinds without a README table row: {sorted(set(KINDS) - in_readme)}"
    strategies = (ROOT / "tests" / "test_torch_property.py").read_text()
    drawn = {k for k in KINDS if re.search(rf"[\"']{re.escape(k)}[\"']", strategies)}
    # Ranked kinds may be drawn by family and rank: f"conv{rank}d".
    drawn |= {k for k in KINDS if re.fullmatch(r"[a-z]+[123]d", k) and re.search(rf"{k[:-2]}{{\w*rank}}d", strategies)}
    assert drawn == set(KINDS), f"kinds the property tests never draw: {sorted(set(KINDS) - drawn)}"


def _tool(*command: str) -> subprocess.CompletedProcess[str]:
    """``python -m TOOL ...`` with this interpreter (no dependence on PATH)."""
    if importlib.util.find_spec(command[0]) is None:
        pytest.fail(f"{command[0]} is not installed: pip install '.[test]' installs it")
    return subprocess.run(
        [sys.executable, "-m", *command], cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )


def test_ruff_check_and_format() -> None:
    check = _tool("ruff", "check", "cnncalc", "tests", "benchmarks")
    assert check.returncode == 0, check.stdout[-4000:]
    form = _tool("ruff", "format", "--check", "cnncalc", "tests", "benchmarks")
    assert form.returncode == 0, form.stdout[-4000:]


def test_mypy_strict_on_the_package() -> None:
    result = _tool("mypy", "cnncalc")
    assert result.returncode == 0, result.stdout[-4000:]
