"""Daily ops digest, 07:00 America/New_York: what is late or stuck, before collectors notice."""

from __future__ import annotations

from pathlib import Path

from airflow.sdk import dag, task

from collector.core.clock import BUSINESS_TZ_NAME as BUSINESS_TZ
from collector_airflow.defaults import default_args
from collector_airflow.schedules import business_cron, start_date

DOC = Path(__file__).with_name("docs") / "ops_digest.md"  # Airflow reads it at parse time


@dag(
    dag_id="ops_digest",
    description="Daily 07:00 New York time (DST handled): one email to ops",
    schedule=business_cron("0 7 * * *"),
    start_date=start_date(BUSINESS_TZ),
    catchup=False,
    tags=["collector", "ops"],
    doc_md=str(DOC),
    default_args=default_args(),
)
def ops_digest():
    @task
    def send_digest() -> dict:
        from collector_airflow.alerts import send_ops_digest  # noqa: PLC0415

        return send_ops_digest()

    send_digest()


ops_digest()
