"""Dataset release: a public, consented release of accepted videos (FAQ 7), by hand."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag, task

from collector_airflow.assets import RELEASES
from collector_airflow.defaults import default_args
from collector_airflow.schedules import UTC, start_date

FFMPEG_POOL = "ffmpeg"

DOC = """
### Dataset release
Triggered by hand (**Trigger** → the form). With the defaults it is a **dry run**: the log
shows how many clips per category and split the release would hold (as the next version of
its name when **Version** is empty), and nothing is written. To build, enter a **Version** and
untick **Dry run**; a build without a version fails at once, saying so.

1. ``plan_release`` selects the activities every reviewer passed, in accepted videos whose every
   subject has consent on file and has not withdrawn it; assigns collectors to train/val/test
   (no collector in two splits, deterministic from the name) and records the plan.
2. ``export_clips`` (mapped over batches of source videos, ``ffmpeg`` pool) cuts each video's
   actor-centred 512x512 clips with one ffmpeg process per video, and writes their annotations.
3. ``publish_release`` writes the CSV, splits, README datasheet, histogram, ``takedown.csv`` and
   the manifest (size and SHA-256 of every file), then marks the version published.

A published name and version is immutable: running it again rebuilds it beside the release and
fails, naming the files, unless the rebuild is byte-identical. Publish changes as a new version.
Rules: ``release_padding_rules`` (temporal padding per category) in the warehouse;
docs/consent-and-releases.md.
"""


@dag(
    dag_id="dataset_release",
    description="By hand: dry run by default; enter a version and untick Dry run to build",
    schedule=None,
    start_date=start_date(UTC),
    catchup=False,
    max_active_runs=1,
    tags=["collector", "releases", "consent"],
    doc_md=DOC,
    default_args=default_args(retry_delay=timedelta(minutes=1)),
    params={
        "name": Param(
            "people-in-public",
            type="string",
            pattern="^[a-z0-9][a-z0-9_-]{0,63}$",
            title="Release name",
        ),
        "version": Param(
            None,
            type=["null", "string"],
            pattern=r"^\d+\.\d+(\.\d+)?$",
            title="Version",
            description="MAJOR.MINOR[.PATCH], e.g. 1.0. Needed to build; a dry run without one "
            "previews the next version of this name. A published version is never changed.",
        ),
        "collections": Param(
            [],
            type="array",
            items={"type": "string"},
            title="Collections",
            description="Collection ids to include (empty: every collection).",
        ),
        "collected_from": Param(
            None, type=["null", "string"], format="date", title="Collected from (ET day)"
        ),
        "collected_to": Param(
            None, type=["null", "string"], format="date", title="Collected to (ET day)"
        ),
        "dry_run": Param(True, type="boolean", title="Dry run (count only, write nothing)"),
        "output_url": Param(
            None,
            type=["null", "string"],
            title="Output",
            description="Folder or s3:// / gs:// URL; empty means COLLECTOR_RELEASES_URL.",
        ),
    },
)
def dataset_release():
    @task
    def plan_release(params: dict) -> dict:
        from collector_airflow.releases import plan  # noqa: PLC0415 - not at parse time

        return plan(params)

    @task.short_circuit
    def not_a_dry_run(plan: dict) -> bool:
        return not plan["dry_run"]

    @task
    def video_batches(plan: dict) -> list[list[str]]:
        return plan["batches"]

    @task(pool=FFMPEG_POOL, pool_slots=1, execution_timeout=timedelta(hours=2))
    def export_clips(batch: list[str], params: dict) -> dict:
        from collector_airflow.releases import export_batch  # noqa: PLC0415

        return export_batch(batch, params)

    @task(outlets=[RELEASES])
    def publish_release(exports: list, params: dict, outlet_events=None) -> dict:
        from collector_airflow.releases import publish  # noqa: PLC0415

        result = publish(params)
        outlet_events[RELEASES].extra = result
        return result

    planned = plan_release()
    batches = video_batches(planned)
    not_a_dry_run(planned) >> batches
    publish_release(export_clips.expand(batch=batches))


dataset_release()
