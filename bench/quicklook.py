"""Benchmark: one activity montage against (a) one full decode of the clip, (b) the naive
way, decoding every frame into numpy and keeping nine, and (c) the limit: the same nine accurate
seeks in one ffmpeg call, each frame decoded and dropped (no scaling, drawing or encoding).
Time and peak memory, same run.

    make bench     # or: .venv/bin/python bench/quicklook.py [--activities 5]

Clips are 1920x1080 H.264 as phones record them (High profile, 12 Mbit/s, 1 s GOP, no
B-frames), 30 s and 5 min, made once with ffmpeg and cached in .local/bench/.
Targets (2 cores): montage <= 1.0 s and <= 250 MB on the 30 s clip, >= 3x faster than one full
decode, and the 5-minute clip no more than 1.5x the 30 s clip's montage time.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from _results import Row, times, write

from collector.core.media import ffmpeg_binary, probe_video_stream, run_measured
from collector.review.quicklook import (
    Keyframe,
    QuicklookJob,
    Rect,
    build_command,
    render_montage,
)

FPS = 30
WIDTH, HEIGHT = 1920, 1080
ACTOR = (300, 600)
CACHE = Path(".local/bench")

NAIVE = r"""
import sys, numpy as np, ffmpeg
from collector.core.media import ffmpeg_binary
clip, w, h, wanted = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), set(map(int, sys.argv[4:]))
proc = (ffmpeg.input(clip).output("pipe:", format="rawvideo", pix_fmt="rgb24")
        .run_async(cmd=ffmpeg_binary(), pipe_stdout=True, pipe_stderr=True))
kept, index, size = {}, 0, w * h * 3
while True:
    raw = proc.stdout.read(size)
    if len(raw) < size:
        break
    frame = np.frombuffer(raw, np.uint8).reshape(h, w, 3)
    if index in wanted:
        kept[index] = frame.copy()
    index += 1
proc.wait()
assert len(kept) == len(wanted), (len(kept), index)
"""


def make_clip(seconds: int) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"phone-{WIDTH}x{HEIGHT}-{seconds}s.mp4"
    if path.exists():
        return path
    started = time.perf_counter()
    w, h = ACTOR
    subprocess.run(
        [
            ffmpeg_binary(),
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={WIDTH}x{HEIGHT}:rate={FPS}:duration={seconds}",
            "-f",
            "lavfi",
            "-i",
            f"color=c=0xFF8000:size={w}x{h}:rate={FPS}:duration={seconds}",
            "-filter_complex",
            f"[0]hue=s=0[bg];[bg][1]overlay=x='100+1400*t/{seconds}':y=240:eval=frame",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-profile:v",
            "high",
            "-bf",
            "0",
            "-b:v",
            "12M",
            "-g",
            str(FPS),
            "-pix_fmt",
            "yuv420p",
            str(path.with_suffix(".tmp.mp4")),
        ],
        check=True,
    )
    path.with_suffix(".tmp.mp4").rename(path)
    print(f"  made {path} in {time.perf_counter() - started:.0f} s", flush=True)
    return path


def jobs_for(clip: Path, seconds: int, count: int) -> list[QuicklookJob]:
    """``count`` 5-second activities spread over the clip, the last one near its end."""
    frames = seconds * FPS
    keyframes = tuple(
        Keyframe(f, Rect(100 + 1400 * f / frames, 240, *ACTOR)) for f in range(0, frames, FPS)
    )
    starts = [round(30 + i * (frames - 200) / max(count - 1, 1)) for i in range(count)]
    return [
        QuicklookJob(
            "bench",
            i,
            "Walk",
            s,
            s + 5 * FPS,
            FPS,
            frames,
            WIDTH,
            HEIGHT,
            str(clip),
            "sha",
            keyframes,
        )
        for i, s in enumerate(starts)
    ]


def seek_limit(job: QuicklookJob) -> float:
    """Seconds for the montage's own inputs (nine accurate seeks), each frame decoded to null."""
    stream = probe_video_stream(job.mp4_path)
    args, _ = build_command(replace(job, frame_count=stream.frames))
    inputs = args[: args.index("-filter_complex")]
    outputs = [
        arg
        for i in range(inputs.count("-i"))
        for arg in ("-map", f"{i}:v:0", "-frames:v", "1", "-f", "null", "-")
    ]
    started = time.perf_counter()
    result = run_measured(inputs + outputs)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    return time.perf_counter() - started


