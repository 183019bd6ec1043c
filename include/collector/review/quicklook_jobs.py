"""Which activities need a quicklook, rendering them into storage, and recording the outcome.

Storage is path-like (``pathlib.Path`` or Airflow's ``ObjectStoragePath``); the MP4 is made
local by a callable the caller provides (a no-op for local files, a download for buckets).

Consent videos (FAQ 10) get a quicklook too, for reviewers to compare with the person in the
activity. It lives at ``consents/<subject_key>.jpg`` under the same root: one stable path per
subject (no email in it), so the review queue's cell never changes. Only a subject's newest
consent (by ``consented_at``, then ``consent_id``) is rendered there; older consents of the
subject are superseded and keep whatever they had (``NULL``: never rendered). Ingest resets a
changed consent record's quicklook columns to ``NULL``, which makes it due again.
"""

from __future__ import annotations

import contextlib
import html
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import psycopg2.extensions

from collector.core.clock import BUSINESS_TZ as REVIEW_TZ
from collector.core.media import StreamProbe, probe_video_stream
from collector.intake.consent import subject_key
from collector.review.quicklook import (
    DEFAULT_TILE_PX,
    DEFAULT_TILES,
    Keyframe,
    QuicklookFailed,
    QuicklookJob,
    Rect,
    render_consent_quicklook,
    render_montage,
)

log = logging.getLogger(__name__)

ActivityKey = tuple[str, int]

_STALE = """
SELECT a.video_id, a.activity_index
FROM activities a
JOIN videos v USING (video_id)
JOIN annotation_versions av ON av.video_id = v.video_id AND av.file_name = v.current_annotation
LEFT JOIN quicklooks q ON q.video_id = a.video_id AND q.activity_index = a.activity_index
WHERE (%(force)s OR q.video_id IS NULL OR q.annotation_sha256 <> av.sha256)
  AND (%(video_ids)s::text[] IS NULL OR a.video_id = ANY(%(video_ids)s::text[]))
  AND (%(collected_from)s::date IS NULL
       OR v.collected_at >= (%(collected_from)s::date)::timestamp AT TIME ZONE 'America/New_York')
  AND (%(collected_to)s::date IS NULL
       OR v.collected_at < (%(collected_to)s::date + 1)::timestamp AT TIME ZONE 'America/New_York')
ORDER BY v.collected_at, a.video_id, a.activity_index
"""

_JOBS = """
SELECT a.video_id, a.activity_index, a.shortname, a.start_frame, a.end_frame, v.frame_rate,
       round(v.duration_s * v.frame_rate)::int, v.frame_width, v.frame_height, v.mp4_uri,
       av.sha256,
       (SELECT coalesce(array_agg(ARRAY[b.frame_index, b.x, b.y, b.width, b.height]
                                  ORDER BY b.frame_index), '{}')
          FROM track_boxes b
         WHERE b.video_id = a.video_id
           AND b.object_index = coalesce(a.object_indices[1], 0)) AS keyframes
FROM activities a
JOIN videos v USING (video_id)
JOIN annotation_versions av ON av.video_id = v.video_id AND av.file_name = v.current_annotation
WHERE (a.video_id, a.activity_index) IN (SELECT * FROM unnest(%s::text[], %s::int[]))
ORDER BY a.video_id, a.activity_index
"""


def find_stale_activities(
    conn: psycopg2.extensions.connection,
    *,
    video_ids: list[str] | None = None,
    collected_from: date | None = None,
    collected_to: date | None = None,
    force: bool = False,
) -> list[ActivityKey]:
    """Activities with no quicklook for their current annotation (all matching ones if forced).

    Dates are calendar days in America/New_York, both ends included.
    """
    with conn.cursor() as cur:
        cur.execute(
            _STALE,
            {
                "force": force,
                "video_ids": video_ids or None,
                "collected_from": collected_from,
                "collected_to": collected_to,
            },
        )
        keys = [(video_id, index) for video_id, index in cur.fetchall()]
    conn.commit()
    return keys


