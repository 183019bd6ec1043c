"""A collector or ops member of the portal, as a test drives them through HTTP: invited, with a
password set through the set-password page, logged in (FastAPI's TestClient)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient

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


def set_password(client: TestClient, token: str, password: str = PASSWORD):
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


def login(client: TestClient, email: str, password: str = PASSWORD):
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
