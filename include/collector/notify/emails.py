"""Collector emails (FAQ 2, 4, 8, 13) through an outbox: what to send, to whom, once.

Each email has a dedupe key (kind, collector, period) written to ``email_outbox`` before it is
sent; enqueueing twice is a no-op and a row is claimed (``sending``) before the SMTP call, so a
retry or a rerun never sends twice. Bodies are rendered at send time from templates (HTML and
plain text) so that secrets such as a set-password link exist only in the message itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from urllib.parse import quote

import psycopg2.extensions
from jinja2 import Environment, FileSystemLoader, select_autoescape

from collector.accounts import logins
from collector.core import settings
from collector.core.clock import BUSINESS_TZ
from collector.core.money import dollars
from collector.core.payment_failures import collector_words
from collector.dashboards.content import ADVICE, PROVIDER_NAMES, payment_words
from collector.scoring.accepted import PENDING, YES, accepted

MAX_ATTEMPTS = 5
NEAR_YOU_DAYS = 90  # "recent submissions"


@cache
def _templates() -> Environment:
    folder = Path(__file__).with_name("templates") / "email"
    return Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def unsubscribe_token(collector_id: str, secret: str | None = None) -> str:
    """Stable, unguessable per collector: the link works without logging in (RFC 8058)."""
    key = (secret or settings.portal_secret()).encode()
    return hmac.new(key, f"unsubscribe:{collector_id}".encode(), hashlib.sha256).hexdigest()[:32]


def set_digest_subscription(
    conn: psycopg2.extensions.connection, collector_id: str, subscribed: bool
) -> None:
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO email_preferences (collector_id, digest_unsubscribed_at)
               VALUES (%s, CASE WHEN %s THEN NULL ELSE now() END)
               ON CONFLICT (collector_id) DO UPDATE
                 SET digest_unsubscribed_at = EXCLUDED.digest_unsubscribed_at""",
            (collector_id, subscribed),
        )


def digest_subscribed(conn: psycopg2.extensions.connection, collector_id: str) -> bool:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT digest_unsubscribed_at IS NULL FROM email_preferences WHERE collector_id = %s",
            (collector_id,),
        )
        row = cur.fetchone()
    return row is None or row[0]


def _insert(cur, key: str, kind: str, collector_id: str, recipient: str, payload: dict) -> int:
    cur.execute(
        """INSERT INTO email_outbox (dedupe_key, kind, collector_id, recipient, payload)
           VALUES (%s, %s, %s, %s, %s) ON CONFLICT (dedupe_key) DO NOTHING""",
        (key, kind, collector_id, recipient, json.dumps(payload)),
    )
    return cur.rowcount


def enqueue_welcomes(conn: psycopg2.extensions.connection) -> int:
    """One welcome per onboarded collector (an account made by the CLI or the sheet)."""
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO email_outbox (dedupe_key, kind, collector_id, recipient)
               SELECT 'welcome:' || a.collector_id, 'welcome', a.collector_id, a.email
               FROM portal_accounts a WHERE a.role = 'collector'
               ON CONFLICT (dedupe_key) DO NOTHING"""
        )
        return cur.rowcount


def enqueue_events(conn: psycopg2.extensions.connection) -> int:
    """Events to tell a collector about: payment details changed, password reset asked for,
    password changed, a sign-in from a new browser, Dropbox link broken."""
    queued = 0
    with conn.cursor() as cur:
        cur.execute(
            """SELECT e.event_id, e.kind, e.collector_id, coalesce(c.email, e.collector_id),
                      e.payload
               FROM collector_events e JOIN collectors c USING (collector_id)
               WHERE e.processed_at IS NULL
                 AND e.kind IN ('payment_details_changed', 'password_reset_requested',
                                'password_changed', 'new_browser_sign_in',
                                'dropbox_link_broken')
               ORDER BY e.event_id FOR UPDATE OF e SKIP LOCKED"""
        )
        for event_id, kind, collector_id, email, payload in cur.fetchall():
            queued += _insert(
                cur, f"{kind}:{collector_id}:{event_id}", kind, collector_id, email, payload
            )
            cur.execute(
                "UPDATE collector_events SET processed_at = now() WHERE event_id = %s",
                (event_id,),
            )
    return queued


def enqueue_payment_problems(conn: psycopg2.extensions.connection) -> int:
    """A payment failed, was returned, or waits unclaimed: tell the collector what to fix."""
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO email_outbox (dedupe_key, kind, collector_id, recipient, payload)
               SELECT 'payment_' || i.status || ':' || i.collector_id || ':' || i.item_id,
                      'payment_problem', i.collector_id, coalesce(c.email, i.collector_id),
                      jsonb_build_object('item_id', i.item_id, 'status', i.status)
               FROM payout_items i JOIN collectors c USING (collector_id)
               WHERE i.status IN ('failed', 'unclaimed', 'returned')
               ON CONFLICT (dedupe_key) DO NOTHING"""
        )
        return cur.rowcount


