"""Who collects: the ops' search over collectors, and whether an id is a collector at all."""

from __future__ import annotations

from typing import NamedTuple

import psycopg2.extensions

from collector.core.identity import normalize_email


class CollectorEntry(NamedTuple):
    """One row of the ops' Collectors page."""

    collector_id: str
    videos: int
    has_payment_details: bool


def find_collectors(
    conn: psycopg2.extensions.connection, search: str, limit: int = 200
) -> list[CollectorEntry]:
    """Collectors whose id (email) contains ``search`` (matched as emails are, FAQ 5), by id,
    at most ``limit``, with their video count and whether payment details are on file."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT c.collector_id, count(v.video_id), p.method IS NOT NULL
               FROM collectors c LEFT JOIN videos v USING (collector_id)
               LEFT JOIN payment_profiles p USING (collector_id)
               WHERE c.collector_id LIKE %s
               GROUP BY c.collector_id, p.method ORDER BY c.collector_id LIMIT %s""",
            (f"%{normalize_email(search)}%", limit),
        )
        return [CollectorEntry(row[0], int(row[1]), bool(row[2])) for row in cur.fetchall()]


def is_collector(conn: psycopg2.extensions.connection, collector_id: str) -> bool:
    """Whether ``collector_id`` is a known collector (has uploaded or been registered)."""
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM collectors WHERE collector_id = %s", (collector_id,))
        return cur.fetchone() is not None
