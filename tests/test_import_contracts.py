"""The import rules (`.importlinter`) hold on this tree, and break when a forbidden import is
added: each case copies the packages and DAG files to a temporary directory, adds one import
inside a function (a lazy import counts as much as a top-level one) and runs `lint-imports`."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
CONFIG = ROOT / ".importlinter"

DOMAIN = "The domain imports no Airflow, adapters, DAGs, portal, sandbox or tools"
NO_SANDBOX = "Airflow adapters and DAGs import neither the sandbox nor the tools"
PORTAL = "The portal imports no Airflow, no Airflow adapters and no tools"
SANDBOX = "The sandbox never imports the domain"
CORE = "The shared vocabulary (collector.core) knows no stage"


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` as `make lint` runs it: from the repo root (so `dags` is found as a
    namespace package), with include/ and plugins/ on the path."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root / "include"), str(root / "plugins")]),
    }
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(root / ".importlinter")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_import_contracts_hold_on_this_tree():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in (DOMAIN, NO_SANDBOX, PORTAL, SANDBOX, CORE):
        assert f"{name} KEPT" in result.stdout
    assert "dags" in CONFIG.read_text()


@pytest.mark.parametrize(
    ("module", "statement", "contract", "arrow"),
    [
        (
            "include/collector/delivery/vault.py",
            "import sandbox",
            DOMAIN,
            "collector.delivery.vault -> sandbox",
        ),
        (
            "include/collector/delivery/vault.py",
            "from airflow.sdk import Variable",
            DOMAIN,
            "collector.delivery.vault -> airflow",
        ),
        (
            "include/collector/delivery/vault.py",
            "from collector_airflow import storage",
            DOMAIN,
            "collector.delivery.vault -> collector_airflow",
        ),
        (
            "include/collector/delivery/vault.py",
            "import portal.app",
            DOMAIN,
            "collector.delivery.vault -> portal",
        ),
        (
            "include/collector/delivery/vault.py",
            "from collector_tools import demo",
            DOMAIN,
            "collector.delivery.vault -> collector_tools",
        ),
        (
            "include/collector/core/cells.py",
            "from collector.payouts import ledger",
            CORE,
            "collector.core.cells -> collector.payouts",
        ),
        ("dags/ops_digest.py", "import sandbox.mail", NO_SANDBOX, "dags.ops_digest -> sandbox"),
        (
            "plugins/collector_airflow/storage.py",
            "from collector_tools import embedded",
            NO_SANDBOX,
            "collector_airflow.storage -> collector_tools",
        ),
        (
            "plugins/collector_airflow/storage.py",
            "from sandbox import common",
            NO_SANDBOX,
            "collector_airflow.storage -> sandbox",
        ),
        ("include/portal/app.py", "import airflow", PORTAL, "portal.app -> airflow"),
        (
            "include/sandbox/common.py",
            "from collector.core import db",
            SANDBOX,
            "sandbox.common -> collector",
        ),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    tmp_path: Path, module: str, statement: str, contract: str, arrow: str
):
    ignore = shutil.ignore_patterns("__pycache__", "templates", "*.pyc")
    for tree in ("include", "plugins", "dags"):
        shutil.copytree(ROOT / tree, tmp_path / tree, ignore=ignore)
    shutil.copy2(CONFIG, tmp_path / ".importlinter")
    with (tmp_path / module).open("a") as f:
        f.write(f"\n\ndef _forbidden():\n    {statement}  # noqa\n")

    result = lint_imports(tmp_path)

    assert result.returncode != 0, result.stdout
    assert f"{contract} BROKEN" in result.stdout, result.stdout
    assert arrow in result.stdout, result.stdout


def sandbox_imports(path: Path) -> list[str]:
    """`import sandbox...` / `from sandbox... import` anywhere in the file (functions too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        else:
            continue
        found += [f"{path.name}:{node.lineno}: {n}" for n in names if n.split(".")[0] == "sandbox"]
    return found


def test_no_dag_file_imports_the_sandbox():
    """The same rule as the contract, without relying on `dags` being seen as a package."""
    files = sorted((ROOT / "dags").glob("*.py"))
    assert files
    assert [hit for path in files for hit in sandbox_imports(path)] == []


def test_the_dag_check_sees_a_lazy_sandbox_import(tmp_path: Path):
    dag = tmp_path / "some_dag.py"
    dag.write_text("import os\n\n\ndef task():\n    from sandbox.mail import x\n")
    assert sandbox_imports(dag) == ["some_dag.py:5: sandbox.mail"]
