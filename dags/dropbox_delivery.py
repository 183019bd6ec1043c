"""Dropbox delivery: each linked collector's own videos and annotations into their app folder."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from airflow.sdk import AssetOrTimeSchedule, dag, task

from collector_airflow.assets import SUBMISSIONS
from collector_airflow.defaults import default_args
from collector_airflow.schedules import UTC, start_date, utc_cron

DOC = Path(__file__).with_name("docs") / "dropbox_delivery.md"  # Airflow reads it at parse time


@dag(
    dag_id="dropbox_delivery",
    description="Hourly at :40 (UTC cron) and on new submissions: videos to their owners' Dropbox",
    schedule=AssetOrTimeSchedule(timetable=utc_cron("40 * * * *"), assets=[SUBMISSIONS]),
    start_date=start_date(UTC),
    catchup=False,
    max_active_runs=1,
    tags=["collector", "dropbox"],
    doc_md=str(DOC),
    default_args=default_args(retry_delay=timedelta(minutes=5)),
)
def dropbox_delivery():
    @task
    def linked_users() -> list[str]:
        from collector_airflow.tasks.delivery import linked_users  # noqa: PLC0415

        return linked_users()

    @task(max_active_tis_per_dagrun=8, execution_timeout=timedelta(hours=2))
    def deliver(collector_id: str) -> dict:
        from collector_airflow.tasks.delivery import deliver_user  # noqa: PLC0415

        return deliver_user(collector_id)

    deliver.expand(collector_id=linked_users())


dropbox_delivery()
