"""Score aggregation: hourly (and when ratings arrive), checks + ratings -> scores, Accepted?."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from airflow.sdk import AssetOrTimeSchedule, CronDataIntervalTimetable, dag, task

from collector_airflow import dag_params
from collector_airflow.assets import RATINGS, SCORES
from collector_airflow.defaults import default_args
from collector_airflow.schedules import UTC, start_date

DOC = Path(__file__).with_name("docs") / "score_aggregation.md"  # Airflow reads it at parse time


@dag(
    dag_id="score_aggregation",
    schedule=AssetOrTimeSchedule(
        timetable=CronDataIntervalTimetable("0 * * * *", timezone=UTC), assets=[RATINGS]
    ),
    description="Hourly (UTC cron) and when ratings arrive: checks + ratings -> scores; backfills re-score",
    start_date=start_date(UTC),
    catchup=False,
    max_active_runs=1,
    tags=["collector", "scoring"],
    doc_md=str(DOC),
    default_args=default_args(retry_delay=timedelta(minutes=2)),
    params=dag_params.score_aggregation(),
)
def score_aggregation():
    @task
    def score_changed_videos(
        params: dict, data_interval_start=None, data_interval_end=None, dag_run=None
    ) -> dict:
        from collector_airflow.tasks.scoring import run_scoring  # noqa: PLC0415

        run_type = dag_run.run_type if dag_run else None
        return run_scoring(params, data_interval_start, data_interval_end, run_type)

    @task.short_circuit
    def scores_written(summary: dict) -> bool:
        return summary["videos_written"] > 0

    @task(outlets=[SCORES])
    def publish_scores(summary: dict, outlet_events=None) -> None:
        outlet_events[SCORES].extra = summary

    summary = score_changed_videos()
    scores_written(summary) >> publish_scores(summary)


score_aggregation()
