"""Collector emails: welcome, weekly digest, new collection near you, payment notices."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import AssetOrTimeSchedule, dag, task

from collector_airflow.assets import COLLECTIONS, PAYOUTS
from collector_airflow.defaults import default_args
from collector_airflow.schedules import UTC, start_date, utc_cron

DOC = """
### Collector emails (FAQ 2, 4, 8, 13)
Every 30 minutes, and as soon as a payout is reconciled or the collections change:
1. **queue_emails** writes what is due into `email_outbox`, one row per collector, kind and
   period (welcome once; digest once per payout week, after it is reconciled, unless the
   collector unsubscribed; "near you" once per day; payment details changed; payment failed,
   returned or unclaimed).
2. **send_emails** sends them through `smtp_default` on one SMTP session per 500 messages. A
   message is marked *sending* before its SMTP call: a rerun never sends it twice. A refusal
   marks it *failed*; the next run retries it (5 attempts). `email_outbox.last_error` says why.
"""


@dag(
    dag_id="collector_emails",
    description="Every 30 min (UTC cron), on payouts and collection changes: collector emails",
    schedule=AssetOrTimeSchedule(
        timetable=utc_cron("*/30 * * * *"),
        assets=(PAYOUTS | COLLECTIONS),
    ),
    start_date=start_date(UTC),
    catchup=False,
    max_active_runs=1,
    tags=["collector", "emails"],
    doc_md=DOC,
    default_args=default_args(retry_delay=timedelta(minutes=5)),
)
def collector_emails():
    @task
    def queue_emails() -> dict:
        from collector_airflow.notifications import enqueue  # noqa: PLC0415

        return enqueue()

    @task
    def send_emails() -> dict:
        from collector_airflow.notifications import send_outbox  # noqa: PLC0415

        return send_outbox()

    queue_emails() >> send_emails()


collector_emails()
