"""The code keeps the shape docs/architecture.md describes: small modules and functions, and
tests laid out by the same stages as the domain.

Sizes: no module over 700 lines and no function over 80 lines (``end_lineno - lineno + 1`` of
every ``def``, nested ones included) in the code we ship and run (include/, plugins/, dags/,
scripts/, bench/); tests are exempt.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from textwrap import indent

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("include", "plugins", "dags", "scripts", "bench")
MAX_MODULE_LINES = 700
MAX_FUNCTION_LINES = 80
# Test folders for the layers that have no stage (docs/architecture.md, "Where to put ...").
LAYER_TEST_DIRS = {"provider", "portal", "sandbox", "tools", "dags", "support"}


def _python_files() -> list[Path]:
    return sorted(
        p
        for top in SHIPPED
        for p in (ROOT / top).rglob("*.py")
        if not {".venv", "__pycache__"} & set(p.parts)
    )


def long_functions(source: str, limit: int = MAX_FUNCTION_LINES) -> list[tuple[str, int]]:
    """(name, lines) of every function or method longer than ``limit`` lines."""
    return [
        (node.name, node.end_lineno - node.lineno + 1)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.end_lineno - node.lineno + 1 > limit
    ]


def test_the_checks_see_what_they_measure():
    body = "\n".join(f"x{i} = {i}" for i in range(79))
    assert long_functions("def short():\n" + indent(body, "    ")) == []  # 80 lines
    nested = "def f():\n    def inner():\n" + indent(body + "\npass", "        ")
    assert long_functions(nested) == [("f", 82), ("inner", 81)]
    assert len(_python_files()) > 100


@pytest.mark.parametrize("top", SHIPPED)
def test_no_module_over_700_lines(top: str):
    too_long = {
        str(p.relative_to(ROOT)): n
        for p in _python_files()
        if p.relative_to(ROOT).parts[0] == top
        and (n := p.read_text().count("\n")) > MAX_MODULE_LINES
    }
    assert too_long == {}, f"split these modules (lines): {too_long}"


@pytest.mark.parametrize("top", SHIPPED)
def test_no_function_over_80_lines(top: str):
    too_long = {
        f"{p.relative_to(ROOT)}:{name}": n
        for p in _python_files()
        if p.relative_to(ROOT).parts[0] == top
        for name, n in long_functions(p.read_text())
    }
    assert too_long == {}, f"split these functions (lines): {too_long}"


def test_tests_mirror_the_stages():
    """Every domain stage has its test folder, and every test folder is a stage or a layer."""
    stages = {
        p.name
        for p in (ROOT / "include" / "collector").iterdir()
        if p.is_dir() and (p / "__init__.py").exists()
    }
    folders = {
        p.name
        for p in (ROOT / "tests").iterdir()
        if p.is_dir() and not p.name.startswith((".", "_"))
    }
    assert stages - folders == set(), "stages without a tests/<stage>/ folder"
    assert folders - stages - LAYER_TEST_DIRS == set(), "test folders that are no stage or layer"
    for folder in folders - {"support"}:
        assert list((ROOT / "tests" / folder).glob("test_*.py")), f"tests/{folder}/ holds no test"


def test_the_readme_names_each_dags_stage():
    """The README's pipeline table gives each DAG its stage, and the stage is a domain package:
    the table is how a newcomer finds the code (docs/architecture.md)."""
    rows = re.findall(r"^\| `([a-z_]+)` \(([a-z]+)\) \|", (ROOT / "README.md").read_text(), re.M)
    dag_files = {p.stem for p in (ROOT / "dags").glob("*.py")}
    assert {dag for dag, _ in rows} == dag_files
    for dag, stage in rows:
        assert (ROOT / "include" / "collector" / stage / "__init__.py").exists(), (dag, stage)
