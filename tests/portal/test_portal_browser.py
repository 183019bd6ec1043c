"""The portal as collectors use it: its own process (`python -m portal serve`), driven by a real
headless Chromium (Debian's, installed by the test set-up) through Playwright. Screenshots of
each step go to .local/test/artifacts/portal-*.png."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from scoring_world import T0, World

from collector.accounts import logins
from collector.scoring.scores import score_videos

ARTIFACTS = Path(__file__).resolve().parents[2] / ".local" / "test" / "artifacts"
pytestmark = pytest.mark.slow  # a browser
PASSWORD = "a long demo password"


@pytest.fixture
def portal_url(warehouse, warehouse_url, tmp_path):
    world = World(warehouse, pay_per_video_cents=300, perfect_bonus_cents=50)
    for n in range(3):
        world.video(
            collector="ann@gmail.com",
            at=T0 + timedelta(days=n),
            labels=(("good", "perfect"), ("good", "good"), ("incorrect_label", "good"))[n],
        )
    world.video(collector="bob@example.com")
    score_videos(warehouse)
    account = logins.create_account(warehouse, "ann@gmail.com")
    logins.use_link(
        warehouse,
        logins.issue_link(warehouse, account, "set_password", datetime.now(UTC)),
        PASSWORD,
        datetime.now(UTC),
    )
    with warehouse.cursor() as cur:
        cur.execute(
            """INSERT INTO collector_dashboards (collector_id, spreadsheet_id, sheet_ids)
               VALUES ('ann@gmail.com', 'ANNSHEET', '{}')"""
        )
    warehouse.commit()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "COLLECTOR_DB_URL": warehouse_url,
        "COLLECTOR_PORTAL_SECRET": "browser-test-secret",
        "COLLECTOR_SHEETS_WEB_URL": "http://127.0.0.1:9/sheets/",
    }
    server_log = (tmp_path / "portal.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "portal", "serve", "--port", str(port)],
        env=env,
        stdout=server_log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1)
            break
        except OSError:
            assert server.poll() is None, (tmp_path / "portal.log").read_text()
            time.sleep(0.1)
    yield url
    server.terminate()
    server.wait(10)
    server_log.close()


def test_a_collector_logs_in_reads_the_dashboard_changes_payment_details_and_logs_out(
    portal_url, warehouse, tmp_path
):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shots = []

    def shot(page, name):
        path = ARTIFACTS / f"portal-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        shots.append(path)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        # Issue 21: the pages render under their CSP (no script, styles only from the portal's
        # stylesheet): Chromium reports every blocked style, script or form in the console.
        refused = []
        page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else 0)
        page.goto(portal_url)
        assert page.url.endswith("/login")

        # A wrong password: the same refusal for every reason.
        page.fill("input[name=email]", "ann@gmail.com")
        page.fill("input[name=password]", "not my password")
        page.click("button[type=submit]")
        assert page.locator("#error").inner_text() == logins.LOGIN_REFUSED
        shot(page, "1-wrong-password")

        # A typo in the domain: FAQ 5's advice, as a suggestion.
        page.fill("input[name=email]", " Ann@gmail.con ")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        assert "Did you mean ann@gmail.com?" in page.locator("#error").inner_text()
        shot(page, "2-typo-suggestion")

        page.fill("input[name=email]", " Ann@Gmail.com")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/dashboard")
        # The stylesheet applies under the CSP (the header's blue comes from /static/).
        header = page.eval_on_selector("header", "e => getComputedStyle(e).backgroundColor")
        assert header == "rgb(26, 115, 232)"
        rows = page.locator("#videos tr")
        assert rows.count() == 1 + 3  # header + three videos, newest first
        assert "Incorrect label" in rows.nth(1).inner_text()
        assert page.locator("#videos td.yes").count() == 2  # Accepted? with its formula
        assert page.locator("#videos td.no").count() == 1
        bars = page.locator("svg.chart rect.bar")
        assert bars.count() >= 1 and bars.first.bounding_box()["height"] > 0
        sheet = page.locator("#open-sheet")
        assert sheet.get_attribute("target") == "_blank"
        assert sheet.get_attribute("href").endswith("/sheets/ANNSHEET")
        assert (
            "missing: enter PayPal or Payoneer under Profile"
            in page.locator("#summary").inner_text()
        )
        shot(page, "3-dashboard")

        page.click("text=Profile")
        page.select_option("select[name=method]", "paypal")
        page.fill("input[name=receiver]", "  Ann.Payments@Example.COM ")
        page.click("text=Save payment details")
        assert "an…@ex…com" in page.locator("#saved").inner_text()
        assert "PayPal an…@ex…com" in page.locator("#on-file").inner_text()
        shot(page, "4-profile-saved")

        page.click("#logout")
        page.wait_for_url("**/login?bye=1")
        page.goto(f"{portal_url}/dashboard")
        assert page.url.endswith("/login")  # the session ended with the logout
        shot(page, "5-logged-out")
        browser.close()
    assert refused == []

    with warehouse.cursor() as cur:
        cur.execute(
            "SELECT method, receiver FROM payment_profiles WHERE collector_id = 'ann@gmail.com'"
        )
        assert cur.fetchone() == ("paypal", "ann.payments@example.com")  # what payouts read
    warehouse.commit()
    assert all(path.stat().st_size > 5_000 for path in shots)
    # The service's own log says what happened, and holds no secret or payment identifier.
    server_log = (tmp_path / "portal.log").read_text()
    assert "payment details changed" in server_log and "login: account" in server_log
    for secret in (PASSWORD, "not my password", "ann.payments@example.com", "collector_session="):
        assert secret not in server_log
