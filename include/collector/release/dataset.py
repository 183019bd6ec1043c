"""Public dataset releases of accepted videos (FAQ 7), the way People in Public describes them.

A release holds one actor-centred tubelet clip per activity that reviewers rated positively
(every reviewer passed it: score 1), in an accepted video whose every subject has consent on
file and none withdrew (FAQ 10). Per clip: the actor's boxes over the clip's frames, dilated
2.0x around their union, made square at its largest side, cropped with zero padding where the
square leaves the frame and resized to 512x512, H.264; the activity is padded in time by the
category's rule (``release_padding_rules``: data, not code), clamped to the video.

One ffmpeg process per source video renders all of its clips (decode once, ``split``, one
encoder per clip), never one full decode per activity (bench/release.py measures both).

Files are written through path-like objects (``pathlib.Path`` or Airflow's
``ObjectStoragePath``). Everything but the clips is byte-for-byte reproducible from the
warehouse: a rebuild of the same name and version is compared with the published manifest,
and a published version is never overwritten.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import shutil
import subprocess
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import ffmpeg
import psycopg2.extensions
from psycopg2.extras import Json

from collector.core.clock import BUSINESS_TZ
from collector.core.media import ffmpeg_binary, run_measured
from collector.review.quicklook import Keyframe, Rect, interpolate_box

DILATION = 2.0
CLIP_PX = 512
SPLITS = (("train", Decimal("0.7")), ("val", Decimal("0.1")), ("test", Decimal("0.2")))
LICENCE = "Creative Commons Attribution 4.0 International (CC BY 4.0)"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
VERSION_PATTERN = re.compile(r"^\d+\.\d+(\.\d+)?$")
VERSION_PARTS = re.compile(r"\d+")
# x264 with one thread and bit-exact muxing: the same ffmpeg makes the same bytes.
ENCODER_OPTIONS = {
    "vcodec": "libx264",
    "preset": "veryfast",
    "crf": 23,
    "pix_fmt": "yuv420p",
    "threads": 1,
    "an": None,
    "movflags": "+faststart",
    "map_metadata": -1,
    "fflags": "+bitexact",
    "flags:v": "+bitexact",
}


class ReleaseError(ValueError):
    """A release cannot be made as asked; the message says what to change."""


# ---------------------------------------------------------------------------------------------
# Geometry and time: pure functions, tested on their own.


@dataclass(frozen=True)
class PaddingRule:
    category: str
    pad_before_s: Decimal
    pad_after_s: Decimal
    min_length_s: Decimal
    why: str


@dataclass(frozen=True)
class Crop:
    """A square in source display coordinates; it may extend past the frame (zero padded)."""

    x: int
    y: int
    side: int

    @property
    def scale(self) -> float:
        return CLIP_PX / self.side

    def to_clip(self, box: Rect) -> Rect:
        s = self.scale
        return Rect((box.x - self.x) * s, (box.y - self.y) * s, box.w * s, box.h * s)

    def to_source(self, box: Rect) -> Rect:
        s = self.scale
        return Rect(box.x / s + self.x, box.y / s + self.y, box.w / s, box.h / s)


def padding_rule(rules: dict[str, PaddingRule], category: str) -> PaddingRule:
    """The category's rule (a ``#variant`` is ignored), else the ``*`` rule."""
    base = category.partition("#")[0].strip()
    return rules.get(base) or rules["*"]


def padded_frames(
    start_frame: int, end_frame: int, frame_rate: float, frame_count: int, rule: PaddingRule
) -> tuple[int, int]:
    """The clip's first and last source frame (inclusive), padded by ``rule`` and clamped."""
    first = max(0, start_frame)
    last = min(end_frame, frame_count - 1)
    if last < first:
        raise ReleaseError(f"frames {start_frame}..{end_frame} are outside the video")
    before = round(float(rule.pad_before_s) * frame_rate)
    after = round(float(rule.pad_after_s) * frame_rate)
    shortfall = math.ceil(float(rule.min_length_s) * frame_rate) - (
        last - first + 1 + before + after
    )
    if shortfall > 0:
        before += shortfall // 2
        after += shortfall - shortfall // 2
    return max(0, first - before), min(frame_count - 1, last + after)


