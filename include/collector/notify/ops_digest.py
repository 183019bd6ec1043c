"""The daily ops digest: what is late or stuck, measured against the FAQ's promises, before a
collector notices (reviews within 24 h, dashboards every few hours, weekly payment)."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

import psycopg2.extensions

from collector.payouts.submission import unconfirmed_chunks

REVIEW_PROMISE = timedelta(hours=24)  # FAQ 8: "Reviews ... usually available within 24 hours"
CONSENT_CHASE = timedelta(days=3)  # a consent this late needs a word with the collector
MANY_BROKEN_LINKS = 5  # in a day: more likely our Dropbox app than five collectors at once


@dataclass
class OpsDigest:
    lines: list[tuple[str, str, bool]]  # (what, value, needs attention)

    @property
    def attention(self) -> int:
        return sum(1 for _, _, bad in self.lines if bad)

    def subject(self, day: str) -> str:
        state = f"{self.attention} need attention" if self.attention else "all within promises"
        return f"[collector] ops digest {day}: {state}"

    def html(self) -> str:
        rows = "".join(
            f"<tr><td>{'⚠' if bad else '✓'}</td><td>{html.escape(what)}</td>"
            f"<td>{html.escape(value)}</td></tr>"
            for what, value, bad in self.lines
        )
        return f"<table>{rows}</table>"


def _age(now: datetime, then: datetime | None) -> str:
    if then is None:
        return "-"
    hours = (now - then).total_seconds() / 3600
    return f"{hours:.0f} h" if hours < 72 else f"{hours / 24:.1f} days"


def build_ops_digest(conn: psycopg2.extensions.connection, now: datetime) -> OpsDigest:
    """Today's digest: one line per promise or pipeline part, flagged when it needs attention.

    Reads the warehouse in one transaction (committed); ``now`` is an aware UTC datetime.
    """
    facts = _digest_facts(conn, now)
    conn.commit()
    return OpsDigest(_digest_lines(facts, now))


def claim_digest_day(conn: psycopg2.extensions.connection, day: str) -> bool:
    """Take the key ``ops_digest:<day>`` (``day`` ISO, ET) in ``ops_notices``: True when this
    call took it, False when a digest for the day was sent already.

    Uncommitted on purpose: the caller commits only once the digest was sent (a failure is
    retried, the key not taken) and rolls back when it was not first, so the digest goes out
    once a day even when the run is cleared or re-triggered (docs/decisions.md, "Failures read
    as sentences; ops alerts through an outbox (issue 17, item 5)").
    """
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO ops_notices (notice_key) VALUES (%s) ON CONFLICT DO NOTHING",
            (f"ops_digest:{day}",),
        )
        return cur.rowcount == 1


class _Facts(NamedTuple):
    """What the digest's lines are made of (counts; aware datetimes or None)."""

    unrated: int
    oldest: datetime | None
    quarantined: int
    newest_quarantine: datetime | None
    failed_quicklooks: int
    failing_sheets: int
    stalest: datetime | None
    written_today: int
    held: int
    held_cents: int
    emails_failed: int
    emails_stuck: int
    held_for_consent: int
    oldest_held: datetime | None
    links_broken: int
    links_broken_today: int
    unconfirmed: list[tuple[str, int, int, datetime]]  # payout chunks sent, unconfirmed > 1 day


def _digest_facts(conn: psycopg2.extensions.connection, now: datetime) -> _Facts:
    """The counts and timestamps the digest's lines are made of, by name (uncommitted)."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT count(*), min(v.first_ingested_at)
               FROM activities a JOIN videos v USING (video_id)
               JOIN collection_versions cv
                 ON cv.collection_id = v.collection_id AND cv.version = v.collection_version
               WHERE NOT EXISTS (SELECT 1 FROM activity_ratings r
                                 WHERE r.video_id = a.video_id
                                   AND r.activity_index = a.activity_index)
                 AND cv.kind <> 'self_serve'  -- never queued for review"""
        )
        unrated, oldest = cur.fetchone()
        cur.execute(
            """SELECT count(*), max(quarantined_at) FROM ingest_quarantine
               WHERE resolved_at IS NULL"""
        )
        quarantined, newest_quarantine = cur.fetchone()
        cur.execute("SELECT count(*) FROM quicklooks WHERE status = 'failed'")
        (failed_quicklooks,) = cur.fetchone()
        cur.execute(
            """SELECT count(*) FILTER (WHERE last_error IS NOT NULL),
                      min(refreshed_at),
                      count(*) FILTER (WHERE refreshed_at > %s)
               FROM collector_dashboards""",
            (now - timedelta(days=1),),
        )
        failing_sheets, stalest, written_today = cur.fetchone()
        cur.execute(
            """SELECT count(*), coalesce(sum(amount_cents), 0) FROM payout_holds
               WHERE week_start = (SELECT max(week_start) FROM payout_holds)"""
        )
        held, held_cents = cur.fetchone()
        cur.execute(
            """SELECT count(*) FILTER (WHERE status = 'failed'),
                      count(*) FILTER (WHERE status = 'sending' AND created_at < %s)
               FROM email_outbox""",
            (now - timedelta(hours=1),),
        )
        emails_failed, emails_stuck = cur.fetchone()
        cur.execute(
            """SELECT count(*), min(v.first_ingested_at) FROM video_scores s
               JOIN videos v USING (video_id) WHERE 'consent_missing' = ANY(s.flags)"""
        )
        held_for_consent, oldest_held = cur.fetchone()
        cur.execute(
            """SELECT count(*) FILTER (WHERE status = 'broken'),
                      count(*) FILTER (WHERE status = 'broken' AND broken_at > %s)
               FROM dropbox_links""",
            (now - timedelta(days=1),),
        )
        links_broken, links_broken_today = cur.fetchone()
    unconfirmed = unconfirmed_chunks(conn, now)
    return _Facts(
        unrated, oldest, quarantined, newest_quarantine, failed_quicklooks, failing_sheets,
        stalest, written_today, held, held_cents, emails_failed, emails_stuck, held_for_consent,
        oldest_held, links_broken, links_broken_today, unconfirmed,
    )  # fmt: skip


