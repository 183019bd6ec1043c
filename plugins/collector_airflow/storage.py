"""Object storage for tasks: local folders and s3:// / gs:// alike, via ``ObjectStoragePath``."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from airflow.sdk import ObjectStoragePath

from collector_airflow.fs import s3


class StoragePath(ObjectStoragePath):
    """``ObjectStoragePath`` whose text leaves out the default connection: ``s3://bucket/key``
    as recorded in the warehouse and read by the portal and the CLI (plain fsspec, no Airflow),
    not ``s3://aws_default@bucket/key``."""

    __slots__ = ()

    def __str__(self) -> str:
        if self.protocol in s3.schemes and self.conn_id == s3.DEFAULT_CONN_ID:
            return f"{self.protocol}://{self.path}"
        return super().__str__()


def storage_path(url: str) -> ObjectStoragePath:
    """``ObjectStoragePath`` for a URL or a plain local folder.

    An ``s3://`` URL without a connection in it (``s3://conn@bucket/...``) gets ``aws_default``:
    Airflow hands a path without ``conn_id`` to plain fsspec, which would ignore the connection
    (its endpoint and keys) and use only the AWS variables of the worker's environment.
    """
    if "://" not in url:
        return ObjectStoragePath(f"file://{url}")
    scheme, rest = url.split("://", 1)
    if scheme in s3.schemes and "@" not in rest.split("/", 1)[0]:
        return StoragePath(url, conn_id=s3.DEFAULT_CONN_ID)
    return ObjectStoragePath(url)


@contextlib.contextmanager
def local_file(uri: str) -> Iterator[str]:
    """A local path for ``uri``: the file itself when local, else a temporary download.

    ffmpeg needs a seekable local file; downloading a remote MP4 once per activity batch is
    cheaper than streaming it nine times.
    """
    if "://" not in uri or uri.startswith("file://"):
        yield uri.removeprefix("file://")
        return
    source = storage_path(uri)
    with tempfile.TemporaryDirectory(prefix="collector-") as tmp:
        target = Path(tmp) / source.name
        with source.open("rb") as remote, target.open("wb") as local:
            shutil.copyfileobj(remote, local, length=8 << 20)
        yield str(target)