def tubelet_crop(boxes: list[Rect], dilation: float = DILATION) -> Crop:
    """The union of the actor's boxes, dilated about its centre, squared at its largest side."""
    if not boxes:
        raise ReleaseError("the actor has no box in the clip's frames")
    x0 = min(b.x for b in boxes)
    y0 = min(b.y for b in boxes)
    x1 = max(b.x + b.w for b in boxes)
    y1 = max(b.y + b.h for b in boxes)
    side = max(2, math.ceil(max(x1 - x0, y1 - y0) * dilation))
    side += side % 2
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return Crop(round(cx - side / 2), round(cy - side / 2), side)


def crop_filter_args(crop: Crop, width: int, height: int) -> tuple[tuple, tuple]:
    """ffmpeg ``crop`` (the part inside the frame) and ``pad`` (black to the full square)."""
    ix0, iy0 = max(0, crop.x), max(0, crop.y)
    ix1, iy1 = min(width, crop.x + crop.side), min(height, crop.y + crop.side)
    if ix1 - ix0 < 1 or iy1 - iy0 < 1:
        raise ReleaseError(f"the crop {crop} does not overlap the {width}x{height} frame")
    return (ix1 - ix0, iy1 - iy0, ix0, iy0), (crop.side, crop.side, ix0 - crop.x, iy0 - crop.y)


# ---------------------------------------------------------------------------------------------
# Selection, splits and the plan.


@dataclass(frozen=True)
class ReleaseParams:
    name: str
    version: str
    collections: tuple[str, ...] = ()
    collected_from: date | None = None  # America/New_York days, both ends included
    collected_to: date | None = None

    def __post_init__(self) -> None:
        if not NAME_PATTERN.match(self.name):
            raise ReleaseError(
                f"release name {self.name!r}: expected lower-case letters, digits, '-' or '_' "
                "(at most 64), e.g. 'people-in-public'"
            )
        if not VERSION_PATTERN.match(self.version):
            raise ReleaseError(
                f"release version {self.version!r}: expected MAJOR.MINOR[.PATCH], e.g. '1.0'"
            )
        if self.collected_from and self.collected_to and self.collected_to < self.collected_from:
            raise ReleaseError(
                f"collected_to {self.collected_to} is before collected_from {self.collected_from}"
            )

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "collections": sorted(self.collections),
            "collected_from": self.collected_from.isoformat() if self.collected_from else None,
            "collected_to": self.collected_to.isoformat() if self.collected_to else None,
        }


@dataclass(frozen=True)
class ReleaseItem:
    clip_id: str
    video_id: str
    activity_index: int
    collector_id: str
    collection_id: str
    category: str
    subject_emails: tuple[str, ...]


_SELECT = """
SELECT a.video_id, a.activity_index, v.collector_id, v.collection_id,
       coalesce(a.category, cv.activity_categories[array_position(cv.activity_shortnames, a.shortname)]),
       v.subject_ids
FROM activities a
JOIN videos v USING (video_id)
JOIN collection_versions cv ON cv.collection_id = v.collection_id AND cv.version = v.collection_version
JOIN video_scores s USING (video_id)
JOIN activity_scores sc USING (video_id, activity_index)
WHERE s.accepted
  AND cv.kind <> 'self_serve'  -- a self-serve video belongs to its owner (FAQ 3)
  AND NOT sc.pending AND sc.score >= 1  -- every reviewer passed it (good, perfect; warnings ok)
  AND cardinality(v.subject_ids) > 0
  AND NOT EXISTS (  -- every subject consented, and none withdrew (FAQ 10)
      SELECT 1 FROM unnest(v.subject_ids) AS subject
      WHERE NOT EXISTS (SELECT 1 FROM consent_records c WHERE c.subject_email = subject)
         OR EXISTS (SELECT 1 FROM consent_withdrawals w WHERE w.subject_email = subject))
  AND EXISTS (SELECT 1 FROM track_boxes b
              WHERE b.video_id = a.video_id
                AND b.object_index = coalesce(a.object_indices[1], 0))
  AND (cardinality(%(collections)s::text[]) = 0 OR v.collection_id = ANY(%(collections)s::text[]))
  AND (%(from)s::timestamptz IS NULL OR v.collected_at >= %(from)s::timestamptz)
  AND (%(to)s::timestamptz IS NULL OR v.collected_at < %(to)s::timestamptz)
ORDER BY a.video_id, a.activity_index
"""


def clip_id(video_id: str, activity_index: int) -> str:
    return f"{video_id}_{activity_index:02d}"


