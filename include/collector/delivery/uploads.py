"""Delivering a collector's own videos and annotations to their Dropbox app folder (FAQ 3).

Per linked collector: each video as ``/<video_id>.mp4`` and its newest annotation as
``/<video_id>_<stamp>.json`` (the app's edit name; the original upload gets the collection
time in epoch milliseconds, the Android stamp). An edit is a new name, so it lands beside the
older JSON files, as the app's own Dropbox export does.

Idempotent in two steps: ``dropbox_deliveries`` remembers what reached which Dropbox account
(a rerun sends no request at all), and when some files are not remembered the app folder is
listed once: a file Dropbox already holds with the same ``content_hash`` (a run that died after
the upload) is only recorded. Files over 150 MB go through an upload session. 429s are waited out as
``Retry-After`` says, a bounded number of times per file; a file still refused waits for the
next run. A refused link (revoked, expired for good) is marked broken, the collector is told,
and the other collectors go on.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import dropbox
import psycopg2.extensions
from dropbox.exceptions import AuthError, InternalServerError, RateLimitError
from dropbox.files import CommitInfo, FileMetadata, UploadSessionCursor, WriteMode

from collector.delivery.links import mark_broken

log = logging.getLogger(__name__)
SINGLE_UPLOAD_LIMIT = 150 * 2**20  # Dropbox refuses larger single uploads
CHUNK = 16 * 2**20  # upload-session chunks: a multiple of Dropbox's 4 MiB hash block
HASH_BLOCK = 4 * 2**20
MAX_ATTEMPTS = 8


def content_hash(path: str | Path) -> str:
    """Dropbox's content hash: SHA-256 over the SHA-256 of each 4 MiB block."""
    outer = hashlib.sha256()
    with open(path, "rb") as source:
        while block := source.read(HASH_BLOCK):
            outer.update(hashlib.sha256(block).digest())
    return outer.hexdigest()


@dataclass(frozen=True)
class Deliverable:
    path: str  # in the app folder, e.g. "/20261117_150008.mp4"
    source_uri: str  # where our copy is (landing area)
    video_id: str


@dataclass
class DeliveryResult:
    collector_id: str
    uploaded: int = 0
    bytes_uploaded: int = 0
    already_delivered: int = 0  # remembered: no request
    same_content: int = 0  # looked up: Dropbox had it, with the same content hash
    deferred: list[str] = field(default_factory=list)  # still refused after retries
    missing: list[str] = field(default_factory=list)  # our copy is gone
    broken: str | None = None  # the link was refused: why

    def summary(self) -> dict[str, Any]:
        return {
            "collector": self.collector_id,
            "uploaded": self.uploaded,
            "bytes_uploaded": self.bytes_uploaded,
            "already_delivered": self.already_delivered,
            "same_content": self.same_content,
            "deferred": len(self.deferred),
            "missing": len(self.missing),
            "broken": self.broken,
        }


def deliverables(conn: psycopg2.extensions.connection, collector_id: str) -> list[Deliverable]:
    """Every video of the collector and its annotation in force, in collection order."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT video_id, mp4_uri, current_annotation, collected_at FROM videos
               WHERE collector_id = %s ORDER BY collected_at, video_id""",
            (collector_id,),
        )
        rows = cur.fetchall()
    conn.commit()
    items = []
    for video_id, mp4_uri, annotation, collected_at in rows:
        folder = mp4_uri.rsplit("/", 1)[0]
        items.append(Deliverable(f"/{video_id}.mp4", mp4_uri, video_id))
        name = annotation_name(video_id, annotation, collected_at)
        items.append(Deliverable(f"/{name}", f"{folder}/{annotation}", video_id))
    return items


def annotation_name(video_id: str, file_name: str, collected_at: datetime) -> str:
    """``<video_id>_<stamp>.json``: an edit keeps its name, the original gets epoch millis."""
    if file_name != f"{video_id}.json":
        return file_name
    return f"{video_id}_{int(collected_at.timestamp() * 1000)}.json"


def _delivered(conn, account_id: str) -> set[str]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT path_lower FROM dropbox_deliveries WHERE dropbox_account_id = %s",
            (account_id,),
        )
        found = {r[0] for r in cur.fetchall()}
    conn.commit()
    return found


