"""Quicklooks: one JPEG montage per activity, the review team's only view of a video (FAQ 10).

A montage has ``n`` tiles (default 9) at frames spaced uniformly from the activity's start to
its end. Middle tiles are cropped around the actor's interpolated box dilated 1.5x (squared,
at least 256 px, kept inside the frame); the first and last tiles show the whole frame, for
context. Every tile has the box drawn and the activity's short name written on it.

One ffmpeg process renders a montage: each tile is a separate input seeked (accurately) to
its frame, so only the few frames after each keyframe are decoded, never the whole clip.
Frames are taken upright (ffmpeg applies the display rotation) and scaled to the display size
the app reported, the coordinate system of the boxes.

The app's frame count is not trusted: a video's stream is probed once (packets counted, none
decoded, :func:`collector.core.media.probe_video_stream`) and tiles are only ever requested
within the frames the stream really has. An activity running past the stream's end gets a
montage of the part that exists; one starting after it, a file without a video stream and a
truncated file get no montage and a reason naming that cause.

A consent video (FAQ 10: the subject faces the camera while consenting) gets a smaller
quicklook that reviewers compare with the person in the activity's montage: a 2x2 tile of
frames at 0.5, 1.5, 2.5 and 3.5 s, each whole frame fitted into its tile. One ffmpeg process
decodes only those first seconds (``-t`` on the input); a shorter clip leaves its last tiles
black rather than failing.
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import ffmpeg

from collector.core.media import StreamProbe, ffmpeg_binary, probe_video_stream, run_measured

BOX_COLOR = "0x00FF00"  # pure green: unlike skin, scenery, or the demo's orange actor
BOX_RGB = (0, 255, 0)
DEFAULT_TILES = 9
DEFAULT_TILE_PX = 320
CONSENT_TILES = 4  # 2x2
CONSENT_SPAN_S = 4.0  # tiles spread over the consent video's first seconds
DILATION = 1.5
MIN_CROP_PX = 256
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
    "/System/Library/Fonts/Supplemental/Arial Bold.ttf",
)


class QuicklookFailed(Exception):
    """This activity cannot get a montage; ``reason`` says why in words a reviewer can use."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    def overlaps(self, width: float, height: float) -> bool:
        return self.x < width and self.y < height and self.x + self.w > 0 and self.y + self.h > 0


@dataclass(frozen=True)
class Keyframe:
    frame_index: int
    box: Rect


@dataclass(frozen=True)
class QuicklookJob:
    """Everything needed to render one activity's montage; plain data, so it fits an XCom."""

    video_id: str
    activity_index: int
    shortname: str
    start_frame: int
    end_frame: int
    frame_rate: float
    frame_count: int
    frame_width: int  # as displayed (portrait videos: width < height)
    frame_height: int
    mp4_path: str
    annotation_sha256: str = ""  # which annotation the montage shows (for staleness)
    keyframes: tuple[Keyframe, ...] = ()

    @classmethod
    def from_dict(cls, data: dict) -> QuicklookJob:
        keyframes = tuple(Keyframe(k[0], Rect(*k[1:])) for k in data.get("keyframes", ()))
        fields_ = {k: v for k, v in data.items() if k != "keyframes"}
        return cls(**fields_, keyframes=keyframes)

    def to_dict(self) -> dict:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "keyframes"}
        data["keyframes"] = [
            [k.frame_index, k.box.x, k.box.y, k.box.w, k.box.h] for k in self.keyframes
        ]
        return data


@dataclass
class Montage:
    jpeg: bytes
    frame_indices: list[int]
    width: int
    height: int
    render_seconds: float
    peak_rss_bytes: int | None = None


