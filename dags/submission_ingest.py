"""Submission ingest: every 15 minutes, new uploads in the landing area become warehouse rows."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag, task

from collector_airflow.assets import SUBMISSIONS
from collector_airflow.defaults import default_args
from collector_airflow.schedules import UTC, start_date, utc_cron

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

Publishes the ``collector.submissions`` Asset only when a video changed (``publish_submissions``
is skipped otherwise), so downstream DAGs do not wake up for nothing.
"""


@dag(
    dag_id="submission_ingest",
    description="Every 15 minutes (UTC cron): landing area -> warehouse, bad files quarantined",
    schedule=utc_cron("*/15 * * * *"),
    start_date=start_date(UTC),
    catchup=False,
    max_active_runs=1,
    tags=["collector", "ingest"],
    doc_md=DOC,
    default_args=default_args(retry_delay=timedelta(minutes=2)),
    params={
        "landing_url": Param(
            None,
            type=["null", "string"],
            title="Landing area",
            description="Folder or s3:// / gs:// URL; empty means COLLECTOR_LANDING_URL.",
        ),
        "quarantine_url": Param(
            None,
            type=["null", "string"],
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

    @task
    def ingest_new_submissions(params: dict) -> dict:
        from collector_airflow.ingest import run_ingest  # noqa: PLC0415 - not at parse time

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
