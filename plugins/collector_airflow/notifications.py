"""Task-side glue for collector emails: enqueue into the outbox, then send on one SMTP session.

A message is claimed (``sending``, committed) before its SMTP call and marked sent right after;
an SMTP refusal marks it failed (retried next run, up to five attempts). Logs count messages
by kind; they never hold a link, a token or a message body.
"""

from __future__ import annotations

import logging
import smtplib
from collections import Counter
from datetime import UTC, date, datetime

from collector_airflow.hooks.warehouse import CollectorWarehouseHook

log = logging.getLogger(__name__)
# Clear answers from the server that nothing was queued: safe to retry later.
_REFUSALS = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


def enqueue(week: date | None = None, warehouse_conn_id: str = "collector_warehouse") -> dict:
    """Queue what is due: welcomes, portal events, payment problems, near-you, and the digest
    for ``week`` (default: the newest payout week whose batches are all closed)."""
    from collector import notifications  # noqa: PLC0415

    conn = CollectorWarehouseHook(warehouse_conn_id).get_conn()
    try:
        week = week or notifications.latest_closed_week(conn)
        queued = {
            "welcome": notifications.enqueue_welcomes(conn),
            "portal_events": notifications.enqueue_events(conn),
            "payment_problem": notifications.enqueue_payment_problems(conn),
            "near_you": notifications.enqueue_near_you(conn, datetime.now(UTC)),
            "digest": notifications.enqueue_digests(conn, week) if week else 0,
        }
        conn.commit()
    finally:
        conn.close()
    log.info("Queued emails: %s", queued)
    return queued


def send_outbox(
    smtp_conn_id: str = "smtp_default",
    warehouse_conn_id: str = "collector_warehouse",
    batch: int = 500,
) -> dict:
    """Send every due message, ``batch`` at a time, each batch on one SMTP connection.

    A clear refusal from the server marks the message failed (retried next run). Anything
    else (the connection drops, a template breaks) fails the task: the messages not tried go
    back to the queue, and one cut off mid-send stays ``sending``, since it may have arrived.
    """
    from collector import notifications  # noqa: PLC0415
    from collector_airflow.hooks.mail import CollectorMailHook  # noqa: PLC0415

    sent: Counter = Counter()
    failed: Counter = Counter()
    refused: list[int] = []  # failed in this run: retried next run, not in a loop now
    conn = CollectorWarehouseHook(warehouse_conn_id).get_conn()
    try:
        while rows := notifications.claim_due(conn, batch, refused):
            done: list[int] = []
            untried = [row[0] for row in rows]
            try:
                emails = notifications.render_batch(conn, rows, datetime.now(UTC))
                conn.commit()  # links issued for these messages are kept before they go out
                with CollectorMailHook(smtp_conn_id) as mail:
                    for email in emails:
                        message = mail.build(
                            email.recipient, email.subject, email.html, email.text, email.headers
                        )
                        untried.remove(email.outbox_id)
                        try:
                            mail.send(message)
                        except _REFUSALS as exc:  # the server said no: nothing was queued
                            notifications.mark_failed(
                                conn, email.outbox_id, f"{type(exc).__name__}: {exc}"
                            )
                            failed[email.kind] += 1
                            refused.append(email.outbox_id)
                            continue
                        done.append(email.outbox_id)
                        sent[email.kind] += 1
                        if len(done) >= 50:
                            notifications.mark_sent(conn, done)
                            done = []
            except Exception:
                conn.rollback()
                notifications.mark_sent(conn, done)
                notifications.release_claims(conn, untried)
                raise
            notifications.mark_sent(conn, done)
            if len(rows) < batch:
                break
    finally:
        conn.close()
    if failed:
        log.warning("Emails refused by the SMTP server, retried next run: %s", dict(failed))
    log.info("Emails sent: %s", dict(sent))
    return {"sent": dict(sent), "failed": dict(failed)}
