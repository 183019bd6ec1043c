"""Quicklook generation: a montage per activity for reviewers, as soon as uploads are ingested."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from airflow.sdk import dag, task

from collector_airflow import dag_params
from collector_airflow.assets import QUICKLOOKS, SUBMISSIONS
from collector_airflow.defaults import default_args
from collector_airflow.schedules import UTC, start_date

FFMPEG_POOL = "ffmpeg"  # created by `make demo` / `make airflow` / airflow-init: 2 slots per box

DOC = Path(__file__).with_name("docs") / "quicklook_generation.md"  # Airflow reads it at parse time


@dag(
    dag_id="quicklook_generation",
    description="When ingest publishes collector.submissions; by hand for videos or ET days",
    schedule=[SUBMISSIONS],
    start_date=start_date(UTC),
    catchup=False,
    max_active_runs=1,
    tags=["collector", "quicklooks", "review"],
    doc_md=str(DOC),
    default_args=default_args(retry_delay=timedelta(minutes=1)),
    params=dag_params.quicklook_generation(),
)
def quicklook_generation():
    @task
    def plan_batches(params: dict) -> list[list]:
        from collector_airflow.tasks.review import plan_batches  # noqa: PLC0415 - not at parse time

        return plan_batches(params)

    @task(pool=FFMPEG_POOL, pool_slots=1, execution_timeout=timedelta(minutes=30))
    def render_batch(batch: list, params: dict) -> dict:
        from collector_airflow.tasks.review import render_batch  # noqa: PLC0415

        return render_batch(batch, params)

    @task(pool=FFMPEG_POOL, pool_slots=1, execution_timeout=timedelta(minutes=30))
    def render_consent_quicklooks(params: dict) -> dict:
        from collector_airflow.tasks.review import render_consent_quicklooks  # noqa: PLC0415

        return render_consent_quicklooks(params)

    @task(trigger_rule="none_failed")
    def write_contact_sheets(summaries: list, params: dict, dag_run=None) -> list[str]:
        from collector_airflow.tasks.review import write_contact_sheets  # noqa: PLC0415

        return write_contact_sheets(list(summaries or []), params, since=dag_run.start_date)

    @task.short_circuit(trigger_rule="none_failed")
    def anything_rendered(summaries: list, consents: dict) -> bool:
        return any(s["rendered"] or s["failed"] for s in [*(summaries or []), consents])

    # none_failed: also when only consents were rendered (render_batch skipped, nothing mapped).
    @task(outlets=[QUICKLOOKS], trigger_rule="none_failed")
    def publish_quicklooks(summaries: list, consents: dict, outlet_events=None) -> None:
        every = [*(summaries or []), consents]
        outlet_events[QUICKLOOKS].extra = {
            "rendered": sum(s["rendered"] for s in every),
            "failed": sum(s["failed"] for s in every),
        }

    summaries = render_batch.expand(batch=plan_batches())
    consents = render_consent_quicklooks()
    write_contact_sheets(summaries)
    anything_rendered(summaries, consents) >> publish_quicklooks(summaries, consents)


quicklook_generation()