def enqueue_digests(conn: psycopg2.extensions.connection, week: date) -> int:
    """The weekly digest for a reconciled payout week: everyone who collected that week or was
    paid in it, except those who unsubscribed from digests."""
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO email_outbox (dedupe_key, kind, collector_id, recipient, payload)
               SELECT 'digest:' || who.collector_id || ':' || %(week)s, 'digest', who.collector_id,
                      coalesce(c.email, who.collector_id),
                      jsonb_build_object('week', %(week)s::text)
               FROM (SELECT collector_id FROM videos
                     WHERE collected_at >= (%(week)s::date)::timestamp AT TIME ZONE 'America/New_York'
                       AND collected_at < (%(week)s::date + 7)::timestamp AT TIME ZONE 'America/New_York'
                     UNION
                     SELECT i.collector_id FROM payout_items i JOIN payout_batches b USING (batch_id)
                     WHERE b.week_start = %(week)s AND i.status <> 'released') who
               JOIN collectors c USING (collector_id)
               LEFT JOIN email_preferences p USING (collector_id)
               WHERE p.digest_unsubscribed_at IS NULL
               ON CONFLICT (dedupe_key) DO NOTHING""",
            {"week": week},
        )
        return cur.rowcount


def latest_closed_week(conn: psycopg2.extensions.connection) -> date | None:
    """The newest payout week whose batches are all closed (reconciled, denied, rejected): its
    digest can say what was paid."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT max(week_start) FROM payout_batches b
               WHERE NOT EXISTS (SELECT 1 FROM payout_batches o WHERE o.week_start = b.week_start
                                 AND o.state IN ('draft', 'approved', 'submitted'))"""
        )
        return cur.fetchone()[0]


def enqueue_near_you(conn: psycopg2.extensions.connection, now: datetime) -> int:
    """Collections enabled in the last day with a geofence: collectors whose recent submissions
    lie within its radius hear about it, at most once per collector per day (ET)."""
    today = now.astimezone(BUSINESS_TZ).date()
    with conn.cursor() as cur:
        cur.execute(
            """SELECT s.collection_id, cv.name, cv.geofence_lat, cv.geofence_lon,
                      cv.geofence_radius_m
               FROM collection_status s
               JOIN LATERAL (SELECT * FROM collection_versions v
                             WHERE v.collection_id = s.collection_id
                             ORDER BY v.version DESC LIMIT 1) cv ON true
               WHERE s.enabled AND s.changed_at > %s AND cv.geofence_lat IS NOT NULL
                 AND cv.kind <> 'self_serve'  -- an owner's own collection is not advertised""",
            (now - timedelta(days=1),),
        )
        collections = cur.fetchall()
        near: dict[str, list[dict]] = {}
        for collection_id, name, lat, lon, radius in collections:
            lat, lon, radius = float(lat), float(lon), float(radius)
            dlat = radius / 111_320
            dlon = radius / (111_320 * max(math.cos(math.radians(lat)), 1e-6))
            # The bounding box uses videos_place_idx; the exact distance is checked after.
            cur.execute(
                """SELECT DISTINCT v.collector_id FROM videos v
                   WHERE v.latitude BETWEEN %(lat0)s AND %(lat1)s
                     AND v.longitude BETWEEN %(lon0)s AND %(lon1)s
                     AND v.latitude IS NOT NULL AND v.longitude IS NOT NULL
                     AND v.collected_at > %(since)s
                     AND great_circle_m(v.latitude, v.longitude, %(lat)s, %(lon)s) <= %(radius)s""",
                {
                    "lat0": lat - dlat,
                    "lat1": lat + dlat,
                    "lon0": lon - dlon,
                    "lon1": lon + dlon,
                    "since": now - timedelta(days=NEAR_YOU_DAYS),
                    "lat": lat,
                    "lon": lon,
                    "radius": radius,
                },
            )
            for (collector_id,) in cur.fetchall():
                near.setdefault(collector_id, []).append({"id": collection_id, "name": name})
        queued = 0
        for collector_id, found in sorted(near.items()):
            queued += _insert(
                cur,
                f"near_you:{collector_id}:{today}",
                "near_you",
                collector_id,
                collector_id,
                {"collections": found, "day": today.isoformat()},
            )
    return queued


