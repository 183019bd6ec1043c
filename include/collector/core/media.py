"""ffmpeg location and small video helpers shared by the demo generator and quicklooks."""

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
