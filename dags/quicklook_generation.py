"""Quicklook generation: a montage per activity for reviewers, as soon as uploads are ingested."""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag, task

from collector_airflow.assets import QUICKLOOKS, SUBMISSIONS
from collector_airflow.defaults import default_args
from collector_airflow.schedules import UTC, start_date

FFMPEG_POOL = "ffmpeg"  # created by `make demo` / `make airflow` / airflow-init: 2 slots per box

DOC = """
### Quicklook generation
Runs when ``submission_ingest`` publishes ``collector.submissions``, or by hand for a list of
video ids or a range of collection days (America/New_York, both ends included).

1. ``plan_batches`` finds activities without a quicklook for their current annotation (an edit
   makes the old one stale) and splits them into batches.
2. ``render_batch`` (mapped, in the ``ffmpeg`` pool) renders each montage with one ffmpeg
   process, writes the JPEG and records path, size, frames and render time in ``quicklooks``.
   A missing or corrupt MP4, a zero-length activity or a box outside the frame gives that
   activity a ``failed`` quicklook with the reason (reviewers see it flagged); it never fails
   the task.
3. ``render_consent_quicklooks`` (``ffmpeg`` pool) renders, for each subject whose newest
   consent record has no quicklook yet, a 2x2 tile of the consent video's first seconds to
   ``consents/<subject key>.jpg`` under the same output (one stable path per subject), for
   reviewers to compare with the person in the activity (FAQ 10); the outcome is recorded on
   ``consent_records``. A missing or undecodable consent video is recorded as ``failed`` with
   the reason, never failing the task. The review queue offers an activity only once every
   subject of its video has a rendered (or failed) consent quicklook.
4. ``write_contact_sheets`` rewrites the day's HTML contact sheet next to the images.
5. ``publish_quicklooks`` updates ``collector.quicklooks`` (montages and consent quicklooks,
   rendered and failed) when anything was rendered.
"""


@dag(
    dag_id="quicklook_generation",
    description="When ingest publishes collector.submissions; by hand for videos or ET days",
    schedule=[SUBMISSIONS],
    start_date=start_date(UTC),
    catchup=False,
    max_active_runs=1,
    tags=["collector", "quicklooks", "review"],
    doc_md=DOC,
    default_args=default_args(retry_delay=timedelta(minutes=1)),
    params={
        "video_ids": Param(
            [],
            type="array",
            items={"type": "string"},
            title="Video ids",
            description="Only these videos (empty: every video that needs a quicklook).",
        ),
        "collected_from": Param(
            None,
            type=["null", "string"],
            format="date",
            title="Collected from (ET day)",
        ),
        "collected_to": Param(
            None,
            type=["null", "string"],
            format="date",
            title="Collected to (ET day)",
        ),
        "force": Param(False, type="boolean", title="Re-render even if current"),
        "batch_size": Param(
            16, type="integer", minimum=1, maximum=500, title="Activities per task"
        ),
        "tiles": Param(9, type="integer", minimum=2, maximum=25, title="Tiles per montage"),
        "output_url": Param(
            None,
            type=["null", "string"],
            title="Output",
            description="Folder or s3:// / gs:// URL; empty means COLLECTOR_QUICKLOOK_URL. "
            "Consent quicklooks go to its consents/ folder.",
        ),
    },
)
def quicklook_generation():
    @task
    def plan_batches(params: dict) -> list[list]:
        from collector_airflow.quicklooks import plan_batches  # noqa: PLC0415 - not at parse time

        return plan_batches(params)

    @task(pool=FFMPEG_POOL, pool_slots=1, execution_timeout=timedelta(minutes=30))
    def render_batch(batch: list, params: dict) -> dict:
        from collector_airflow.quicklooks import render_batch  # noqa: PLC0415

        return render_batch(batch, params)

    @task(pool=FFMPEG_POOL, pool_slots=1, execution_timeout=timedelta(minutes=30))
    def render_consent_quicklooks(params: dict) -> dict:
        from collector_airflow.quicklooks import render_consent_quicklooks  # noqa: PLC0415

        return render_consent_quicklooks(params)

    @task(trigger_rule="none_failed")
    def write_contact_sheets(summaries: list, params: dict, dag_run=None) -> list[str]:
        from collector_airflow.quicklooks import write_contact_sheets  # noqa: PLC0415

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
