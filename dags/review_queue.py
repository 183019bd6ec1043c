"""Review queue: new activities out to the reviewers' sheet, their ratings back in."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from airflow.sdk import AssetOrTimeSchedule, dag, task

from collector_airflow.assets import QUICKLOOKS, RATINGS
from collector_airflow.defaults import default_args
from collector_airflow.schedules import UTC, start_date, utc_cron

DOC = Path(__file__).with_name("docs") / "review_queue.md"  # Airflow reads it at parse time


@dag(
    dag_id="review_queue",
    description="Every 30 min (UTC cron) and on new quicklooks: review sheet out, ratings back",
    schedule=AssetOrTimeSchedule(timetable=utc_cron("*/30 * * * *"), assets=[QUICKLOOKS]),
    start_date=start_date(UTC),
    catchup=False,
    max_active_runs=1,
    tags=["collector", "review", "sheets"],
    doc_md=str(DOC),
    default_args=default_args(retry_delay=timedelta(minutes=2)),
)
def review_queue():
    @task
    def ensure_review_sheet() -> str:
        from collector_airflow.tasks import review as glue  # noqa: PLC0415

        return glue.ensure_review_sheet()

    @task
    def append_new_activities(sheet_id: str) -> int:
        from collector_airflow.tasks import review as glue  # noqa: PLC0415

        return glue.append_new_activities(sheet_id)

    @task
    def collect_ratings(sheet_id: str) -> dict:
        from collector_airflow.tasks import review as glue  # noqa: PLC0415

        return glue.collect_ratings(sheet_id)

    @task.short_circuit
    def ratings_changed(summary: dict) -> bool:
        return bool(summary["new"] or summary["changed"])

    @task(outlets=[RATINGS])
    def publish_ratings(summary: dict, outlet_events=None) -> None:
        outlet_events[RATINGS].extra = {"new": summary["new"], "changed": summary["changed"]}

    sheet_id = ensure_review_sheet()
    appended = append_new_activities(sheet_id)
    summary = collect_ratings(sheet_id)
    appended >> summary
    ratings_changed(summary) >> publish_ratings(summary)


review_queue()
