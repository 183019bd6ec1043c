"""Benchmark: cutting release clips with one ffmpeg process per source video against the naive
way, one ffmpeg process (one decode from the start) per activity. Clips/s and peak memory.

    make bench     # or: .venv/bin/python bench/release.py [--videos 40] [--activities 5]

Sources are 1080p phone-like H.264 clips (bench/quicklook.py's, 12 s, cached in .local/bench);
the 40 "videos" are that one file cut 40 times, which costs what 40 different files would:
decoding and encoding do not depend on which pixels they hold. Each video has 5 activities of
1.5 s spread over it, with the default padding rules (sql/010): the door categories get one
second before, person_talks_to_person is padded to five seconds. Both ways run the same
filter chain and encoder settings (collector.release.clips.clip_command); the naive way gives it one
clip at a time. Target: >= 2x the naive way's clips per second. The limit, in the same run: one
decode of each source video (``ffmpeg -i video -f null -``), which cutting clips from it cannot
go below; the encoders come on top of it.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from _results import Row, times, write
from quicklook import ACTOR, FPS, HEIGHT, WIDTH, make_clip

from collector.core.media import ffmpeg_binary, run_measured
from collector.release.clips import ClipJob, SourceVideo, clip_command, naive_clip_commands
from collector.release.rules import PaddingRule, padded_frames, padding_rule, tubelet_crop
from collector.review.quicklook import Keyframe, Rect, interpolate_box

SECONDS = 12
CATEGORIES = (
    "person_opens_door",
    "person_closes_door",
    "person_sits_down",
    "person_stands_up",
    "person_talks_to_person",
)
RULES = {  # the defaults sql/010_consent_releases.sql installs
    "*": PaddingRule("*", Decimal(0), Decimal(0), Decimal(0), ""),
    "person_opens_door": PaddingRule("person_opens_door", Decimal(1), Decimal(0), Decimal(0), ""),
    "person_closes_door": PaddingRule("person_closes_door", Decimal(1), Decimal(0), Decimal(0), ""),
    "person_talks_to_person": PaddingRule(
        "person_talks_to_person", Decimal(0), Decimal(0), Decimal(5), ""
    ),
}


def sources(clip: Path, videos: int, activities: int) -> list[SourceVideo]:
    frames = SECONDS * FPS
    track = tuple(
        Keyframe(f, Rect(100 + 1400 * f / frames, 240, *ACTOR)) for f in range(0, frames, FPS)
    )
    length = int(1.5 * FPS)
    gap = (frames - length) // max(1, activities - 1)
    result = []
    for v in range(videos):
        jobs = []
        for a in range(activities):
            start = min(frames - length - 1, a * gap)
            category = CATEGORIES[a % len(CATEGORIES)]
            first, last = padded_frames(
                start, start + length, FPS, frames, padding_rule(RULES, category)
            )
            boxes = tuple(interpolate_box(track, f) for f in range(first, last + 1))
            jobs.append(
                ClipJob(
                    f"v{v:03d}_{a:02d}",
                    "train",
                    f"v{v:03d}",
                    a,
                    "P900C001",
                    category,
                    category,
                    (start, start + length),
                    (first, last),
                    tubelet_crop(list(boxes)),
                    boxes,
                )
            )
        result.append(SourceVideo(f"v{v:03d}", str(clip), FPS, frames, WIDTH, HEIGHT, tuple(jobs)))
    return result


def run_all(commands: list[list[str]]) -> tuple[float, int]:
    """Seconds for all commands one after the other, and the largest ffmpeg's peak memory."""
    started = time.perf_counter()
    peak = 0
    for command in commands:
        result = run_measured(command, timeout_s=600)
        if result.returncode != 0:
            raise SystemExit(result.stderr.decode(errors="replace")[-2000:])
        peak = max(peak, result.peak_rss_bytes)
    return time.perf_counter() - started, peak


def record(videos: int, clips: int, rows: list[tuple], limit_s: float) -> None:
    (_, n_ours, ours_s, ours_rate, ours_peak), (_, n_naive, naive_s, naive_rate, naive_peak) = rows
    row = Row(
        f"release clips for {clips} activities ({clips // videos} per video, 1.5 s each, default "
        f"padding rules) from {videos} 1080p H.264 phone-like videos of {SECONDS} s: "
        "actor-centred 512x512 tubelets, x264",
        f"one ffmpeg process per video: {ours_s:.1f} s, {ours_rate:.2f} clips/s, ffmpeg peak "
        f"{ours_peak / 2**20:.0f} MB",
        f"one ffmpeg process (one decode from the start) per activity, same filters and encoder: "
        f"{naive_s:.1f} s, {naive_rate:.2f} clips/s, peak {naive_peak / 2**20:.0f} MB",
        f"one decode of each source video: {limit_s:.1f} s",
        times(ours_rate / naive_rate),
        times(ours_s / limit_s),
        f">= 2x the naive way: {'met' if ours_rate / naive_rate >= 2 else 'not met'}",
    )
    figures = {"videos": videos, "clips": clips, "ours_s": ours_s, "naive_s": naive_s}
    write("release", [row], figures | {"limit_s": limit_s, "processes": [n_ours, n_naive]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--videos", type=int, default=40)
    parser.add_argument("--activities", type=int, default=5)
    args = parser.parse_args()
    clip = make_clip(SECONDS)
    videos = sources(clip, args.videos, args.activities)
    clips = sum(len(v.clips) for v in videos)
    print(
        f"release clips: {clips} activities from {len(videos)} 1080p videos of {SECONDS} s",
        flush=True,
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-release-") as tmp:
        out = Path(tmp)
        batched = [clip_command(v, str(clip), out) for v in videos]
        naive = [cmd for v in videos for cmd in naive_clip_commands(v, str(clip), out)]
        for name, commands in (
            ("one ffmpeg per video", batched),
            ("naive: one per activity", naive),
        ):
            seconds, peak = run_all(commands)
            made = len(list(out.glob("*.mp4")))
            assert made == clips, (name, made)
            for f in out.glob("*.mp4"):
                f.unlink()
            rows.append((name, len(commands), seconds, clips / seconds, peak))
            print(
                f"  {name:<26} {len(commands):>4} processes  {seconds:7.1f} s  "
                f"{clips / seconds:6.2f} clips/s  peak {peak / 2**20:5.0f} MB",
                flush=True,
            )
    limit_s, _ = run_all(
        [[ffmpeg_binary(), "-v", "error", "-i", str(clip), "-f", "null", "-"] for _ in videos]
    )
    record(len(videos), clips, rows, limit_s)


if __name__ == "__main__":
    main()
