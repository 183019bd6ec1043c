"""The demo landing area taken through ingest, a review and scoring, without Sheets."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from collector.intake.ingest import IngestReport, ingest_landing_area
from collector.scoring.scores import score_videos

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def rows(conn, sql: str, *args) -> list[tuple]:
    """A query's rows, committed (tests read between the pipeline's own transactions)."""
    with conn.cursor() as cur:
        cur.execute(sql, args)
        result = cur.fetchall()
    conn.commit()
    return result


def rate(conn, labels_for: Callable[[str, int], list[str]] = lambda vid, i: ["good"]) -> None:
    """Every ingested activity rated by one reviewer (what the review queue would bring in)."""
    with conn.cursor() as cur:
        cur.execute("INSERT INTO reviewers (email) VALUES ('r1@x.org') ON CONFLICT DO NOTHING")
        cur.execute("SELECT video_id, activity_index FROM activities")
        for video_id, index in cur.fetchall():
            queue_id = f"Q-{video_id}-{index}"
            cur.execute(
                "INSERT INTO review_queue_rows VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                (queue_id, video_id, index),
            )
            cur.execute(
                """INSERT INTO activity_ratings (video_id, activity_index, reviewer_email, labels,
                       queue_id, sheet_row) VALUES (%s, %s, 'r1@x.org', %s, %s, 2)
                   ON CONFLICT (video_id, activity_index, reviewer_email)
                   DO UPDATE SET labels = EXCLUDED.labels""",
                (video_id, index, labels_for(video_id, index), queue_id),
            )
    conn.commit()


def ingest_rate_score(conn, landing: Path, scratch: Path) -> IngestReport:
    """Ingest the landing area, rate every activity Good, score every video."""
    report = ingest_landing_area(
        conn, landing, scratch / "quarantine", mp4_wait=timedelta(hours=24), now=NOW
    )
    rate(conn)
    score_videos(conn)
    return report