def _digest_lines(f: _Facts, now: datetime) -> list[tuple[str, str, bool]]:
    """(what, value, needs attention) for each fact, against the FAQ's promises."""
    late = f.oldest is not None and now - f.oldest > REVIEW_PROMISE
    return [
        (
            "Review backlog (FAQ 8: reviews within 24 h)",
            f"{f.unrated} activities unrated, oldest waiting {_age(now, f.oldest)}",
            late,
        ),
        (
            "Quarantined submissions",
            f"{f.quarantined} unresolved, newest {_age(now, f.newest_quarantine)} ago"
            " (collector quarantine list)",
            f.quarantined > 0,
        ),
        ("Activities without a quicklook", str(f.failed_quicklooks), f.failed_quicklooks > 0),
        (
            "Dashboards (Google Sheets) failing to write",
            f"{f.failing_sheets}; stalest refresh {_age(now, f.stalest)} ago",
            f.failing_sheets > 0,
        ),
        (
            "Sheets quota use, last 24 h (Google: 300 write requests a minute per project)",
            f"{f.written_today} dashboards rewritten, at most {2 * f.written_today} write "
            "requests; unchanged dashboards cost none",
            False,
        ),
        (
            "Collectors held from the last payout",
            f"{f.held} (${f.held_cents / 100:,.2f}), mostly missing payment details",
            f.held > 0,
        ),
        (
            "Collector emails failed / stuck in sending",
            f"{f.emails_failed} / {f.emails_stuck}",
            bool(f.emails_failed or f.emails_stuck),
        ),
        (
            "Videos held for a missing consent (FAQ 10; the collector sees why)",
            f"{f.held_for_consent}, oldest uploaded {_age(now, f.oldest_held)} ago",
            f.oldest_held is not None and now - f.oldest_held > CONSENT_CHASE,
        ),
        (
            "Payout requests sent and not confirmed by the provider for over a day (may be "
            "paid: look each up, `collector payouts chunk-found` / `chunk-not-sent`)",
            ", ".join(
                f"{provider} batch {batch} chunk {chunk} sent {_age(now, at)} ago"
                for provider, batch, chunk, at in f.unconfirmed
            )
            or "none",
            bool(f.unconfirmed),
        ),
        (
            "Dropbox links broken (each collector was emailed)",
            f"{f.links_broken}, {f.links_broken_today} in the last 24 h",
            f.links_broken_today >= MANY_BROKEN_LINKS,  # the app itself may be disconnected
        ),
    ]
