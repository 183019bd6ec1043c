"""The ingest DAG run for real (dag.test) against the embedded warehouse and demo data."""

from __future__ import annotations

from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def ingest_dag(airflow_db):  # DagBag.get_dag reads the metadata DB
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS / "submission_ingest.py")).get_dag("submission_ingest")


def _count(conn, sql: str) -> int:
    with conn.cursor() as cur:
        cur.execute(sql)
        value = cur.fetchone()[0]
    conn.commit()
    return value


def _task_states(dag_run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def _asset_events(run_id: str) -> list[dict]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        events = session.scalars(
            select(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.name == "collector.submissions", AssetEvent.source_run_id == run_id)
        ).all()
        return [dict(e.extra or {}) for e in events]


def _assert_manifest_holds(conn, demo_area) -> None:
    """Every file of the demo did what the manifest says: in force, history, or quarantined."""
    with conn.cursor() as cur:
        cur.execute("SELECT video_id, current_annotation FROM videos")
        current = dict(cur.fetchall())
        cur.execute("SELECT video_id, file_name FROM annotation_versions")
        history = set(cur.fetchall())
        cur.execute("SELECT file_name, json_path, reason FROM ingest_quarantine")
        quarantined = {name: (path, reason) for name, path, reason in cur.fetchall()}
    conn.commit()
    for expected in demo_area.files:
        if expected.expect == "ingested":
            assert current[expected.video_id] == expected.file_name, expected.case
        elif expected.expect == "superseded":
            assert (expected.video_id, expected.file_name) in history, expected.case
            assert current[expected.video_id] != expected.file_name, expected.case
        else:  # broken, or its MP4 never came (the wait is 0 in this run)
            path, reason = quarantined[expected.file_name]
            assert path == expected.json_path and expected.reason_contains in reason, expected.case


@pytest.mark.airflow
def test_ingest_dag_ingests_quarantines_and_reruns_as_a_no_op(
    airflow_db, ingest_dag, seeded_warehouse, demo_area, landing, tmp_path
):
    conf = {
        "landing_url": str(landing),
        "quarantine_url": str(tmp_path / "quarantine"),
        "mp4_wait_minutes": 0,
    }
    first = ingest_dag.test(run_conf=conf)
    assert str(first.state) == "success", _task_states(first)
    expected_videos = len({f.video_id for f in demo_area.files if f.expect == "ingested"})
    assert _count(seeded_warehouse, "SELECT count(*) FROM videos") == expected_videos
    broken = sum(1 for f in demo_area.files if f.json_path)
    assert _count(seeded_warehouse, "SELECT count(*) FROM ingest_quarantine") == broken
    assert len(list((tmp_path / "quarantine").glob("*.reason.json"))) == broken
    _assert_manifest_holds(seeded_warehouse, demo_area)
    [event] = _asset_events(first.run_id)
    assert event["videos_changed"] == expected_videos

    videos_before = _count(seeded_warehouse, "SELECT sum(hashtext(v::text)) FROM videos v")
    second = ingest_dag.test(run_conf=conf)
    assert str(second.state) == "success", _task_states(second)
    assert _count(seeded_warehouse, "SELECT sum(hashtext(v::text)) FROM videos v") == videos_before
    assert _count(seeded_warehouse, "SELECT count(*) FROM ingest_quarantine") == broken
    assert _asset_events(second.run_id) == []  # nothing changed, nothing announced