@dataclass
class Email:
    outbox_id: int
    kind: str
    collector_id: str
    recipient: str
    subject: str
    html: str
    text: str
    headers: dict[str, str]


def claim_due(
    conn: psycopg2.extensions.connection, limit: int = 1000, skip: list[int] | None = None
) -> list[tuple]:
    """Rows to send now (pending, or failed fewer than MAX_ATTEMPTS times), marked ``sending``
    and committed before any SMTP call: a crash after this never sends them twice."""
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE email_outbox SET status = 'sending', attempts = attempts + 1
               WHERE outbox_id IN (
                   SELECT outbox_id FROM email_outbox
                   WHERE (status = 'pending' OR (status = 'failed' AND attempts < %s))
                     AND NOT outbox_id = ANY(%s)
                   ORDER BY outbox_id LIMIT %s FOR UPDATE SKIP LOCKED)
               RETURNING outbox_id, kind, collector_id, recipient, payload""",
            (MAX_ATTEMPTS, skip or [], limit),
        )
        rows = sorted(cur.fetchall())
    conn.commit()
    return rows


def mark_sent(conn: psycopg2.extensions.connection, outbox_ids: list[int]) -> None:
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE email_outbox SET status = 'sent', sent_at = now(), last_error = NULL "
            "WHERE outbox_id = ANY(%s)",
            (outbox_ids,),
        )
    conn.commit()


def release_claims(conn: psycopg2.extensions.connection, outbox_ids: list[int]) -> None:
    """Claimed rows that certainly were not sent go back to the queue, their attempt undone."""
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE email_outbox SET status = CASE WHEN attempts > 1 THEN 'failed'
                                                      ELSE 'pending' END,
                                       attempts = attempts - 1
               WHERE outbox_id = ANY(%s) AND status = 'sending'""",
            (outbox_ids,),
        )
    conn.commit()


def mark_failed(conn: psycopg2.extensions.connection, outbox_id: int, error: str) -> None:
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE email_outbox SET status = 'failed', last_error = %s WHERE outbox_id = %s",
            (error[:1000], outbox_id),
        )
    conn.commit()


def render_batch(conn: psycopg2.extensions.connection, rows: list[tuple], now: datetime) -> list:
    """Messages for many outbox rows with a few set-based queries (digests are most of them)."""
    collectors = sorted({row[2] for row in rows})
    with conn.cursor() as cur:
        cur.execute(
            """SELECT collector_id, spreadsheet_id FROM collector_dashboards
               WHERE collector_id = ANY(%s)""",
            (collectors,),
        )
        sheets = {c: settings.sheets_web_url() + quote(s) for c, s in cur.fetchall()}
    by_week: dict[date, list[str]] = {}
    for _, kind, collector_id, _, payload in rows:
        if kind == "digest":
            by_week.setdefault(date.fromisoformat(payload["week"]), []).append(collector_id)
    digests = {
        (collector, week): context
        for week, ids in by_week.items()
        for collector, context in _digest_batch(conn, ids, week).items()
    }
    return [
        render(
            conn,
            row,
            now,
            sheet_url=sheets.get(row[2]),
            digest=digests.get((row[2], date.fromisoformat(row[4]["week"])))
            if row[1] == "digest"
            else None,
        )
        for row in rows
    ]


