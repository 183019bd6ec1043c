"""DAGs triggered with conf {} (the form's defaults) run for real: empty fields mean the settings.

Issue 17, item 4. test_trigger_form.py checks the form itself; here the runs (dag.test) show
that the glue reads None as "use the setting", and that a release build without a version
fails at once with one sentence saying what to enter.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from demo_pipeline import ingest_rate_score

DAGS = Path(__file__).resolve().parents[2] / "dags"


def _dag(dag_id: str):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS / f"{dag_id}.py")).get_dag(dag_id)


def _states(dag_run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def _count(conn, sql: str) -> int:
    with conn.cursor() as cur:
        cur.execute(sql)
        value = cur.fetchone()[0]
    conn.commit()
    return value


@pytest.mark.airflow
@pytest.mark.slow  # 4-8 s: the fast lane skips it
def test_ingest_and_quicklooks_with_empty_conf_use_the_settings(
    airflow_db, seeded_warehouse, landing, tmp_path, monkeypatch
):
    monkeypatch.setenv("COLLECTOR_LANDING_URL", str(landing))
    monkeypatch.setenv("COLLECTOR_QUARANTINE_URL", str(tmp_path / "quarantine"))
    monkeypatch.setenv("COLLECTOR_QUICKLOOK_URL", str(tmp_path / "quicklooks"))

    ingest = _dag("submission_ingest").test(run_conf={})
    assert str(ingest.state) == "success", _states(ingest)
    assert _count(seeded_warehouse, "SELECT count(*) FROM videos") > 0
    assert (tmp_path / "quarantine").is_dir()  # the demo has broken uploads

    quicklooks = _dag("quicklook_generation").test(run_conf={})
    assert str(quicklooks.state) == "success", _states(quicklooks)
    assert any((tmp_path / "quicklooks").rglob("*.jpg"))


@pytest.mark.airflow
def test_release_defaults_are_a_dry_run_and_a_build_needs_a_version(
    airflow_db, seeded_warehouse, landing, tmp_path, monkeypatch
):
    from collector_airflow.tasks.release import MISSING_VERSION

    ingest_rate_score(seeded_warehouse, landing, tmp_path)  # accepted, consented activities

    monkeypatch.setenv("COLLECTOR_RELEASES_URL", str(tmp_path / "releases"))
    release = _dag("dataset_release")

    dry = release.test(run_conf={})
    assert str(dry.state) == "success", _states(dry)
    assert _states(dry)["publish_release"] == "skipped"
    assert not (tmp_path / "releases").exists()
    assert _count(seeded_warehouse, "SELECT count(*) FROM dataset_releases") == 0

    build = release.test(run_conf={"dry_run": False})
    assert str(build.state) == "failed"
    states = _states(build)
    assert states["plan_release"] == "failed" and states["publish_release"] != "success"
    [plan_ti] = [ti for ti in build.get_task_instances() if ti.task_id == "plan_release"]
    assert plan_ti.try_number == 1, "AirflowFailException: no retry for a missing version"
    assert MISSING_VERSION.startswith("Enter a Version")
    assert _count(seeded_warehouse, "SELECT count(*) FROM dataset_releases") == 0
