"""Plain-text reports for people: what the warehouse holds and what needs attention."""

from __future__ import annotations

import psycopg2.extensions

_COUNTS = """
SELECT (SELECT count(*) FROM videos), (SELECT count(*) FROM activities),
       (SELECT count(*) FROM track_boxes), (SELECT count(DISTINCT collector_id) FROM videos),
       (SELECT count(*) FROM annotation_versions WHERE edit_stamp IS NOT NULL),
       (SELECT count(*) FROM ingest_quarantine WHERE resolved_at IS NULL),
       (SELECT count(*) FROM ingested_files WHERE status = 'waiting_for_mp4'),
       (SELECT count(*) FROM quicklooks WHERE status = 'ok'),
       (SELECT count(*) FROM quicklooks WHERE status = 'failed'),
       (SELECT count(*) FROM collection_status WHERE enabled),
       (SELECT count(*) FROM collection_status WHERE NOT enabled),
       (SELECT count(*) FROM review_queue_rows),
       (SELECT count(*) FROM activity_ratings),
       (SELECT count(DISTINCT reviewer_email) FROM activity_ratings),
       (SELECT string_agg(status || ' ' || n, ', ' ORDER BY status)
          FROM (SELECT status, count(*) AS n FROM video_scores GROUP BY status) s),
       (SELECT count(DISTINCT subject_email) FROM consent_records),
       (SELECT count(*) FROM consent_withdrawals),
       (SELECT count(*) FROM video_scores WHERE 'consent_missing' = ANY(flags)),
       (SELECT string_agg(name || ' ' || version || ' (' || clip_count || ' clips)', ', '
                          ORDER BY published_at)
          FROM dataset_releases WHERE status = 'published')
"""


def warehouse_status(conn: psycopg2.extensions.connection) -> str:
    with conn.cursor() as cur:
        cur.execute(_COUNTS)
        (
            videos,
            activities,
            boxes,
            collectors,
            edits,
            quarantined,
            waiting,
            quicklooks,
            failed_quicklooks,
            enabled,
            disabled,
            queued,
            ratings,
            raters,
            scores,
            consented,
            withdrawn,
            held_for_consent,
            releases,
        ) = cur.fetchone()
        cur.execute(
            """SELECT file_name, json_path, reason FROM ingest_quarantine
               WHERE resolved_at IS NULL ORDER BY quarantined_at, file_name"""
        )
        quarantine_rows = cur.fetchall()
    lines = [
        "Warehouse:",
        f"  {enabled} collections offered in the app, {disabled} disabled",
        f"  {videos} videos from {collectors} collectors, {activities} activities, "
        f"{boxes} keyframe boxes, {edits} edits kept in history",
        f"  {waiting} annotations waiting for their MP4",
        f"  {quicklooks} quicklooks rendered, {failed_quicklooks} activities flagged without one",
        f"  {queued} activities in the review queue, {ratings} ratings from {raters} reviewers",
        f"  scores: {scores or 'none yet'}",
        f"  consent on file for {consented} subjects ({withdrawn} withdrawn); "
        f"{held_for_consent} videos held for a missing consent",
        f"  dataset releases published: {releases or 'none yet'}",
        f"  {quarantined} files in quarantine:",
    ]
    lines += [f"    {name}\n      {path}: {reason}" for name, path, reason in quarantine_rows]
    return "\n".join(lines)