def measure(seconds: int, activities: int, naive: bool) -> dict:
    clip = make_clip(seconds)
    jobs = jobs_for(clip, seconds, activities)
    montages = [render_montage(job) for job in jobs]
    montage_s = statistics.median(m.render_seconds for m in montages)
    limit_s = statistics.median(seek_limit(job) for job in jobs)
    montage_mb = max(m.peak_rss_bytes for m in montages) / 2**20
    started = time.perf_counter()
    full = run_measured(
        [ffmpeg_binary(), "-v", "error", "-i", str(clip), "-f", "null", "-"], timeout_s=900
    )
    full_s = time.perf_counter() - started
    assert full.returncode == 0, full.stderr
    row = {
        "seconds": seconds,
        "montage_s": montage_s,
        "montage_mb": montage_mb,
        "limit_s": limit_s,
        "full_s": full_s,
        "full_mb": full.peak_rss_bytes / 2**20,
    }
    if naive:
        picks = [str(f) for f in montages[0].frame_indices]
        started = time.perf_counter()
        result = run_measured(
            [sys.executable, "-c", NAIVE, str(clip), str(WIDTH), str(HEIGHT), *picks],
            timeout_s=1800,
        )
        row["naive_s"] = time.perf_counter() - started
        assert result.returncode == 0, result.stderr.decode()[-2000:]
        row["naive_mb"] = result.peak_rss_bytes / 2**20  # the Python side; ffmpeg's not added
    return row


def record(rows: list[dict], activities: int) -> None:
    """The README rows: each clip, ours against the naive way, one full decode and the seeks."""
    table = []
    for r in rows:
        label = "30 s" if r["seconds"] == 30 else f"{r['seconds'] // 60}-minute"
        naive = (
            f"naive numpy: {r['naive_s']:.2f} s, {r['naive_mb']:.0f} MB; " if "naive_s" in r else ""
        )
        table.append(
            Row(
                f"one 9-tile montage, {label} 1920x1080 H.264 clip (phone-like: High, 12 Mbit/s, "
                f"1 s GOP), median of {activities} activities",
                f"{r['montage_s']:.2f} s, {r['montage_mb']:.0f} MB peak",
                f"{naive}one full decode: {r['full_s']:.2f} s, {r['full_mb']:.0f} MB",
                f"the nine accurate seeks in one ffmpeg call, no drawing: {r['limit_s']:.2f} s",
                (f"{times(r['naive_s'] / r['montage_s'])} vs naive, " if "naive_s" in r else "")
                + f"{times(r['full_s'] / r['montage_s'])} vs full decode",
                times(r["montage_s"] / r["limit_s"]),
                "<= 1.0 s, <= 250 MB, >= 3x full decode: "
                + (
                    "met"
                    if r["montage_s"] <= 1
                    and r["montage_mb"] <= 250
                    and r["full_s"] / r["montage_s"] >= 3
                    else "not met"
                )
                if r["seconds"] == 30
                else f"<= 1.5x the 30 s clip: {r['montage_s'] / rows[0]['montage_s']:.2f}x",
            )
        )
    write("quicklook", table, {"clips": rows, "activities": activities})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--activities", type=int, default=5)
    parser.add_argument(
        "--skip-naive-long",
        action="store_true",
        help="do not run the naive way on the 5-minute clip",
    )
    args = parser.parse_args()
    rows = [
        measure(30, args.activities, True),
        measure(300, args.activities, not args.skip_naive_long),
    ]
    print(f"\nper activity montage (median of {args.activities}), 1920x1080 H.264:")
    print(
        f"{'clip':>6} {'montage':>16} {'full decode':>18} {'naive numpy':>18} "
        f"{'vs full':>8} {'vs naive':>9}"
    )
    for r in rows:
        naive = (
            f"{r['naive_s']:6.2f} s {r['naive_mb']:5.0f} MB"
            if "naive_s" in r
            else f"{'not run':>16}"
        )
        vs_naive = f"{r['naive_s'] / r['montage_s']:7.1f}x" if "naive_s" in r else f"{'-':>8}"
        print(
            f"{r['seconds']:>5}s {r['montage_s']:6.2f} s {r['montage_mb']:5.0f} MB "
            f"{r['full_s']:7.2f} s {r['full_mb']:5.0f} MB {naive} "
            f"{r['full_s'] / r['montage_s']:7.1f}x {vs_naive}"
        )
    short, long_ = rows
    growth = long_["montage_s"] / short["montage_s"]
    print(f"5-minute / 30 s montage time: {growth:.2f}x")
    checks = {
        "montage <= 1.0 s (30 s clip)": short["montage_s"] <= 1.0,
        "montage <= 250 MB (30 s clip)": short["montage_mb"] <= 250,
        ">= 3x faster than one full decode (30 s clip)": short["full_s"] / short["montage_s"] >= 3,
        "5-minute clip <= 1.5x the 30 s clip": growth <= 1.5,
    }
    for name, ok in checks.items():
        print(f"  {'met ' if ok else 'MISS'} {name}")
    record(rows, args.activities)


if __name__ == "__main__":
    main()
