"""A failing task emails ops once, through the real SMTP provider to the sandbox: the task, the
error's last lines, the log link, the run's params, and no connection secret."""

from __future__ import annotations

from datetime import datetime

import pytest


def _run(dag):
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    bag = DagBag(dag_folder="/nonexistent")
    bag.bag_dag(dag)
    sync_bag_to_db(bag, "dags-folder", None)
    return dag.test()


def test_a_failing_task_sends_one_ops_email_without_secrets(
    airflow_db, smtp_connection, monkeypatch
):
    from airflow.sdk import DAG, Param, task

    from collector_airflow.defaults import default_args

    secret = "s3cr3t-Pa55-value-91"
    monkeypatch.setenv("AIRFLOW_CONN_PARTNER_API", f"http://svc:{secret}@partner.example.com:443/")
    monkeypatch.setenv("COLLECTOR_OPS_EMAIL", "ops@example.com, oncall@example.com")

    with DAG(
        "ops_alert_probe",
        start_date=datetime(2026, 1, 1),
        schedule=None,
        default_args=default_args(retries=0),
        params={"week": Param("2026-11-16"), "api_password": Param("hunter2-param-secret")},
    ) as dag:

        @task
        def call_partner():
            from airflow.sdk import BaseHook

            conn = BaseHook.get_connection("partner_api")
            raise RuntimeError(f"partner refused us (HTTP 403) using {conn.password}")

        @task
        def unaffected():
            return "ok"

        call_partner()
        unaffected()

    run = _run(dag)
    assert run.state == "failed"
    [alert] = smtp_connection()
    assert alert["subject"] == "[collector] ops_alert_probe.call_partner failed (try 1)"
    assert alert["to"] == "ops@example.com, oncall@example.com"
    body = alert["html"]
    assert "RuntimeError: partner refused us (HTTP 403)" in body
    assert "/dags/ops_alert_probe/runs/" in body and "/tasks/call_partner" in body  # log link
    assert "2026-11-16" in body  # the run's params
    assert secret not in body and "hunter2-param-secret" not in body
    assert "***" in body


def test_daily_ops_digest_measures_the_review_promise(airflow_db, warehouse, smtp_connection):
    from pathlib import Path

    from airflow.dag_processing.dagbag import DagBag
    from scoring_world import World

    from collector.scoring.scores import score_videos

    world = World(warehouse)
    world.video(collector="ann@example.com", labels=(None, None))
    world.video(collector="bob@example.com", subjects=("bob.subject@x.org",), consented=False)
    score_videos(warehouse)
    with warehouse.cursor() as cur:
        cur.execute("UPDATE videos SET first_ingested_at = now() - interval '30 hours'")
        cur.execute(
            "UPDATE videos SET first_ingested_at = now() - interval '4 days' "
            "WHERE collector_id = 'bob@example.com'"
        )
        cur.execute(
            """INSERT INTO ingest_quarantine (file_name, sha256, json_path, reason, problems)
               VALUES ('x.json', 'abc', '$', 'not valid JSON', '[]')"""
        )
    warehouse.commit()
    dags = Path(__file__).resolve().parents[2] / "dags"
    dag = DagBag(dag_folder=str(dags / "ops_digest.py")).get_dag("ops_digest")
    assert dag.test().state == "success"
    assert dag.test().state == "success"  # a rerun the same day sends nothing new
    [digest] = smtp_connection()
    assert "need attention" in digest["subject"]
    assert "2 activities unrated, oldest waiting 30 h" in digest["html"]
    assert "1 unresolved" in digest["html"]
    assert "Videos held for a missing consent" in digest["html"]
    assert "1, oldest uploaded 4.0 days ago" in digest["html"]
    assert "0, 0 in the last 24 h" in digest["html"]  # Dropbox links broken


def test_collector_emails_dag_sends_once_across_reruns(airflow_db, warehouse, smtp_connection):
    from pathlib import Path

    from airflow.dag_processing.dagbag import DagBag

    from collector.accounts import logins

    logins.create_account(warehouse, "ann@example.com")
    logins.create_account(warehouse, "bob@example.com")
    warehouse.commit()
    dags = Path(__file__).resolve().parents[2] / "dags"
    dag = DagBag(dag_folder=str(dags / "collector_emails.py")).get_dag("collector_emails")
    assert dag.test().state == "success"
    assert dag.test().state == "success"
    assert sorted(m["to"] for m in smtp_connection()) == ["ann@example.com", "bob@example.com"]


