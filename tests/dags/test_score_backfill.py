"""A real backfill (scheduler + api-server processes) over 14 days of generated data while the
"hourly" DAG also runs, then the same data fully re-scored: the tables must be identical."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from scoring_world import T0, World

from collector.scoring import score_videos

AIRFLOW = str(Path(sys.executable).parent / "airflow")
DAYS = 14
FIRST_DAY = T0 - timedelta(days=DAYS)  # two weeks, all in the past: backfills stop at now


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _airflow(*args: str, env: dict, check: bool = True) -> str:
    result = subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True, timeout=300)
    if check:
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return result.stdout


def _scores(conn) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT video_id, score, status, accepted, flags, reasons, rules_version "
            "FROM video_scores ORDER BY video_id"
        )
        rows = cur.fetchall()
    conn.commit()
    return rows


def _runs(env: dict) -> list[dict]:
    out = _airflow("dags", "list-runs", "score_aggregation", "-o", "json", env=env)
    lines = [line for line in out.splitlines() if line.startswith("[{") or line == "[]"]
    return json.loads(lines[-1]) if lines else []


@pytest.mark.airflow
def test_backfill_while_hourly_runs_equals_a_full_rescore(airflow_db, warehouse, tmp_path):
    world = World(warehouse)
    for day in range(DAYS):  # three collectors, a few videos a day, ratings on some
        for n in range(4):
            at = FIRST_DAY + timedelta(days=day, hours=3 * n + day % 3)
            world.video(
                at=at,
                collector=f"c{n % 3}@x.org",
                updated_at=at,
                labels=(("good", "box_too_big", None, "perfect")[n], "good"),
                duration=5 if (day + n) % 11 == 0 else 20,
                lat=38.9 + (n % 2) * 0.001,
                lon=-77.0,
                accuracy=5,
            )
    env = {
        **os.environ,
        "AIRFLOW__API__PORT": str(_free_port()),
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
    }
    env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = (
        f"http://127.0.0.1:{env['AIRFLOW__API__PORT']}/execution/"
    )
    # A metadata DB of its own: a backfill left behind must not block the next test run.
    env["AIRFLOW_HOME"] = str(tmp_path / "airflow")
    _airflow("db", "migrate", env=env)
    _airflow("dags", "reserialize", env=env)
    _airflow("dags", "unpause", "score_aggregation", env=env)
    # SQLite metadata: create the runs before the scheduler holds the database.
    start, end = FIRST_DAY.date(), (FIRST_DAY + timedelta(days=DAYS)).date()
    _airflow(
        "backfill",
        "create",
        "--dag-id",
        "score_aggregation",
        "--from-date",
        start.isoformat(),
        "--to-date",
        end.isoformat(),
        "--max-active-runs",
        "4",
        "--reprocess-behavior",
        "completed",
        env=env,
    )
    _airflow("dags", "trigger", "score_aggregation", env=env)  # "the hourly run", meanwhile
    logs = tmp_path / "logs"
    logs.mkdir()
    servers = [
        subprocess.Popen(
            [AIRFLOW, "api-server", "--port", env["AIRFLOW__API__PORT"]],
            env=env,
            stdout=(logs / "api.log").open("w"),
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [AIRFLOW, "scheduler"],
            env=env,
            stdout=(logs / "scheduler.log").open("w"),
            stderr=subprocess.STDOUT,
        ),
    ]
    try:
        deadline = time.monotonic() + 1200
        while time.monotonic() < deadline:
            runs = _runs(env)
            backfill = [r for r in runs if r["run_id"].startswith("backfill__")]
            unfinished = [r for r in runs if r["state"] in ("queued", "running")]
            if backfill and not unfinished:
                break
            time.sleep(5)
        else:
            pytest.fail(
                f"backfill did not finish: {len(unfinished)} runs left; "
                f"{(logs / 'scheduler.log').read_text()[-3000:]}"
            )
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(30)
    assert len(backfill) >= DAYS * 24
    assert all(r["state"] == "success" for r in runs), [r for r in runs if r["state"] != "success"][
        :3
    ]
    incremental = _scores(warehouse)
    assert len(incremental) == DAYS * 4

    with warehouse.cursor() as cur:
        cur.execute("TRUNCATE video_score_changes, video_scores, activity_scores")
    warehouse.commit()
    score_videos(warehouse)
    assert incremental == _scores(warehouse)