def render(
    conn: psycopg2.extensions.connection,
    row: tuple,
    now: datetime,
    sheet_url: str | None,
    digest: dict | None,
) -> Email:
    """The message for one outbox row; ``render_batch`` looks up its sheet and digest facts."""
    outbox_id, kind, collector_id, recipient, payload = row
    portal = settings.portal_url()
    context = {
        "portal": portal,
        "dashboard_url": f"{portal}/dashboard",
        "profile_url": f"{portal}/profile",
        "reset_url": f"{portal}/reset",
        "sheet_url": sheet_url,
        "collector_id": collector_id,
        **payload,
    }
    headers: dict[str, str] = {}
    if kind in ("welcome", "password_reset_requested"):
        account = logins.create_account(conn, collector_id)
        purpose = "set_password" if kind == "welcome" else "reset_password"
        token = logins.issue_link(conn, account, purpose, now)
        context["password_url"] = f"{portal}/set-password?token={token}"
        context["link_valid"] = logins.LINK_TTL[purpose]
    if kind == "digest":
        context.update(digest)
        unsubscribe = (
            f"{portal}/unsubscribe?c={quote(collector_id)}&t={unsubscribe_token(collector_id)}"
        )
        context["unsubscribe_url"] = unsubscribe
        headers["List-Unsubscribe"] = f"<{unsubscribe}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if kind == "payment_problem":
        context.update(_payment_problem(conn, payload["item_id"]))
    env = _templates()
    subject = env.get_template(f"{kind}.subject.txt").render(**context).strip()
    return Email(
        outbox_id,
        kind,
        collector_id,
        recipient,
        subject,
        env.get_template(f"{kind}.html").render(subject=subject, **context),
        env.get_template(f"{kind}.txt").render(**context),
        headers,
    )


def _digest_batch(conn, collector_ids: list[str], week: date) -> dict[str, dict]:
    """The digest's facts for many collectors of one week, in two queries."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT v.collector_id, s.status, s.score, s.threshold, s.reasons
               FROM videos v LEFT JOIN video_scores s USING (video_id)
               JOIN collection_versions cv
                 ON cv.collection_id = v.collection_id AND cv.version = v.collection_version
               WHERE v.collector_id = ANY(%(ids)s)
                 AND cv.kind <> 'self_serve'  -- the digest is about the reviewed, paid work
                 AND v.collected_at >= (%(week)s::date)::timestamp AT TIME ZONE 'America/New_York'
                 AND v.collected_at < (%(week)s::date + 7)::timestamp AT TIME ZONE 'America/New_York'
               ORDER BY v.collector_id, v.video_id""",
            {"ids": collector_ids, "week": week},
        )
        facts = _digest_tallies(cur.fetchall())
        cur.execute(
            """SELECT i.collector_id, i.provider, i.status, i.failure_reason, i.amount_cents
               FROM payout_items i JOIN payout_batches b USING (batch_id)
               WHERE i.collector_id = ANY(%s) AND b.week_start = %s AND i.status <> 'released'
               ORDER BY 1, 2, 3""",
            (collector_ids, week),
        )
        payments = _digest_payments(cur.fetchall())
    found = {}
    for collector in collector_ids:
        submitted, accepted, pending, reasons = facts.get(collector, (0, 0, 0, []))
        counts: dict[str, int] = {}
        for reason in reasons or []:
            key = reason.split(" (")[0]
            if key in ADVICE:
                counts[key] = counts.get(key, 0) + 1
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        found[collector] = {
            "week_label": week.strftime("%B %d, %Y"),
            "submitted": submitted,
            "accepted": accepted,
            "pending": pending,
            "payments": payments.get(collector, []),
            "reasons": [{"reason": r, "count": n, "advice": ADVICE[r]} for r, n in top],
        }
    return found


def _digest_payments(rows) -> dict[str, list[dict]]:
    """(collector, provider, status, failure reason, cents) rows -> per collector: amount,
    provider and status as the collector reads it, summed per line. A failure says whose side
    it is on and what to do (``payment_words``), never the provider's reason itself."""
    sums: dict[str, dict[tuple[str, str], int]] = {}
    for collector, provider, status, reason, cents in rows:
        shown = (
            payment_words(status, provider, reason) if status in ("failed", "returned") else status
        )
        lines = sums.setdefault(collector, {})
        key = (PROVIDER_NAMES.get(provider, provider), shown)
        lines[key] = lines.get(key, 0) + cents
    return {
        collector: [
            {"provider": provider, "status": shown, "amount": dollars(cents)}
            for (provider, shown), cents in lines.items()
        ]
        for collector, lines in sums.items()
    }


def _digest_tallies(rows) -> dict[str, tuple[int, int, int, list[str]]]:
    """(collector, status, score, threshold, reasons) rows -> per collector: videos submitted,
    accepted and pending as Accepted? decides (:func:`collector.scoring.accepted.accepted`, the
    dashboard's decision), and the reasons of the videos not accepted."""
    tallies: dict[str, tuple[int, int, int, list[str]]] = {}
    for collector, status, score, threshold, reasons in rows:
        submitted, accepted_n, pending, seen = tallies.get(collector, (0, 0, 0, []))
        answer = accepted(status, score, threshold).answer
        if answer != YES:
            seen = seen + list(reasons or [])
        tallies[collector] = (
            submitted + 1,
            accepted_n + (answer == YES),
            pending + (answer == PENDING),
            seen,
        )
    return tallies


