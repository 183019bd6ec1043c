"""Daily collection update, 08:00 America/New_York (FAQ 9): master sheet -> versions -> catalog."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from airflow.sdk import DeadlineReference, dag, task

from collector.core.clock import BUSINESS_TZ_NAME as BUSINESS_TZ
from collector_airflow import dag_params
from collector_airflow.alerts import promise_deadline
from collector_airflow.assets import COLLECTIONS
from collector_airflow.defaults import default_args
from collector_airflow.schedules import business_cron, start_date

DOC = Path(__file__).with_name("docs") / "collection_updates.md"  # Airflow reads it at parse time


@dag(
    dag_id="collection_updates",
    description="Daily 08:00 New York time (DST handled): master sheet -> versions, catalog",
    schedule=business_cron("0 8 * * *"),
    start_date=start_date(BUSINESS_TZ),
    catchup=False,
    max_active_runs=1,
    tags=["collector", "collections", "sheets"],
    doc_md=str(DOC),
    default_args=default_args(retry_delay=timedelta(minutes=5)),
    # FAQ 9: "We usually update the collections around 8am ET daily".
    deadline=promise_deadline(
        DeadlineReference.DAGRUN_LOGICAL_DATE,
        timedelta(minutes=30),
        "collections updated by 08:30 ET (FAQ 9)",
    ),
    params=dag_params.collection_updates(),
)
def collection_updates():
    @task
    def read_master_sheet(params: dict) -> list:
        from collector_airflow.tasks import catalog as glue  # noqa: PLC0415

        return glue.read_master_sheet(params)

    @task
    def apply_updates(rows: list, dag_run=None) -> dict:
        from collector_airflow.tasks import catalog as glue  # noqa: PLC0415

        return glue.apply_updates(rows, glue.effective_moment(dag_run))

    @task(outlets=[COLLECTIONS])
    def publish_catalog(summary: dict, params: dict, dag_run=None) -> str:
        from collector_airflow.tasks import catalog as glue  # noqa: PLC0415

        return glue.publish_catalog(params, glue.effective_moment(dag_run))

    @task
    def report_problems(summary: dict, params: dict, dag_run=None) -> int:
        from collector_airflow.tasks import catalog as glue  # noqa: PLC0415

        return glue.report_problems(params, summary, glue.effective_moment(dag_run))

    summary = apply_updates(read_master_sheet())
    publish_catalog(summary)
    report_problems(summary)


collection_updates()