def sample_frames(start: int, end: int, n: int, frame_count: int) -> list[int]:
    """``n`` frame indices spaced uniformly over the activity's frames [start, end] that exist.

    Invariant: every index lies in [max(start, 0), min(end, frame_count - 1)], a sub-range of
    the stream's frames [0, frame_count - 1]; the first and last indices are those bounds, so
    an activity with one existing frame gets ``n`` copies of it. Raises ``ValueError`` for
    ``n < 2`` and :class:`QuicklookFailed` for a zero-length activity (``end <= start``) or one
    none of whose frames exist (the stream ends before ``start``, or has no frames).
    """
    if n < 2:
        raise ValueError("a montage needs at least 2 tiles (first and last are context)")
    if end <= start:
        raise QuicklookFailed(
            f"zero-length activity: frames {start}..{end} leave nothing to show "
            f"(the video has {frame_count} frames)"
        )
    first, last = max(start, 0), min(end, frame_count - 1)
    if frame_count <= 0:
        raise QuicklookFailed(
            f"the video stream has no frames: nothing of frames {start}..{end} to show"
        )
    if last < first:
        raise QuicklookFailed(
            f"the video stream ends at frame {frame_count - 1} ({frame_count} frames), before "
            f"the activity's frames {start}..{end}: none of them exists"
        )
    return [round(first + i * (last - first) / (n - 1)) for i in range(n)]


def stream_failure(job: QuicklookJob, stream: StreamProbe) -> str | None:
    """Why the probed stream cannot give this activity a montage, or None when it can."""
    where = f"MP4 at {job.mp4_path}"
    if stream.unreadable is not None:
        return f"{where} could not be decoded: ffmpeg cannot open it ({stream.unreadable})"
    if not stream.has_video:
        return f"{where} has no video stream (audio only?): there is nothing to show"
    if stream.truncated:
        return (
            f"{where} could not be decoded: the file is truncated, it ends inside the video "
            f"data after {stream.frames} frames ({stream.end_s:.2f} s, frame "
            f"{stream.frames - 1}); the upload is incomplete"
        )
    if stream.frames == 0:
        return f"{where} has a video stream without frames: there is nothing to show"
    return None


def interpolate_box(keyframes: tuple[Keyframe, ...], frame: int) -> Rect | None:
    """Linear interpolation between keyframes; before the first / after the last, hold it."""
    if not keyframes:
        return None
    if frame <= keyframes[0].frame_index:
        return keyframes[0].box
    if frame >= keyframes[-1].frame_index:
        return keyframes[-1].box
    lo, hi = 0, len(keyframes) - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if keyframes[mid].frame_index <= frame:
            lo = mid
        else:
            hi = mid
    a, b = keyframes[lo], keyframes[hi]
    share = (frame - a.frame_index) / (b.frame_index - a.frame_index)
    return Rect(
        a.box.x + (b.box.x - a.box.x) * share,
        a.box.y + (b.box.y - a.box.y) * share,
        a.box.w + (b.box.w - a.box.w) * share,
        a.box.h + (b.box.h - a.box.h) * share,
    )


def crop_around(box: Rect, width: int, height: int) -> Rect:
    """Square crop: the box dilated 1.5x about its centre, at least 256 px, inside the frame."""
    side = max(box.w, box.h) * DILATION
    side = max(side, MIN_CROP_PX)
    side = min(side, width, height)
    side = int(side) // 2 * 2  # even sizes keep chroma planes aligned
    cx, cy = box.x + box.w / 2, box.y + box.h / 2
    x = min(max(cx - side / 2, 0), width - side)
    y = min(max(cy - side / 2, 0), height - side)
    return Rect(int(x), int(y), side, side)


def find_font() -> str | None:
    configured = os.environ.get("COLLECTOR_QUICKLOOK_FONT")
    if configured:
        return configured
    return next((p for p in FONT_CANDIDATES if Path(p).exists()), None)


def grid_shape(n: int) -> tuple[int, int]:
    columns = math.ceil(math.sqrt(n))
    return columns, math.ceil(n / columns)


def _frame_with_box(job: QuicklookJob, frame: int, box: Rect, thickness: int) -> Any:
    """The exact frame, upright at the app's display size, with the actor's box drawn."""
    # Seek half a frame early: accurate seeking then lands exactly on `frame`.
    seek = max(0.0, (frame - 0.5) / job.frame_rate)
    return (
        ffmpeg.input(job.mp4_path, ss=f"{seek:.6f}", threads=1)
        .trim(end_frame=1)
        .setpts("PTS-STARTPTS")
        .filter("scale", job.frame_width, job.frame_height)
        .drawbox(box.x, box.y, box.w, box.h, color=BOX_COLOR, thickness=thickness)
    )


