"""The scoring DAG run for real (dag.test) on the warehouse."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from scoring_world import T0, World

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def scoring_dag(airflow_db):  # DagBag.get_dag reads the metadata DB
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS / "score_aggregation.py")).get_dag("score_aggregation")


def _statuses(conn) -> dict[str, str]:
    with conn.cursor() as cur:
        cur.execute("SELECT video_id, status FROM video_scores")
        rows = dict(cur.fetchall())
    conn.commit()
    return rows


def test_scoring_windows():
    from datetime import UTC, datetime

    from collector_airflow.tasks.scoring import scoring_window

    hour = T0 + timedelta(hours=5)
    assert scoring_window(hour, hour + timedelta(hours=1), "scheduled") == (
        hour - timedelta(hours=1),
        hour + timedelta(hours=1),
    )
    assert scoring_window(hour, hour + timedelta(hours=1), "backfill")[1] == hour + timedelta(
        hours=1
    )
    since, until = scoring_window(hour, hour + timedelta(hours=1), "manual")
    assert since == hour - timedelta(hours=1) and until > datetime.now(UTC) - timedelta(seconds=5)
    since, _ = scoring_window(None, None, "asset_triggered")
    assert datetime.now(UTC) - since > timedelta(hours=1, minutes=59)


@pytest.mark.airflow
def test_scores_then_rescore_all_then_nothing_to_announce(airflow_db, scoring_dag, warehouse):
    world = World(warehouse)
    first = world.video(at=T0)
    later = world.video(at=T0 + timedelta(days=3), collector="other@x.org")
    run = scoring_dag.test(logical_date=T0 + timedelta(hours=1))  # manual: up to now
    assert str(run.state) == "success"
    assert _statuses(warehouse) == {first: "accepted", later: "accepted"}
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert states["publish_scores"] == "success"

    with warehouse.cursor() as cur:  # a rules change, then the rescore_all trigger
        cur.execute("INSERT INTO scoring_rule_sets VALUES (2, 'stricter', 50, 200, now())")
        cur.execute(
            "INSERT INTO scoring_label_rules SELECT 2, label, effect, factor "
            "FROM scoring_label_rules WHERE rules_version = 1"
        )
        cur.execute(
            "UPDATE scoring_label_rules SET effect = 'factor', factor = 0 "
            "WHERE rules_version = 2 AND label = 'good'"
        )
    warehouse.commit()
    again = scoring_dag.test(run_conf={"rescore_all": True})
    assert str(again.state) == "success"
    assert _statuses(warehouse) == {first: "rejected", later: "rejected"}

    unchanged = scoring_dag.test(run_conf={"rescore_all": True})
    states = {ti.task_id: str(ti.state) for ti in unchanged.get_task_instances()}
    assert states["publish_scores"] == "skipped"  # nothing written, nothing announced
