"""A failing task emails ops once, through the real SMTP provider to the sandbox: the task, the
error's last lines, the log link, the run's params, and no connection secret."""

from __future__ import annotations

from datetime import datetime


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

    from collector.scoring import score_videos

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

    from collector import accounts

    accounts.create_account(warehouse, "ann@example.com")
    accounts.create_account(warehouse, "bob@example.com")
    warehouse.commit()
    dags = Path(__file__).resolve().parents[2] / "dags"
    dag = DagBag(dag_folder=str(dags / "collector_emails.py")).get_dag("collector_emails")
    assert dag.test().state == "success"
    assert dag.test().state == "success"
    assert sorted(m["to"] for m in smtp_connection()) == ["ann@example.com", "bob@example.com"]
