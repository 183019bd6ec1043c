"""Building and publishing a release: where its files go, the build itself, and the rule that a
published version is immutable (a rebuild goes beside it and must match its manifest)."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import psycopg2.extensions

from collector.release.clips import as_is, export_clips, load_sources
from collector.release.files import compare_manifests, write_release_files
from collector.release.plan import ReleaseParams, ReleasePlan, plan_release, refuse_withdrawn
from collector.release.rules import ReleaseError


def publish(conn, params: ReleaseParams, written: dict[str, Any]) -> None:
    """Mark the release published: from now on the warehouse refuses to change it."""
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE dataset_releases SET status = 'published', published_at = now(),
                   clip_count = %s, manifest_sha256 = %s, ffmpeg_version = %s
               WHERE name = %s AND version = %s AND status = 'building'""",
            (
                written["clips"],
                written["manifest_sha256"],
                written["ffmpeg"],
                params.name,
                params.version,
            ),
        )
        if cur.rowcount != 1:
            conn.rollback()
            raise ReleaseError(f"release {params.name} {params.version} is not being built")
    conn.commit()


def remove_tree(path: Any) -> None:
    """Delete a folder locally or in a bucket (``ObjectStoragePath`` exposes its filesystem)."""
    if hasattr(path, "fs"):
        if path.exists():
            path.fs.rm(path.path, recursive=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


def release_dir(root: Any, params: ReleaseParams) -> Any:
    return root / params.name / params.version


def clips_dir(root: Any, params: ReleaseParams, status: str | None) -> Any:
    """Where this build's files go: the release, or beside it when it is already published."""
    return rebuild_dir(root, params) if status == "published" else release_dir(root, params)


def rebuild_dir(root: Any, params: ReleaseParams) -> Any:
    """Where a published version is rebuilt to be compared; never inside the release."""
    return root / params.name / f".rebuild-{params.version}"


@dataclass
class ReleaseOutcome:
    summary: dict[str, Any]
    readme: str | None = None
    manifest_sha256: str | None = None
    reproduced: bool | None = None  # a rebuild of a published version matched it


def finish_release(
    conn: psycopg2.extensions.connection, plan: ReleasePlan, root: Any
) -> ReleaseOutcome:
    """After the clips: write the release's files and publish, or compare a rebuild.

    A rebuild of a published version that differs (other than clips made by another ffmpeg)
    is an error naming the files: a published version never changes; release a new version.
    """
    params = plan.params
    if plan.status != "published":
        refuse_withdrawn(conn, params)
        target = release_dir(root, params)
        written = write_release_files(conn, params, target)
        publish(conn, params, written)
        return ReleaseOutcome(plan.summary(), written["readme"], written["manifest_sha256"])
    scratch = rebuild_dir(root, params)
    try:
        write_release_files(conn, params, scratch)
        published = (release_dir(root, params) / "manifest.json").read_bytes()
        rebuilt = (scratch / "manifest.json").read_bytes()
    finally:
        remove_tree(scratch)
    differing = compare_manifests(published, rebuilt)
    if differing:
        shown = ", ".join(differing[:10]) + (" ..." if len(differing) > 10 else "")
        raise ReleaseError(
            f"release {params.name} {params.version} is published and immutable, and a rebuild "
            f"differs in {len(differing)} file(s): {shown}. Nothing was changed; publish the "
            "changes as a new version."
        )
    return ReleaseOutcome(
        plan.summary(),
        str(release_dir(root, params) / "README.md"),
        hashlib.sha256(published).hexdigest(),
        reproduced=True,
    )


def prepare_output(plan: ReleasePlan, root: Any) -> Any:
    """An empty folder for the clips: the release's own, or beside it for a rebuild.

    Leftovers of an earlier attempt that failed are removed, so the manifest lists exactly
    this plan's files; a published release's folder is never touched.
    """
    target = clips_dir(root, plan.params, plan.status)
    remove_tree(target)
    target.mkdir(parents=True, exist_ok=True)
    return target


def build_release(
    conn: psycopg2.extensions.connection,
    params: ReleaseParams,
    root: Any,
    *,
    dry_run: bool = False,
    local_video: Callable[[str], AbstractContextManager[str]] = as_is,
) -> ReleaseOutcome:
    """The whole release in one process (CLI, demo, tests); the DAG runs the same steps."""
    plan = plan_release(conn, params, str(root), dry_run=dry_run)
    if dry_run:
        return ReleaseOutcome(plan.summary())
    target = prepare_output(plan, root)
    for batch in plan.video_batches(20):
        export_clips(
            load_sources(conn, params.name, params.version, batch), target, local_video=local_video
        )
    return finish_release(conn, plan, root)
