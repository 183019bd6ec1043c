"""Scores and Accepted? (docs/scoring.md, FAQ 10-12), computed set-based in PostgreSQL.

The rules are data (``scoring_rule_sets``, ``scoring_label_rules``); the computation is one SQL
statement (``collector/scoring/sql/score_videos.sql``) over any set of videos. A run always computes from
the warehouse as it is now, so partial runs in any order (hourly, backfills, reruns) converge to
exactly what one full re-score gives.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import psycopg2.extensions

from collector.core import db
from collector.core.db import packaged_sql
from collector.scoring.accepted import accepted, plain_number

log = logging.getLogger(__name__)


def _query(name: str) -> str:
    return packaged_sql("collector.scoring", name)


@dataclass(frozen=True)
class ScoreRun:
    videos_scored: int
    videos_written: int
    scores_changed: int
    activities_written: int
    rules_version: int


def current_rules_version(conn: psycopg2.extensions.connection) -> int:
    with conn.cursor() as cur:
        cur.execute("SELECT max(rules_version) FROM scoring_rule_sets")
        return cur.fetchone()[0]


def score_videos(
    conn: psycopg2.extensions.connection,
    video_ids: list[str] | None = None,
    *,
    rules_version: int | None = None,
) -> ScoreRun:
    """Score these videos (all when None) in one transaction."""
    version = rules_version or current_rules_version(conn)
    if video_ids is not None and not video_ids:
        return ScoreRun(0, 0, 0, 0, version)
    with conn.cursor() as cur:
        # Two runs over the same videos (a backfill overlapping the hourly run) take turns.
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('collector.scoring.scores'))")
        # Sorts and hashes of a full re-score (200,000 videos) fit in memory, not on disk.
        cur.execute("SET LOCAL work_mem = '128MB'")
        ids = None if video_ids is None else _text_array(video_ids)
        cur.execute(_query("score_videos"), {"video_ids": ids, "rules_version": version})
        scored, written, changed, activities = cur.fetchone()
    conn.commit()
    run = ScoreRun(scored, written, changed, activities, version)
    log.info(
        "scored %d videos (rules v%d): %d rows written, %d existing scores changed",
        scored,
        version,
        written,
        changed,
    )
    return run


def _text_array(values: list[str]) -> str:
    """``values`` as one PostgreSQL array literal (``{"a","b"}``) to cast to text[]: psycopg2
    sends a list as ``ARRAY['a', 'b', ...]``, one constant per element that the server parses
    and coerces one by one (~1 s for 200,000 ids, twice in score_videos.sql); a literal is one
    constant, read by array_in at once."""
    quoted = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return "{" + ",".join(quoted) + "}"


_AFFECTED = """
WITH changed_videos AS (
    SELECT video_id FROM videos WHERE updated_at >= %(start)s AND updated_at < %(end)s
    UNION SELECT v.video_id FROM videos v LEFT JOIN video_scores s USING (video_id)
          JOIN collection_versions cv
            ON cv.collection_id = v.collection_id AND cv.version = v.collection_version
          WHERE s.video_id IS NULL AND v.first_ingested_at < %(end)s
            AND cv.kind <> 'self_serve'  -- never scored: not "unscored" for ever
),
-- A new or changed video can supersede, or repeat the location of, its collector's other
-- videos for the same collection: re-score the whole group. A rating or a collection version
-- changes only its own videos' scores.
groups AS (
    SELECT DISTINCT v.collector_id, v.collection_id FROM videos v JOIN changed_videos USING (video_id)
)
SELECT v.video_id FROM videos v JOIN groups USING (collector_id, collection_id)
UNION SELECT video_id FROM activity_ratings WHERE updated_at >= %(start)s AND updated_at < %(end)s
UNION SELECT v.video_id FROM videos v JOIN collection_versions cv USING (collection_id)
      WHERE cv.valid_from >= %(start)s AND cv.valid_from < %(end)s
UNION SELECT v.video_id FROM videos v JOIN consent_records c ON c.subject_email = ANY(v.subject_ids)
      WHERE c.ingested_at >= %(start)s AND c.ingested_at < %(end)s
