"""Ops alerts: one email per failed task, the same for every DAG (attached by ``default_args``).

What ops need to act from the email alone: when an outside API failed, its one sentence first
(connection, call, answer, next step: hooks/service_errors.py); which task of which run failed,
the error's last lines, the log link, and the run's params. Secrets never: params pass through
Airflow's secrets masker, and connection values registered with it are masked in the error text.

Delivery goes through the warehouse's ``ops_outbox`` (sql/014): the alert is written first, then
sent at once with any earlier alert still queued; when SMTP is down it stays queued and the next
alert or the next ``collector_emails`` send delivers it, once (claimed before the SMTP call).
When the warehouse itself cannot be used, the alert is sent directly (and the log says so).
The daily digest and the deadline alerts keep their own paths (docs/decisions.md).
"""

from __future__ import annotations

import contextlib
import html
import logging
import os
import re
import traceback
from typing import Any

from airflow.sdk import BaseNotifier

log = logging.getLogger(__name__)
ERROR_LINES = 15


def ops_recipients() -> list[str]:
    """COLLECTOR_OPS_EMAIL (comma-separated), default ops@example.com."""
    raw = os.environ.get("COLLECTOR_OPS_EMAIL") or "ops@example.com"
    return [address.strip() for address in raw.split(",") if address.strip()]


class OpsFailureNotifier(BaseNotifier):
    """Email ops once about a failed task instance, through ``ops_outbox`` and ``smtp_default``
    (module docstring). Never raises: an alert that cannot be sent must not hide the failure."""

    template_fields = ()

    def __init__(
        self, smtp_conn_id: str = "smtp_default", warehouse_conn_id: str = "collector_warehouse"
    ) -> None:
        super().__init__()
        self.smtp_conn_id = smtp_conn_id
        self.warehouse_conn_id = warehouse_conn_id

    @staticmethod
    def sentence(context: dict[str, Any]) -> str | None:
        """The failed call's one sentence when an outside API caused the failure, else None."""
        from airflow.sdk._shared.secrets_masker import redact  # noqa: PLC0415

        from collector_airflow.hooks.service_errors import find_service_error  # noqa: PLC0415

        error = context.get("exception")
        found = find_service_error(error) if isinstance(error, BaseException) else None
        return str(redact(str(found))) if found is not None else None

    @staticmethod
    def describe(context: dict[str, Any]) -> tuple[str, str]:
        """(subject, HTML body) for a failure context; public so tests and ops can preview."""
        from airflow.sdk._shared.secrets_masker import redact  # noqa: PLC0415

        ti = context.get("ti") or context.get("task_instance")
        dag_id = getattr(ti, "dag_id", "?")
        task_id = getattr(ti, "task_id", "?")
        run_id = getattr(ti, "run_id", "?")
        try_number = getattr(ti, "try_number", "?")
        error = context.get("exception")
        if isinstance(error, BaseException):
            lines = "".join(traceback.format_exception(error)).rstrip().splitlines()
        else:
            lines = [str(error or "no exception recorded")]
        tail = "\n".join(lines[-ERROR_LINES:])
        params = redact(dict(context.get("params") or {}))
        log_url = getattr(ti, "log_url", "") or ""
        sentence = OpsFailureNotifier.sentence(context)
        subject = f"[collector] {dag_id}.{task_id} failed (try {try_number})"
        body = (
            (f"<p><b>{html.escape(sentence)}</b></p>" if sentence else "")
            + f"<h2>{html.escape(dag_id)}.{html.escape(task_id)} failed</h2>"
            f"<p>Run <code>{html.escape(str(run_id))}</code>, try {try_number}.</p>"
            f'<p><a href="{html.escape(log_url)}">Open the task log</a></p>'
            f"<h3>Error (last {ERROR_LINES} lines)</h3><pre>{html.escape(str(redact(tail)))}</pre>"
            f"<h3>Run params</h3><pre>{html.escape(repr(params))}</pre>"
        )
        return subject, body

    @staticmethod
    def dedupe_key(context: dict[str, Any]) -> str:
        """One alert per failed try of a task instance (a callback run twice queues one)."""
        ti = context.get("ti") or context.get("task_instance")
        parts = ("dag_id", "task_id", "run_id", "map_index", "try_number")
        return "failure:" + ":".join(str(getattr(ti, part, "?")) for part in parts)

    def notify(self, context: dict[str, Any]) -> None:
        subject, body = self.describe(context)
        text = _plain_text(body)
        recipients = ops_recipients()
        try:
            self._through_outbox(self.dedupe_key(context), recipients, subject, body, text)
        except _WarehouseDown as down:
            log.warning(
                "Ops alert %r not queued (%s): emailing ops directly, without the outbox",
                subject,
                down,
            )
            self._send_directly(recipients, subject, body, text)
        sentence = self.sentence(context)
        if sentence:  # the last line of the task log says what failed and what to do
            log.error("%s", sentence)

    def _through_outbox(
        self, key: str, recipients: list[str], subject: str, body: str, text: str
    ) -> None:
        from collector.notify import emails  # noqa: PLC0415
        from collector_airflow.hooks.warehouse import CollectorWarehouseHook  # noqa: PLC0415
        from collector_airflow.tasks.notify import send_ops_alerts  # noqa: PLC0415

        with contextlib.ExitStack() as stack:
            try:
                conn = stack.enter_context(
                    CollectorWarehouseHook(self.warehouse_conn_id).connection()
                )
            except Exception as exc:  # down, or no such connection
                raise _WarehouseDown(str(exc)) from exc
            try:
                emails.queue_ops_alert(conn, key, recipients, subject, body, text)
                conn.commit()
            except Exception as exc:  # e.g. sql/014 not applied yet
                conn.rollback()
                raise _WarehouseDown(f"{type(exc).__name__}: {exc}") from exc
            try:
                sent = send_ops_alerts(conn, self.smtp_conn_id)
            except Exception as exc:
                log.warning(
                    "Ops alert %r queued but not sent: %s. The next alert or the next "
                    "collector_emails run sends it",
                    subject,
                    exc,
                )
            else:
                log.info("Ops alert %r: %s", subject, sent)

    def _send_directly(self, recipients: list[str], subject: str, body: str, text: str) -> None:
        from collector_airflow.hooks.mail import CollectorMailHook  # noqa: PLC0415

        try:
            with CollectorMailHook(self.smtp_conn_id) as mail:
                mail.send(mail.build(", ".join(recipients), subject, body, text), recipients)
        except Exception:  # an alert that cannot be sent must not hide the task's own failure
            log.exception("Could not email ops about %s (warehouse and SMTP both failed)", subject)