def _record(conn, account_id: str, collector_id: str, path: str, digest: str, size: int, now):
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO dropbox_deliveries (dropbox_account_id, path_lower, collector_id,
                   content_hash, bytes, delivered_at) VALUES (%s, %s, %s, %s, %s, %s)
               ON CONFLICT (dropbox_account_id, path_lower) DO UPDATE SET
                   content_hash = EXCLUDED.content_hash, bytes = EXCLUDED.bytes,
                   delivered_at = EXCLUDED.delivered_at""",
            (account_id, path.lower(), collector_id, digest, size, now),
        )
    conn.commit()


@contextlib.contextmanager
def _as_is(uri: str) -> Iterator[str]:
    yield uri.removeprefix("file://")


class _LinkRefused(Exception):
    pass


def deliver(
    conn: psycopg2.extensions.connection,
    client: dropbox.Dropbox,
    collector_id: str,
    account_id: str,
    now: datetime,
    *,
    local_file: Callable[[str], contextlib.AbstractContextManager[str]] = _as_is,
    sleep: Callable[[float], None] | None = None,
    max_attempts: int = MAX_ATTEMPTS,
) -> DeliveryResult:
    """Deliver what the collector's Dropbox does not have yet; never raises for one file."""
    sleep = sleep or time.sleep
    result = DeliveryResult(collector_id)
    known = _delivered(conn, account_id)
    try:
        pending = []
        for item in deliverables(conn, collector_id):
            if item.path.lower() in known:
                result.already_delivered += 1
            else:
                pending.append(item)
        # What the app folder already holds: one listing (a page per 2,000 files), not one
        # lookup per file. When Dropbox keeps refusing the listing, every file is sent.
        remote = (
            _call(client, sleep, max_attempts, lambda: _folder_hashes(client)) if pending else {}
        )
        if remote is _GAVE_UP:
            remote = {}
        for item in pending:
            try:
                with local_file(item.source_uri) as local:
                    if not Path(local).exists():
                        raise FileNotFoundError(local)
                    _deliver_one(conn, client, item, local, account_id, result, now, sleep,
                                 max_attempts, remote.get(item.path.lower()))  # fmt: skip
            except FileNotFoundError:
                log.warning("%s: our copy %s is gone; not delivered", item.path, item.source_uri)
                result.missing.append(item.path)
    except _LinkRefused as refused:
        result.broken = str(refused)
        if mark_broken(conn, collector_id, result.broken, now):
            log.warning("Dropbox link of %s is broken: %s", collector_id, result.broken)
    log.info("Dropbox delivery for %s: %s", collector_id, result.summary())
    return result


def _deliver_one(
    conn, client, item, local, account_id, result, now, sleep, max_attempts, remote_hash
):
    size = Path(local).stat().st_size
    if remote_hash is not None:  # Dropbox has a file there: hash ours only to compare
        digest = content_hash(local)
        if remote_hash == digest:
            result.same_content += 1
            _record(conn, account_id, result.collector_id, item.path, digest, size, now)
            return
    outcome = _call(client, sleep, max_attempts, lambda: _upload(client, local, item.path, size))
    if outcome is _GAVE_UP:
        result.deferred.append(item.path)
        return
    result.uploaded += 1
    result.bytes_uploaded += size
    # Dropbox's answer carries the content hash it computed: no second read of the file.
    _record(conn, account_id, result.collector_id, item.path, outcome.content_hash, size, now)


def _folder_hashes(client) -> dict[str, str]:
    """path_lower -> content_hash of every file in the app folder's root."""
    hashes: dict[str, str] = {}
    page = client.files_list_folder("", limit=2000)
    while True:
        for entry in page.entries:
            if isinstance(entry, FileMetadata):
                hashes[entry.path_lower] = entry.content_hash
        if not page.has_more:
            return hashes
        page = client.files_list_folder_continue(page.cursor)


_GAVE_UP = object()


def _call(client, sleep, max_attempts: int, action: Callable[[], Any]) -> Any:
    """Run one API action, waiting out 429s and 5xx; ``_GAVE_UP`` after ``max_attempts``."""
    refreshed = False
    for attempt in range(1, max_attempts + 1):
        try:
            return action()
        except RateLimitError as limited:
            wait = float(limited.backoff or 1)
            log.info("Dropbox asks to wait %.0f s (attempt %d)", wait, attempt)
            sleep(wait)
        except InternalServerError:
            sleep(min(30.0, 2.0**attempt))
        except AuthError as refused:
            if refused.error.is_expired_access_token() and not refreshed:
                refreshed = True
                try:
                    client.refresh_access_token()
                except AuthError as again:
                    raise _LinkRefused(_auth_reason(again)) from None
                continue
            raise _LinkRefused(_auth_reason(refused)) from None
    return _GAVE_UP


def _auth_reason(error: AuthError) -> str:
    tag = error.error._tag if hasattr(error.error, "_tag") else str(error.error)
    words = {
        "invalid_access_token": "Dropbox no longer accepts our access (was the app disconnected?)",
        "expired_access_token": "Dropbox access expired and could not be renewed",
    }
    return words.get(tag, f"Dropbox refused access ({tag})")


def _upload(client, local: str, path: str, size: int):
    mode = WriteMode.overwrite
    if size <= SINGLE_UPLOAD_LIMIT:
        with open(local, "rb") as source:
            return client.files_upload(source.read(), path, mode=mode, mute=True)
    with open(local, "rb") as source:
        session = client.files_upload_session_start(source.read(CHUNK))
        cursor = UploadSessionCursor(session_id=session.session_id, offset=source.tell())
        while size - cursor.offset > CHUNK:
            client.files_upload_session_append_v2(source.read(CHUNK), cursor)
            cursor.offset = source.tell()
        return client.files_upload_session_finish(
            source.read(), cursor, CommitInfo(path=path, mode=mode, mute=True)
        )
