"""Ops alerts: one email per failed task, the same for every DAG (attached by ``default_args``).

What ops need to act from the email alone: which task of which run failed, the error's last
lines, the log link, and the run's params. Secrets never: params pass through Airflow's
secrets masker, and connection values registered with it are masked in the error text too.
"""

from __future__ import annotations

import html
import logging
import os
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
    """Send ops one email for a failed task instance through ``smtp_default``."""

    template_fields = ()

    def __init__(self, smtp_conn_id: str = "smtp_default") -> None:
        super().__init__()
        self.smtp_conn_id = smtp_conn_id

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
        subject = f"[collector] {dag_id}.{task_id} failed (try {try_number})"
        body = (
            f"<h2>{html.escape(dag_id)}.{html.escape(task_id)} failed</h2>"
            f"<p>Run <code>{html.escape(str(run_id))}</code>, try {try_number}.</p>"
            f'<p><a href="{html.escape(log_url)}">Open the task log</a></p>'
            f"<h3>Error (last {ERROR_LINES} lines)</h3><pre>{html.escape(str(redact(tail)))}</pre>"
            f"<h3>Run params</h3><pre>{html.escape(repr(params))}</pre>"
        )
        return subject, body

    def notify(self, context: dict[str, Any]) -> None:
        from airflow.providers.smtp.hooks.smtp import SmtpHook  # noqa: PLC0415

        subject, body = self.describe(context)
        try:
            with SmtpHook(self.smtp_conn_id) as smtp:
                smtp.send_email_smtp(to=ops_recipients(), subject=subject, html_content=body)
        except Exception:  # an alert that cannot be sent must not hide the task's own failure
            log.exception("Could not email ops about %s", subject)


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

    from collector.dashboard import BUSINESS_TZ  # noqa: PLC0415
    from collector.ops_digest import build_ops_digest  # noqa: PLC0415
    from collector_airflow.hooks.warehouse import CollectorWarehouseHook  # noqa: PLC0415

    now = datetime.now(UTC)
    day = now.astimezone(BUSINESS_TZ).date().isoformat()
    conn = CollectorWarehouseHook(warehouse_conn_id).get_conn()
    try:
        digest = build_ops_digest(conn, now)
        subject = digest.subject(day)
        with conn.cursor() as cur:  # once a day, even when the run is cleared or re-triggered
            cur.execute(
                "INSERT INTO ops_notices (notice_key) VALUES (%s) ON CONFLICT DO NOTHING",
                (f"ops_digest:{day}",),
            )
            first = cur.rowcount == 1
        if not first:
            conn.rollback()
            log.info("Today's ops digest (%s) was sent already", day)
            return {"subject": subject, "attention": digest.attention, "sent": False}
        with SmtpHook(smtp_conn_id) as smtp:
            smtp.send_email_smtp(to=ops_recipients(), subject=subject, html_content=digest.html())
        conn.commit()  # only a sent digest takes the day's key; a failure is retried
    finally:
        conn.close()
    for what, value, bad in digest.lines:
        log.log(logging.WARNING if bad else logging.INFO, "%s: %s", what, value)
    return {"subject": subject, "attention": digest.attention, "sent": True}
