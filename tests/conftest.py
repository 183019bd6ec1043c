"""Shared fixtures: a real embedded PostgreSQL, a fresh database per test, real demo MP4s,
and Airflow's metadata in a database `airflow` on that same server (as `make airflow` and
`make demo` keep it). Environment is set before anything imports Airflow.

Under pytest-xdist (``make test`` runs ``-n 2``) every worker shares the one PostgreSQL server
but has its own state folder (``.local/test/<worker>``: AIRFLOW_HOME, the portal secret, files),
its own Airflow metadata database (``airflow_<worker>``) and its own sandbox on free ports; each
test already has a database of its own. Nothing else is shared between workers."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from databases import airflow_metadata_url

ROOT = Path(__file__).resolve().parents[1]
SERVER_STATE = ROOT / ".local" / "test"  # the embedded server, shared by every session
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")  # "gw0", "gw1"... under xdist, else ""
STATE = SERVER_STATE / WORKER if WORKER else SERVER_STATE
STATE.mkdir(parents=True, exist_ok=True)
AIRFLOW_DATABASE = f"airflow_{WORKER}" if WORKER else "airflow"

os.environ.update(
    {
        "COLLECTOR_STATE_DIR": str(STATE),
        "AIRFLOW_HOME": str(STATE / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        # dag.test() crashes on DAG deadlines in 3.3.2 (apache/airflow#73428); the deadline
        # test turns them on for a real scheduler.
        "COLLECTOR_DEADLINE_ALERTS": "off",
    }
)
os.environ.pop("COLLECTOR_DB_URL", None)
for _name in list(os.environ):  # the developer's own Airflow settings must not leak in
    if _name.startswith(("AIRFLOW__DATABASE__", "AIRFLOW__API__", "AIRFLOW_CONN_")):
        os.environ.pop(_name)
os.environ.pop("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", None)
_SERVER: dict[str, str] = {}
_SERVER_USERS: list = []  # the open lock file of this session's hold on the server


def pytest_configure(config: pytest.Config) -> None:
    """Start the embedded PostgreSQL before any test module imports Airflow, whose engine is
    configured once at import from AIRFLOW__DATABASE__SQL_ALCHEMY_CONN."""
    from collector_tools import embedded

    # A shared hold on the server for this session: another pytest in the same checkout (a
    # second terminal) keeps it running when this one ends.
    _SERVER_USERS.append(open(SERVER_STATE / ".sessions.lock", "w"))  # held to the end
    fcntl.flock(_SERVER_USERS[0], fcntl.LOCK_SH)
    url = embedded.start(SERVER_STATE / "warehouse", fast_unsafe=True)
    admin = url.rsplit("/", 1)[0] + "/postgres"
    embedded.ensure_database(admin, AIRFLOW_DATABASE)
    _SERVER["admin"] = admin
    os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = airflow_metadata_url(
        admin, AIRFLOW_DATABASE
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    from collector_tools import embedded

    if not _SERVER:
        return
    try:  # the last session out stops the server
        fcntl.flock(_SERVER_USERS[0], fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return
    if "airflow.settings" in sys.modules:  # close Airflow's pool first, or its exit hook fails
        sys.modules["airflow.settings"].dispose_orm()  # on a server that is already gone
    embedded.stop(SERVER_STATE / "warehouse")


@pytest.fixture(scope="session")
def pg_server() -> str:
    """Admin URL of the throwaway embedded PostgreSQL (fsync off: test data only)."""
    return _SERVER["admin"]


@pytest.fixture
def warehouse_url(pg_server: str, monkeypatch: pytest.MonkeyPatch):
    """A new, migrated database for this test; dropped afterwards."""
    import psycopg2

    from collector.core import db

    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(pg_server)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = pg_server.rsplit("/", 1)[0] + f"/{name}"
    conn = db.connect(url)
    db.migrate(conn)
    conn.close()
    monkeypatch.setenv("COLLECTOR_DB_URL", url)
    monkeypatch.setenv("AIRFLOW_CONN_COLLECTOR_WAREHOUSE", url)
    yield url
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture
def warehouse(warehouse_url: str):
    """An open psycopg2 connection to this test's database."""
    from collector.core import db

    conn = db.connect(warehouse_url)
    yield conn
    conn.close()


