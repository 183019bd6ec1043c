"""Daily collection update, 08:00 America/New_York (FAQ 9): master sheet -> versions -> catalog."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import DeadlineReference, Param, dag, task

from collector_airflow.alerts import promise_deadline
from collector_airflow.assets import COLLECTIONS
from collector_airflow.defaults import default_args
from collector_airflow.schedules import BUSINESS_TZ, business_cron, start_date

DOC = """
### Daily collection update
At 08:00 America/New_York (DST handled) reads the **Collections master sheet**, validates
every row, and records a new collection version only where something changed. A bad row is
reported with its cell (for example ``K7 score_threshold (P004C009): expected a number between
0 and 1, got 'high'``) in this log and in the sheet's **Problems** tab; its collection keeps the
version already in force. Each collection is then enabled or disabled for today (sheet flag,
start/end dates, target accepted count reached; self-serve collections, which are not in the
sheet, by their own flag and dates) and the catalog JSON the app downloads is published: the
public one (paid and practice collections) and, beside it, ``users/<sha256(email)[:20]>.json``
for each owner of self-serve collections (public + their own).
"""


@dag(
    dag_id="collection_updates",
    description="Daily 08:00 New York time (DST handled): master sheet -> versions, catalog",
    schedule=business_cron("0 8 * * *"),
    start_date=start_date(BUSINESS_TZ),
    catchup=False,
    max_active_runs=1,
    tags=["collector", "collections", "sheets"],
    doc_md=DOC,
    default_args=default_args(retry_delay=timedelta(minutes=5)),
    # FAQ 9: "We usually update the collections around 8am ET daily".
    deadline=promise_deadline(
        DeadlineReference.DAGRUN_LOGICAL_DATE,
        timedelta(minutes=30),
        "collections updated by 08:30 ET (FAQ 9)",
    ),
    params={
        "spreadsheet_id": Param(
            None,
            type=["null", "string"],
            title="Master sheet id",
            description="Empty means COLLECTOR_MASTER_SHEET_ID.",
        ),
        "worksheet": Param(
            "Collections",
            type=["null", "string"],
            title="Tab",
            description="Empty means Collections.",
        ),
        "catalog_url": Param(
            None,
            type=["null", "string"],
            title="Catalog JSON",
            description="File or s3:// / gs:// URL; empty means COLLECTOR_CATALOG_URL.",
        ),
    },
)
def collection_updates():
    @task
    def read_master_sheet(params: dict) -> list:
        from collector_airflow import collection_updates as glue  # noqa: PLC0415

        return glue.read_master_sheet(params)

    @task
    def apply_updates(rows: list, dag_run=None) -> dict:
        from collector_airflow import collection_updates as glue  # noqa: PLC0415

        return glue.apply_updates(rows, glue.effective_moment(dag_run))

    @task(outlets=[COLLECTIONS])
    def publish_catalog(summary: dict, params: dict, dag_run=None) -> str:
        from collector_airflow import collection_updates as glue  # noqa: PLC0415

        return glue.publish_catalog(params, glue.effective_moment(dag_run))

    @task
    def report_problems(summary: dict, params: dict, dag_run=None) -> int:
        from collector_airflow import collection_updates as glue  # noqa: PLC0415

        return glue.report_problems(params, summary, glue.effective_moment(dag_run))

    summary = apply_updates(read_master_sheet())
    publish_catalog(summary)
    report_problems(summary)


collection_updates()
