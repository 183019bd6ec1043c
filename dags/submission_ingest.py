"""Submission ingest: every 15 minutes, new uploads in the landing area become warehouse rows."""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import CronTriggerTimetable, Param, dag, task

from collector_airflow.assets import SUBMISSIONS

DOC = """
### Submission ingest
Reads new annotation JSON files from the landing area (``params.landing_url``, default
``COLLECTOR_LANDING_URL``), validates them and upserts each file in one transaction.

* **Quarantined** files are copied to ``params.quarantine_url`` with a ``.reason.json`` note and
  listed in the ``ingest_quarantine`` table; the task log names the file, the JSON path and the
  reason. The run still succeeds: one bad upload must not hold back the others.
* An annotation whose MP4 has not arrived **waits** (``params.mp4_wait_minutes``), then is
  quarantined.
* Rerunning is safe: files already seen with the same content are skipped.

Publishes the ``collector.submissions`` Asset when any video changed.
"""


@dag(
    dag_id="submission_ingest",
    schedule=CronTriggerTimetable("*/15 * * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["collector", "ingest"],
    doc_md=DOC,
    default_args={"owner": "data-ops", "retries": 2, "retry_delay": timedelta(minutes=2)},
    params={
        "landing_url": Param(
            "",
            type="string",
            title="Landing area",
            description="Folder or s3:// / gs:// URL; empty means COLLECTOR_LANDING_URL.",
        ),
        "quarantine_url": Param(
            "",
            type="string",
            title="Quarantine",
            description="Where rejected files are copied; empty means COLLECTOR_QUARANTINE_URL.",
        ),
        "mp4_wait_minutes": Param(
            None,
            type=["null", "number"],
            minimum=0,
            title="MP4 wait (minutes)",
            description="How long an annotation waits for its MP4; empty means the setting.",
        ),
    },
)
def submission_ingest():
    @task
    def migrate_warehouse() -> list[str]:
        from collector_airflow.hooks.warehouse import CollectorWarehouseHook  # noqa: PLC0415 - not at parse time

        return CollectorWarehouseHook().migrate()

    @task(outlets=[SUBMISSIONS])
    def ingest_new_submissions(params: dict, outlet_events=None) -> dict:
        from collector_airflow.ingest import run_ingest  # noqa: PLC0415 - not at parse time

        summary = run_ingest(params)
        if summary["videos_changed"] and outlet_events is not None:
            outlet_events[SUBMISSIONS].extra = summary
        return summary

    migrate_warehouse() >> ingest_new_submissions()


submission_ingest()
