"""Review queue: new activities out to the reviewers' sheet, their ratings back in."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import AssetOrTimeSchedule, dag, task

from collector_airflow.assets import QUICKLOOKS, RATINGS
from collector_airflow.defaults import default_args
from collector_airflow.schedules import UTC, start_date, utc_cron

DOC = """
### Review queue
Runs when new quicklooks exist, and every 30 minutes to collect ratings.

* ``append_new_activities``: one row per activity with its quicklook (``=IMAGE``), collection
  and description; rating columns offer exactly the FAQ's rating names.
* ``collect_ratings``: reviewers listed on the **Reviewers** tab; their ratings land in
  ``activity_ratings`` once (a reread changes nothing, a changed rating replaces the old one).
  Unknown rating names, reviewers or row ids are reported with their cell here and on the
  sheet's **Problems** tab, never guessed.
"""


@dag(
    dag_id="review_queue",
    description="Every 30 min (UTC cron) and on new quicklooks: review sheet out, ratings back",
    schedule=AssetOrTimeSchedule(timetable=utc_cron("*/30 * * * *"), assets=[QUICKLOOKS]),
    start_date=start_date(UTC),
    catchup=False,
    max_active_runs=1,
    tags=["collector", "review", "sheets"],
    doc_md=DOC,
    default_args=default_args(retry_delay=timedelta(minutes=2)),
)
def review_queue():
    @task
    def ensure_review_sheet() -> str:
        from collector_airflow import review_queue as glue  # noqa: PLC0415

        return glue.ensure_review_sheet()

    @task
    def append_new_activities(sheet_id: str) -> int:
        from collector_airflow import review_queue as glue  # noqa: PLC0415

        return glue.append_new_activities(sheet_id)

    @task
    def collect_ratings(sheet_id: str) -> dict:
        from collector_airflow import review_queue as glue  # noqa: PLC0415

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
