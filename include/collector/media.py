"""ffmpeg location and small video helpers shared by the demo generator and quicklooks."""

from __future__ import annotations

import shutil
from functools import cache


@cache
def ffmpeg_binary() -> str:
    """``ffmpeg`` from PATH, else the static build shipped in the ``imageio-ffmpeg`` wheel."""
    found = shutil.which("ffmpeg")
    if found:
        return found
    import imageio_ffmpeg  # noqa: PLC0415 - only needed when PATH has no ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()
