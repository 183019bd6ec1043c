"""Quicklooks of MP4s whose video stream is not what the app says (issue 19, case 6): real MP4s
made here with ffmpeg, rendered through ``render_and_store`` (what the quicklook DAG's
``render_batch`` task runs); frame ranges are clamped to the frames the stream really has."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collector.core.media import ffmpeg_binary, parse_stream_probe, probe_video_stream
from collector.review import quicklook_jobs
from collector.review.quicklook import Keyframe, QuicklookFailed, QuicklookJob, Rect, sample_frames
from collector.review.quicklook_jobs import render_and_store

NOW = datetime(2026, 11, 26, tzinfo=UTC)
APP_FRAMES = 300  # the app's JSON: 30 fps, 10.0 s
BOX = (Keyframe(0, Rect(200, 100, 120, 160)),)


def _ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_binary(), "-v", "error", "-nostdin", *args, "-y"], check=True)


@pytest.fixture(scope="module")
def mp4s(tmp_path_factory) -> dict[str, Path]:
    """``short``: 294 video frames at 30 fps (9.8 s) under 10.0 s of audio, so the container
    says 10.0 s; ``audio``: 10 s of audio, no video stream; ``truncated``: ``short`` with its
    last 40% of bytes cut off, as an interrupted upload leaves it."""
    root = tmp_path_factory.mktemp("streams")
    short, audio = root / "short.mp4", root / "audio.mp4"
    _ffmpeg(
        *("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30:duration=9.8"),
        *("-f", "lavfi", "-i", "sine=frequency=440:duration=10"),
        *("-c:v", "libx264", "-preset", "ultrafast", "-g", "30", "-pix_fmt", "yuv420p"),
        *("-c:a", "aac", "-movflags", "+faststart", str(short)),
    )
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=10", "-c:a", "aac", str(audio))
    truncated = root / "truncated.mp4"
    data = short.read_bytes()
    truncated.write_bytes(data[: len(data) * 6 // 10])
    return {"short": short, "audio": audio, "truncated": truncated}


def job(path: Path, index: int, start: int, end: int) -> QuicklookJob:
    return QuicklookJob(
        "v1", index, "Open", start, end, 30.0, APP_FRAMES, 640, 360, str(path), "sha", BOX
    )


def test_the_probe_counts_the_frames_the_stream_really_has(mp4s):
    found = probe_video_stream(str(mp4s["short"]))
    assert (found.has_video, found.frames, found.truncated, found.unreadable) == (
        True,
        294,
        False,
        None,
    )
    assert found.end_s == pytest.approx(9.8, abs=0.05)
    assert not probe_video_stream(str(mp4s["audio"])).has_video
    cut = probe_video_stream(str(mp4s["truncated"]))
    assert cut.truncated and 0 < cut.frames < 294


def test_an_activity_past_the_stream_end_gets_a_montage_of_what_exists(mp4s, tmp_path, monkeypatch):
    probes = []

    def counting_probe(path: str):
        probes.append(path)
        return probe_video_stream(path)

    monkeypatch.setattr(quicklook_jobs, "probe_video_stream", counting_probe)
    jobs = [
        job(mp4s["short"], 0, 0, 140),
        job(mp4s["short"], 1, 150, 299),  # the app's last frame is 299; the stream's is 293
        job(mp4s["short"], 2, 295, 299),  # wholly past the stream's end
        job(mp4s["short"], 3, 293, 299),  # one frame of it exists
    ]
    results = render_and_store(jobs, tmp_path / "out", now=NOW)
    assert probes == [str(mp4s["short"])]  # one probe for the video's four activities
    ok, clamped, past, one = results
    assert ok["status"] == "ok" and ok["frame_indices"][-1] == 140
    assert clamped["status"] == "ok", clamped.get("reason")
    assert clamped["frame_indices"][0] == 150 and clamped["frame_indices"][-1] == 293
    assert Path(clamped["image_uri"]).read_bytes()[:2] == b"\xff\xd8"
    assert past["status"] == "failed"
    assert "video stream ends at frame 293 (294 frames)" in past["reason"]
    assert "frames 295..299: none of them exists" in past["reason"]
    assert one["status"] == "ok" and one["frame_indices"] == [293] * 9


def test_each_cause_of_no_montage_gets_its_own_sentence(mp4s, tmp_path):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00" * 5000)
    jobs = [
        job(mp4s["audio"], 0, 150, 299),
        job(mp4s["truncated"], 1, 150, 299),
        job(garbage, 2, 150, 299),
    ]
    audio, truncated, unreadable = render_and_store(jobs, tmp_path / "out", now=NOW)
    assert audio["status"] == truncated["status"] == unreadable["status"] == "failed"
    assert "has no video stream (audio only?)" in audio["reason"]
    cut = probe_video_stream(str(mp4s["truncated"]))
    assert (
        f"the file is truncated, it ends inside the video data after {cut.frames} frames"
        in truncated["reason"]
    )
    assert f"frame {cut.frames - 1}); the upload is incomplete" in truncated["reason"]
    assert "ffmpeg cannot open it" in unreadable["reason"]
    reasons = [audio["reason"], truncated["reason"], unreadable["reason"]]
    assert not any("truncated or corrupt?" in r for r in reasons)  # no more guessing


@given(
    start=st.integers(-50, 400),
    length=st.integers(1, 400),
    frames=st.integers(0, 400),
    tiles=st.integers(2, 16),
)
def test_tiles_stay_within_the_stream_and_any_existing_frame_gives_a_montage(
    start, length, frames, tiles
):
    """Invariant: tiles lie in [0, frames - 1] and inside the activity; a montage is planned
    exactly when the stream has at least one frame of [start, end]; else the reason names the
    frame where the stream ends."""
    end = start + length
    first, last = max(start, 0), min(end, frames - 1)
    if first <= last:
        picked = sample_frames(start, end, tiles, frames)
        assert len(picked) == tiles and picked[0] == first and picked[-1] == last
        assert all(first <= f <= last for f in picked) and picked == sorted(picked)
    else:
        with pytest.raises(QuicklookFailed) as failed:
            sample_frames(start, end, tiles, frames)
        expected = "has no frames" if frames == 0 else f"ends at frame {frames - 1}"
        assert expected in failed.value.reason


WORD = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Zs")))
PROGRESS_LINE = st.one_of(
    st.tuples(st.just("frame"), st.integers(0, 10**7).map(str)),
    st.tuples(st.just("out_time_us"), st.integers(-(10**9), 10**12).map(str)),
    st.tuples(st.sampled_from(["fps", "bitrate", "progress", "speed", "frame"]), WORD),
)


@given(
    lines=st.lists(PROGRESS_LINE, max_size=30),
    stderr=st.text(),
    returncode=st.integers(-9, 255),
)
def test_the_probe_parser_reads_any_output_without_raising(lines, stderr, returncode):
    """Invariant: never raises; frames is the last well-formed ``frame=N`` (0 if none, never
    negative), end_s the last ``out_time_us`` clamped at 0; the flags follow ffmpeg's words."""
    text = "\n".join(f"{k}={v}" for k, v in lines)
    found = parse_stream_probe(returncode, text, stderr)
    counts = [int(v) for k, v in lines if k == "frame" and v.isascii() and v.isdigit()]
    assert found.frames == (counts[-1] if counts else 0) and found.frames >= 0
    times = [max(0, int(v)) for k, v in lines if k == "out_time_us"]
    assert found.end_s == (times[-1] / 1e6 if times else 0) and found.end_s >= 0
    assert found.has_video == ("matches no streams" not in stderr)
    assert found.truncated == ("partial file" in stderr)
    if found.unreadable is not None:
        assert returncode != 0 and "progress=" not in text
