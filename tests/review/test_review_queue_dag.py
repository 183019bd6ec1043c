"""Review queue round trip: activities out to the sandbox sheet, typed ratings back in."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from collector.review.ratings import REVIEWER_RATINGS

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def queue_dag(airflow_db):  # DagBag.get_dag reads the metadata DB
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS / "review_queue.py")).get_dag("review_queue")


@pytest.fixture
def rendered_warehouse(seeded_warehouse, landing, tmp_path):
    """Demo data ingested with quicklooks (activities and consents) rendered, as after the two
    upstream DAGs."""
    from collector.intake.ingest import ingest_landing_area
    from collector.review.quicklook_jobs import (
        find_stale_activities,
        find_unrendered_consents,
        load_jobs,
        record_consent_results,
        record_results,
        render_and_store,
        render_consent_quicklooks,
    )

    now = datetime.now(UTC)
    ingest_landing_area(
        seeded_warehouse, landing, tmp_path / "q", mp4_wait=timedelta(days=1), now=now
    )
    jobs = load_jobs(seeded_warehouse, find_stale_activities(seeded_warehouse))
    record_results(seeded_warehouse, render_and_store(jobs, tmp_path / "ql", now=now), now)
    consents = find_unrendered_consents(seeded_warehouse)
    record_consent_results(
        seeded_warehouse, render_consent_quicklooks(consents, tmp_path / "ql"), now
    )
    return seeded_warehouse


def _rows(conn, sql: str):
    with conn.cursor() as cur:
        cur.execute(sql)
        result = cur.fetchall()
    conn.commit()
    return result


@pytest.mark.airflow
def test_review_queue_round_trip(
    airflow_db, queue_dag, rendered_warehouse, sheets_connection, sandbox_url
):
    from collector_airflow.hooks.sheets import GoogleSheetsHook

    conn = rendered_warehouse
    # Queued: activities whose video's subjects all have a consent on file (FAQ 10); a video
    # whose subject has none (the demo's collector who consented under their own email) is
    # held by scoring and stays out of the queue.
    activities, held = _rows(
        conn,
        """SELECT count(*) FILTER (WHERE ready), count(*) FILTER (WHERE NOT ready)
           FROM (SELECT cardinality(v.subject_ids) > 0
                        AND v.subject_ids <@ (SELECT array_agg(subject_email)
                                              FROM consent_records) AS ready
                 FROM quicklooks q JOIN videos v USING (video_id)) s""",
    )[0]
    assert activities >= 4 and held > 0, (activities, held)
    assert str(queue_dag.test().state) == "success"
    [(sheet_id,)] = _rows(
        conn, "SELECT spreadsheet_id FROM managed_spreadsheets WHERE purpose = 'review_queue'"
    )
    hook = GoogleSheetsHook()
    queue = hook.get_rows(sheet_id, "Queue", render="FORMULA")
    assert len(queue) == activities + 1
    assert queue[0][:3] == ["queue_id", "video_id", "collection_id"]
    assert queue[0][6:9] == ["quicklook", "consent_quicklook", "description"]
    assert all(row[6].startswith('=IMAGE("') for row in queue[1:]), [r[6] for r in queue[1:]]
    assert all("/consents/" in row[7] and row[7].startswith('=IMAGE("') for row in queue[1:]), [
        r[7] for r in queue[1:]
    ]
    state = json.loads(
        urllib.request.urlopen(f"{sandbox_url}/_sandbox/spreadsheets/{sheet_id}").read()
    )
    [queue_state] = [s for s in state["sheets"] if s["title"] == "Queue"]
    [validation] = queue_state["validations"]
    offered = [v["userEnteredValue"] for v in validation["rule"]["condition"]["values"]]
    assert offered == list(REVIEWER_RATINGS.values())  # exactly the FAQ's names
    assert (validation["range"]["startRowIndex"], validation["range"]["endRowIndex"]) == (
        1,
        activities + 1,
    )
    assert (validation["range"]["startColumnIndex"], validation["range"]["endColumnIndex"]) == (
        9,
        12,
    )

    # Reviewers at work, in the sheet.
    book = hook.open(sheet_id)
    book.worksheet("Reviewers").update(
        [["Alice.Reviewer@Example.com ", "Alice", "TRUE"], ["bob.reviewer@example.com", "Bob", ""]],
        "A2:C3",
    )
    q = book.worksheet("Queue")
    q.update([["Good", "", "", "alice.reviewer@example.com", ""]], "J2:N2")
    q.update(
        [["Box too big", "incorrect timing", "", "alice.reviewer@example.com", "late"]], "J3:N3"
    )
    q.update([["Grate", "", "", "alice.reviewer@example.com", ""]], "J4:N4")
    q.update([["Good", "", "", "mallory@example.com", ""]], "J5:N5")
    second_reviewer = [*queue[1][:9], "Perfect", "", "", "bob.reviewer@example.com", ""]
    q.append_rows([second_reviewer], value_input_option="USER_ENTERED")

    assert str(queue_dag.test().state) == "success"
    ratings = _rows(
        conn,
        "SELECT queue_id, reviewer_email, labels, comment FROM activity_ratings "
        "ORDER BY queue_id, reviewer_email",
    )
    first_id, second_id = queue[1][0], queue[2][0]
    assert sorted(ratings) == sorted(
        [
            (first_id, "alice.reviewer@example.com", ["good"], ""),
            (first_id, "bob.reviewer@example.com", ["perfect"], ""),
            (second_id, "alice.reviewer@example.com", ["box_too_big", "incorrect_timing"], "late"),
        ]
    )
    problems = [row[0] for row in hook.get_rows(sheet_id, "Problems")[1:]]
    assert any(
        p.startswith("J4 rating_1") and "'Grate' is not a rating name" in p for p in problems
    )
    assert any(p.startswith("M5 reviewer_email") and "mallory@example.com" in p for p in problems)
    assert len(problems) == 2
    assert len(hook.get_rows(sheet_id, "Queue")) == activities + 2  # nothing appended twice

    before = _rows(conn, "SELECT * FROM activity_ratings ORDER BY 1, 2, 3")
    assert str(queue_dag.test().state) == "success"
    assert _rows(conn, "SELECT * FROM activity_ratings ORDER BY 1, 2, 3") == before

    q.update([["Perfect"]], "J2")
    assert str(queue_dag.test().state) == "success"
    changed = _rows(
        conn,
        "SELECT labels FROM activity_ratings "
        f"WHERE queue_id = '{first_id}' AND reviewer_email LIKE 'alice%'",
    )
    assert changed == [(["perfect"],)]
