"""Clips: one ffmpeg process per source video renders all of its clips (decode once, ``split``,
one encoder per clip); ``naive_clip_commands`` is the one-decode-per-activity way the
benchmark compares against."""

from __future__ import annotations

import subprocess
import tempfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import ffmpeg
import psycopg2.extensions

from collector.core.media import ffmpeg_binary, run_measured
from collector.release.rules import (
    CLIP_PX,
    ENCODER_OPTIONS,
    LICENCE,
    Crop,
    PaddingRule,
    ReleaseError,
    canonical_json,
    crop_filter_args,
    padded_frames,
    padding_rule,
    tubelet_crop,
)
from collector.review.quicklook import Keyframe, Rect, interpolate_box


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


def as_is(uri: str) -> AbstractContextManager[str]:
    @contextmanager
    def local() -> Iterator[str]:
        yield uri.removeprefix("file://")

    return local()


def export_clips(
    sources: list[SourceVideo],
    release_dir: Any,
    *,
    local_video: Callable[[str], AbstractContextManager[str]] = as_is,
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


@cache
def ffmpeg_version() -> str:
    first = subprocess.run(
        [ffmpeg_binary(), "-version"], capture_output=True, text=True, check=True
    ).stdout.splitlines()[0]
    return first.removeprefix("ffmpeg version ").split(" Copyright")[0].strip()
