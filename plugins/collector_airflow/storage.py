"""Object storage for tasks: local folders and s3:// / gs:// alike, via ``ObjectStoragePath``."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from airflow.sdk import ObjectStoragePath


def storage_path(url: str) -> ObjectStoragePath:
    """``ObjectStoragePath`` for a URL or a plain local folder."""
    return ObjectStoragePath(url if "://" in url else f"file://{url}")


@contextlib.contextmanager
def local_file(uri: str) -> Iterator[str]:
    """A local path for ``uri``: the file itself when local, else a temporary download.

    ffmpeg needs a seekable local file; downloading a remote MP4 once per activity batch is
    cheaper than streaming it nine times.
    """
    if "://" not in uri or uri.startswith("file://"):
        yield uri.removeprefix("file://")
        return
    source = ObjectStoragePath(uri)
    with tempfile.TemporaryDirectory(prefix="collector-") as tmp:
        target = Path(tmp) / source.name
        with source.open("rb") as remote, target.open("wb") as local:
            shutil.copyfileobj(remote, local, length=8 << 20)
        yield str(target)