def load_jobs(conn: psycopg2.extensions.connection, keys: list[ActivityKey]) -> list[QuicklookJob]:
    """Render jobs for these activities as the warehouse has them now (one query)."""
    if not keys:
        return []
    with conn.cursor() as cur:
        cur.execute(_JOBS, ([k[0] for k in keys], [k[1] for k in keys]))
        rows = cur.fetchall()
    conn.commit()
    jobs = []
    for row in rows:
        *fields, mp4_uri, sha256, keyframes = row
        jobs.append(
            QuicklookJob(
                *fields,
                mp4_path=mp4_uri,
                annotation_sha256=sha256,
                keyframes=tuple(Keyframe(int(k[0]), Rect(*map(float, k[1:]))) for k in keyframes),
            )
        )
    return jobs


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower() or "activity"


def review_day(moment: datetime) -> str:
    """The reviewers' calendar day (America/New_York) of a moment, as YYYY-MM-DD."""
    return moment.astimezone(REVIEW_TZ).date().isoformat()


@contextlib.contextmanager
def _as_is(uri: str) -> Iterator[str]:
    yield uri.removeprefix("file://")


def render_and_store(
    jobs: list[QuicklookJob],
    output_root: Any,
    *,
    now: datetime,
    local_video: Callable[[str], contextlib.AbstractContextManager[str]] = _as_is,
    tiles: int = DEFAULT_TILES,
    tile_px: int = DEFAULT_TILE_PX,
) -> list[dict]:
    """Render each job; a failure becomes a ``failed`` result, never an exception.

    The activities of one MP4 share one local copy and one probe of its video stream; results
    come in the order of ``jobs``.
    """
    by_video: dict[str, list[QuicklookJob]] = {}
    for job in jobs:
        by_video.setdefault(job.mp4_path, []).append(job)
    outcomes: dict[int, dict] = {}
    for mp4_path, group in by_video.items():
        with local_video(mp4_path) as local_path:
            stream = _probe_if_present(local_path)
            for job in group:
                outcomes[id(job)] = _render_one(
                    replace(job, mp4_path=local_path), stream, output_root, now, tiles, tile_px
                )
    return [outcomes[id(job)] for job in jobs]


def _probe_if_present(local_path: str) -> StreamProbe | None:
    """The stream's probe, or None when there is no file to probe (the render says why)."""
    path = Path(local_path)
    if not path.is_file() or path.stat().st_size == 0:
        return None
    return probe_video_stream(local_path)


def _render_one(
    job: QuicklookJob,
    stream: StreamProbe | None,
    output_root: Any,
    now: datetime,
    tiles: int,
    tile_px: int,
) -> dict:
    """Render and store one activity's montage: its ``ok`` or ``failed`` result."""
    base = {
        "video_id": job.video_id,
        "activity_index": job.activity_index,
        "annotation_sha256": job.annotation_sha256,
    }
    try:
        montage = render_montage(job, tiles=tiles, tile_px=tile_px, stream=stream)
    except QuicklookFailed as failure:
        log.warning(
            "quicklook failed for video %s activity %d (%s): %s",
            job.video_id,
            job.activity_index,
            job.shortname,
            failure.reason,
        )
        return {**base, "status": "failed", "reason": failure.reason}
    if montage.frame_indices[-1] < job.end_frame:
        log.warning(
            "video %s activity %d (%s): the video stream ends at frame %d, the activity at %d: "
            "the montage shows the frames that exist",
            job.video_id,
            job.activity_index,
            job.shortname,
            stream.frames - 1 if stream else -1,
            job.end_frame,
        )
    folder = output_root / review_day(now) / job.video_id
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / (
        f"{job.activity_index:02d}_{_slug(job.shortname)}_{job.annotation_sha256[:8]}.jpg"
    )
    target.write_bytes(montage.jpeg)
    return {
        **base,
        "status": "ok",
        "image_uri": str(target),
        "image_bytes": len(montage.jpeg),
        "frame_indices": montage.frame_indices,
        "render_ms": round(montage.render_seconds * 1000),
        "peak_rss_bytes": montage.peak_rss_bytes,
    }


