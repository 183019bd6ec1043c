"""docs/security.md cannot go stale: every test it names is collected by pytest, every file and
name it says does the work exists, every row has a test or a reason, the level-1 rows the portal
relies on are all there, including the money paths' (receivers, formula cells, failure wording, masks)."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHECKLIST = ROOT / "docs" / "security.md"
NODE_ID = re.compile(r"^tests/[\w/]+\.py::\w+$")
# Rows that must stay (a row deleted is a requirement forgotten).
REQUIRED = {
    "V2.1.1", "V2.1.2", "V2.1.3", "V2.1.7", "V2.1.9", "V2.2.1", "V2.5.6", "V3.2.1", "V3.3.1",
    "V3.4.1", "V3.4.2", "V3.4.3", "V4.1.1", "V4.2.1", "V4.2.2", "V5.1.3", "V5.1.4", "V5.3.1", "V5.3.4",
    "V7.1.1", "V8.3.4",
    "V7.4.1", "V8.2.1", "V9.1.1", "V14.4.3", "V14.4.4", "V14.4.5", "V14.4.6", "V14.4.7",
}  # fmt: skip


def rows() -> list[tuple[str, str, str, str]]:
    """(id, requirement, how, test) of every table row of the checklist."""
    found = []
    for line in CHECKLIST.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("| ") or len(cells) != 4 or cells[0] in ("ASVS", "---"):
            continue
        if set(cells[0]) <= {"-"}:
            continue
        found.append(tuple(cells))
    return found


def collected(files: set[str]) -> set[str]:
    """The node ids pytest collects from ``files`` (parameters dropped)."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'include'}:{ROOT / 'plugins'}"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         *sorted(files)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return {line.split("[")[0] for line in result.stdout.splitlines() if "::" in line}


def defines(path: Path, name: str) -> bool:
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node.name == name:
                return True
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return True
    return False


def test_every_row_has_a_test_or_a_reason():
    table = rows()
    assert len(table) >= 60
    for ident, _, how, test in table:
        assert how, ident
        if test.startswith(("N/A: ", "left: ")):
            assert len(test) > len("left: ") + 10, ident  # a reason, not a word
            continue
        ids = re.findall(r"`([^`]+)`", test)
        assert ids and all(NODE_ID.match(i) for i in ids), (ident, test)
        assert re.sub(r"`[^`]+`", "", test).strip() == "", (ident, test)
    idents = {ident for ident, *_ in table}
    assert REQUIRED <= {i.strip() for ident in idents for i in ident.split(",")}


def test_every_named_test_is_collected():
    named = {node for *_, test in rows() for node in re.findall(r"`(tests/[^`]+)`", test)}
    missing = named - collected({node.split("::")[0] for node in named})
    assert missing == set()


def test_every_named_place_exists():
    for ident, _, how, _ in rows():
        for ref in re.findall(r"`([\w./-]+/[\w./-]+(?:::\w+)?)`", how):
            path, _, name = ref.partition("::")
            assert (ROOT / path).is_file(), (ident, ref)
            if name:
                assert defines(ROOT / path, name), (ident, ref)
