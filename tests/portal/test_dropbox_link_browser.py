"""Linking a Dropbox as a collector does it: the portal in its own process (`python -m portal
serve`) pointed at the sandbox's Dropbox, driven by a real headless Chromium (Debian's) through
Playwright: Profile → Link Dropbox → the sandbox's authorize page → Allow → back on Profile,
linked; the callback replayed; Unlink; Cancel on Dropbox. Screenshots of each step go to
.local/test/artifacts/dropbox-*.png."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from collector.accounts import logins
from collector.delivery import vault
from collector.delivery.vault import TokenVault

ARTIFACTS = Path(__file__).resolve().parents[2] / ".local" / "test" / "artifacts"
pytestmark = pytest.mark.slow  # a browser
PASSWORD = "a long demo password"
COLLECTOR = "ann@gmail.com"
DROPBOX_EMAIL = "Ann.Dropbox@example.com"


@pytest.fixture
def dropbox_sandbox(sandbox_url):
    """The sandbox's Dropbox emptied for this test; its app's key and secret."""
    requests.post(f"{sandbox_url}/_sandbox/dropbox/reset", json={}, timeout=10).raise_for_status()
    return requests.get(f"{sandbox_url}/_sandbox/dropbox/app", timeout=10).json()


@pytest.fixture
def linking_portal(warehouse, warehouse_url, sandbox_url, dropbox_sandbox, tmp_path):
    """The portal with its Dropbox settings on the sandbox; a collector with a password."""
    account = logins.create_account(warehouse, COLLECTOR)
    logins.use_link(
        warehouse,
        logins.issue_link(warehouse, account, "set_password", datetime.now(UTC)),
        PASSWORD,
        datetime.now(UTC),
    )
    warehouse.commit()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    key = vault.new_key()
    env = {
        **os.environ,
        "COLLECTOR_DB_URL": warehouse_url,
        "COLLECTOR_PORTAL_SECRET": "browser-test-secret",
        "COLLECTOR_PORTAL_URL": url,
        "COLLECTOR_SHEETS_WEB_URL": "http://127.0.0.1:9/sheets/",
        "COLLECTOR_TOKEN_KEYS": key,
        "COLLECTOR_DROPBOX_APP_KEY": dropbox_sandbox["app_key"],
        "COLLECTOR_DROPBOX_APP_SECRET": dropbox_sandbox["app_secret"],
        "COLLECTOR_DROPBOX_API_URL": sandbox_url,
        "COLLECTOR_DROPBOX_AUTHORIZE_URL": f"{sandbox_url}/oauth2/authorize",
    }
    log_path = tmp_path / "portal.log"
    server_log = log_path.open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "portal", "serve", "--port", str(port)],
        env=env,
        stdout=server_log,
        stderr=subprocess.STDOUT,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1)
            break
        except OSError:
            assert server.poll() is None, log_path.read_text()
            time.sleep(0.1)
    yield {"url": url, "key": key, "log": log_path}
    server.terminate()
    server.wait(10)
    server_log.close()


def _sandbox(sandbox_url: str, path: str) -> dict:
    return requests.get(f"{sandbox_url}/_sandbox/dropbox/{path}", timeout=10).json()


def _sandbox_refresh_tokens(sandbox_url: str) -> dict:
    """Every refresh token the sandbox's Dropbox holds (its tokens.json), by token."""
    folder = Path(_sandbox(sandbox_url, "state-dir")["path"])
    path = folder / "tokens.json"
    return json.loads(path.read_text())["refresh"] if path.exists() else {}


def _token_requests(sandbox_url: str) -> int:
    return _sandbox(sandbox_url, "stats")["routes"].get("oauth2/token", {}).get("requests", 0)


def _link_rows(warehouse) -> list[tuple]:
    with warehouse.cursor() as cur:
        cur.execute(
            """SELECT dropbox_account_id, refresh_token_enc, key_id, status, linked_at
               FROM dropbox_links WHERE collector_id = %s""",
            (COLLECTOR,),
        )
        rows = cur.fetchall()
    warehouse.commit()
    return rows


def _link_requests(warehouse) -> list[tuple]:
    with warehouse.cursor() as cur:
        cur.execute(
            """SELECT collector_id, used_at FROM dropbox_link_requests
               ORDER BY created_at""",
        )
        rows = cur.fetchall()
    warehouse.commit()
    return rows


