"""Values phones write, through the public path: a landing area as the app uploads it ->
``submission_ingest`` (dag.test) -> ``score_aggregation`` (dag.test), on the embedded warehouse
(issue 19, cases 4 and 5; docs/app-json.md, docs/scoring.md).

GPS "no fix" encodings are "no position" (never a repeat, never a defect of the upload); app
versions with build numbers compare by their release part; an unreadable version is reported,
not outdated. A warehouse scored before the fix is repaired by the DAGs' own next runs.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from collector_tools.demo_files import (
    DEMO_EPOCH,
    Clip,
    UploadBuilder,
    demo_collections,
    render_clip,
    subject_of,
)

from collector.catalog.collections import record_collection_version
from collector.core import db
from collector.review.queue import queue_id

DAGS = Path(__file__).resolve().parents[2] / "dags"
NAN = float("nan")


@pytest.fixture(scope="module")
def ingest_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS / "submission_ingest.py")).get_dag("submission_ingest")


@pytest.fixture(scope="module")
def scoring_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS / "score_aggregation.py")).get_dag("score_aggregation")


def _gps(latitude, longitude, accuracy):
    def mutate(document: dict) -> dict:
        document["metadata"] |= {
            "latitude": latitude,
            "longitude": longitude,
            "gps_accuracy_m": accuracy,
        }
        return document

    return mutate


def _landing(root: Path) -> tuple[dict[str, str], Path]:
    """The uploads of the issue, each with a real MP4 and its collector's consent record.
    Returns case -> video id, and the landing folder. Door collection: minimum app 2.0.0,
    no geofence, 12 h rate limit."""
    root.mkdir(parents=True)
    builder = UploadBuilder(root, seed=19, render=False)
    clip = Clip(320, 240, 15, 12, (20, 40, 60, 120), (200, 0))
    day = timedelta(days=1)
    uploads = {  # case: (collector, when, keyword arguments of UploadBuilder.add)
        "android_no_fix": ("ana@example.com", DEMO_EPOCH, {"mutate": _gps(0, 0, 0)}),
        "android_no_fix_again": ("ana@example.com", DEMO_EPOCH + day, {"mutate": _gps(0, 0, 0)}),
        "ios_invalid": ("ian@example.com", DEMO_EPOCH, {"mutate": _gps(-180, -180, -1)}),
        "gson_nan": ("gus@example.com", DEMO_EPOCH, {"mutate": _gps(NAN, NAN, NAN)}),
        "build_number": ("bea@example.com", DEMO_EPOCH, {"app": "2.1.0 (57)"}),
        "unreadable_app": ("uma@example.com", DEMO_EPOCH, {"app": "nightly"}),
    }
    ids = {}
    for case, (collector, when, extra) in uploads.items():
        ids[case], _ = builder.add(
            case, "ingested", "P004C009", clip, when=when, collector=collector, **extra
        )
    for n, collector in enumerate(sorted({c for c, _, _ in uploads.values()})):
        builder.consent(f"CONSENT-{n}", subject_of(collector), collector)
    real = root.parent / "clip.mp4"
    render_clip(clip, real)
    for placeholder in root.glob("*.mp4"):  # the builder wrote empty ones
        placeholder.unlink()
        os.link(real, placeholder)
    return ids, root


def _rate_all_good(conn) -> None:
    """A reviewer rates every activity Good (what the review read-back writes)."""
    with conn.cursor() as cur:
        cur.execute("INSERT INTO reviewers (email) VALUES ('r1@x.org') ON CONFLICT DO NOTHING")
        cur.execute("SELECT video_id, activity_index FROM activities")
        for video_id, index in cur.fetchall():
            qid = queue_id(video_id, index)
            cur.execute("INSERT INTO review_queue_rows VALUES (%s, %s, %s)", (qid, video_id, index))
            cur.execute(
                "INSERT INTO activity_ratings (video_id, activity_index, reviewer_email, labels, "
                "queue_id, sheet_row) VALUES (%s, %s, 'r1@x.org', '{good}', %s, 2)",
                (video_id, index, qid),
            )
    conn.commit()


def _scores(conn) -> dict[str, tuple]:
    with conn.cursor() as cur:
        cur.execute("SELECT video_id, status, flags, reasons FROM video_scores")
        found = {r[0]: r[1:] for r in cur.fetchall()}
    conn.commit()
    return found


def _one(conn, sql: str, *args):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        row = cur.fetchone()
    conn.commit()
    return row


def _run(dag, **kwargs):
    run = dag.test(**kwargs)
    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert str(run.state) == "success", states
    return run


@pytest.mark.airflow
def test_no_fix_gps_and_app_version_forms_are_paid_through_the_dags(
    ingest_dag, scoring_dag, seeded_warehouse, tmp_path
):
    ids, landing = _landing(tmp_path / "landing")
    conf = {
        "landing_url": str(landing),
        "quarantine_url": str(tmp_path / "quarantine"),
        "mp4_wait_minutes": 0,
    }
    _run(ingest_dag, run_conf=conf)
    assert _one(seeded_warehouse, "SELECT count(*) FROM ingest_quarantine") == (0,)
    _rate_all_good(seeded_warehouse)
    _run(scoring_dag)

    scores = _scores(seeded_warehouse)
    for case in ("android_no_fix", "android_no_fix_again", "ios_invalid", "gson_nan"):
        assert scores[ids[case]] == ("accepted", [], []), case  # not "Repeated GPS location"
        position = "SELECT latitude, longitude, gps_accuracy_m FROM videos WHERE video_id = %s"
        assert _one(seeded_warehouse, position, ids[case]) == (None, None, None), case
    assert scores[ids["build_number"]] == ("accepted", [], [])  # not "Outdated App"
    assert scores[ids["unreadable_app"]] == (
        "accepted",
        ["app_version_unreadable"],
        ["App version not readable (nightly)"],
    )
    # The phone's own words stay in the audit copy (NaN kept as the string "NaN").
    payload = "SELECT payload->'metadata'->>'latitude' FROM annotation_versions WHERE video_id = %s"
    assert _one(seeded_warehouse, payload, ids["gson_nan"]) == ("NaN",)


def _warehouse_before_the_fix(pg_server: str, tmp_path: Path) -> str:
    """A new database migrated up to 015, the schema before issue 19."""
    import psycopg2

    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(pg_server)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    folder = tmp_path / "sql-before"
    folder.mkdir()
    for migration in db.discover_migrations():
        if migration.version < 16:
            (folder / migration.path.name).write_text(migration.sql)
    url = pg_server.rsplit("/", 1)[0] + f"/{name}"
    conn = db.connect(url)
    db.migrate(conn, folder)
    for definition in demo_collections():
        record_collection_version(conn, definition, DEMO_EPOCH.replace(day=1))
    conn.commit()
    conn.close()
    return url


def _as_scored_before_the_fix(conn, ids: dict[str, str], landing: Path, tmp_path: Path) -> None:
    """What the code before issue 19 left: 0,0 stored as a position (the second video blocked
    as a repeat), "2.1.0 (57)" and "nightly" blocked as Outdated App, the iOS and NaN uploads
    quarantined; every input changed days ago (the hourly run has nothing new to see)."""
    from collector.intake.ingest import ingest_landing_area
    from collector.scoring.scores import score_videos

    held = {ids["ios_invalid"], ids["gson_nan"]}
    for video_id in held:
        (landing / f"{video_id}.json").rename(tmp_path / f"{video_id}.json")
    ingest_landing_area(conn, landing, tmp_path / "q", mp4_wait=timedelta(0))
    old_problems = {
        ids["ios_invalid"]: [("$.metadata.latitude", "expected -90..90 degrees, got -180.0")],
        ids["gson_nan"]: [
            (f"$.metadata.{key}", "expected a number, got nan")
            for key in ("latitude", "longitude", "gps_accuracy_m")
        ],
    }
    _rate_all_good(conn)
    with conn.cursor() as cur:
        for video_id, problems in old_problems.items():
            (tmp_path / f"{video_id}.json").rename(landing / f"{video_id}.json")
            name = f"{video_id}.json"
            sha = _one(conn, "SELECT encode(sha256(%s), 'hex')", (landing / name).read_bytes())
            cur.execute(
                "INSERT INTO ingested_files (file_name, sha256, video_id, status) "
                "VALUES (%s, %s, %s, 'quarantined')",
                (name, sha[0], video_id),
            )
            cur.execute(
                "INSERT INTO ingest_quarantine (file_name, sha256, video_id, json_path, reason, "
                "problems) VALUES (%s, %s, %s, %s, %s, %s)",
                (
                    name,
                    sha[0],
                    video_id,
                    *problems[0],
                    json.dumps([{"json_path": p, "reason": r} for p, r in problems]),
                ),
            )
        no_fix = [ids["android_no_fix"], ids["android_no_fix_again"]]
        cur.execute(
            "UPDATE videos SET latitude = 0, longitude = 0, gps_accuracy_m = 0 "
            "WHERE video_id = ANY(%s)",
            (no_fix,),
        )
    conn.commit()
    score_videos(conn)
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE video_scores SET status = 'blocked', accepted = false, "
            "flags = '{outdated_app}', reasons = '{Outdated App}' WHERE video_id = ANY(%s)",
            ([ids["build_number"], ids["unreadable_app"]],),
        )
        for table in ("videos", "activity_ratings"):
            cur.execute(f"UPDATE {table} SET updated_at = now() - interval '3 days'")
        cur.execute("UPDATE consent_records SET ingested_at = now() - interval '3 days'")
    conn.commit()


@pytest.mark.airflow
def test_the_next_runs_after_the_upgrade_repair_what_was_wrongly_blocked(
    ingest_dag, scoring_dag, pg_server, tmp_path, monkeypatch
):
    url = _warehouse_before_the_fix(pg_server, tmp_path)
    monkeypatch.setenv("COLLECTOR_DB_URL", url)
    monkeypatch.setenv("AIRFLOW_CONN_COLLECTOR_WAREHOUSE", url)
    conn = db.connect(url)
    try:
        ids, landing = _landing(tmp_path / "landing")
        _as_scored_before_the_fix(conn, ids, landing, tmp_path)
        again = ids["android_no_fix_again"]
        assert _scores(conn)[again][:2] == ("blocked", ["repeated_gps_location"])

        conf = {"landing_url": str(landing), "quarantine_url": str(tmp_path / "quarantine")}
        _run(ingest_dag, run_conf=conf | {"mp4_wait_minutes": 0})  # migrates: 016
        _run(scoring_dag)  # the hourly run: only what changed

        scores = _scores(conn)
        retried = ("ios_invalid", "gson_nan")  # now ingested, waiting for their review
        assert {c: scores[ids[c]][:2] for c in retried} == dict.fromkeys(
            retried, ("pending", ["unrated"])
        )
        assert {scores[v][0] for c, v in ids.items() if c not in retried} == {"accepted"}
        assert _one(conn, "SELECT count(*) FROM ingest_quarantine WHERE resolved_at IS NULL") == (
            0,
        )
        changes = "SELECT old_status, new_status FROM video_score_changes WHERE video_id = %s"
        for case in ("android_no_fix_again", "build_number", "unreadable_app"):
            assert _one(conn, changes, ids[case]) == ("blocked", "accepted"), case
    finally:
        conn.close()
        shutil.rmtree(tmp_path / "landing", ignore_errors=True)
