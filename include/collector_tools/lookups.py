"""Read-only lookups people and scripts need one value from (``collector show ...``).

Each returns None when the warehouse holds nothing of the kind yet; nothing here writes.
"""

from __future__ import annotations

import psycopg2.extensions

from collector.core.identity import normalize_email


def _one(conn: psycopg2.extensions.connection, sql: str, args: tuple = ()) -> str | None:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        row = cur.fetchone()
    conn.commit()
    return None if row is None else str(row[0])


def managed_sheet_id(conn: psycopg2.extensions.connection, purpose: str) -> str | None:
    """The spreadsheet id of a sheet the pipelines created (``review_queue``, ``ops_summary``)."""
    return _one(
        conn, "SELECT spreadsheet_id FROM managed_spreadsheets WHERE purpose = %s", (purpose,)
    )


def managed_sheet_purposes(conn: psycopg2.extensions.connection) -> list[str]:
    with conn.cursor() as cur:
        cur.execute("SELECT purpose FROM managed_spreadsheets ORDER BY purpose")
        rows = [r[0] for r in cur.fetchall()]
    conn.commit()
    return rows


def dashboard_sheet_id(
    conn: psycopg2.extensions.connection, collector_id: str | None = None
) -> str | None:
    """A collector's dashboard spreadsheet id; without a collector, the first one's."""
    if collector_id:
        return _one(
            conn,
            "SELECT spreadsheet_id FROM collector_dashboards WHERE collector_id = %s",
            (normalize_email(collector_id),),
        )
    return _one(
        conn, "SELECT spreadsheet_id FROM collector_dashboards ORDER BY collector_id LIMIT 1"
    )


def example_scored_video(conn: psycopg2.extensions.connection) -> str | None:
    """A scored video worth explaining: a rejected one if any, else the first."""
    return _one(
        conn,
        "SELECT video_id FROM video_scores ORDER BY status = 'rejected' DESC, video_id LIMIT 1",
    )


def first_payee(conn: psycopg2.extensions.connection) -> str | None:
    """The first collector (by id) with payment details on file."""
    return _one(conn, "SELECT collector_id FROM payment_profiles ORDER BY collector_id LIMIT 1")