def record_results(
    conn: psycopg2.extensions.connection, results: list[dict], now: datetime
) -> None:
    """Upsert the batch's outcomes in one transaction (an activity edited meanwhile is skipped)."""
    with conn.cursor() as cur:
        for r in results:
            cur.execute(
                """INSERT INTO quicklooks (video_id, activity_index, annotation_sha256, status,
                       reason, image_uri, image_bytes, frame_indices, render_ms, peak_rss_bytes,
                       rendered_at)
                   SELECT %(video_id)s, %(activity_index)s, %(annotation_sha256)s, %(status)s,
                          %(reason)s, %(image_uri)s, %(image_bytes)s, %(frame_indices)s,
                          %(render_ms)s, %(peak_rss_bytes)s, %(now)s
                   WHERE EXISTS (SELECT 1 FROM activities
                                 WHERE video_id = %(video_id)s AND activity_index = %(activity_index)s)
                   ON CONFLICT (video_id, activity_index) DO UPDATE SET
                       annotation_sha256 = EXCLUDED.annotation_sha256, status = EXCLUDED.status,
                       reason = EXCLUDED.reason, image_uri = EXCLUDED.image_uri,
                       image_bytes = EXCLUDED.image_bytes, frame_indices = EXCLUDED.frame_indices,
                       render_ms = EXCLUDED.render_ms, peak_rss_bytes = EXCLUDED.peak_rss_bytes,
                       rendered_at = EXCLUDED.rendered_at""",
                {
                    "reason": None,
                    "image_uri": None,
                    "image_bytes": None,
                    "frame_indices": None,
                    "render_ms": None,
                    "peak_rss_bytes": None,
                    **r,
                    "now": now,
                },
            )
    conn.commit()


# Each subject's newest consent: the one whose quicklook the review queue shows.
NEWEST_CONSENTS = """
SELECT DISTINCT ON (subject_email) consent_id, subject_email, video_uri, sha256,
       quicklook_status, quicklook_uri, quicklook_reason
FROM consent_records
ORDER BY subject_email, consented_at DESC, consent_id DESC
"""


@dataclass(frozen=True)
class ConsentQuicklookJob:
    """One consent video to render; ``sha256`` is the record's (a re-ingest makes it stale)."""

    consent_id: str
    subject_email: str
    video_uri: str
    sha256: str


def find_unrendered_consents(conn: psycopg2.extensions.connection) -> list[ConsentQuicklookJob]:
    """Each subject's newest consent record if its quicklook is not rendered yet."""
    with conn.cursor() as cur:
        cur.execute(
            f"""SELECT consent_id, subject_email, video_uri, sha256
                FROM ({NEWEST_CONSENTS}) newest
                WHERE quicklook_status IS NULL
                ORDER BY subject_email"""
        )
        jobs = [ConsentQuicklookJob(*row) for row in cur.fetchall()]
    conn.commit()
    return jobs


def consent_quicklook_path(output_root: Any, subject_email: str) -> Any:
    """The subject's stable quicklook path (the newest consent's JPEG)."""
    return output_root / "consents" / f"{subject_key(subject_email)}.jpg"


def render_consent_quicklooks(
    jobs: list[ConsentQuicklookJob],
    output_root: Any,
    *,
    local_video: Callable[[str], contextlib.AbstractContextManager[str]] = _as_is,
    tile_px: int = DEFAULT_TILE_PX,
) -> list[dict]:
    """Render each consent video's quicklook; a failure becomes a ``failed`` result."""
    results = []
    for job in jobs:
        base = {"consent_id": job.consent_id, "sha256": job.sha256}
        try:
            with local_video(job.video_uri) as local_path:
                jpeg = render_consent_quicklook(local_path, tile_px=tile_px)
        except QuicklookFailed as failure:
            log.warning("consent quicklook failed for %s: %s", job.consent_id, failure.reason)
            results.append({**base, "status": "failed", "uri": None, "reason": failure.reason})
            continue
        target = consent_quicklook_path(output_root, job.subject_email)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(jpeg)
        results.append({**base, "status": "ok", "uri": str(target), "reason": None})
    return results


