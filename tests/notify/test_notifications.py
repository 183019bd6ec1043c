"""Collector emails through Airflow's SMTP provider to the sandbox's SMTP server: each kind
arrives once with the right recipient, subject and links; reruns send nothing; a refused send is
retried next run and delivered once; digests (only) can be unsubscribed; "near you" by distance."""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from scoring_world import T0, World

from collector.accounts import logins
from collector.notify import emails
from collector.payouts.ledger import (
    ItemOutcome,
    approve_batches,
    freeze_week,
    record_outcomes,
)
from collector.payouts.profiles import set_payment_profile
from collector.scoring.scores import score_videos
from collector_airflow.tasks.notify import enqueue, send_outbox

WEEK = date(2026, 11, 16)
PORTAL = "http://portal.test"


@pytest.fixture
def mail(warehouse, smtp_connection, monkeypatch):
    monkeypatch.setenv("COLLECTOR_PORTAL_URL", PORTAL)
    monkeypatch.setenv("COLLECTOR_PORTAL_SECRET", "notifications-test-secret")
    return smtp_connection


def _run(week: date | None = None) -> dict:
    queued = enqueue(week)
    return {"queued": queued, **send_outbox()}


def _paid_week(conn) -> World:
    world = World(conn, pay_per_video_cents=300, perfect_bonus_cents=50)
    world.video(collector="ann@example.com", labels=("good", "perfect"))
    world.video(
        collector="ann@example.com", at=T0 + timedelta(days=1), labels=("incorrect_label",) * 2
    )
    world.video(collector="bob@example.com", at=T0 + timedelta(days=2))
    score_videos(conn)
    set_payment_profile(conn, "ann@example.com", "paypal", "ann@example.com", "test")
    set_payment_profile(conn, "bob@example.com", "paypal", "bob+unregistered@example.com", "t")
    frozen = freeze_week(conn, WEEK, ["paypal"], "test")
    approve_batches(conn, frozen.fingerprint(), "finance")
    batch = frozen.batches[0].batch_id
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE payout_submissions SET accepted_at = now() WHERE batch_id = %s", (batch,)
        )
        cur.execute("UPDATE payout_items SET status = 'pending' WHERE batch_id = %s", (batch,))
        cur.execute("UPDATE payout_batches SET state = 'submitted' WHERE batch_id = %s", (batch,))
        cur.execute("SELECT collector_id, idempotency_key FROM payout_items")
        keys = dict(cur.fetchall())
    record_outcomes(
        conn,
        "paypal",
        [
            ItemOutcome(keys["ann@example.com"], "SUCCESS"),
            ItemOutcome(keys["bob@example.com"], "FAILED", reason="RECEIVER_UNREGISTERED"),
        ],
        "test",
    )
    conn.commit()
    return world


def _by(messages, kind_subject: str, to: str) -> list[dict]:
    return [m for m in messages if m["to"] == to and kind_subject in m["subject"]]


def test_welcome_has_a_working_single_use_link_and_is_sent_once(mail, warehouse, warehouse_url):
    from portal.app import create_app

    logins.create_account(warehouse, " New.Collector@Example.com ")
    warehouse.commit()
    first = _run()
    assert first["sent"] == {"welcome": 1}
    [welcome] = mail()
    assert welcome["to"] == "new.collector@example.com"
    assert welcome["subject"] == "Welcome to the Visym Collector team"
    links = re.findall(r'href="([^"]+)"', welcome["html"])
    assert f"{PORTAL}/dashboard" in links and f"{PORTAL}/profile" in links
    [password_link] = [u for u in links if "/set-password?token=" in u]
    assert password_link in welcome["text"]  # the plain-text part says the same
    token = parse_qs(urlsplit(password_link).query)["token"][0]
    with warehouse.cursor() as cur:
        cur.execute("SELECT payload::text FROM email_outbox")
        assert token not in cur.fetchone()[0]  # the link exists only in the message
    warehouse.commit()
    # The link works, once.
    client = TestClient(create_app(warehouse_url, "s"), base_url="http://127.0.0.1")
    form = client.get(f"/set-password?token={token}")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    data = {"token": token, "password": "a long password", "confirm": "a long password"}
    assert client.post("/set-password", data={**data, "csrf_token": csrf}).status_code == 200
    form = client.get(f"/set-password?token={token}")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    reused = client.post("/set-password", data={**data, "csrf_token": csrf})
    assert reused.status_code == 400 and "already used" in reused.text
    # A rerun sends nothing new.
    assert _run()["sent"] == {}
    assert len(mail()) == 1


