"""What the benchmarks share: free ports, the sandbox as its own process, a scratch database."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator

import psycopg2

from collector.core import db, settings

# Every subject the seeded videos name gets a consent on file, as the app would have uploaded;
# otherwise scoring holds the videos (FAQ 10) and nothing is accepted or paid. Ingested long
# ago, as the videos were: a consent ingested in the hour would make every video naming its
# subject part of that hour's increment.
CONSENTS_SQL = """
INSERT INTO consent_records (consent_id, subject_email, collector_id, consented_at,
        subject_confirmed_18_or_older, video_uri, file_name, sha256, ingested_at)
    SELECT DISTINCT ON (s) 'C-' || s, s, collector_id, timestamptz '2025-01-01', true, '-', '-', '-',
           timestamptz '2025-01-01'
    FROM videos, unnest(subject_ids) s ORDER BY s
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def admin(url: str, path: str, body: dict | None = None) -> dict:
    """POST (or GET without a body) to the sandbox's /_sandbox switches."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{url}/_sandbox/{path}", data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


@contextlib.contextmanager
def sandbox(smtp_port: int | None = None) -> Iterator[str]:
    """The sandbox on a free port (and SMTP on ``smtp_port``), with a fresh state dir."""
    port = free_port()
    command = [sys.executable, "-m", "sandbox", "serve", "--port", str(port)]
    command += ["--state-dir", tempfile.mkdtemp(prefix="bench-sandbox-")]
    if smtp_port:
        command += ["--smtp-port", str(smtp_port)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/sheets/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


@contextlib.contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A new, migrated database on the warehouse server, dropped afterwards; yields its URL."""
    base = settings.database_url().rsplit("/", 1)[0]
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    server = psycopg2.connect(base + "/postgres")
    server.autocommit = True
    server.cursor().execute(f'CREATE DATABASE "{name}"')
    try:
        conn = db.connect(f"{base}/{name}")
        db.migrate(conn)
        conn.close()
        yield f"{base}/{name}"
    finally:
        server.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        server.close()
