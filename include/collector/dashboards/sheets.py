"""Bookkeeping of collectors' dashboard spreadsheets (``collector_dashboards``) and who gets one.

One row per collector: the spreadsheet, its tabs' sheet ids (so a write needs no lookup), the
rows reserved per tab, and the hash of the content last written, so an unchanged dashboard
costs no API call; a failed write is recorded and its hash left as it was, so the next run
retries it (docs/decisions.md, "Collector dashboards (issue 6)"). Each write here commits at
once: what was written to Google stays recorded whatever happens to the next collector.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import psycopg2.extensions


class DashboardSheet(NamedTuple):
    """A collector's recorded dashboard spreadsheet."""

    spreadsheet_id: str
    sheet_ids: dict[str, int]  # tab title -> Google sheetId
    layout: dict[str, int]  # tab title -> rows reserved (``{}`` before the first write)
    content_hash: str | None  # SHA-256 of the content last written, None before that


def collectors_with_videos(conn: psycopg2.extensions.connection) -> list[str]:
    """Every collector with a video in a collection that is not self-serve, sorted: the ones
    with a dashboard (self-serve videos are the owner's own data, FAQ 3)."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT DISTINCT v.collector_id FROM videos v
               JOIN collection_versions cv
                 ON cv.collection_id = v.collection_id AND cv.version = v.collection_version
               WHERE cv.kind <> 'self_serve' ORDER BY 1"""
        )
        return [r[0] for r in cur.fetchall()]


def known_dashboards(
    conn: psycopg2.extensions.connection, collector_ids: list[str]
) -> dict[str, DashboardSheet]:
    """Collector id -> recorded dashboard, for those of ``collector_ids`` that have one."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT collector_id, spreadsheet_id, sheet_ids, layout, content_hash "
            "FROM collector_dashboards WHERE collector_id = ANY(%s)",
            (collector_ids,),
        )
        return {r[0]: DashboardSheet(*r[1:]) for r in cur.fetchall()}


def record_dashboard(
    conn: psycopg2.extensions.connection,
    collector_id: str,
    spreadsheet_id: str,
    sheet_ids: dict[str, int],
    share_mode: str | None = None,
) -> DashboardSheet:
    """Remember a newly created dashboard (no layout, no content yet) and how it was shared
    (``'direct'``, ``'invitation'``, None when shared with no one), and commit.

    Raises psycopg2.errors.UniqueViolation when the collector or the spreadsheet has one.
    """
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO collector_dashboards (collector_id, spreadsheet_id, sheet_ids, share_mode) "
            "VALUES (%s, %s, %s, %s)",
            (collector_id, spreadsheet_id, json.dumps(sheet_ids), share_mode),
        )
    conn.commit()
    return DashboardSheet(spreadsheet_id, sheet_ids, {}, None)


def record_written(
    conn: psycopg2.extensions.connection,
    collector_id: str,
    content_hash: str,
    layout: dict[str, Any],
) -> None:
    """After a successful write: the new content's hash and layout, refreshed now, no error;
    committed."""
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE collector_dashboards SET content_hash = %s, layout = %s,
                             refreshed_at = now(), last_error = NULL, error_at = NULL
                         WHERE collector_id = %s""",
            (content_hash, json.dumps(layout), collector_id),
        )
    conn.commit()


def record_failure(conn: psycopg2.extensions.connection, collector_id: str, error: str) -> None:
    """After a failed write: the error (first 500 characters) and when; the content hash stays,
    so the next run writes again. Committed."""
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE collector_dashboards SET last_error = %s, error_at = now() "
            "WHERE collector_id = %s",
            (error[:500], collector_id),
        )
    conn.commit()


def dashboard_sheet_id(conn: psycopg2.extensions.connection, collector_id: str) -> str | None:
    """The spreadsheet id of ``collector_id``'s dashboard, or None before its first refresh."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT spreadsheet_id FROM collector_dashboards WHERE collector_id = %s",
            (collector_id,),
        )
        row = cur.fetchone()
    return row[0] if row else None
