"""Spreadsheets the pipelines create and own (``managed_spreadsheets``): one per purpose.

A purpose is a short name (``review_queue``, ``ops_summary``); the row is written once the
sheet exists, so a run that fails before that creates a new one next time. Sheets rewritten
whole keep the hash of their last written content, so an unchanged sheet costs no API call
(docs/decisions.md, "Collector dashboards (issue 6)"). Collectors' dashboards have a table of their own
(``collector.dashboards.sheets``).
"""

from __future__ import annotations

from typing import NamedTuple

import psycopg2.extensions


class ManagedSheet(NamedTuple):
    """A recorded sheet: its Google spreadsheet id and last written content's hash (or None)."""

    spreadsheet_id: str
    content_hash: str | None


def managed_sheet(conn: psycopg2.extensions.connection, purpose: str) -> ManagedSheet | None:
    """The sheet recorded for ``purpose``, None when none was created yet."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT spreadsheet_id, content_hash FROM managed_spreadsheets WHERE purpose = %s",
            (purpose,),
        )
        row = cur.fetchone()
    return None if row is None else ManagedSheet(*row)


def record_managed_sheet(
    conn: psycopg2.extensions.connection, purpose: str, spreadsheet_id: str, title: str
) -> None:
    """Remember a newly created sheet (uncommitted: the caller commits).

    Raises psycopg2.errors.UniqueViolation when ``purpose`` or the id is recorded already.
    """
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO managed_spreadsheets (purpose, spreadsheet_id, title) VALUES (%s, %s, %s)",
            (purpose, spreadsheet_id, title),
        )


def set_content_hash(conn: psycopg2.extensions.connection, purpose: str, digest: str) -> None:
    """Record the SHA-256 (hex) of what was just written to ``purpose``'s sheet (uncommitted)."""
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE managed_spreadsheets SET content_hash = %s WHERE purpose = %s",
            (digest, purpose),
        )
