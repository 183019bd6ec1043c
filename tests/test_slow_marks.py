"""`make test-fast` skips the tests marked slow; a new browser test must not slip into it."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _marks_slow(node: ast.expr) -> bool:
    return any(
        isinstance(n, ast.Attribute) and n.attr == "slow" and "mark" in ast.unparse(n)
        for n in ast.walk(node)
    )


def _uses_playwright(function: ast.AST) -> bool:
    """Imports Playwright or calls a name from it (a module-level import used here)."""
    for n in ast.walk(function):
        if isinstance(n, ast.Import) and any(a.name.startswith("playwright") for a in n.names):
            return True
        if isinstance(n, ast.ImportFrom) and (n.module or "").startswith("playwright"):
            return True
        if isinstance(n, ast.Name) and "playwright" in n.id:
            return True
    return False


def unmarked_browser_tests(source: str, name: str) -> list[str]:
    """Test functions that drive a browser (Playwright) without a slow mark on them or on
    their module (`pytestmark`)."""
    tree = ast.parse(source)
    module_slow = any(
        isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets)
        and _marks_slow(node.value)
        for node in tree.body
    )
    found = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if not node.name.startswith("test_") or not _uses_playwright(node):
            continue
        if not (module_slow or any(_marks_slow(d) for d in node.decorator_list)):
            found.append(f"{name}::{node.name}")
    return found


def test_every_browser_test_is_marked_slow():
    files = sorted(TESTS.rglob("test_*.py"))
    assert [hit for f in files for hit in unmarked_browser_tests(f.read_text(), f.name)] == []


def test_the_check_sees_an_unmarked_browser_test():
    source = (
        "import pytest\n\n\n@pytest.mark.slow\ndef test_a():\n    import playwright\n\n\n"
        "def test_b():\n    from playwright.sync_api import sync_playwright\n"
    )
    assert unmarked_browser_tests(source, "t.py") == ["t.py::test_b"]
    marked = "import pytest\n\npytestmark = [pytest.mark.slow]\n" + source
    assert unmarked_browser_tests(marked, "t.py") == []
