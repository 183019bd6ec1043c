"""ffmpeg location, run and probe helpers shared by the demo generator and quicklooks."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from dataclasses import dataclass
from functools import cache


@cache
def ffmpeg_binary() -> str:
    """``ffmpeg`` from PATH, else the static build shipped in the ``imageio-ffmpeg`` wheel."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    import imageio_ffmpeg  # noqa: PLC0415 - only needed when PATH has no ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@dataclass(frozen=True)
class ProcessResult:
    returncode: int
    stdout: bytes
    stderr: bytes
    peak_rss_bytes: int  # the child's own peak resident memory


def run_measured(args: list[str], *, timeout_s: float = 120) -> ProcessResult:
    """Run a command, capturing output and the child's own peak memory (``os.wait4``).

    ``subprocess.run`` reaps the child itself and loses its resource usage, hence this.
    A child still running after ``timeout_s`` is killed (returncode -9).
    """
    process = subprocess.Popen(
        args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    stderr_chunks: list[bytes] = []
    reader = threading.Thread(target=lambda: stderr_chunks.append(process.stderr.read()))
    reader.start()
    killer = threading.Timer(timeout_s, process.kill)
    killer.start()
    try:
        stdout = process.stdout.read()
        reader.join()
        _, status, usage = os.wait4(process.pid, 0)
    finally:
        killer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)  # tell Popen it is reaped
    process.stdout.close()
    process.stderr.close()
    return ProcessResult(
        process.returncode, stdout, b"".join(stderr_chunks), usage.ru_maxrss * 1024
    )


@dataclass(frozen=True)
class StreamProbe:
    """What one pass over a video file's first video stream found (packets read, none decoded).

    ``frames``: packets of the stream that could be read, one per frame, so the stream's frames
    are 0 .. frames - 1. ``end_s``: the timestamp the last of them reached, in seconds.
    ``has_video``: the file has a video stream (cover art does not count). ``truncated``: the
    file ended inside the stream's data (ffmpeg's "partial file"). ``unreadable``: the
    container could not be opened at all, with ffmpeg's last error line; None when it could.
    """

    has_video: bool
    frames: int
    end_s: float
    truncated: bool
    unreadable: str | None = None


def parse_stream_probe(returncode: int, progress: str, stderr: str) -> StreamProbe:
    """Read :func:`probe_video_stream`'s ffmpeg output; never raises, whatever the text.

    Invariant: ``frames`` is the last ``frame=N`` of ``-progress`` (0 when there is none, never
    negative), ``end_s`` the last ``out_time_us`` in seconds (0 when none or negative),
    ``has_video`` is False exactly when ffmpeg said the video map "matches no streams",
    ``truncated`` is True exactly when the demuxer said "partial file", and ``unreadable`` is
    set only when ffmpeg failed without any progress report.
    """
    frames, end_us = 0, 0
    for line in progress.splitlines():
        key, _, value = line.strip().partition("=")
        if key == "frame" and value.isascii() and value.isdigit():
            frames = int(value)
        elif key == "out_time_us" and value.isascii() and value.lstrip("-").isdigit():
            end_us = max(0, int(value))
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    has_video = not any("matches no streams" in line for line in lines)
    unreadable = None
    if has_video and returncode != 0 and "progress=" not in progress:
        unreadable = lines[-1] if lines else f"ffmpeg exit code {returncode}"
    return StreamProbe(
        has_video=has_video,
        frames=frames,
        end_s=end_us / 1_000_000,
        truncated=any("partial file" in line for line in lines),
        unreadable=unreadable,
    )


def probe_video_stream(path: str, *, timeout_s: float = 120) -> StreamProbe:
    """Count the frames of a file's first video stream (``0:V:0``: cover art excluded).

    One ffmpeg pass that copies the stream's packets to nowhere (``-c copy -f null``): the
    demuxer reads every packet, nothing is decoded, so a 60 s 1080p phone video takes ~0.05 s
    (a full decode ~4 s). ``ffprobe`` is not used: the ``imageio-ffmpeg`` wheel ships only
    ``ffmpeg``. A packet whose data is corrupt is still counted; the render finds that.
    """
    result = run_measured(
        [
            ffmpeg_binary(),
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-i",
            path,
            "-map",
            "0:V:0",
            "-c",
            "copy",
            "-f",
            "null",
            "-progress",
            "pipe:1",
            "-",
        ],
        timeout_s=timeout_s,
    )
    return parse_stream_probe(
        result.returncode,
        result.stdout.decode(errors="replace"),
        result.stderr.decode(errors="replace"),
    )
