"""Daily ops digest, 07:00 America/New_York: what is late or stuck, before collectors notice."""

from __future__ import annotations

from airflow.sdk import dag, task

from collector_airflow.defaults import default_args
from collector_airflow.schedules import BUSINESS_TZ, business_cron, start_date

DOC = """
### Ops digest
Every morning before the 08:00 ET collection update, one email to `COLLECTOR_OPS_EMAIL`: the
review backlog against the 24 h promise (FAQ 8), unresolved quarantined submissions, activities
without a quicklook, dashboards failing to write, collectors held from the last payout, and
collector emails that failed or are stuck. Each line is also in this task's log.
"""


@dag(
    dag_id="ops_digest",
    description="Daily 07:00 New York time (DST handled): one email to ops",
    schedule=business_cron("0 7 * * *"),
    start_date=start_date(BUSINESS_TZ),
    catchup=False,
    tags=["collector", "ops"],
    doc_md=DOC,
    default_args=default_args(),
)
def ops_digest():
    @task
    def send_digest() -> dict:
        from collector_airflow.alerts import send_ops_digest  # noqa: PLC0415

        return send_ops_digest()

    send_digest()


ops_digest()