def select_items(conn: psycopg2.extensions.connection, params: ReleaseParams) -> list[ReleaseItem]:
    """Every activity the release may hold, in a stable order."""

    def day_start(day: date | None) -> datetime | None:
        return None if day is None else datetime.combine(day, time(0), BUSINESS_TZ)

    with conn.cursor() as cur:
        cur.execute(
            _SELECT,
            {
                "collections": list(params.collections),
                "from": day_start(params.collected_from),
                "to": day_start(params.collected_to + timedelta(days=1))
                if params.collected_to
                else None,
            },
        )
        rows = cur.fetchall()
    conn.commit()
    return [
        ReleaseItem(clip_id(vid, idx), vid, idx, collector, collection, category, tuple(subjects))
        for vid, idx, collector, collection, category, subjects in rows
        if category
    ]


def assign_splits(instances_by_collector: dict[str, int], release_name: str) -> dict[str, str]:
    """Collector -> split: no collector in two splits, deterministic from the release name.

    Collectors are taken largest first (ties in an order hashed from the release name), each
    to the split furthest below its share of instances (70/10/20).
    """

    def tiebreak(collector: str) -> str:
        return hashlib.sha256(f"{release_name}\0{collector}".encode()).hexdigest()

    total = sum(instances_by_collector.values())
    filled = {split: 0 for split, _ in SPLITS}
    assignment = {}
    for collector in sorted(
        instances_by_collector, key=lambda c: (-instances_by_collector[c], tiebreak(c))
    ):
        split = max(SPLITS, key=lambda s: s[1] * total - filled[s[0]])[0]
        assignment[collector] = split
        filled[split] += instances_by_collector[collector]
    return assignment


@dataclass
class ReleasePlan:
    params: ReleaseParams
    items: list[ReleaseItem]
    splits: dict[str, str]  # collector -> split
    status: str  # "new" (to build), "building" (resumed) or "published" (rebuild to verify)

    def video_batches(self, size: int) -> list[list[str]]:
        videos = sorted({i.video_id for i in self.items})
        return [videos[i : i + size] for i in range(0, len(videos), size)]

    def summary(self) -> dict[str, Any]:
        by_split = Counter(self.splits[i.collector_id] for i in self.items)
        return {
            "release": f"{self.params.name} {self.params.version}",
            "status": self.status,
            "clips": len(self.items),
            "videos": len({i.video_id for i in self.items}),
            "collectors": len(self.splits),
            "categories": dict(sorted(Counter(i.category for i in self.items).items())),
            "splits": {s: by_split.get(s, 0) for s, _ in SPLITS},
        }


def next_release_version(conn: psycopg2.extensions.connection, name: str) -> str:
    """The version after the highest recorded for ``name`` (minor + 1), or 1.0 for a new name."""
    with conn.cursor() as cur:
        cur.execute("SELECT version FROM dataset_releases WHERE name = %s", (name,))
        versions = [r[0] for r in cur.fetchall() if VERSION_PATTERN.match(r[0])]
    conn.commit()
    if not versions:
        return "1.0"
    major, minor = max(tuple(int(p) for p in VERSION_PARTS.findall(v)) for v in versions)[:2]
    return f"{major}.{minor + 1}"


def release_status(conn, name: str, version: str) -> str | None:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT status FROM dataset_releases WHERE name = %s AND version = %s", (name, version)
        )
        row = cur.fetchone()
    conn.commit()
    return row[0] if row else None


def plan_release(
    conn: psycopg2.extensions.connection, params: ReleaseParams, output_uri: str, *, dry_run: bool
) -> ReleasePlan:
    """Select, split and (unless a dry run or already published) record the plan."""
    status = release_status(conn, params.name, params.version)
    if status == "published":
        items = load_items(conn, params.name, params.version)
        splits = _recorded_splits(conn, params.name, params.version)
        return ReleasePlan(params, items, splits, "published")
    items = select_items(conn, params)
    if not items:
        raise ReleaseError(
            "nothing to release: no positively rated activity in an accepted video with "
            f"consent on file matches {params.as_json()}"
        )
    splits = assign_splits(Counter(i.collector_id for i in items), params.name)
    plan = ReleasePlan(params, items, splits, "building" if status else "new")
    if dry_run:
        return plan
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO dataset_releases (name, version, status, params, output_uri)
               VALUES (%s, %s, 'building', %s, %s)
               ON CONFLICT (name, version) DO UPDATE SET params = EXCLUDED.params,
                   output_uri = EXCLUDED.output_uri""",
            (params.name, params.version, Json(params.as_json()), output_uri),
        )
        cur.execute(
            "DELETE FROM release_items WHERE name = %s AND version = %s",
            (params.name, params.version),
        )
        cur.executemany(
            """INSERT INTO release_items (name, version, clip_id, video_id, activity_index,
                   collector_id, collection_id, category, subject_emails, split)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
            [
                (
                    params.name,
                    params.version,
                    i.clip_id,
                    i.video_id,
                    i.activity_index,
                    i.collector_id,
                    i.collection_id,
                    i.category,
                    list(i.subject_emails),
                    splits[i.collector_id],
                )
                for i in items
            ],
        )
    conn.commit()
    return plan


