"""Task-side glue for dataset releases: plan, cut clips per batch of videos, publish."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from collector_airflow.hooks.warehouse import CollectorWarehouseHook
from collector_airflow.param_values import given, text_or_setting
from collector_airflow.storage import local_file, storage_path

log = logging.getLogger(__name__)
VIDEOS_PER_BATCH = 10


MISSING_NAME = (
    "Enter a Release name in the trigger form (lower-case letters, digits, '-' or '_', "
    "e.g. people-in-public)."
)
MISSING_VERSION = (
    "Enter a Version in the trigger form (e.g. 1.0) to build a release, or tick Dry run to "
    "preview one without writing anything."
)


def release_params(params: dict[str, Any], version: str | None = None):
    """The form's release; ``version`` stands in for an empty Version (a dry run's preview)."""
    from airflow.sdk.exceptions import AirflowFailException  # noqa: PLC0415

    from collector.release.plan import ReleaseParams  # noqa: PLC0415

    def as_date(value: str | None) -> date | None:
        return date.fromisoformat(value) if value else None

    name, version = given(params, "name"), given(params, "version") or version
    if name is None:
        raise AirflowFailException(MISSING_NAME)
    if version is None:
        raise AirflowFailException(MISSING_VERSION)
    return ReleaseParams(
        name=str(name),
        version=str(version),
        collections=tuple(c.strip() for c in params.get("collections") or () if c.strip()),
        collected_from=as_date(params.get("collected_from")),
        collected_to=as_date(params.get("collected_to")),
    )


def output_root(params: dict[str, Any]):
    from collector.core import settings  # noqa: PLC0415

    return storage_path(text_or_setting(params, "output_url", settings.releases_url))


def plan(params: dict[str, Any], conn_id: str = "collector_warehouse") -> dict[str, Any]:
    """Select and split; record the plan unless this is a dry run. Returns batches of videos."""
    from collector.release.build import prepare_output  # noqa: PLC0415
    from collector.release.plan import plan_release  # noqa: PLC0415

    dry_run = bool(params.get("dry_run"))
    wanted = None if dry_run else release_params(params)  # a build without a version stops here
    root = output_root(params)
    with CollectorWarehouseHook(conn_id).connection() as conn:
        wanted = wanted or _dry_run_params(conn, params)
        the_plan = plan_release(conn, wanted, str(root), dry_run=dry_run)
    summary = the_plan.summary()
    log.info("release %s: %s", summary["release"], _describe(summary))
    if dry_run:
        log.info("dry run: nothing written; untick 'dry run' to build the release")
        return {"dry_run": True, "summary": summary, "batches": []}
    if the_plan.status == "published":
        log.info(
            "%s is published and immutable: it is rebuilt beside it and compared, never changed",
            summary["release"],
        )
    target = prepare_output(the_plan, root)
    log.info("clips go to %s", target)
    return {
        "dry_run": False,
        "summary": summary,
        "batches": the_plan.video_batches(VIDEOS_PER_BATCH),
    }


def _dry_run_params(conn, params: dict[str, Any]):
    """A dry run without a Version previews the name's next version."""
    from collector.release.plan import next_release_version  # noqa: PLC0415

    name = given(params, "name")
    if name is None or given(params, "version") is not None:
        return release_params(params)
    preview = next_release_version(conn, str(name))
    log.info("no Version entered: previewing %s as its next version, %s", name, preview)
    return release_params(params, preview)


def _describe(summary: dict[str, Any]) -> str:
    categories = ", ".join(f"{k} {v}" for k, v in summary["categories"].items())
    splits = ", ".join(f"{k} {v}" for k, v in summary["splits"].items())
    return (
        f"{summary['clips']} clips from {summary['videos']} videos by {summary['collectors']} "
        f"collectors ({summary['status']}); per category: {categories}; splits: {splits}"
    )


def export_batch(
    batch: list[str], params: dict[str, Any], conn_id: str = "collector_warehouse"
) -> dict[str, int]:
    """Cut every clip of a batch of source videos (one ffmpeg process per video)."""
    from collector.release.build import clips_dir  # noqa: PLC0415
    from collector.release.clips import export_clips, load_sources  # noqa: PLC0415
    from collector.release.plan import release_status  # noqa: PLC0415

    wanted = release_params(params)
    root = output_root(params)
    with CollectorWarehouseHook(conn_id).connection() as conn:
        status = release_status(conn, wanted.name, wanted.version)
        target = clips_dir(root, wanted, status)
        sources = load_sources(conn, wanted.name, wanted.version, batch)
        result = export_clips(sources, target, local_video=local_file)
    log.info(
        "cut %d clips from %d videos (ffmpeg peak memory %.0f MB)",
        result.clips,
        len(sources),
        result.peak_rss_bytes / 2**20,
    )
    return {"clips": result.clips, "videos": len(sources)}


def publish(params: dict[str, Any], conn_id: str = "collector_warehouse") -> dict[str, Any]:
    """Write the release's files and publish it (or check that a rebuild reproduces it)."""
    from collector.release.build import finish_release  # noqa: PLC0415
    from collector.release.plan import load_plan  # noqa: PLC0415

    wanted = release_params(params)
    with CollectorWarehouseHook(conn_id).connection() as conn:
        outcome = finish_release(conn, load_plan(conn, wanted), output_root(params))
    if outcome.reproduced:
        log.info("rebuild of the published %s %s is identical", wanted.name, wanted.version)
    else:
        log.info("published %s %s: %s", wanted.name, wanted.version, outcome.readme)
    return {
        "release": f"{wanted.name} {wanted.version}",
        "clips": outcome.summary["clips"],
        "readme": outcome.readme,
        "manifest_sha256": outcome.manifest_sha256,
        "reproduced": bool(outcome.reproduced),
    }
