"""Score aggregation: hourly (and when ratings arrive), checks + ratings -> scores, Accepted?."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import AssetOrTimeSchedule, CronDataIntervalTimetable, Param, dag, task

from collector_airflow.assets import RATINGS, SCORES
from collector_airflow.defaults import default_args
from collector_airflow.schedules import UTC, start_date

DOC = """
### Score aggregation
**Hourly** (and when new ratings arrive): scores the videos whose inputs changed in the run's
data interval (ratings, edits, collection versions, consents), plus every video of the same
collector and collection (a new video can supersede an earlier one, or repeat its location).
Rules come from ``scoring_rule_sets`` / ``scoring_label_rules``; each score records its rules
and collection versions. ``collector explain <video_id>`` says why.

**Backfills re-score what was collected.** Each backfill run re-scores the videos *collected*
in its hour under the chosen rules (``rules_version``, empty = the latest), so a backfill over
a past week re-scores that week's videos; unchanged rules change no score. From the UI:
*Trigger → Backfill* (from/to dates, reprocess behaviour *All runs*); from the CLI:
``airflow backfill create --dag-id score_aggregation --from-date 2026-11-16 --to-date 2026-11-23 --reprocess-behavior completed``.
A single run can do the same with **collected_between** (``2026-11-16/2026-11-23``, New York
days, end exclusive), or re-score everything with **rescore_all**.
Overlapping runs take turns on an advisory lock.
"""


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
    doc_md=DOC,
    default_args=default_args(retry_delay=timedelta(minutes=2)),
    params={
        "rescore_all": Param(
            False,
            type="boolean",
            title="Re-score every video",
            description="For rule changes: ignore the data interval.",
        ),
        "collected_between": Param(
            None,
            type=["null", "string"],
            pattern=r"^\d{4}-\d{2}-\d{2}[^/]*/\d{4}-\d{2}-\d{2}[^/]*$",
            title="Collected between",
            description=(
                "Re-score the videos collected in START/END (ISO dates or date-times, New York "
                "time, END exclusive), e.g. 2026-11-16/2026-11-23. Empty: what changed."
            ),
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
