"""Collector dashboards: hourly and on new scores, one Google Sheet per collector."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from airflow.sdk import AssetOrTimeSchedule, DeadlineReference, dag, task

from collector_airflow import dag_params
from collector_airflow.alerts import promise_deadline
from collector_airflow.assets import PAYOUTS, SCORES
from collector_airflow.defaults import default_args
from collector_airflow.schedules import UTC, start_date, utc_cron

DOC = Path(__file__).with_name("docs") / "dashboard_refresh.md"  # Airflow reads it at parse time


@dag(
    dag_id="dashboard_refresh",
    description="Hourly at :15 (UTC cron), on new scores and payouts: dashboards, ops summary",
    schedule=AssetOrTimeSchedule(timetable=utc_cron("15 * * * *"), assets=(SCORES | PAYOUTS)),
    start_date=start_date(UTC),
    catchup=False,
    max_active_runs=1,
    tags=["collector", "dashboards", "sheets"],
    doc_md=str(DOC),
    default_args=default_args(retry_delay=timedelta(minutes=5)),
    # FAQ 8: "your dashboard updates approximately every few hours": within 3 h of new scores.
    deadline=promise_deadline(
        DeadlineReference.DAGRUN_QUEUED_AT,
        timedelta(hours=3),
        "dashboards refreshed within 3 hours of new scores (FAQ 8)",
    ),
    params=dag_params.dashboard_refresh(),
)
def dashboard_refresh():
    @task
    def collector_chunks(params: dict) -> list[list[str]]:
        from collector_airflow.tasks.dashboards import collectors_with_videos  # noqa: PLC0415

        ids = collectors_with_videos()
        size = int(params["chunk_size"])
        return [ids[i : i + size] for i in range(0, len(ids), size)]

    @task
    def refresh_chunk(chunk: list[str]) -> dict:
        from collector_airflow.tasks.dashboards import refresh_collectors  # noqa: PLC0415

        return refresh_collectors(chunk)

    @task(trigger_rule="none_failed")
    def report(results: list) -> dict:
        results = list(results or [])
        totals = {
            k: sum(r[k] for r in results) for k in ("created", "written", "unchanged", "failed")
        }
        failures = [f for r in results for f in r["failures"]]
        if failures:
            import logging  # noqa: PLC0415

            logging.getLogger(__name__).warning(
                "%d dashboards not refreshed, retried next run: %s", len(failures), failures[:20]
            )
        return totals

    @task
    def refresh_ops_summary() -> str:
        from collector_airflow.tasks.dashboards import refresh_ops_summary  # noqa: PLC0415

        return refresh_ops_summary()

    refresh_ops_summary() << report(refresh_chunk.expand(chunk=collector_chunks()))


dashboard_refresh()
