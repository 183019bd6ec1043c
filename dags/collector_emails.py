"""Collector emails: welcome, weekly digest, new collection near you, payment notices."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from airflow.sdk import AssetOrTimeSchedule, dag, task

from collector_airflow.assets import COLLECTIONS, PAYOUTS
from collector_airflow.defaults import default_args
from collector_airflow.schedules import UTC, start_date, utc_cron

DOC = Path(__file__).with_name("docs") / "collector_emails.md"  # Airflow reads it at parse time


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
    doc_md=str(DOC),
    default_args=default_args(retry_delay=timedelta(minutes=5)),
)
def collector_emails():
    @task
    def queue_emails() -> dict:
        from collector_airflow.tasks.notify import enqueue  # noqa: PLC0415

        return enqueue()

    @task
    def send_emails() -> dict:
        from collector_airflow.tasks.notify import send_outbox  # noqa: PLC0415

        return send_outbox()

    queue_emails() >> send_emails()


collector_emails()