class _WarehouseDown(Exception):
    """The alert could not be written to ops_outbox."""


def _plain_text(body: str) -> str:
    """The alert's HTML as plain text (the mail's text alternative)."""
    spaced = re.sub(r"</(p|h2|h3|pre)>", "\n\n", body)
    return html.unescape(re.sub(r"<[^>]+>", "", spaced)).strip() + "\n"


def payout_approval_hours() -> float:
    """How long a weekly payout may wait (mostly for finance's approval) before ops hear."""
    return float(os.environ.get("COLLECTOR_PAYOUT_APPROVAL_HOURS") or 24)


def promise_deadline(reference: Any, interval: Any, promise: str) -> list:
    """A DeadlineAlert that emails ops when a run has not finished ``interval`` after
    ``reference``: the FAQ's timing promises, checked by the scheduler, sent by the triggerer.

    ``COLLECTOR_DEADLINE_ALERTS=off`` leaves them out: Airflow 3.3.2's ``dags test`` crashes
    after a successful run of any DAG with a deadline (apache/airflow#73428), and the demo and
    the DAG tests run ``dags test``. Schedulers (production, ``make airflow``) keep them on.
    """
    from airflow.providers.smtp.notifications.smtp import SmtpNotifier  # noqa: PLC0415
    from airflow.sdk import AsyncCallback, DeadlineAlert  # noqa: PLC0415

    if os.environ.get("COLLECTOR_DEADLINE_ALERTS", "on").lower() in ("off", "false", "0"):
        return []
    alert = DeadlineAlert(
        reference=reference,
        interval=interval,
        callback=AsyncCallback(
            SmtpNotifier,
            kwargs={
                "to": ops_recipients(),
                "smtp_conn_id": "smtp_default",
                "subject": f"[collector] promise at risk: {promise}",
                "html_content": (
                    f"<p><b>{html.escape(promise)}</b></p><p>Run "
                    "<code>{{ dag_run.dag_run_id }}</code> of <code>{{ dag_run.dag_id }}</code> "
                    "has not finished by its deadline ({{ deadline.deadline_time }} UTC). "
                    "Open it in the Airflow UI to see which task waits or failed.</p>"
                ),
            },
        ),
    )
    return [alert]


def send_ops_digest(
    smtp_conn_id: str = "smtp_default", warehouse_conn_id: str = "collector_warehouse"
) -> dict:
    """Build the daily ops digest from the warehouse and email it to ops."""
    from datetime import UTC, datetime  # noqa: PLC0415

    from airflow.providers.smtp.hooks.smtp import SmtpHook  # noqa: PLC0415

    from collector.core.clock import BUSINESS_TZ  # noqa: PLC0415
    from collector.notify.ops_digest import build_ops_digest, claim_digest_day  # noqa: PLC0415
    from collector_airflow.hooks.warehouse import CollectorWarehouseHook  # noqa: PLC0415

    now = datetime.now(UTC)
    day = now.astimezone(BUSINESS_TZ).date().isoformat()
    with CollectorWarehouseHook(warehouse_conn_id).connection() as conn:
        digest = build_ops_digest(conn, now)
        subject = digest.subject(day)
        # once a day, even when the run is cleared or re-triggered
        if not claim_digest_day(conn, day):
            conn.rollback()
            log.info("Today's ops digest (%s) was sent already", day)
            return {"subject": subject, "attention": digest.attention, "sent": False}
        with SmtpHook(smtp_conn_id) as smtp:
            smtp.send_email_smtp(to=ops_recipients(), subject=subject, html_content=digest.html())
        conn.commit()  # only a sent digest takes the day's key; a failure is retried
    for what, value, bad in digest.lines:
        log.log(logging.WARNING if bad else logging.INFO, "%s: %s", what, value)
    return {"subject": subject, "attention": digest.attention, "sent": True}