# --- the ops outbox: an SMTP outage delays an alert, never loses or repeats it ---------------
def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _sheets_probe(dag_id: str):
    """A DAG whose one task reads a sheet through the real hook (pointed at a closed port)."""
    from airflow.sdk import DAG, task

    from collector_airflow.defaults import default_args

    with DAG(
        dag_id, start_date=datetime(2026, 1, 1), schedule=None, default_args=default_args(retries=0)
    ) as dag:

        @task
        def read_master_sheet():
            from collector_airflow.hooks.sheets import GoogleSheetsHook

            return GoogleSheetsHook().get_rows("master-sheet-id", "Collections")

        read_master_sheet()
    return dag


def _outbox(warehouse) -> list[tuple]:
    warehouse.rollback()
    with warehouse.cursor() as cur:
        cur.execute("SELECT subject, status, attempts FROM ops_outbox ORDER BY alert_id")
        return cur.fetchall()


@pytest.fixture
def sheets_down(sheets_connection):
    port = _closed_port()
    sheets_connection(api_base_url=f"http://127.0.0.1:{port}")
    return port


@pytest.fixture
def smtp_switch(smtp_connection, monkeypatch):
    """``smtp_switch(False)`` points smtp_default at a closed port; ``True`` back at the sandbox."""
    import os

    working = os.environ["AIRFLOW_CONN_SMTP_DEFAULT"]
    down = f"smtp://127.0.0.1:{_closed_port()}?disable_ssl=true&disable_tls=true&retry_limit=0"
    return lambda up: monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", working if up else down)


def test_smtp_down_alert_is_queued_then_sent_once_by_collector_emails(
    airflow_db, warehouse, smtp_connection, smtp_switch, sheets_down
):
    from pathlib import Path

    from airflow.dag_processing.dagbag import DagBag

    smtp_switch(False)
    assert _run(_sheets_probe("ops_outbox_probe")).state == "failed"
    assert _outbox(warehouse) == [
        ("[collector] ops_outbox_probe.read_master_sheet failed (try 1)", "pending", 0)
    ]
    assert smtp_connection() == []

    smtp_switch(True)
    dags = Path(__file__).resolve().parents[2] / "dags"
    emails = DagBag(dag_folder=str(dags / "collector_emails.py")).get_dag("collector_emails")
    assert emails.test().state == "success"
    assert emails.test().state == "success"  # a second send finds nothing due
    [alert] = smtp_connection()
    assert alert["subject"] == "[collector] ops_outbox_probe.read_master_sheet failed (try 1)"
    sentence = (
        f"Google Sheets call GET http://127.0.0.1:{sheets_down}/v4/spreadsheets/master-sheet-id "
        "(connection `google_sheets_default`) failed: connection refused. Next step: "
    )
    assert alert["html"].startswith(f"<p><b>{sentence}")  # the sentence first
    assert "this was the task&#x27;s last try" in alert["html"]
    assert _outbox(warehouse)[0][1:] == ("sent", 1)


def test_the_next_alert_sends_the_queued_one_and_refusals_are_retried(
    airflow_db, warehouse, smtp_connection, smtp_switch, sheets_down, sandbox_admin
):
    smtp_switch(False)
    assert _run(_sheets_probe("ops_outbox_first")).state == "failed"
    smtp_switch(True)
    sandbox_admin("mail/faults", {"count": 1})  # a busy relay: 451 for the next message
    assert _run(_sheets_probe("ops_outbox_second")).state == "failed"
    subjects = [m["subject"] for m in smtp_connection()]
    assert subjects == ["[collector] ops_outbox_second.read_master_sheet failed (try 1)"]
    assert [row[1] for row in _outbox(warehouse)] == ["failed", "sent"]
    assert _run(_sheets_probe("ops_outbox_third")).state == "failed"
    subjects = sorted(m["subject"] for m in smtp_connection())
    assert subjects == [
        f"[collector] ops_outbox_{n}.read_master_sheet failed (try 1)"
        for n in ("first", "second", "third")
    ]
    assert [row[1] for row in _outbox(warehouse)] == ["sent", "sent", "sent"]


def test_warehouse_down_the_alert_is_sent_directly(
    airflow_db, smtp_connection, sheets_down, monkeypatch, caplog
):
    monkeypatch.setenv(
        "AIRFLOW_CONN_COLLECTOR_WAREHOUSE", f"postgresql://etl@127.0.0.1:{_closed_port()}/dw"
    )
    assert _run(_sheets_probe("ops_outbox_no_warehouse")).state == "failed"
    [alert] = smtp_connection()
    assert "(connection `google_sheets_default`) failed: connection refused" in alert["html"]
