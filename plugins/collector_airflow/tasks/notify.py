"""Task-side glue for collector emails: enqueue into the outbox, then send on one SMTP session.

A message is claimed (``sending``, committed) before its SMTP call and marked sent right after.
What concerns one message alone (``hooks.mail.MESSAGE_REFUSALS``: a refusal, an internationalized
address and a server without SMTPUTF8, a message that cannot be written) marks it failed with
the reason, retried next run up to five attempts, and the others of the batch go out. Logs
count messages by kind; they never hold a link, a token or a message body.

Ops alerts (``ops_outbox``, written by ``alerts.OpsFailureNotifier``) go the same way and first:
every send of the ``collector_emails`` DAG delivers the ones an SMTP outage held back.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, date, datetime

import psycopg2.errors
import psycopg2.extensions

from collector_airflow.hooks.warehouse import CollectorWarehouseHook

log = logging.getLogger(__name__)


def send_ops_alerts(
    conn: psycopg2.extensions.connection, smtp_conn_id: str = "smtp_default"
) -> dict[str, int]:
    """Send every due ops alert (``ops_outbox``) on one SMTP session: ``{"sent", "failed"}``.

    Each alert is claimed (committed) before its SMTP call and marked sent right after, so it
    goes out once. A refusal (e.g. 451) marks it failed, retried at the next send. When the
    server cannot be reached, the claims go back to the queue and ``MailUnavailable`` is
    raised; an alert cut off mid-send stays ``sending`` (it may have arrived).
    """
    from collector.notify import emails as notifications  # noqa: PLC0415
    from collector_airflow.hooks.mail import MESSAGE_REFUSALS, CollectorMailHook  # noqa: PLC0415

    sent = failed = 0
    refused: list[int] = []
    while alerts := notifications.claim_ops_alerts(conn, 100, refused):
        untried = [alert.alert_id for alert in alerts]
        try:
            with CollectorMailHook(smtp_conn_id) as mail:
                for alert in alerts:
                    untried.remove(alert.alert_id)
                    try:
                        message = mail.build(
                            ", ".join(alert.recipients), alert.subject, alert.html, alert.text
                        )
                        mail.send(message, alert.recipients)
                    except MESSAGE_REFUSALS as exc:
                        notifications.mark_ops_failed(
                            conn, alert.alert_id, f"{type(exc).__name__}: {exc}"
                        )
                        refused.append(alert.alert_id)
                        failed += 1
                        continue
                    notifications.mark_ops_sent(conn, [alert.alert_id])
                    sent += 1
        except Exception as exc:
            conn.rollback()
            notifications.release_ops_claims(conn, untried, str(exc))
            raise
    if sent or failed:
        log.info("Ops alerts sent: %d, refused (retried next send): %d", sent, failed)
    return {"sent": sent, "failed": failed}


def enqueue(week: date | None = None, warehouse_conn_id: str = "collector_warehouse") -> dict:
    """Queue what is due: welcomes, portal events, payment problems, near-you, and the digest
    for ``week`` (default: the newest payout week whose batches are all closed)."""
    from collector.notify import emails as notifications  # noqa: PLC0415

    with CollectorWarehouseHook(warehouse_conn_id).connection() as conn:
        week = week or notifications.latest_closed_week(conn)
        queued = {
            "welcome": notifications.enqueue_welcomes(conn),
            "portal_events": notifications.enqueue_events(conn),
            "payment_problem": notifications.enqueue_payment_problems(conn),
            "near_you": notifications.enqueue_near_you(conn, datetime.now(UTC)),
            "digest": notifications.enqueue_digests(conn, week) if week else 0,
        }
        conn.commit()
    log.info("Queued emails: %s", queued)
    return queued


def send_outbox(
    smtp_conn_id: str = "smtp_default",
    warehouse_conn_id: str = "collector_warehouse",
    batch: int = 500,
) -> dict:
    """Send every due message, ``batch`` at a time, each batch on one SMTP connection:
    ``{"sent": {kind: n}, "failed": {kind: n}, "ops_alerts": {"sent", "failed"}}``.

    A message the server refuses, or that cannot go through this server (an internationalized
    address without SMTPUTF8), is marked failed with the reason (retried next run, up to five
    attempts; the ops digest counts the failed) and the rest of the batch goes on. Anything
    else (the connection drops, a template breaks) fails the task: the messages not tried go
    back to the queue, and one cut off mid-send stays ``sending``, since it may have arrived.
    """
    from collector.notify import emails as notifications  # noqa: PLC0415
    from collector_airflow.hooks.mail import CollectorMailHook  # noqa: PLC0415

    sent: Counter = Counter()
    failed: Counter = Counter()
    refused: list[int] = []  # failed in this run: retried next run, not in a loop now
    with CollectorWarehouseHook(warehouse_conn_id).connection() as conn:
        try:  # ops alerts first: few, and what ops must hear about
            ops = send_ops_alerts(conn, smtp_conn_id)
        except psycopg2.errors.UndefinedTable:  # sql/014 not applied yet
            conn.rollback()
            log.warning("No ops_outbox table yet (apply the migrations): ops alerts skipped")
            ops = {"sent": 0, "failed": 0}
        while rows := notifications.claim_due(conn, batch, refused):
            done: list[int] = []
            untried = [row[0] for row in rows]
            try:
                emails = notifications.render_batch(conn, rows, datetime.now(UTC))
                conn.commit()  # links issued for these messages are kept before they go out
                with CollectorMailHook(smtp_conn_id) as mail:
                    for email in emails:
                        untried.remove(email.outbox_id)
                        if not _send_one(conn, mail, email, refused):
                            failed[email.kind] += 1
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
    if failed:
        log.warning("Emails not sent (reason in email_outbox.last_error): %s", dict(failed))
    log.info("Emails sent: %s", dict(sent))
    return {"sent": dict(sent), "failed": dict(failed), "ops_alerts": ops}


def _send_one(conn, mail, email, refused: list[int]) -> bool:
    """Build and send one outbox message; True when sent. A failure of this message alone
    marks it failed with the reason (and adds it to ``refused``); a lost session raises."""
    from collector.notify import emails as notifications  # noqa: PLC0415
    from collector_airflow.hooks.mail import MESSAGE_REFUSALS  # noqa: PLC0415

    try:
        message = mail.build(email.recipient, email.subject, email.html, email.text, email.headers)
        mail.send(message)
    except MESSAGE_REFUSALS as exc:  # nothing of it was delivered; the session is still fine
        notifications.mark_failed(conn, email.outbox_id, f"{type(exc).__name__}: {exc}")
        refused.append(email.outbox_id)
        return False
    return True