def record_consent_results(
    conn: psycopg2.extensions.connection, results: list[dict], now: datetime
) -> int:
    """Store the outcomes in one transaction; a record re-ingested meanwhile stays due."""
    recorded = 0
    with conn.cursor() as cur:
        for r in results:
            cur.execute(
                """UPDATE consent_records SET quicklook_status = %(status)s,
                       quicklook_uri = %(uri)s, quicklook_reason = %(reason)s,
                       quicklook_rendered_at = %(now)s
                   WHERE consent_id = %(consent_id)s AND sha256 = %(sha256)s""",
                {**r, "now": now},
            )
            recorded += cur.rowcount
    conn.commit()
    return recorded


def contact_sheet_days(conn: psycopg2.extensions.connection, since: datetime) -> list[str]:
    """Review days that have quicklooks rendered at or after ``since``."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT DISTINCT (rendered_at AT TIME ZONE 'America/New_York')::date "
            "FROM quicklooks WHERE rendered_at >= %s ORDER BY 1",
            (since,),
        )
        days = [row[0].isoformat() for row in cur.fetchall()]
    conn.commit()
    return days


def contact_sheet_html(conn: psycopg2.extensions.connection, day: str, root_uri: str) -> str:
    """One page for reviewers: every quicklook rendered that day, failures flagged first."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT q.video_id, v.collection_id, cv.name, a.shortname, a.start_frame,
                      a.end_frame, q.status, q.reason, q.image_uri, q.frame_indices
               FROM quicklooks q
               JOIN activities a USING (video_id, activity_index)
               JOIN videos v USING (video_id)
               JOIN collection_versions cv
                 ON cv.collection_id = v.collection_id AND cv.version = v.collection_version
               WHERE (q.rendered_at AT TIME ZONE 'America/New_York')::date = %s::date
               ORDER BY q.status = 'ok', v.collection_id, q.video_id, q.activity_index""",
            (day,),
        )
        rows = cur.fetchall()
    conn.commit()
    root = root_uri.rstrip("/") + "/"
    cards = []
    for video_id, cid, cname, label, start, end, status, reason, image_uri, frames in rows:
        e = html.escape
        head = (
            f"<h3>{e(label)} <small>frames {start}-{end}</small></h3>"
            f"<p>Video <code>{e(video_id)}</code><br>{e(cid)} · {e(cname)}</p>"
        )
        if status == "ok":
            src = image_uri.removeprefix(root) if image_uri.startswith(root) else image_uri
            body = (
                f'<a href="{e(src)}"><img src="{e(src)}" loading="lazy" '
                f'alt="{e(label)} in {e(video_id)}"></a>'
                f"<p class=frames>tiles at frames {', '.join(map(str, frames))}</p>"
            )
            cards.append(f'<div class="card">{head}{body}</div>')
        else:
            cards.append(
                f'<div class="card failed">{head}<p class=flag>No quicklook: {e(reason)}</p></div>'
            )
    failed = sum(1 for r in rows if r[6] != "ok")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Quicklooks {day}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; background: #fafafa; }}
.grid {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 1rem; }}
.card {{ background: white; border: 1px solid #ddd; border-radius: 6px; padding: .6rem; }}
.card img {{ width: 100%; }}
.failed {{ border-color: #c00; background: #fff3f3; }}
.flag {{ color: #a00; font-weight: 600; }}
h3 {{ margin: 0 0 .3rem; }} small, .frames {{ color: #666; }}
</style></head><body>
<h1>Quicklooks rendered {day} (America/New_York)</h1>
<p>{len(rows)} activities, {failed} without a quicklook (flagged in red, with the reason).</p>
<div class="grid">
{chr(10).join(cards)}
</div></body></html>
"""
