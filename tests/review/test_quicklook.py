"""Quicklook montages rendered by real ffmpeg from real MP4s made here."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from collector_tools.demo_files import Clip, render_clip

from collector.core.media import ffmpeg_binary
from collector.review.quicklook import (
    QuicklookFailed,
    QuicklookJob,
    Rect,
    interpolate_box,
    render_montage,
    sample_frames,
)
from collector.review.quicklook_jobs import render_and_store

FPS = 30
SPEED = 8  # px per frame: a tile one frame off would show the actor ~8 px away from its box


def decode(jpeg: bytes) -> np.ndarray:
    """JPEG -> RGB array, with the same ffmpeg."""
    probe = subprocess.run(
        [
            ffmpeg_binary(),
            "-v",
            "error",
            "-i",
            "pipe:",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "pipe:",
        ],
        input=jpeg,
        capture_output=True,
        check=True,
    )
    # Montages are square-tiled; infer the size from the header the way ffmpeg reports it.
    info = subprocess.run([ffmpeg_binary(), "-i", "pipe:"], input=jpeg, capture_output=True)
    text = info.stderr.decode()
    size = next(t for t in text.replace(",", " ").split() if "x" in t and t.split("x")[0].isdigit())
    width, height = (int(v) for v in size.split("x"))
    return np.frombuffer(probe.stdout, np.uint8).reshape(height, width, 3)


def is_green(pixel) -> bool:
    r, g, b = (int(v) for v in pixel)
    return g > 180 and r < 110 and b < 110


def green_near(image: np.ndarray, y: float, x: float) -> bool:
    """A green box line within 2 px (thin lines blur into their neighbours when scaled)."""
    y, x = round(y), round(x)
    return any(is_green(image[y, c]) for c in range(x - 2, x + 3))


def is_orange(pixel) -> bool:
    r, g, b = (int(v) for v in pixel)
    return r > 190 and 70 < g < 190 and b < 90


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, tuple[Clip, Path]]:
    """A fast-moving actor, landscape and a sideways-encoded portrait (display rotation 90)."""
    root = tmp_path_factory.mktemp("clips")
    made = {
        "landscape": Clip(640, 360, FPS, 2, (20, 80, 100, 200), (SPEED * 2 * FPS, 0)),
        "portrait": Clip(360, 640, FPS, 2, (10, 200, 100, 180), (SPEED * FPS, 0), rotated=True),
    }
    for name, clip in made.items():
        render_clip(clip, root / f"{name}.mp4")
    return {name: (clip, root / f"{name}.mp4") for name, clip in made.items()}


def job_for(clip: Clip, path: Path, start: int, end: int, **changes) -> QuicklookJob:
    from collector.review.quicklook import Keyframe

    keyframes = tuple(
        Keyframe(k, Rect(*(clip.box_at(k)[f] for f in ("x", "y", "width", "height"))))
        for k in range(0, clip.frame_count, 10)
    )
    job = QuicklookJob(
        "v1",
        0,
        "Open",
        start,
        end,
        clip.fps,
        clip.frame_count,
        clip.width,
        clip.height,
        str(path),
        "sha",
        keyframes,
    )
    return replace(job, **changes)


def test_frames_are_uniform_and_inside_the_activity():
    frames = sample_frames(10, 90, 9, 1000)
    assert frames == [10, 20, 30, 40, 50, 60, 70, 80, 90]
    assert sample_frames(0, 500, 9, 100)[-1] == 99  # never past the last frame of the video
    with pytest.raises(QuicklookFailed, match="zero-length activity"):
        sample_frames(40, 40, 9, 100)


@pytest.mark.parametrize(("tiles", "size"), [(9, (960, 960)), (4, (640, 640)), (5, (960, 640))])
def test_montage_has_the_tile_count_and_size(clips, tiles, size):
    clip, path = clips["landscape"]
    montage = render_montage(job_for(clip, path, 5, 50), tiles=tiles)
    assert len(montage.frame_indices) == tiles
    assert (montage.width, montage.height) == size
    assert decode(montage.jpeg).shape == (size[1], size[0], 3)


def test_the_box_sits_where_the_track_says_on_the_exact_frame(clips):
    clip, path = clips["landscape"]
    job = job_for(clip, path, 3, 51)
    montage = render_montage(job)
    image = decode(montage.jpeg)
    frames = montage.frame_indices
    assert frames == [3, 9, 15, 21, 27, 33, 39, 45, 51]
    for i in range(1, 8):  # the cropped middle tiles
        frame = frames[i]
        box = interpolate_box(job.keyframes, frame)
        # Expected crop, computed here independently: the box dilated 1.5x, squared,
        # at least 256 px, moved inside the 640x360 frame.
        side = max(max(box.w, box.h) * 1.5, 256)
        side = min(side, 640, 360) // 2 * 2
        cx, cy = box.x + box.w / 2, box.y + box.h / 2
        crop_x = min(max(cx - side / 2, 0), 640 - side)
        crop_y = min(max(cy - side / 2, 0), 360 - side)
        scale = 320 / side
        tile_x, tile_y = (i % 3) * 320, (i // 3) * 320
        left = tile_x + (box.x - int(crop_x)) * scale
        top = tile_y + (box.y - int(crop_y)) * scale
        right = left + box.w * scale
        mid_y = round(top + box.h * scale / 2)
        mid_x = round((left + right) / 2)
        assert is_green(image[mid_y, round(left) + 1]), (frame, image[mid_y, round(left) + 1])
        assert is_green(image[mid_y, round(right) - 2]), frame
        assert is_green(image[round(top) + 1, mid_x]), frame
        # The actor fills the box on this very frame: a frame early or late shifts it ~8 px.
        assert is_orange(image[mid_y, round(left) + 6]), (frame, image[mid_y, round(left) + 6])
        assert is_orange(image[mid_y, round(right) - 7]), frame
        assert not is_orange(image[mid_y, round(left) - 4]), frame
        assert not is_orange(image[mid_y, round(right) + 3]), frame
    # First and last tiles show the whole 640x360 frame, scaled to 320x180 and centred.
    first = interpolate_box(job.keyframes, frames[0])
    assert green_near(image, 70 + (first.y + first.h / 2) * 0.5, first.x * 0.5 + 1)
    assert (
        image[36:66, 130:310] < 30
    ).all()  # letterbox above the landscape frame (below the label)


def test_portrait_videos_come_out_upright(clips):
    clip, path = clips["portrait"]
    job = job_for(clip, path, 0, 40)
    montage = render_montage(job)
    image = decode(montage.jpeg)
    # Context tile: the 360x640 display frame fits as 180x320, pillarboxed left and right.
    assert (image[100:220, :60] < 30).all() and (image[100:220, 260:320] < 30).all()
    box = interpolate_box(job.keyframes, montage.frame_indices[0])
    left, mid_y = 70 + box.x * 0.5, (box.y + box.h / 2) * 0.5
    assert green_near(image, mid_y, left + 1)
    assert is_orange(image[round(mid_y), round(left) + 5])


def test_failures_become_failed_results_and_the_rest_still_renders(clips, tmp_path):
    clip, path = clips["landscape"]
    good = job_for(clip, path, 5, 50)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(path.read_bytes()[:4000])
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 200)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    far = tuple(replace(k, box=Rect(5000, 5000, 50, 50)) for k in good.keyframes)
    jobs = [
        replace(good, activity_index=0),
        replace(good, activity_index=1, mp4_path=str(tmp_path / "missing.mp4")),
        replace(good, activity_index=2, mp4_path=str(truncated)),
        replace(good, activity_index=3, mp4_path=str(garbage)),
        replace(good, activity_index=4, start_frame=30, end_frame=30),
        replace(good, activity_index=5, keyframes=far),
        replace(good, activity_index=6, mp4_path=str(empty)),
        replace(good, activity_index=7, keyframes=()),
        replace(good, activity_index=8),
    ]
    results = render_and_store(jobs, tmp_path / "out", now=datetime(2026, 11, 26, tzinfo=UTC))
    by_index = {r["activity_index"]: r for r in results}
    assert by_index[0]["status"] == by_index[8]["status"] == "ok"
    assert Path(by_index[0]["image_uri"]).stat().st_size == by_index[0]["image_bytes"]
    expected = {
        1: "MP4 not found",
        2: "could not be decoded",
        3: "could not be decoded",
        4: "zero-length activity",
        5: "entirely outside",
        6: "is empty (0 bytes)",
        7: "no box for the actor",
    }
    for index, words in expected.items():
        assert by_index[index]["status"] == "failed", index
        assert words in by_index[index]["reason"], (index, by_index[index]["reason"])
