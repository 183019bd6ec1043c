"""`collector doctor` (issue 20, item 4): one harmless real call per connection against the real
sandbox, one line each. With the connections `python -m sandbox connections` prints, every line
is OK; with each setting broken in turn, exactly that line fails, says what is wrong and which
setting fixes it, the exit code is 1, and no secret is printed."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import psycopg2
import pytest

from collector.catalog.master_sheet import MASTER_HEADER

NAMES = [
    "collector_warehouse",
    "google_sheets_default",
    "master sheet",
    "paypal_default",
    "payoneer_default",
    "dropbox_default",
    "smtp_default",
]
WRONG = "wrong-secret-0123456789"


def _sandbox_connections(sandbox_url, sandbox_home, smtp_port, tmp_path) -> dict[str, str]:
    """The ``export NAME=value`` lines of ``python -m sandbox connections``, as a dict."""
    printed = subprocess.run(
        [
            *(sys.executable, "-m", "sandbox", "connections", "--base-url", sandbox_url),
            *("--state-dir", str(sandbox_home / "sandbox"), "--key-file", str(tmp_path / "k.json")),
            *("--smtp-port", str(smtp_port)),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = [shlex.split(line.removeprefix("export "))[0] for line in printed.splitlines()]
    return dict(line.split("=", 1) for line in lines)


@pytest.fixture
def doctor_env(
    warehouse_url,
    sheets_connection,
    payment_connections,
    smtp_connection,
    sandbox_admin,
    sandbox_url,
    sandbox_home,
    sandbox_smtp_port,
    tmp_path,
    monkeypatch,
) -> dict:
    """Every connection as the sandbox prints it (over the fixtures', which empty the sandbox's
    faults and quotas left by other tests), a master sheet shared with the service account,
    and the warehouse migrated. Returns the connections (to break one, or to look for their
    secrets in the output)."""
    sandbox_admin("dropbox/faults/clear", {})
    env = _sandbox_connections(sandbox_url, sandbox_home, sandbox_smtp_port, tmp_path)
    for name, value in env.items():
        if name.startswith("AIRFLOW_CONN_"):
            monkeypatch.setenv(name, value)
    from collector_airflow.hooks.sheets import GoogleSheetsHook

    hook = GoogleSheetsHook()
    sheet_id = hook.create_and_share("Collections master", worksheets=["Collections"])
    hook.write_table(sheet_id, "Collections", MASTER_HEADER, [])
    monkeypatch.setenv("COLLECTOR_MASTER_SHEET_ID", sheet_id)
    return {name: value for name, value in env.items() if name.startswith("AIRFLOW_CONN_")}


def _doctor(capsys) -> tuple[int, dict[str, str], str]:
    """``collector doctor`` in this process: exit code, the line of each check, all output."""
    from collector_tools import cli

    code = cli.main(["doctor"])
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == len(NAMES), out
    by_name = {}
    for line, name in zip(lines, NAMES, strict=True):
        assert line.startswith((f"OK  {name}: ", f"FAIL {name}: ")), line
        by_name[name] = line
    return code, by_name, out


def _secrets(env: dict) -> list[str]:
    found = []
    for name, value in env.items():
        if name == "AIRFLOW_CONN_SMTP_DEFAULT":
            from sandbox.mail import SMTP_PASSWORD

            found.append(SMTP_PASSWORD)
            continue
        conn = json.loads(value)
        found.append(conn.get("password"))
        key = (conn.get("extra") or {}).get("keyfile_dict") or {}
        found += [line for line in str(key.get("private_key", "")).splitlines()[1:-1] if line]
    return [s for s in found if s]


@pytest.mark.airflow
def test_against_the_sandbox_every_connection_is_ok(doctor_env, capsys):
    code, lines, out = _doctor(capsys)
    assert code == 0, out
    assert all(line.startswith("OK  ") for line in lines.values()), out
    assert "schema up to date" in lines["collector_warehouse"]
    assert "'Collections master'" in lines["master sheet"], out
    assert f"{len(MASTER_HEADER)} header columns" in lines["master sheet"], out
    assert "logged in as collector@visym.com" in lines["smtp_default"], out
    assert "nothing was paid" in lines["paypal_default"]
    for secret in _secrets(doctor_env):
        assert secret not in out


def _conn(monkeypatch, env: dict, name: str, **changes) -> None:
    conn = json.loads(env[name])
    extra = changes.pop("extra", {})
    conn.update(changes)
    conn["extra"] = {**conn.get("extra", {}), **extra}
    monkeypatch.setenv(name, json.dumps(conn))


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _break(case: str, env: dict, monkeypatch, warehouse_url: str) -> None:
    if case == "paypal secret":
        _conn(monkeypatch, env, "AIRFLOW_CONN_PAYPAL_DEFAULT", password=WRONG)
    elif case == "payoneer secret":
        _conn(monkeypatch, env, "AIRFLOW_CONN_PAYONEER_DEFAULT", password=WRONG)
    elif case == "payoneer program":
        _conn(monkeypatch, env, "AIRFLOW_CONN_PAYONEER_DEFAULT", extra={"program_id": "999999"})
    elif case == "dropbox key":
        _conn(monkeypatch, env, "AIRFLOW_CONN_DROPBOX_DEFAULT", login="wrongappkey123")
    elif case == "google key":
        conn = json.loads(env["AIRFLOW_CONN_GOOGLE_SHEETS_DEFAULT"])
        key = conn["extra"]["keyfile_dict"]
        broken = key | {"private_key": f"-----BEGIN PRIVATE KEY-----\n{WRONG}\n"}
        _conn(
            monkeypatch, env, "AIRFLOW_CONN_GOOGLE_SHEETS_DEFAULT", extra={"keyfile_dict": broken}
        )
    elif case == "warehouse unreachable":
        down = warehouse_url.replace(warehouse_url.split("@")[-1].split("/")[0], "127.0.0.1:")
        monkeypatch.setenv("AIRFLOW_CONN_COLLECTOR_WAREHOUSE", down + str(_closed_port()))
    elif case == "warehouse unmigrated":  # a release shipped a migration not applied yet
        with psycopg2.connect(warehouse_url) as db, db.cursor() as cur:
            cur.execute(
                "DELETE FROM schema_migrations WHERE version = "
                "(SELECT max(version) FROM schema_migrations)"
            )
    elif case == "warehouse migration edited":  # a file changed after it was applied
        with psycopg2.connect(warehouse_url) as db, db.cursor() as cur:
            cur.execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
    elif case == "smtp port":
        smtp = env["AIRFLOW_CONN_SMTP_DEFAULT"]
        port = smtp.split("@127.0.0.1:")[1].split("?")[0]
        smtp = smtp.replace(f":{port}?", f":{_closed_port()}?") + "&retry_limit=0"
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp)
    elif case == "smtp login":
        from sandbox.mail import SMTP_PASSWORD

        smtp = env["AIRFLOW_CONN_SMTP_DEFAULT"].replace(SMTP_PASSWORD, WRONG)
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", smtp)
    elif case == "master sheet id missing":
        monkeypatch.delenv("COLLECTOR_MASTER_SHEET_ID")
    elif case == "master sheet id wrong":
        monkeypatch.setenv("COLLECTOR_MASTER_SHEET_ID", "1NoSuchSheet000000000000000000000")
    else:
        raise AssertionError(case)


# case -> (the line that fails, what it must say, also failing because of it)
CASES = {
    "paypal secret": (
        "paypal_default",
        "PayPal refused the client ID and secret",
        "; set the login and password (Client ID, secret) of paypal_default",
    ),
    "payoneer secret": (
        "payoneer_default",
        "Payoneer refused the client ID and secret",
        "; set the login and password (client ID, secret) of payoneer_default",
    ),
    "payoneer program": (
        "payoneer_default",
        "program 999999 answered HTTP 4",
        "; set the program_id extra of payoneer_default",
    ),
    "dropbox key": (
        "dropbox_default",
        "app key or secret was refused",
        "; set the login and password (App key, App secret) of dropbox_default",
    ),
    "google key": (
        "google_sheets_default",
        "Google Sheets: ",
        "; set the keyfile_dict extra of google_sheets_default (a new JSON key)",
    ),
    "warehouse unreachable": (
        "collector_warehouse",
        "connection refused at 127.0.0.1:",
        "; set the host and port (is PostgreSQL running there?) of `collector_warehouse`",
    ),
    "warehouse unmigrated": (
        "collector_warehouse",
        "1 migration(s) are not applied: ",
        "; run `collector db migrate`",
    ),
    "warehouse migration edited": (
        "collector_warehouse",
        "but applied migrations changed since: 001_",
        "; restore those files from the release",
    ),
    "smtp port": (
        "smtp_default",
        "connection refused at 127.0.0.1:",
        "; set the host, port and SSL/TLS extras of the connection",
    ),
    "smtp login": (
        "smtp_default",
        "refused the login 'collector@visym.com' (login refused (SMTP 535))",
        "; set the login and password of the connection",
    ),
    "master sheet id missing": (
        "master sheet",
        "no master sheet id is set",
        "; set COLLECTOR_MASTER_SHEET_ID",
    ),
    "master sheet id wrong": (
        "master sheet",
        "'1NoSuchSheet000000000000000000000' not found, or not shared with ",
        "; set COLLECTOR_MASTER_SHEET_ID to the id in the sheet's URL",
    ),
}


@pytest.mark.airflow
@pytest.mark.parametrize("case", list(CASES))
def test_each_broken_setting_gets_its_own_line(
    case, doctor_env, warehouse_url, monkeypatch, capsys
):
    _break(case, doctor_env, monkeypatch, warehouse_url)
    failing, what, fix = CASES[case]
    code, lines, out = _doctor(capsys)
    assert code == 1, out
    assert lines[failing].startswith(f"FAIL {failing}: "), out
    assert what in lines[failing] and fix in lines[failing], lines[failing]
    fixes = sum(lines[failing].count(f"; {verb} ") for verb in ("set", "run", "restore"))
    assert fixes == 1, lines[failing]
    # the Google key also fails the master sheet, which then says what to fix first
    also = {"master sheet"} if case == "google key" else set()
    if also:
        assert "not checked; set google_sheets_default first" in lines["master sheet"], out
    others = [line for name, line in lines.items() if name not in {failing} | also]
    assert all(line.startswith("OK  ") for line in others), out
    for secret in [WRONG, *_secrets(doctor_env)]:
        assert secret not in out


@pytest.mark.airflow
def test_python_m_entry_prints_the_same_lines(doctor_env, monkeypatch):
    """``python -m collector_airflow.doctor``: the provider's own entry (Airflow images
    without the tools); a connection that is not defined at all is named with its variable."""
    monkeypatch.delenv("AIRFLOW_CONN_DROPBOX_DEFAULT")
    done = subprocess.run(
        [sys.executable, "-m", "collector_airflow.doctor"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent,
    )
    lines = done.stdout.splitlines()
    assert done.returncode == 1, done.stdout + done.stderr[-2000:]
    named = [line.split(":")[0].removeprefix("OK  ").removeprefix("FAIL ") for line in lines]
    assert named == NAMES, done.stdout
    assert (
        "FAIL dropbox_default: not defined; set AIRFLOW_CONN_DROPBOX_DEFAULT or Admin → Connections"
        in lines
    ), done.stdout
    assert sum(line.startswith("OK  ") for line in lines) == len(NAMES) - 1, done.stdout


@pytest.mark.airflow
def test_smtp_without_a_login_is_ok_and_says_so(smtp_connection):
    from collector_airflow.hooks.mail import CollectorMailHook

    ok, message = CollectorMailHook().test_connection()
    assert ok is True, message
    assert "no login set (no AUTH)" in message and "nothing was sent" in message
    assert smtp_connection() == []  # nothing was sent indeed


def test_a_missing_warehouse_database_names_the_schema_field(warehouse_url, monkeypatch):
    from collector_airflow.hooks.warehouse import CollectorWarehouseHook

    missing = warehouse_url.rsplit("/", 1)[0] + "/no_such_database"
    monkeypatch.setenv("AIRFLOW_CONN_COLLECTOR_WAREHOUSE", missing)
    ok, message = CollectorWarehouseHook().test_connection()
    assert ok is False
    assert message.startswith("database does not exist at 127.0.0.1:"), message
    assert message.endswith(
        "; set the schema (the database name; or create it) of `collector_warehouse`"
    )