def load_plan(conn: psycopg2.extensions.connection, params: ReleaseParams) -> ReleasePlan:
    """The plan recorded by :func:`plan_release` (what later tasks, on any machine, work on)."""
    status = release_status(conn, params.name, params.version)
    if status is None:
        raise ReleaseError(f"release {params.name} {params.version} has no recorded plan")
    return ReleasePlan(
        params,
        load_items(conn, params.name, params.version),
        _recorded_splits(conn, params.name, params.version),
        status,
    )


def load_items(conn, name: str, version: str) -> list[ReleaseItem]:
    with conn.cursor() as cur:
        cur.execute(
            """SELECT clip_id, video_id, activity_index, collector_id, collection_id, category,
                      subject_emails
               FROM release_items WHERE name = %s AND version = %s ORDER BY clip_id""",
            (name, version),
        )
        rows = cur.fetchall()
    conn.commit()
    return [ReleaseItem(r[0], r[1], r[2], r[3], r[4], r[5], tuple(r[6])) for r in rows]


def _recorded_splits(conn, name: str, version: str) -> dict[str, str]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT DISTINCT collector_id, split FROM release_items WHERE name = %s AND version = %s",
            (name, version),
        )
        rows = cur.fetchall()
    conn.commit()
    return dict(rows)


# ---------------------------------------------------------------------------------------------
# Clips: one ffmpeg process per source video.


@dataclass(frozen=True)
class ClipJob:
    """One clip to cut from a source video, with everything its annotation says."""

    clip_id: str
    split: str
    video_id: str
    activity_index: int
    collection_id: str
    category: str
    shortname: str
    activity_frames: tuple[int, int]  # as labelled (source frames)
    frames: tuple[int, int]  # padded and clamped, inclusive
    crop: Crop
    actor_boxes: tuple[Rect, ...]  # source coordinates, one per clip frame

    def annotation(self, frame_rate: float) -> dict[str, Any]:
        first, last = self.frames
        return {
            "clip_id": self.clip_id,
            "category": self.category,
            "shortname": self.shortname,
            "split": self.split,
            "source": {
                "video_id": self.video_id,
                "collection_id": self.collection_id,
                "activity_index": self.activity_index,
                "activity_frames": list(self.activity_frames),
                "clip_frames": [first, last],
                "crop": {"x": self.crop.x, "y": self.crop.y, "side": self.crop.side},
            },
            "clip": {
                "width": CLIP_PX,
                "height": CLIP_PX,
                "frame_rate": frame_rate,
                "frame_count": last - first + 1,
                "activity_frames": [
                    self.activity_frames[0] - first,
                    min(self.activity_frames[1], last) - first,
                ],
            },
            # Per clip frame: [frame, x, y, width, height] of the actor in clip pixels.
            "actor_boxes": [
                [n, *(round(v, 2) for v in (b.x, b.y, b.w, b.h))]
                for n, b in enumerate(self.crop.to_clip(box) for box in self.actor_boxes)
            ],
            "license": LICENCE,
        }


@dataclass(frozen=True)
class SourceVideo:
    video_id: str
    mp4_uri: str
    frame_rate: float
    frame_count: int
    frame_width: int
    frame_height: int
    clips: tuple[ClipJob, ...]


