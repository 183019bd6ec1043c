"""A deadline alert fires when a run overruns it: a real scheduler finds the missed deadline and
a real triggerer sends the email through the SMTP provider to the sandbox. (dag.test() cannot
show this: only the scheduler checks deadlines.)"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from processes import start_group, stop_group

AIRFLOW = str(Path(sys.executable).parent / "airflow")
pytestmark = pytest.mark.slow  # a real scheduler waits for the deadline
PROBE = """
import time
from datetime import datetime, timedelta

from airflow.sdk import DAG, DeadlineReference, task

from collector_airflow.alerts import promise_deadline

with DAG(
    "deadline_probe",
    start_date=datetime(2026, 1, 1),
    schedule=None,
    deadline=promise_deadline(
        DeadlineReference.DAGRUN_QUEUED_AT, timedelta(seconds=5), "the probe finishes in 5 s"
    ),
):

    @task
    def slow():
        time.sleep(60)

    slow()
"""


def _airflow(*args: str, env: dict) -> str:
    result = subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result.stdout


@pytest.mark.airflow
def test_an_overrun_run_emails_ops(tmp_path, smtp_connection):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "deadline_probe.py").write_text(PROBE)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "COLLECTOR_DEADLINE_ALERTS": "on",
        "COLLECTOR_OPS_EMAIL": "oncall@example.com",
    }
    _airflow("db", "migrate", env=env)
    _airflow("dags", "reserialize", env=env)
    _airflow("dags", "unpause", "deadline_probe", env=env)
    _airflow("dags", "trigger", "deadline_probe", env=env)
    logs = tmp_path / "logs"
    logs.mkdir()
    processes = [
        start_group(
            [AIRFLOW, *command],
            env=env,
            stdout=(logs / f"{command[0]}.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        for command in (["api-server", "--port", str(port)], ["scheduler"], ["triggerer"])
    ]
    try:
        deadline = time.monotonic() + 180
        alerts: list[dict] = []
        while time.monotonic() < deadline and not alerts:
            inbox = smtp_connection()
            # Only the deadline alert counts; a message without a Subject header (seen once,
            # sender not identified) must not crash the wait (subject None in the sandbox).
            alerts = [m for m in inbox if "promise at risk" in (m["subject"] or "")]
            time.sleep(2)
        assert alerts, "\n".join(
            [f"inbox: {[(m['to'], m['subject']) for m in inbox]}"]
            + [f"--- {p.name}\n{p.read_text()[-2500:]}" for p in sorted(logs.iterdir())]
        )
    finally:
        for process in processes:
            stop_group(process)
    [alert] = alerts
    assert alert["to"] == "oncall@example.com"
    assert alert["subject"] == "[collector] promise at risk: the probe finishes in 5 s"
    assert "deadline_probe" in alert["html"] and "manual__" in alert["html"]
