"""A collector or ops member of the portal, as a test drives them through HTTP: invited, with a
password set through the set-password page, logged in (FastAPI's TestClient, or httpx against
the portal running as its own uvicorn process: ``running_portal``, ``http_client``)."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from processes import start_group, stop_group

from collector.accounts import logins

PASSWORD = "correct horse battery"


SECRET = "portal-test-secret-0123456789"


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def invite(conn, email: str, role: str = "collector") -> str:
    account = logins.create_account(conn, email, role)
    token = logins.issue_link(conn, account, "set_password", datetime.now(UTC))
    conn.commit()
    return token


def set_password(client: httpx.Client, token: str, password: str = PASSWORD):
    form = client.get(f"/set-password?token={token}")
    return client.post(
        "/set-password",
        data={
            "token": token,
            "password": password,
            "confirm": password,
            "csrf_token": csrf_token(form.text),
        },
    )


def login(client: httpx.Client, email: str, password: str = PASSWORD):
    form = client.get("/login")
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_token(form.text)},
        follow_redirects=False,
    )


def member(portal, conn, email: str, role: str = "collector") -> TestClient:
    client = TestClient(portal, base_url="http://127.0.0.1")
    assert set_password(client, invite(conn, email, role)).status_code == 200
    assert login(client, email).status_code == 303
    return client


@contextlib.contextmanager
def running_portal(warehouse_url: str, log_path: Path, **env: str) -> Iterator[str]:
    """``python -m portal serve`` on a free port of 127.0.0.1 over ``warehouse_url``, as
    collectors reach it (uvicorn, its own process; ``env`` adds settings): yields its base URL
    once ``/healthz`` answers, and stops it afterwards."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = {
        **os.environ,
        "COLLECTOR_DB_URL": warehouse_url,
        "COLLECTOR_PORTAL_SECRET": SECRET,
        "COLLECTOR_SHEETS_WEB_URL": "http://127.0.0.1:9/sheets/",
        **env,
    }
    with log_path.open("w") as log:
        server = start_group(
            [sys.executable, "-m", "portal", "serve", "--port", str(port)],
            env=settings,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                assert server.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.1)
        yield url
    finally:
        stop_group(server, timeout=10)


def http_client(url: str, source: str = "127.0.0.1", **headers: str) -> httpx.Client:
    """An HTTP client of the running portal whose TCP connections come from ``source`` (any
    address of 127.0.0.0/8: another client address on this machine), with ``headers`` on every
    request."""
    transport = httpx.HTTPTransport(local_address=source)
    return httpx.Client(base_url=url, transport=transport, headers=headers, timeout=30)