def load_sources(
    conn: psycopg2.extensions.connection, name: str, version: str, video_ids: list[str]
) -> list[SourceVideo]:
    """The batch's source videos with their clips' geometry, from the recorded plan."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT category, pad_before_s, pad_after_s, min_length_s, why FROM release_padding_rules"
        )
        rules = {r[0]: PaddingRule(*r) for r in cur.fetchall()}
        cur.execute(
            """SELECT ri.clip_id, ri.split, ri.video_id, ri.activity_index, ri.collection_id,
                      ri.category, a.shortname, a.start_frame, a.end_frame,
                      coalesce(a.object_indices[1], 0), v.mp4_uri, v.frame_rate, v.duration_s,
                      v.frame_width, v.frame_height
               FROM release_items ri
               JOIN activities a USING (video_id, activity_index)
               JOIN videos v USING (video_id)
               WHERE ri.name = %s AND ri.version = %s AND ri.video_id = ANY(%s)
               ORDER BY ri.video_id, ri.activity_index""",
            (name, version, video_ids),
        )
        rows = cur.fetchall()
        cur.execute(
            """SELECT video_id, object_index, frame_index, x, y, width, height FROM track_boxes
               WHERE video_id = ANY(%s) ORDER BY video_id, object_index, frame_index""",
            (video_ids,),
        )
        keyframes: dict[tuple[str, int], list[Keyframe]] = defaultdict(list)
        for vid, obj, frame, x, y, w, h in cur.fetchall():
            keyframes[(vid, obj)].append(Keyframe(frame, Rect(x, y, w, h)))
    conn.commit()
    clips: dict[str, list[ClipJob]] = defaultdict(list)
    videos: dict[str, tuple] = {}
    for (
        cid,
        split,
        vid,
        index,
        collection,
        category,
        shortname,
        start,
        end,
        actor,
        uri,
        fps,
        duration,
        width,
        height,
    ) in rows:
        frame_count = round(duration * fps)
        first, last = padded_frames(start, end, fps, frame_count, padding_rule(rules, category))
        track = tuple(keyframes[(vid, actor)])
        boxes = tuple(interpolate_box(track, f) for f in range(first, last + 1))
        clips[vid].append(
            ClipJob(
                cid,
                split,
                vid,
                index,
                collection,
                category,
                shortname,
                (start, end),
                (first, last),
                tubelet_crop(list(boxes)),
                boxes,
            )
        )
        videos[vid] = (uri, fps, frame_count, width, height)
    return [SourceVideo(vid, *videos[vid], clips=tuple(clips[vid])) for vid in sorted(videos)]


def clip_command(source: SourceVideo, local_mp4: str, out_dir: Path) -> list[str]:
    """One ffmpeg process: decode once, split, and encode every clip of the video."""
    stream = ffmpeg.input(local_mp4).video.filter("scale", source.frame_width, source.frame_height)
    branches = stream.filter_multi_output("split", len(source.clips))
    outputs = []
    for n, clip in enumerate(source.clips):
        (cw, ch, cx, cy), (pw, ph, px, py) = crop_filter_args(
            clip.crop, source.frame_width, source.frame_height
        )
        first, last = clip.frames
        branch = (
            branches[n]
            .trim(start_frame=first, end_frame=last + 1)
            .setpts("PTS-STARTPTS")
            .crop(cx, cy, cw, ch)
            .filter("pad", pw, ph, px, py, color="black")
            .filter("scale", CLIP_PX, CLIP_PX, flags="bicubic")
            .filter("setsar", 1)
        )
        outputs.append(
            ffmpeg.output(branch, str(out_dir / f"{clip.clip_id}.mp4"), **ENCODER_OPTIONS)
        )
    args = ffmpeg.merge_outputs(*outputs).overwrite_output().get_args()
    return [ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-nostdin", *args]


def naive_clip_commands(source: SourceVideo, local_mp4: str, out_dir: Path) -> list[list[str]]:
    """The reference way (bench only): one ffmpeg process, one full decode, per clip."""
    return [
        clip_command(replace(source, clips=(clip,)), local_mp4, out_dir) for clip in source.clips
    ]


@dataclass
class ExportResult:
    clips: int = 0
    failed: list[str] = field(default_factory=list)  # "clip_id: reason"
    peak_rss_bytes: int = 0


def _as_is(uri: str) -> AbstractContextManager[str]:
    @contextmanager
    def local() -> Iterator[str]:
        yield uri.removeprefix("file://")

    return local()


def export_clips(
    sources: list[SourceVideo],
    release_dir: Any,
    *,
    local_video: Callable[[str], AbstractContextManager[str]] = _as_is,
) -> ExportResult:
    """Render every clip of ``sources`` and write clips/ and annotations/ under ``release_dir``.

    A source that ffmpeg cannot decode fails the batch: a release is all or nothing, and the
    error names the video so ops can fix or exclude it.
    """
    result = ExportResult()
    clips_dir, notes_dir = release_dir / "clips", release_dir / "annotations"
    clips_dir.mkdir(parents=True, exist_ok=True)
    notes_dir.mkdir(parents=True, exist_ok=True)
    for source in sources:
        with (
            tempfile.TemporaryDirectory(prefix="release-") as tmp,
            local_video(source.mp4_uri) as local_mp4,
        ):
            scratch = Path(tmp)
            run = run_measured(
                clip_command(source, local_mp4, scratch),
                timeout_s=max(300.0, source.frame_count / source.frame_rate * 10),
            )
            result.peak_rss_bytes = max(result.peak_rss_bytes, run.peak_rss_bytes)
            if run.returncode != 0:
                detail = run.stderr.decode(errors="replace").strip().splitlines()
                raise ReleaseError(
                    f"ffmpeg could not cut the clips of video {source.video_id} from "
                    f"{source.mp4_uri}: {detail[-1] if detail else f'exit {run.returncode}'}"
                )
            for clip in source.clips:
                (clips_dir / f"{clip.clip_id}.mp4").write_bytes(
                    (scratch / f"{clip.clip_id}.mp4").read_bytes()
                )
                (notes_dir / f"{clip.clip_id}.json").write_bytes(
                    canonical_json(clip.annotation(source.frame_rate))
                )
                result.clips += 1
    return result


def canonical_json(document: Any) -> bytes:
    return (json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


@cache
def ffmpeg_version() -> str:
    first = subprocess.run(
        [ffmpeg_binary(), "-version"], capture_output=True, text=True, check=True
    ).stdout.splitlines()[0]
    return first.removeprefix("ffmpeg version ").split(" Copyright")[0].strip()


# ---------------------------------------------------------------------------------------------
# The release's own files, the manifest, and publishing.


def _annotations(release_dir: Any, items: list[ReleaseItem]) -> list[dict]:
    return [
        json.loads((release_dir / "annotations" / f"{i.clip_id}.json").read_bytes()) for i in items
    ]


def annotations_csv(annotations: list[dict]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        [
            "clip_id",
            "split",
            "category",
            "shortname",
            "video_id",
            "collection_id",
            "activity_index",
            "source_first_frame",
            "source_last_frame",
            "frame_count",
            "frame_rate",
            "crop_x",
            "crop_y",
            "crop_side",
            "clip",
            "annotation",
        ]
    )
    for a in annotations:
        src = a["source"]
        writer.writerow(
            [
                a["clip_id"],
                a["split"],
                a["category"],
                a["shortname"],
                src["video_id"],
                src["collection_id"],
                src["activity_index"],
                *src["clip_frames"],
                a["clip"]["frame_count"],
                a["clip"]["frame_rate"],
                src["crop"]["x"],
                src["crop"]["y"],
                src["crop"]["side"],
                f"clips/{a['clip_id']}.mp4",
                f"annotations/{a['clip_id']}.json",
            ]
        )
    return out.getvalue().encode()


def takedown_rows(conn, name: str, version: str) -> list[list[str]]:
    """Items of earlier published releases whose subject has since withdrawn consent."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT r.name, r.version, ri.clip_id, ri.video_id,
                      min(w.withdrawn_at AT TIME ZONE 'UTC')::date
               FROM release_items ri
               JOIN dataset_releases r USING (name, version)
               JOIN consent_withdrawals w ON w.subject_email = ANY(ri.subject_emails)
               WHERE r.status = 'published' AND (r.name, r.version) <> (%s, %s)
               GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3""",
            (name, version),
        )
        rows = cur.fetchall()
    conn.commit()
    return [[n, v, c, vid, f"clips/{c}.mp4", d.isoformat()] for n, v, c, vid, d in rows]


def takedown_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["release", "version", "clip_id", "video_id", "clip", "consent_withdrawn_on"])
    writer.writerows(rows)
    return out.getvalue().encode()


def histogram_svg(counts: dict[str, int]) -> bytes:
    """Instances per category as a horizontal bar chart (plain SVG, no plotting library)."""
    bar_h, label_w, chart_w, top = 22, 300, 420, 40
    most = max(counts.values()) if counts else 1
    height = top + bar_h * len(counts) + 20
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + chart_w + 80}" '
        f'height="{height}" font-family="sans-serif" font-size="13">',
        '<text x="10" y="22" font-size="15" font-weight="bold">Instances per category</text>',
    ]
    for n, (category, count) in enumerate(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))):
        y = top + n * bar_h
        width = max(1, round(chart_w * count / most))
        parts += [
            f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{_xml(category)}</text>',
            f'<rect x="{label_w}" y="{y + 3}" width="{width}" height="{bar_h - 6}" fill="#3b6ea8"/>',
            f'<text x="{label_w + width + 6}" y="{y + 15}">{count}</text>',
        ]
    parts.append("</svg>")
    return ("\n".join(parts) + "\n").encode()


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def datasheet(
    params: ReleaseParams,
    annotations: list[dict],
    items: list[ReleaseItem],
    collected: tuple[date, date],
    rules: list[PaddingRule],
    takedowns: int,
    ffmpeg: str,
) -> bytes:
    """README.md: what is in the release, where it came from and how it was made."""
    per_category: dict[str, Counter] = defaultdict(Counter)
    for a in annotations:
        per_category[a["category"]][a["split"]] += 1
    collectors = {i.collector_id for i in items}
    videos = {i.video_id for i in items}
    split_counts = Counter(a["split"] for a in annotations)
    split_collectors: dict[str, set] = defaultdict(set)
    by_clip = {a["clip_id"]: a["split"] for a in annotations}
    for i in items:
        split_collectors[by_clip[i.clip_id]].add(i.collector_id)
    lines = [
        f"# {params.name} {params.version}",
        "",
        f"{len(annotations)} actor-centred activity clips in {len(per_category)} categories, cut "
        f"from {len(videos)} videos recorded by {len(collectors)} collectors between "
        f"{collected[0].isoformat()} and {collected[1].isoformat()} (America/New_York). Every "
        "person recorded consented to the recording and confirmed being 18 or older; the "
        "consent video was compared with the person in the video by the review team.",
        "",
        "## Licence",
        "",
        f"{LICENCE}: {LICENCE_URL}. Attribute the collectors as the People in Public release "
        "does: cite the release name and version.",
        "",
        "## Contents",
        "",
        "| path | what |",
        "|---|---|",
        "| `clips/<clip_id>.mp4` | the clip: H.264, 512x512, the source's frame rate, no audio |",
        "| `annotations/<clip_id>.json` | category, frames, the actor's box per frame (clip pixels), source video and collection |",
        "| `annotations.csv` | one row per clip, the same fields as the JSON except the boxes |",
        "| `splits/{train,val,test}.txt` | clip ids per split |",
        "| `instances_per_category.svg` | the histogram below |",
        "| `takedown.csv` | clips of earlier releases to delete: their subject withdrew consent |",
        "| `manifest.json` | every file's size and SHA-256, and the ffmpeg that made the clips |",
        "",
        "## Instances per category",
        "",
        "![instances per category](instances_per_category.svg)",
        "",
        "| category | clips | train | val | test |",
        "|---|---:|---:|---:|---:|",
    ]
    for category in sorted(per_category, key=lambda c: (-sum(per_category[c].values()), c)):
        counts = per_category[category]
        lines.append(
            f"| {category} | {sum(counts.values())} | "
            + " | ".join(str(counts.get(s, 0)) for s, _ in SPLITS)
            + " |"
        )
    lines += [
        "",
        "## Splits",
        "",
        "No collector appears in two splits, so a model is tested on people and places it has "
        "not seen. Collectors are assigned largest first to the split furthest below its share "
        "(train 70 %, val 10 %, test 20 % of clips); ties are ordered by a hash of the release "
        "name, so the same name gives the same splits.",
        "",
        "| split | clips | collectors |",
        "|---|---:|---:|",
        *(
            f"| {s} | {split_counts.get(s, 0)} | {len(split_collectors.get(s, ()))} |"
            for s, _ in SPLITS
        ),
        "",
        "## How it was made",
        "",
        "- Selected: activities every reviewer rated positively (Good or Perfect; a warning "
        "such as Repeated scene allowed), in videos that passed every check and were accepted, "
        "whose every subject has consent on file and has not withdrawn it.",
        f"- Clips: the actor's boxes over the clip's frames, their union dilated {DILATION}x "
        "about its centre and made square at its largest side; where the square leaves the "
        f"frame it is padded with black. Resized to {CLIP_PX}x{CLIP_PX} and encoded with "
        f"x264 (crf {ENCODER_OPTIONS['crf']}) by ffmpeg {ffmpeg}, one process per source video.",
        "- Boxes between the app's keyframes are linearly interpolated; in the JSON they are in "
        "clip pixels: source = clip / (512 / crop side) + crop origin.",
        "- Temporal padding per category, clamped to the source video:",
        "",
        "| category | before (s) | after (s) | at least (s) | why |",
        "|---|---:|---:|---:|---|",
        *(
            f"| {r.category} | {r.pad_before_s:g} | {r.pad_after_s:g} | {r.min_length_s:g} | {r.why} |"
            for r in rules
        ),
        "",
        "## Selection parameters",
        "",
        "```json",
        json.dumps(params.as_json(), indent=1, sort_keys=True),
        "```",
        "",
        "## Takedowns",
        "",
        f"`takedown.csv` lists {takedowns} clip(s) of earlier releases whose subject has since "
        "withdrawn consent. If you hold an earlier release, delete those clips.",
        "",
    ]
    return "\n".join(lines).encode()


def padding_rules(conn) -> list[PaddingRule]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT category, pad_before_s, pad_after_s, min_length_s, why "
            "FROM release_padding_rules ORDER BY category = '*', category"
        )
        rules = [PaddingRule(*r) for r in cur.fetchall()]
    conn.commit()
    return rules


def _collected_range(conn, items: list[ReleaseItem]) -> tuple[date, date]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT min(collected_at), max(collected_at) FROM videos WHERE video_id = ANY(%s)",
            (sorted({i.video_id for i in items}),),
        )
        first, last = cur.fetchone()
    conn.commit()
    return first.astimezone(BUSINESS_TZ).date(), last.astimezone(BUSINESS_TZ).date()


def _files(root: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        relative = f"{prefix}{entry.name}"
        if entry.is_dir():
            yield from _files(entry, relative + "/")
        elif relative != "manifest.json":
            yield relative, entry


def write_release_files(
    conn: psycopg2.extensions.connection, params: ReleaseParams, release_dir: Any
) -> dict[str, Any]:
    """Write everything but the clips' own bytes, then the manifest (last, over all files)."""
    items = load_items(conn, params.name, params.version)
    annotations = _annotations(release_dir, items)
    (release_dir / "annotations.csv").write_bytes(annotations_csv(annotations))
    splits_dir = release_dir / "splits"
    splits_dir.mkdir(parents=True, exist_ok=True)
    for split, _ in SPLITS:
        ids = [a["clip_id"] for a in annotations if a["split"] == split]
        (splits_dir / f"{split}.txt").write_bytes("".join(f"{c}\n" for c in ids).encode())
    counts = Counter(a["category"] for a in annotations)
    (release_dir / "instances_per_category.svg").write_bytes(histogram_svg(dict(counts)))
    takedowns = takedown_rows(conn, params.name, params.version)
    (release_dir / "takedown.csv").write_bytes(takedown_csv(takedowns))
    version = ffmpeg_version()
    (release_dir / "README.md").write_bytes(
        datasheet(
            params,
            annotations,
            items,
            _collected_range(conn, items),
            padding_rules(conn),
            len(takedowns),
            version,
        )
    )
    files = []
    for relative, path in _files(release_dir):
        data = path.read_bytes()
        files.append(
            {"path": relative, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        )
    manifest = canonical_json(
        {
            "release": params.name,
            "version": params.version,
            "licence": LICENCE,
            "ffmpeg": version,
            "clips": len(annotations),
            "files": files,
        }
    )
    (release_dir / "manifest.json").write_bytes(manifest)
    return {
        "manifest_sha256": hashlib.sha256(manifest).hexdigest(),
        "clips": len(annotations),
        "takedowns": len(takedowns),
        "ffmpeg": version,
        "readme": str(release_dir / "README.md"),
    }


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


def compare_manifests(published: bytes, rebuilt: bytes) -> list[str]:
    """Paths whose bytes differ between two manifests (clips only count if ffmpeg is the same)."""
    old, new = json.loads(published), json.loads(rebuilt)
    same_ffmpeg = old.get("ffmpeg") == new.get("ffmpeg")
    before = {f["path"]: f["sha256"] for f in old["files"]}
    after = {f["path"]: f["sha256"] for f in new["files"]}
    return sorted(
        path
        for path in before.keys() | after.keys()
        if before.get(path) != after.get(path) and (same_ffmpeg or not path.startswith("clips/"))
    )


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
        _refuse_withdrawn(conn, params)
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


def _refuse_withdrawn(conn: psycopg2.extensions.connection, params: ReleaseParams) -> None:
    """A consent withdrawn while the clips were being cut stops the release (fail closed)."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT count(DISTINCT ri.clip_id) FROM release_items ri
               JOIN consent_withdrawals w ON w.subject_email = ANY(ri.subject_emails)
               WHERE ri.name = %s AND ri.version = %s""",
            (params.name, params.version),
        )
        (withdrawn,) = cur.fetchone()
    conn.commit()
    if withdrawn:
        raise ReleaseError(
            f"consent was withdrawn for {withdrawn} planned clip(s) of {params.name} "
            f"{params.version} while it was being built; nothing was published. Run it again: "
            "the new plan leaves them out."
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
    local_video: Callable[[str], AbstractContextManager[str]] = _as_is,
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
