"""Score aggregation: hourly (and when ratings arrive), checks + ratings -> scores, Accepted?."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import AssetOrTimeSchedule, CronDataIntervalTimetable, Param, dag, task

from collector_airflow.assets import RATINGS, SCORES
from collector_airflow.defaults import START_DATE, default_args

DOC = """
### Score aggregation
Every hour (and when new ratings arrive) scores the videos whose inputs changed in the run's
data interval, plus every video of the same collector and collection (a new video can supersede
an earlier one, or repeat its location). Rules come from ``scoring_rule_sets`` /
``scoring_label_rules``; each score records its rules and collection versions.

**Backfills** converge to a full re-score, in any order, because each run computes from the
warehouse as it is now:
``airflow backfill create --dag-id score_aggregation --from-date 2026-11-01 --to-date 2026-11-15``
(or *Trigger → Backfill* in the UI). After a rules change, trigger once with ``rescore_all``.
Overlapping runs take turns on an advisory lock. ``collector explain <video_id>`` says why.
"""


@dag(
    dag_id="score_aggregation",
    schedule=AssetOrTimeSchedule(
        timetable=CronDataIntervalTimetable("0 * * * *", timezone="UTC"), assets=[RATINGS]
    ),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=["collector", "scoring"],
    doc_md=DOC,
    default_args=default_args(retry_delay=timedelta(minutes=2)),
    params={
        "rescore_all": Param(
            False,
            type="boolean",
            title="Re-score every video",
            description="For rule changes: ignore the data interval.",
        ),
        "rules_version": Param(
            None,
            type=["null", "integer"],
            minimum=1,
            title="Rules version",
            description="Empty means the latest rule set.",
        ),
    },
)
def score_aggregation():
    @task
    def score_changed_videos(
        params: dict, data_interval_start=None, data_interval_end=None, dag_run=None
    ) -> dict:
        from collector_airflow.scoring import run_scoring  # noqa: PLC0415

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