def test_a_collector_links_replays_unlinks_and_cancels_a_dropbox_link_in_a_browser(
    linking_portal, warehouse, sandbox_url, dropbox_sandbox
):
    from playwright.sync_api import sync_playwright

    portal = linking_portal["url"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shots = []

    def shot(page, name):
        path = ARTIFACTS / f"dropbox-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        shots.append(path)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        # Issue 21: the pages render under their CSP (no script, styles only from the portal's
        # stylesheet): Chromium reports every blocked style, script or form in the console.
        refused = []
        page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else 0)
        page.set_default_timeout(10_000)
        page.goto(f"{portal}/login")
        page.fill("input[name=email]", COLLECTOR)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/dashboard")

        page.click("text=Profile")
        page.wait_for_url("**/profile")
        assert page.locator("#dropbox-status").inner_text() == "Not linked."
        assert page.locator("#link-dropbox").inner_text() == "Link Dropbox"
        assert page.locator("#unlink-dropbox").count() == 0
        shot(page, "1-profile-not-linked")

        # Off to Dropbox (the sandbox's authorize page): code flow, PKCE S256, offline access.
        page.click("#link-dropbox")
        page.wait_for_url(f"{sandbox_url}/oauth2/authorize?**")
        asked = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
        assert asked["client_id"] == dropbox_sandbox["app_key"]
        assert asked["response_type"] == "code"
        assert asked["redirect_uri"] == f"{portal}/dropbox/callback"
        assert asked["code_challenge_method"] == "S256" and len(asked["code_challenge"]) == 43
        assert asked["token_access_type"] == "offline"
        assert dropbox_sandbox["app_secret"] not in page.url  # PKCE: no secret in the browser
        assert page.locator("#authorize-form").is_visible()
        page.fill("#email", DROPBOX_EMAIL)
        shot(page, "2-authorize")

        with page.expect_response(lambda r: "/dropbox/callback?" in r.url) as answer:
            page.click("#allow")
        callback = answer.value
        assert callback.status == 200
        assert callback.headers.get("referrer-policy") == "no-referrer"  # the code is in the URL
        callback_url = callback.url
        got = parse_qs(urlsplit(callback_url).query)
        assert got["state"] == [asked["state"]] and got["code"][0]
        assert urlsplit(page.url).path == "/dropbox/callback"
        assert "Dropbox linked" in page.locator("#dropbox-saved").inner_text()
        today = datetime.now(UTC).strftime("%B %d, %Y")
        assert page.locator("#dropbox-status").inner_text() == today
        assert "Linked since" in page.locator("#dropbox-status").locator("..").inner_text()
        assert page.locator("#link-dropbox").inner_text() == "Link Dropbox again"
        assert page.locator("#unlink-dropbox").is_visible()
        assert page.locator("#dropbox-error").count() == 0
        shot(page, "3-profile-linked")

        # The warehouse: the link, its refresh token encrypted with our key; the request used.
        [(account_id, token_enc, key_id, status, linked_at)] = _link_rows(warehouse)
        [dropbox_account] = _sandbox(sandbox_url, "accounts")["accounts"]
        assert dropbox_account["email"] == DROPBOX_EMAIL
        assert account_id == dropbox_account["account_id"]
        assert status == "linked" and dropbox_account["refresh_tokens"] == 1
        assert key_id == vault.key_id(linking_portal["key"])
        refresh_token = TokenVault([linking_portal["key"]]).decrypt(token_enc)
        assert refresh_token and refresh_token not in token_enc
        issued = _sandbox_refresh_tokens(sandbox_url)
        assert token_enc not in issued  # what is stored is not a token Dropbox knows...
        assert issued[refresh_token]["account_id"] == account_id  # ...but opens to one
        [(requester, used_at)] = _link_requests(warehouse)
        assert requester == COLLECTOR and used_at is not None

        # The same callback URL again (back button, a reload, a leaked link): refused, no change.
        token_calls = _token_requests(sandbox_url)
        page.goto(callback_url)
        assert "already used" in page.locator("#dropbox-error").inner_text()
        assert page.locator("#dropbox-saved").count() == 0
        assert page.locator("#dropbox-status").inner_text() == today  # still linked
        shot(page, "4-callback-replayed")
        assert _link_rows(warehouse) == [(account_id, token_enc, key_id, status, linked_at)]
        assert _link_requests(warehouse) == [(requester, used_at)]
        assert _token_requests(sandbox_url) == token_calls  # Dropbox was not even asked

        # Unlink: our copy is deleted and Dropbox revokes it.
        page.click("#unlink-dropbox")
        assert "Dropbox unlinked" in page.locator("#dropbox-unlinked").inner_text()
        assert page.locator("#dropbox-status").inner_text() == "Not linked."
        assert page.locator("#unlink-dropbox").count() == 0
        shot(page, "5-unlinked")
        assert _link_rows(warehouse) == []
        assert _sandbox(sandbox_url, "accounts")["accounts"][0]["refresh_tokens"] == 0
        assert refresh_token not in _sandbox_refresh_tokens(sandbox_url)

        # Link again, but Cancel on Dropbox: back on Profile with an error, nothing linked.
        page.click("#link-dropbox")
        page.wait_for_url(f"{sandbox_url}/oauth2/authorize?**")
        page.fill("#email", DROPBOX_EMAIL)
        shot(page, "6-authorize-again")
        page.click("#cancel")
        page.wait_for_url(f"{portal}/dropbox/callback?**")
        assert "error=access_denied" in page.url
        assert "did not allow" in page.locator("#dropbox-error").inner_text()
        assert page.locator("#dropbox-saved").count() == 0
        assert page.locator("#dropbox-status").inner_text() == "Not linked."
        shot(page, "7-cancelled")
        assert _link_rows(warehouse) == []
        assert len(_link_requests(warehouse)) == 2
        assert _sandbox(sandbox_url, "accounts")["accounts"][0]["refresh_tokens"] == 0
        browser.close()
    assert refused == []

    assert all(path.stat().st_size > 5_000 for path in shots)
    # The portal's log says what happened, and holds no code, state, token or app secret.
    server_log = linking_portal["log"].read_text()
    assert "Dropbox linked" in server_log and "Dropbox unlinked" in server_log
    for secret in (
        got["code"][0],
        asked["state"],
        refresh_token,
        token_enc,
        dropbox_sandbox["app_secret"],
        linking_portal["key"],
    ):
        assert secret not in server_log