@pytest.fixture
def seeded_warehouse(warehouse):
    """The warehouse with the demo collections recorded (what the master sheet would hold)."""
    from collector_tools.demo_files import DEMO_EPOCH, demo_collections

    from collector.catalog.collections import record_collection_version

    for definition in demo_collections():
        record_collection_version(warehouse, definition, DEMO_EPOCH.replace(day=1))
    warehouse.commit()
    return warehouse


@pytest.fixture(scope="session")
def demo_area(tmp_path_factory: pytest.TempPathFactory):
    """The demo landing area with real MP4s, generated once per session (read-only for tests)."""
    from collector_tools.demo import generate_landing_area

    root = tmp_path_factory.mktemp("demo") / "landing"
    return generate_landing_area(root)


@pytest.fixture
def landing(demo_area, tmp_path: Path) -> Path:
    """A private copy of the demo landing area that a test may change (MP4s hard-linked)."""

    def copy(src: str, dst: str) -> None:
        if src.endswith(".mp4"):
            os.link(src, dst)
        else:
            shutil.copy2(src, dst)

    target = tmp_path / "landing"
    shutil.copytree(demo_area.landing, target, copy_function=copy)
    return target


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Airflow's metadata DB (PostgreSQL, database `airflow`) migrated once, with the
    dags-folder bundle registered (a fresh DB has none until a dag-processor runs, and DAGs
    defined in tests are written under it); needed by dag.test(). Returns AIRFLOW_HOME."""
    home = Path(os.environ["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    from airflow.dag_processing.bundles.manager import DagBundlesManager

    DagBundlesManager().sync_bundles_to_db()
    return home


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def sandbox_smtp_port() -> int:
    """The sandbox's SMTP server port (started with the sandbox)."""
    return _free_port()


