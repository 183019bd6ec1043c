"""The dataset release DAG run for real (dag.test) on the demo data: dry run, build, rebuild."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from demo_pipeline import ingest_rate_score

DAGS = Path(__file__).resolve().parents[2] / "dags"


def _rows(conn, sql: str, *args):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        result = cur.fetchall()
    conn.commit()
    return result


@pytest.fixture(scope="module")
def release_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS / "dataset_release.py")).get_dag("dataset_release")


@pytest.mark.airflow
@pytest.mark.slow  # about 27 s: three release builds
def test_dry_run_then_release_then_identical_rebuild(
    airflow_db, release_dag, seeded_warehouse, landing, tmp_path
):
    ingest_rate_score(seeded_warehouse, landing, tmp_path)
    output = tmp_path / "releases"
    conf = {"name": "pip-demo", "version": "1.0", "output_url": str(output)}

    dry = release_dag.test(run_conf=conf | {"dry_run": True})
    assert str(dry.state) == "success"
    states = {ti.task_id: str(ti.state) for ti in dry.get_task_instances()}
    assert states["plan_release"] == "success" and states["publish_release"] == "skipped"
    assert not output.exists() and _rows(seeded_warehouse, "SELECT * FROM dataset_releases") == []

    run = release_dag.test(run_conf=conf | {"dry_run": False})
    assert str(run.state) == "success"
    [(status, clips, manifest_sha)] = _rows(
        seeded_warehouse, "SELECT status, clip_count, manifest_sha256 FROM dataset_releases"
    )
    release = output / "pip-demo" / "1.0"
    manifest = json.loads((release / "manifest.json").read_text())
    assert status == "published" and clips == manifest["clips"] > 0
    assert len(list((release / "clips").glob("*.mp4"))) == clips
    assert (release / "README.md").read_text().startswith("# pip-demo 1.0")

    before = {p: p.stat().st_mtime_ns for p in release.rglob("*")}
    again = release_dag.test(run_conf=conf | {"dry_run": False})
    assert str(again.state) == "success"
    assert {p: p.stat().st_mtime_ns for p in release.rglob("*")} == before
    assert _rows(seeded_warehouse, "SELECT manifest_sha256 FROM dataset_releases") == [
        (manifest_sha,)
    ]