def test_digest_after_the_payout_and_unsubscribe_stops_digests_only(mail, warehouse, warehouse_url):
    from portal.app import create_app

    world = _paid_week(warehouse)
    result = _run(WEEK)
    assert result["sent"] == {"digest": 2, "payment_problem": 1}
    messages = mail()
    [digest] = _by(messages, "Your week of November 16, 2026", "ann@example.com")
    assert digest["subject"] == "Your week of November 16, 2026: 1 of 2 videos accepted"
    assert "$3.50 via PayPal: paid" in digest["text"]
    assert "Incorrect label (1): Read the collection definition" in digest["text"]
    unsubscribe = digest["headers"]["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith(f"{PORTAL}/unsubscribe?")
    assert digest["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    [problem] = _by(messages, "did not arrive", "bob@example.com")
    assert "no PayPal account uses the address under Profile" in problem["text"]
    assert "RECEIVER_UNREGISTERED" not in problem["text"] and f"{PORTAL}/profile" in problem["text"]
    assert "List-Unsubscribe" not in problem["headers"]  # transactional: no opting out

    # One click (RFC 8058): POST to the header's URL, no login.
    client = TestClient(
        create_app(warehouse_url, "notifications-test-secret"), base_url="http://127.0.0.1"
    )
    path = unsubscribe.removeprefix(PORTAL)
    forged = path.replace("t=", "t=0")
    assert client.post(forged).status_code == 403
    assert client.post(path).status_code == 200
    assert not emails.digest_subscribed(warehouse, "ann@example.com")
    # Next week: no digest for ann, but her payment notices still come.
    with warehouse.cursor() as cur:
        cur.execute(
            "UPDATE payout_items SET status = 'unclaimed' WHERE collector_id = 'ann@example.com'"
        )
    warehouse.commit()
    world.video(collector="ann@example.com", at=T0 + timedelta(days=7))
    later = _run(WEEK + timedelta(days=7))
    assert later["queued"]["digest"] == 0
    assert later["sent"] == {"payment_problem": 1}
    assert _by(mail(), "Accept your PayPal payment", "ann@example.com")


def test_a_refused_send_is_retried_next_run_and_delivered_once(mail, warehouse, sandbox_admin):
    logins.create_account(warehouse, "ann@example.com")
    warehouse.commit()
    sandbox_admin("mail/faults", {"count": 1})
    first = _run()
    assert first["sent"] == {} and first["failed"] == {"welcome": 1}
    with warehouse.cursor() as cur:
        cur.execute("SELECT status, attempts, last_error FROM email_outbox")
        status, attempts, error = cur.fetchone()
    warehouse.commit()
    assert (status, attempts) == ("failed", 1) and "451" in error
    assert mail() == []
    assert _run()["sent"] == {"welcome": 1}
    assert _run()["sent"] == {}
    assert len(mail()) == 1


def test_near_you_within_the_radius_and_at_most_once_a_day(mail, warehouse):
    from dataclasses import replace

    from collector_tools.demo_files import demo_collections

    from collector.catalog.collections import record_collection_version

    centre = (40.7128, -74.0060)
    km = 1 / 111.32  # degrees of latitude per km
    world = World(warehouse)
    world.video(collector="near@example.com", lat=centre[0] + 9.9 * km, lon=centre[1])
    world.video(collector="far@example.com", lat=centre[0] + 10.1 * km, lon=centre[1])
    base = demo_collections()[1]
    now = datetime.now(UTC)
    for n, collection_id in enumerate(("P777C001", "P777C002")):
        geofenced = replace(
            base,
            collection_id=collection_id,
            project_id="P777",
            name=f"Street scenes {n + 1}",
            geofence_lat=centre[0],
            geofence_lon=centre[1],
            geofence_radius_m=10_000,
        )
        record_collection_version(warehouse, geofenced, now - timedelta(days=3))
        with warehouse.cursor() as cur:
            cur.execute(
                """INSERT INTO collection_status (collection_id, enabled, reason, changed_at)
                   VALUES (%s, true, 'enabled by the daily update', %s)""",
                (collection_id, now - timedelta(hours=1)),
            )
        warehouse.commit()
        _run()
    messages = [m for m in mail() if "near you" in m["subject"] or "your area" in m["subject"]]
    assert [m["to"] for m in messages] == ["near@example.com"]  # once, though two collections
    assert "Street scenes 1" in messages[0]["text"]


def test_payment_details_changed_email_masks_the_receiver(mail, warehouse):
    account = logins.create_account(warehouse, "ann@example.com")
    warehouse.commit()
    _run()  # the welcome
    logins.change_payment_profile(warehouse, account, "payoneer", "PAYEE-998877", datetime.now(UTC))
    warehouse.commit()
    assert _run()["sent"] == {"payment_details_changed": 1}
    [changed] = _by(mail(), "payment details were changed", "ann@example.com")
    assert "****8877" in changed["text"] and "PAYEE-998877" not in changed["text"] + changed["html"]


def test_a_second_change_names_the_previous_details_masked(mail, warehouse):
    account = logins.create_account(warehouse, "ann@example.com")
    warehouse.commit()
    _run()  # the welcome
    logins.change_payment_profile(
        warehouse, account, "paypal", "paula@gmail.com", datetime.now(UTC)
    )
    logins.change_payment_profile(
        warehouse, account, "paypal", "pm.work@gmail.com", datetime.now(UTC)
    )
    warehouse.commit()
    _run()
    second = _by(mail(), "payment details were changed", "ann@example.com")[-1]
    assert "PayPal pm…@gm…com instead of PayPal pa…@gm…com" in second["text"]
    assert "paula@gmail.com" not in second["text"] + second["html"]


@pytest.mark.slow  # a browser
def test_email_html_renders_in_a_browser_and_links_resolve(
    mail, warehouse, warehouse_url, sandbox_url
):
    from playwright.sync_api import sync_playwright

    from portal.app import create_app

    _paid_week(warehouse)
    logins.create_account(warehouse, "ann@example.com")
    warehouse.commit()
    _run(WEEK)
    client = TestClient(create_app(warehouse_url, "s"), base_url="http://127.0.0.1")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
        page = browser.new_page()
        for message in mail():
            page.goto(f"{sandbox_url}/inbox/{message['id']}")
            assert page.locator(".mail h1").count() == 1, message["subject"]
            for href in page.locator(".mail a").evaluate_all("els => els.map(e => e.href)"):
                assert href.startswith(PORTAL), href
                answer = client.get(href.removeprefix(PORTAL), follow_redirects=False)
                assert answer.status_code in (200, 303), (href, answer.status_code)
        browser.close()


def test_password_reset_request_sends_a_two_hour_link(mail, warehouse):
    logins.create_account(warehouse, "ann@example.com")
    warehouse.commit()
    _run()  # the welcome
    logins.request_reset(warehouse, "ANN@example.com ", datetime.now(UTC))
    logins.request_reset(warehouse, "nobody@example.com", datetime.now(UTC))
    warehouse.commit()
    assert _run()["sent"] == {"password_reset_requested": 1}
    [reset] = _by(mail(), "Choose a new password", "ann@example.com")
    link = re.search(r"(http://portal\.test/set-password\?token=\S+)", reset["text"]).group(1)
    token = parse_qs(urlsplit(link).query)["token"][0]
    later = datetime.now(UTC) + timedelta(hours=2, minutes=1)
    with pytest.raises(logins.AccountError, match="expired"):
        logins.use_link(warehouse, token, "a new long password", later)
    logins.use_link(warehouse, token, "a new long password", datetime.now(UTC))
    warehouse.commit()


def test_an_unreachable_smtp_server_puts_the_messages_back(mail, warehouse, monkeypatch):
    logins.create_account(warehouse, "ann@example.com")
    warehouse.commit()
    good = os.environ["AIRFLOW_CONN_SMTP_DEFAULT"]
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_DEFAULT",
        "smtp://127.0.0.1:9?disable_ssl=true&disable_tls=true&retry_limit=0",
    )
    with pytest.raises(Exception, match=r"(?i)connect"):
        _run()
    with warehouse.cursor() as cur:
        cur.execute("SELECT status, attempts FROM email_outbox")
        assert cur.fetchall() == [("pending", 0)]  # not lost in "sending"
    warehouse.commit()
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", good)
    assert _run()["sent"] == {"welcome": 1}
    assert len(mail()) == 1


def test_reset_requests_are_rate_limited_and_a_new_password_retires_old_links(warehouse):
    account = logins.create_account(warehouse, "ann@example.com")
    now = datetime.now(UTC)
    welcome = logins.issue_link(warehouse, account, "set_password", now)
    for minutes in (0, 1, 2, 16):
        logins.request_reset(warehouse, "ann@example.com", now + timedelta(minutes=minutes))
    with warehouse.cursor() as cur:
        cur.execute("SELECT count(*) FROM collector_events WHERE kind = 'password_reset_requested'")
        assert cur.fetchone() == (2,)  # t=0 and t=16 min
    reset = logins.issue_link(warehouse, account, "reset_password", now)
    logins.use_link(warehouse, reset, "a brand new password", now)
    with pytest.raises(logins.AccountError, match="already used"):
        logins.use_link(warehouse, welcome, "someone else's password", now)
    warehouse.rollback()


def test_a_changed_password_is_mailed_and_a_first_password_is_not(mail, warehouse):
    """ASVS V2.2.3: a new password that replaces one gets an email saying when, with the way
    back in (the reset page); setting the first password from the welcome link gets none."""
    account = logins.create_account(warehouse, "ann@example.com")
    now = datetime(2026, 11, 30, 14, 5, tzinfo=UTC)
    welcome = logins.issue_link(warehouse, account, "set_password", now)
    logins.use_link(warehouse, welcome, "a first long password", now)
    warehouse.commit()
    assert "password_changed" not in _run()["sent"]
    reset = logins.issue_link(warehouse, account, "reset_password", now)
    logins.use_link(warehouse, reset, "a second long password", now)
    warehouse.commit()
    assert _run()["sent"] == {"password_changed": 1}
    assert _run()["sent"] == {}  # once
    [changed] = _by(mail(), "password was changed", "ann@example.com")
    assert "2026-11-30 09:05 ET" in changed["text"]  # 14:05 UTC, in the business time zone
    assert f"{PORTAL}/reset" in changed["text"] and f'href="{PORTAL}/reset"' in changed["html"]
    assert "a second long password" not in changed["text"] + changed["html"]


def test_a_sign_in_from_a_new_browser_is_mailed_once_per_browser(mail, warehouse, warehouse_url):
    """ASVS V2.2.3: a sign-in from a browser the account had not used is mailed to the owner;
    the browser that set the password, and a browser once it is known, are not."""
    from portal_client import invite, login, set_password

    from portal.app import create_app

    app = create_app(warehouse_url, "notifications-test-secret")
    first = TestClient(app, base_url="http://127.0.0.1")
    assert set_password(first, invite(warehouse, "ann@example.com")).status_code == 200
    assert login(first, "ann@example.com").status_code == 303  # the browser that set it
    assert _run()["sent"] == {"welcome": 1}
    other = TestClient(app, base_url="http://127.0.0.1")
    assert login(other, "ann@example.com").status_code == 303
    assert login(other, "ann@example.com").status_code == 303  # known from now on
    assert _run()["sent"] == {"new_browser_sign_in": 1}
    [signed_in] = _by(mail(), "New sign-in", "ann@example.com")
    assert re.search(r"on \d{4}-\d\d-\d\d \d\d:\d\d ET, from a browser", signed_in["text"])
    assert f'href="{PORTAL}/reset"' in signed_in["html"]


def test_a_browser_known_before_the_host_prefix_is_still_known(mail, warehouse, warehouse_url):
    """A device cookie under its pre-``__Host-`` name still counts over HTTPS, so deploying
    the prefix does not mail every collector a "new sign-in"; a browser without it is new."""
    from portal_client import invite, login, set_password

    from portal.app import create_app
    from portal.deps import DEVICE_COOKIE

    app = create_app(warehouse_url, "notifications-test-secret")
    first = TestClient(app, base_url="https://portal.example.com")
    assert set_password(first, invite(warehouse, "ann@example.com")).status_code == 200
    device = first.cookies[f"__Host-{DEVICE_COOKIE}"]
    before = TestClient(app, base_url="https://portal.example.com")
    before.cookies.set(DEVICE_COOKIE, device)  # as set before the prefix
    assert login(before, "ann@example.com").status_code == 303
    assert login(TestClient(app, base_url="https://portal.example.com"), "ann@example.com")
    assert _run()["sent"] == {"welcome": 1, "new_browser_sign_in": 1}