@pytest.fixture(scope="session")
def sandbox_url(tmp_path_factory: pytest.TempPathFactory, sandbox_smtp_port: int):
    """The sandbox (Google, PayPal, Payoneer emulators, SMTP) as its own process on free ports."""
    import time
    import urllib.request

    port = _free_port()
    # <home>/sandbox, as scripts/sandbox.sh lays it out under COLLECTOR_STATE_DIR
    state = tmp_path_factory.mktemp("sandbox-home") / "sandbox"
    state.mkdir()
    _SERVER["sandbox_home"] = str(state.parent)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "serve",
            "--port",
            str(port),
            "--state-dir",
            str(state),
            "--smtp-port",
            str(sandbox_smtp_port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{url}/sheets/", timeout=1)
            break
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(process.stderr.read().decode()) from None
            time.sleep(0.1)
    yield url
    process.terminate()
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:  # a response still sleeping in an injected timeout
        process.kill()
        process.wait(5)


@pytest.fixture(scope="session")
def sandbox_home(sandbox_url: str) -> Path:
    """The sandbox's COLLECTOR_STATE_DIR: its state (payment clients, Dropbox app) in sandbox/."""
    return Path(_SERVER["sandbox_home"])


@pytest.fixture(scope="session")
def service_account(sandbox_url: str) -> dict:
    from sandbox.credentials import service_account_info

    return service_account_info(sandbox_url)


def _sandbox_admin(url: str, path: str, body: dict | None = None) -> dict:
    """POST (or GET without body) to the sandbox's /_sandbox switches."""
    import json as _json
    import urllib.request

    data = None if body is None else _json.dumps(body).encode()
    request = urllib.request.Request(
        f"{url}/_sandbox/{path}", data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return _json.loads(response.read())


@pytest.fixture
def sheets_connection(sandbox_url: str, service_account: dict, monkeypatch: pytest.MonkeyPatch):
    """google_sheets_default pointing at the sandbox; quotas and faults reset for the test.
    New spreadsheets go to a shared-drive folder the service account writes to (extra
    ``drive_folder_id``; ``configure(drive_folder_id="")`` leaves it out, as production before
    issue 20)."""
    import json as _json

    _sandbox_admin(sandbox_url, "reset-stats", {})
    _sandbox_admin(sandbox_url, "quota", {"per_user": 60, "per_project": 300, "window_s": 60})
    drive = _sandbox_admin(
        sandbox_url,
        "shared-drives",
        {"name": "Collector platform", "writers": [service_account["client_email"]]},
    )

    def configure(**extra) -> None:
        settings = {"drive_folder_id": drive["folder_id"], **extra}
        conn = {
            "conn_type": "google_sheets",
            "extra": {"keyfile_dict": service_account, "api_base_url": sandbox_url, **settings},
        }
        monkeypatch.setenv("AIRFLOW_CONN_GOOGLE_SHEETS_DEFAULT", _json.dumps(conn))

    configure()
    return configure


@pytest.fixture
def sandbox_admin(sandbox_url: str):
    """``sandbox_admin("faults", {...})``: the sandbox's fault, quota and stats switches."""
    return lambda path, body=None: _sandbox_admin(sandbox_url, path, body)


@pytest.fixture
def payment_connections(sandbox_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """paypal_default and payoneer_default pointing at the sandbox, whose payments state,
    faults and stats are emptied for the test; fast processing (0.2 s). Returns the sandbox's
    client credentials (for tests that check secrets never leak)."""
    import json as _json

    _sandbox_admin(sandbox_url, "payments/reset", {})
    _sandbox_admin(sandbox_url, "payments/faults/clear", {})
    _sandbox_admin(sandbox_url, "payments/reset-stats", {})
    _sandbox_admin(
        sandbox_url,
        "payments/settings",
        {"processing_seconds": 0.2, "unclaimed_return_seconds": 2592000},
    )
    clients = _sandbox_admin(sandbox_url, "payments/clients")
    paypal = {
        "conn_type": "paypal",
        "login": clients["paypal"]["client_id"],
        "password": clients["paypal"]["client_secret"],
        "extra": {"mode": "sandbox", "endpoint": sandbox_url, "timeout_s": 5},
    }
    payoneer = {
        "conn_type": "payoneer",
        "login": clients["payoneer"]["client_id"],
        "password": clients["payoneer"]["client_secret"],
        "extra": {
            "program_id": clients["payoneer"]["program_id"],
            "api_base_url": sandbox_url,
            "token_url": f"{sandbox_url}/api/v2/oauth2/token",
            "timeout_s": 5,
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_PAYPAL_DEFAULT", _json.dumps(paypal))
    monkeypatch.setenv("AIRFLOW_CONN_PAYONEER_DEFAULT", _json.dumps(payoneer))
    monkeypatch.setenv("COLLECTOR_PAYOUT_REPORTS_URL", str(tmp_path / "payout_reports"))
    monkeypatch.setenv("AIRFLOW_VAR_PAYOUT_POLL_SECONDS", "0.5")
    return clients


@pytest.fixture
def smtp_connection(sandbox_url: str, sandbox_smtp_port: int, monkeypatch: pytest.MonkeyPatch):
    """smtp_default pointing at the sandbox's SMTP server, inbox and faults emptied."""
    _sandbox_admin(sandbox_url, "mail/reset", {})
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_DEFAULT",
        f"smtp://127.0.0.1:{sandbox_smtp_port}?disable_ssl=true&disable_tls=true"
        "&from_email=collector%40visym.com&retry_limit=0",
    )
    return lambda: _sandbox_admin(sandbox_url, "mail/messages")["messages"]