def _payment_problem(conn, item_id: int) -> dict:
    with conn.cursor() as cur:
        cur.execute(
            """SELECT i.provider, i.status, i.amount_cents, i.failure_reason, b.week_start
               FROM payout_items i JOIN payout_batches b USING (batch_id)
               WHERE i.item_id = %s""",
            (item_id,),
        )
        provider, status, cents, reason, week = cur.fetchone()
    # The provider's reason stays with finance and ops: the collector reads whose side it is
    # and what to do (collector.core.payment_failures), never batch keys or our balance.
    words = collector_words(provider, status, reason)
    return {
        "provider": PROVIDER_NAMES.get(provider, provider),
        "status": status,
        "amount": dollars(cents),
        "theirs": words.theirs,
        "why": words.why,
        "week_label": week.strftime("%B %d, %Y"),
    }


# --- ops alerts (sql/014_ops_outbox.sql) -----------------------------------------------------
OPS_MAX_ATTEMPTS = 48  # refusals retried every send (30 min) for about a day


@dataclass
class OpsAlert:
    alert_id: int
    recipients: list[str]
    subject: str
    html: str
    text: str


def queue_ops_alert(
    conn: psycopg2.extensions.connection,
    dedupe_key: str,
    recipients: list[str],
    subject: str,
    html: str,
    text: str,
) -> int | None:
    """Write an ops alert before any SMTP call; its id, or None when ``dedupe_key`` (one per
    failed task try) was queued already. The caller commits."""
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO ops_outbox (dedupe_key, recipients, subject, html, text_body)
               VALUES (%s, %s, %s, %s, %s) ON CONFLICT (dedupe_key) DO NOTHING
               RETURNING alert_id""",
            (dedupe_key, recipients, subject, html, text),
        )
        row = cur.fetchone()
    return row[0] if row else None


def claim_ops_alerts(
    conn: psycopg2.extensions.connection, limit: int = 100, skip: list[int] | None = None
) -> list[OpsAlert]:
    """Alerts to send now (pending, or failed fewer than OPS_MAX_ATTEMPTS times), oldest first,
    marked ``sending`` and committed before any SMTP call: never sent twice."""
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE ops_outbox SET status = 'sending', attempts = attempts + 1
               WHERE alert_id IN (
                   SELECT alert_id FROM ops_outbox
                   WHERE (status = 'pending' OR (status = 'failed' AND attempts < %s))
                     AND NOT alert_id = ANY(%s)
                   ORDER BY alert_id LIMIT %s FOR UPDATE SKIP LOCKED)
               RETURNING alert_id, recipients, subject, html, text_body""",
            (OPS_MAX_ATTEMPTS, skip or [], limit),
        )
        alerts = [OpsAlert(*row) for row in sorted(cur.fetchall())]
    conn.commit()
    return alerts


def mark_ops_sent(conn: psycopg2.extensions.connection, alert_ids: list[int]) -> None:
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE ops_outbox SET status = 'sent', sent_at = now(), last_error = NULL "
            "WHERE alert_id = ANY(%s)",
            (alert_ids,),
        )
    conn.commit()


def release_ops_claims(
    conn: psycopg2.extensions.connection, alert_ids: list[int], error: str | None = None
) -> None:
    """Claimed alerts that certainly were not sent (the server could not be reached) go back
    to the queue, their attempt undone; ``error`` says why for ops looking at the table."""
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE ops_outbox SET status = CASE WHEN attempts > 1 THEN 'failed'
                                                    ELSE 'pending' END,
                                     attempts = attempts - 1,
                                     last_error = coalesce(%s, last_error)
               WHERE alert_id = ANY(%s) AND status = 'sending'""",
            (error[:1000] if error else None, alert_ids),
        )
    conn.commit()


def mark_ops_failed(conn: psycopg2.extensions.connection, alert_id: int, error: str) -> None:
    """The server refused this alert (e.g. 451): retried at the next send."""
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE ops_outbox SET status = 'failed', last_error = %s WHERE alert_id = %s",
            (error[:1000], alert_id),
        )
    conn.commit()