ORDER BY 1
"""


def affected_videos(
    conn: psycopg2.extensions.connection, start: datetime, end: datetime
) -> list[str]:
    """Videos whose inputs changed in [start, end), with every video those changes can affect."""
    with conn.cursor() as cur:
        cur.execute(_AFFECTED, {"start": start, "end": end})
        ids = [r[0] for r in cur.fetchall()]
    conn.commit()
    return ids


def videos_collected_between(
    conn: psycopg2.extensions.connection, start: datetime, end: datetime
) -> list[str]:
    """Videos collected in [start, end) (``videos.collected_at``, timezone-aware bounds), the
    set a backfill re-scores; self-serve videos are never scored (FAQ 3) and not listed."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT v.video_id FROM videos v JOIN collection_versions cv
                 ON cv.collection_id = v.collection_id AND cv.version = v.collection_version
               WHERE v.collected_at >= %s AND v.collected_at < %s AND cv.kind <> 'self_serve'
               ORDER BY 1""",
            (start, end),
        )
        ids = [r[0] for r in cur.fetchall()]
    conn.commit()
    return ids


def score_interval(
    conn: psycopg2.extensions.connection,
    start: datetime,
    end: datetime,
    *,
    rules_version: int | None = None,
) -> ScoreRun:
    return score_videos(conn, affected_videos(conn, start, end), rules_version=rules_version)


def explain(video_id: str, conn: psycopg2.extensions.connection | None = None) -> str:
    """Why a video was or was not accepted, in the FAQ's words, activity by activity.

    The Accepted? answer is :func:`collector.scoring.accepted.accepted`'s, as on every other
    surface: ``Accepted? YES =IF(1>=0.75,"YES","NO")`` when the score decided, else
    ``Accepted? NO`` (blocked, superseded) or ``Accepted? PENDING``.

    On ``conn`` (its transaction is ended, committed, whatever happens) or on a connection of
    its own to the warehouse.
    """

    if conn is None:
        with db.connection() as own:
            return explain(video_id, own)
    try:
        found = _explain_rows(conn, video_id)
    finally:
        conn.commit()
    if isinstance(found, str):
        return found
    row, activities, words = found
    status, score, threshold, reasons, rv, cid, cver, collector, collected = row
    shown = "-" if score is None else plain_number(score)
    decision = accepted(status, score, threshold)
    lines = [
        f"Video {video_id} by {collector}, collected {collected:%Y-%m-%d %H:%M} UTC",
        f"Collection {cid} v{cver}, rules v{rv}: {status.upper()}, score {shown}, "
        f"threshold {plain_number(threshold)}   Accepted? {decision.answer}"
        + (f" {decision.formula}" if decision.formula else ""),
    ]
    lines += [f"  - {reason}" for reason in reasons]
    for index, shortname, a_score, reviewers, labels in activities:
        a_shown = (
            "unrated" if not reviewers else f"{plain_number(a_score)} from {reviewers} reviewer(s)"
        )
        named = ", ".join(words.get(label, label) for label in (labels or []))
        lines.append(
            f"  activity {index} {shortname}: {a_shown}" + (f" ({named})" if named else "")
        )
    return "\n".join(lines)


def _explain_rows(conn: psycopg2.extensions.connection, video_id: str):
    """(score row, activity rows, label code -> FAQ name), or the sentence saying why none."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT s.status, s.score, s.threshold, s.reasons, s.rules_version,
                      s.collection_id, s.collection_version, v.collector_id, v.collected_at
               FROM video_scores s JOIN videos v USING (video_id) WHERE video_id = %s""",
            (video_id,),
        )
        row = cur.fetchone()
        if row is None:
            cur.execute("SELECT 1 FROM videos WHERE video_id = %s", (video_id,))
            known = cur.fetchone()
            return (
                f"{video_id}: not scored yet"
                if known
                else f"{video_id}: no such video in the warehouse"
            )
        cur.execute(
            """SELECT a.activity_index, a.shortname, s.score, s.reviewers, s.labels
               FROM activities a LEFT JOIN activity_scores s USING (video_id, activity_index)
               WHERE a.video_id = %s ORDER BY 1""",
            (video_id,),
        )
        activities = cur.fetchall()
        cur.execute("SELECT code, faq_name FROM rating_vocabulary")
        words = dict(cur.fetchall())
    return row, activities, words
