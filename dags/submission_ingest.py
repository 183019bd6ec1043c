"""Submission ingest: every 15 minutes, new uploads in the landing area become warehouse rows."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from airflow.sdk import dag, task

from collector_airflow import dag_params
from collector_airflow.assets import SUBMISSIONS
from collector_airflow.defaults import default_args
from collector_airflow.schedules import UTC, start_date, utc_cron

DOC = Path(__file__).with_name("docs") / "submission_ingest.md"  # Airflow reads it at parse time


@dag(
    dag_id="submission_ingest",
    description="Every 15 minutes (UTC cron): landing area -> warehouse, bad files quarantined",
    schedule=utc_cron("*/15 * * * *"),
    start_date=start_date(UTC),
    catchup=False,
    max_active_runs=1,
    tags=["collector", "ingest"],
    doc_md=str(DOC),
    default_args=default_args(retry_delay=timedelta(minutes=2)),
    params=dag_params.submission_ingest(),
)
def submission_ingest():
    @task
    def migrate_warehouse() -> list[str]:
        from collector_airflow.hooks.warehouse import CollectorWarehouseHook  # noqa: PLC0415 - not at parse time

        return CollectorWarehouseHook().migrate()

    @task
    def ingest_new_submissions(params: dict) -> dict:
        from collector_airflow.tasks.intake import run_ingest  # noqa: PLC0415 - not at parse time

        return run_ingest(params)

    @task.short_circuit
    def anything_changed(summary: dict) -> bool:
        """Consumers (quicklooks, scoring) only hear about runs that changed something."""
        return summary["videos_changed"] > 0 or summary.get("consents", 0) > 0

    @task(outlets=[SUBMISSIONS])
    def publish_submissions(summary: dict, outlet_events=None) -> None:
        outlet_events[SUBMISSIONS].extra = summary

    summary = ingest_new_submissions()
    migrate_warehouse() >> summary
    anything_changed(summary) >> publish_submissions(summary)


submission_ingest()
