"""Dataset release: a public, consented release of accepted videos (FAQ 7), by hand."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from airflow.sdk import dag, task

from collector_airflow import dag_params
from collector_airflow.assets import RELEASES
from collector_airflow.defaults import default_args
from collector_airflow.schedules import UTC, start_date

FFMPEG_POOL = "ffmpeg"

DOC = Path(__file__).with_name("docs") / "dataset_release.md"  # Airflow reads it at parse time


@dag(
    dag_id="dataset_release",
    description="By hand: dry run by default; enter a version and untick Dry run to build",
    schedule=None,
    start_date=start_date(UTC),
    catchup=False,
    max_active_runs=1,
    tags=["collector", "releases", "consent"],
    doc_md=str(DOC),
    default_args=default_args(retry_delay=timedelta(minutes=1)),
    params=dag_params.dataset_release(),
)
def dataset_release():
    @task
    def plan_release(params: dict) -> dict:
        from collector_airflow.tasks.release import plan  # noqa: PLC0415 - not at parse time

        return plan(params)

    @task.short_circuit
    def not_a_dry_run(plan: dict) -> bool:
        return not plan["dry_run"]

    @task
    def video_batches(plan: dict) -> list[list[str]]:
        return plan["batches"]

    @task(pool=FFMPEG_POOL, pool_slots=1, execution_timeout=timedelta(hours=2))
    def export_clips(batch: list[str], params: dict) -> dict:
        from collector_airflow.tasks.release import export_batch  # noqa: PLC0415

        return export_batch(batch, params)

    @task(outlets=[RELEASES])
    def publish_release(exports: list, params: dict, outlet_events=None) -> dict:
        from collector_airflow.tasks.release import publish  # noqa: PLC0415

        result = publish(params)
        outlet_events[RELEASES].extra = result
        return result

    planned = plan_release()
    batches = video_batches(planned)
    not_a_dry_run(planned) >> batches
    publish_release(export_clips.expand(batch=batches))


dataset_release()