def _tile(
    job: QuicklookJob,
    tile: Any,
    frame: int,
    box: Rect,
    *,
    context: bool,
    font: str | None,
    tile_px: int,
) -> Any:
    """One tile from its frame: whole (context) or cropped around the box, labelled."""
    if context:
        tile = tile.filter(
            "scale", tile_px, tile_px, force_original_aspect_ratio="decrease"
        ).filter("pad", tile_px, tile_px, "(ow-iw)/2", "(oh-ih)/2")
    else:
        region = crop_around(box, job.frame_width, job.frame_height)
        tile = tile.crop(region.x, region.y, region.w, region.h).filter("scale", tile_px, tile_px)
    if font:
        tile = tile.drawtext(
            text=f"{job.shortname}  #{frame}",
            fontfile=font,
            fontsize=max(14, tile_px // 16),
            fontcolor="white",
            box=1,
            boxcolor="black@0.6",
            boxborderw=4,
            x=6,
            y=6,
        )
    return tile.filter("setsar", 1)


def build_command(
    job: QuicklookJob, *, tiles: int = DEFAULT_TILES, tile_px: int = DEFAULT_TILE_PX
) -> tuple[list[str], list[int]]:
    """The ffmpeg command line (one process) and the frames it shows."""
    frames = sample_frames(job.start_frame, job.end_frame, tiles, job.frame_count)
    boxes = [interpolate_box(job.keyframes, f) for f in frames]
    if any(b is None for b in boxes):
        raise QuicklookFailed("no box for the actor: the activity's object has no keyframes")
    outside = [
        f
        for f, b in zip(frames, boxes, strict=True)
        if not b.overlaps(job.frame_width, job.frame_height)
    ]
    if outside:
        raise QuicklookFailed(
            f"box entirely outside the {job.frame_width}x{job.frame_height} frame at frames "
            f"{outside}: the actor cannot be shown"
        )
    font = find_font()
    thickness = max(2, round(max(job.frame_width, job.frame_height) / 240))
    # Tiles of one frame (an activity shorter than the montage, or clamped to the stream's last
    # frame) share one decoded frame, split: ffmpeg-python merges equal chains into one node
    # with several outputs, which ffmpeg refuses.
    uses = Counter(frames)
    decoded: dict[int, Any] = {}
    taken: Counter = Counter()
    streams = []
    for i, (frame, box) in enumerate(zip(frames, boxes, strict=True)):
        if frame not in decoded:
            base = _frame_with_box(job, frame, box, thickness)
            decoded[frame] = (
                base.filter_multi_output("split", uses[frame]) if uses[frame] > 1 else base
            )
        source = decoded[frame][taken[frame]] if uses[frame] > 1 else decoded[frame]
        taken[frame] += 1
        context = i in (0, tiles - 1)
        streams.append(_tile(job, source, frame, box, context=context, font=font, tile_px=tile_px))
    columns, rows = grid_shape(tiles)
    layout = "|".join(f"{(i % columns) * tile_px}_{(i // columns) * tile_px}" for i in range(tiles))
    montage = ffmpeg.filter(streams, "xstack", inputs=tiles, layout=layout, fill="black")
    if columns * rows != tiles:
        montage = montage.filter("pad", columns * tile_px, rows * tile_px, 0, 0)
    out = ffmpeg.output(montage, "pipe:", vframes=1, format="image2pipe", vcodec="mjpeg", q=3)
    args = [ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-nostdin"]
    return args + out.get_args(), frames


def render_montage(
    job: QuicklookJob,
    *,
    tiles: int = DEFAULT_TILES,
    tile_px: int = DEFAULT_TILE_PX,
    stream: StreamProbe | None = None,
) -> Montage:
    """Render one montage, or raise :class:`QuicklookFailed` with a reason.

    ``stream`` is the MP4's probe when the caller has it (one per video); else it is probed
    here. Tiles are clamped to the frames the stream has, not the app's ``frame_count``.
    """
    path = Path(job.mp4_path)
    if not path.exists():
        raise QuicklookFailed(f"MP4 not found at {job.mp4_path}")
    if path.stat().st_size == 0:
        raise QuicklookFailed(f"MP4 at {job.mp4_path} is empty (0 bytes): the upload is incomplete")
    stream = stream or probe_video_stream(job.mp4_path)
    reason = stream_failure(job, stream)
    if reason:
        raise QuicklookFailed(reason)
    args, frames = build_command(
        replace(job, frame_count=stream.frames), tiles=tiles, tile_px=tile_px
    )
    started = time.perf_counter()
    result = run_measured(args)
    elapsed = time.perf_counter() - started
    jpeg = result.stdout
    if result.returncode != 0 or not jpeg.startswith(b"\xff\xd8"):
        detail = result.stderr.decode(errors="replace").strip().splitlines()
        last = detail[-1] if detail else f"exit code {result.returncode}"
        raise QuicklookFailed(
            f"MP4 could not be decoded at frames {frames}: the file is complete and its video "
            f"stream has {stream.frames} frames, but ffmpeg could not decode them (corrupt "
            f"data?): {last}"
        )
    columns, rows = grid_shape(tiles)
    return Montage(
        jpeg=jpeg,
        frame_indices=frames,
        width=columns * tile_px,
        height=rows * tile_px,
        render_seconds=elapsed,
        peak_rss_bytes=result.peak_rss_bytes,
    )


def build_consent_command(
    mp4_path: str,
    *,
    tiles: int = CONSENT_TILES,
    tile_px: int = DEFAULT_TILE_PX,
    span_s: float = CONSENT_SPAN_S,
) -> list[str]:
    """The ffmpeg command line (one process) of a consent video's quicklook.

    Tile ``k`` is the first frame at or after ``(k + 0.5) * span_s / tiles`` seconds; ``tile``
    emits the grid when it is full, or at the end of the span with the rest left black.
    """
    step = span_s / tiles
    columns, rows = grid_shape(tiles)
    grid = (
        ffmpeg.input(mp4_path, t=f"{span_s:.3f}", threads=1)
        .filter("setpts", "PTS-STARTPTS")
        .filter("select", f"gte(t,(selected_n+0.5)*{step:.6f})")
        .filter("scale", "iw*sar", "ih")  # square pixels before fitting
        .filter("scale", tile_px, tile_px, force_original_aspect_ratio="decrease")
        .filter("pad", tile_px, tile_px, "(ow-iw)/2", "(oh-ih)/2")
        .filter("setsar", 1)
        .filter("tile", f"{columns}x{rows}", nb_frames=tiles)
    )
    out = ffmpeg.output(grid, "pipe:", vframes=1, format="image2pipe", vcodec="mjpeg", q=3)
    args = [ffmpeg_binary(), "-hide_banner", "-loglevel", "error", "-nostdin"]
    return args + out.get_args()


def render_consent_quicklook(
    mp4_path: str,
    *,
    tiles: int = CONSENT_TILES,
    tile_px: int = DEFAULT_TILE_PX,
    span_s: float = CONSENT_SPAN_S,
) -> bytes:
    """The JPEG of a consent video's quicklook, or raise :class:`QuicklookFailed` with a reason."""
    path = Path(mp4_path)
    if not path.exists():
        raise QuicklookFailed(f"consent video not found at {mp4_path}")
    if path.stat().st_size == 0:
        raise QuicklookFailed(
            f"consent video at {mp4_path} is empty (0 bytes): the upload is incomplete"
        )
    result = run_measured(
        build_consent_command(mp4_path, tiles=tiles, tile_px=tile_px, span_s=span_s)
    )
    jpeg = result.stdout
    if result.returncode != 0 or not jpeg.startswith(b"\xff\xd8"):
        detail = result.stderr.decode(errors="replace").strip().splitlines()
        if result.returncode == 0 and not detail:
            raise QuicklookFailed(
                f"consent video at {mp4_path} has no picture in its first "
                f"{span_s / tiles / 2:g} s (too short?)"
            )
        last = detail[-1] if detail else f"exit code {result.returncode}"
        raise QuicklookFailed(
            f"consent video at {mp4_path} could not be decoded (truncated or corrupt?): {last}"
        )
    return jpeg
