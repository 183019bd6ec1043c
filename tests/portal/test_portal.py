"""The portal over a real warehouse, through HTTP (FastAPI's TestClient): login, sessions,
CSRF, authorization between collectors and for ops, links, throttling, and what is kept."""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from portal_client import PASSWORD, SECRET, csrf_token, invite, login, member, set_password
from scoring_world import T0, World

from collector.accounts import logins, throttle
from collector.scoring.scores import score_videos


@pytest.fixture
def portal(warehouse, warehouse_url):
    from portal.app import create_app

    world = World(warehouse, pay_per_video_cents=300, perfect_bonus_cents=50)
    for n in range(120):  # ann: more videos than one page
        world.video(collector="ann@example.com", at=T0 + timedelta(hours=13 * n))
    world.video(collector="bob@example.com", labels=("good", "perfect"))
    score_videos(warehouse)
    app = create_app(warehouse_url, SECRET, "https://sheets.example/d/")
    return app


def test_login_sets_a_signed_httponly_lax_session_secure_off_localhost(portal, warehouse):
    token = invite(warehouse, "ann@example.com")
    local = TestClient(portal, base_url="http://127.0.0.1")
    set_password(local, token)
    answer = login(local, "  Ann@Example.COM ")  # FAQ 5: spaces and capitals are forgiven
    assert answer.status_code == 303 and answer.headers["location"] == "/dashboard"
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert cookie.startswith("collector_session=")  # plain HTTP on localhost: no prefix
    remote = TestClient(portal, base_url="https://portal.example.com")
    answer = login(remote, "ann@example.com")
    assert answer.status_code == 303
    # ASVS V3.4.4: over HTTPS every cookie is __Host- (Secure, Path=/, no Domain), and is read
    # back under that name.
    cookies = answer.headers.get_list("set-cookie")
    assert cookies and all(c.startswith("__Host-collector_") for c in cookies), cookies
    for set_cookie in cookies:
        attributes = [a.strip().lower() for a in set_cookie.split(";")[1:]]
        assert {"secure", "path=/", "httponly"} <= set(attributes), set_cookie
        assert not any(a.startswith("domain") for a in attributes), set_cookie
    assert remote.get("/dashboard").status_code == 200
    csrf = csrf_token(remote.get("/profile").text)
    bye = remote.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    dropped = bye.headers["set-cookie"]
    assert dropped.startswith("__Host-collector_session=") and "Secure" in dropped
    assert remote.get("/dashboard", follow_redirects=False).headers["location"] == "/login"
    # A tampered cookie is no session.
    forged = TestClient(portal, base_url="http://127.0.0.1")
    forged.cookies.set("collector_session", "x" + local.cookies["collector_session"])
    assert forged.get("/dashboard", follow_redirects=False).headers["location"] == "/login"


def test_login_forgives_pasted_invisible_characters_and_folds_nothing_else(portal, warehouse):
    """Issue 19, cases 8 and 2: a zero-width space, BOM or no-break space pasted with the email
    is no part of it; but ``ß`` is not ``ss``: another address is another account."""
    ann = TestClient(portal, base_url="http://127.0.0.1")
    set_password(ann, invite(warehouse, "ann@example.com"))
    for pasted in ("ann@example.com\u200b", "\ufeffAnn@Example.com\u00a0", "ann@\u200bexample.com"):
        ann.cookies.clear()
        answer = login(ann, pasted)
        assert (answer.status_code, answer.headers.get("location")) == (303, "/dashboard"), pasted
    maria = TestClient(portal, base_url="http://127.0.0.1")
    set_password(maria, invite(warehouse, "Maria.Weiß@example.de"))
    assert login(maria, "maria.weiss@example.de").status_code == 401
    assert login(maria, "MARIA.WEIß@example.de\u200b").status_code == 303
    with warehouse.cursor() as cur:
        cur.execute("SELECT email, collector_id FROM portal_accounts WHERE email LIKE 'maria%'")
        assert cur.fetchall() == [("maria.weiß@example.de", "maria.weiß@example.de")]
    warehouse.commit()


def test_failed_login_says_the_same_whether_or_not_the_email_exists(portal, warehouse):
    client = member(portal, warehouse, "ann@example.com")
    client.cookies.clear()
    wrong = login(client, "ann@example.com", "not the password")
    unknown = login(client, "nobody@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    message = re.search(r'id="error">([^<]+)<', wrong.text).group(1)
    assert message == re.search(r'id="error">([^<]+)<', unknown.text).group(1)
    assert message == logins.LOGIN_REFUSED


def test_typo_is_suggested_on_the_login_page(portal, warehouse):
    client = TestClient(portal, base_url="http://127.0.0.1")
    answer = login(client, "ann@gmail.con", "whatever it is")
    assert "Did you mean ann@gmail.com?" in answer.text


def test_forms_without_the_right_csrf_token_are_refused(portal, warehouse):
    client = member(portal, warehouse, "ann@example.com")
    no_token = client.post("/profile", data={"method": "paypal", "receiver": "ann@example.com"})
    wrong = client.post(
        "/profile",
        data={"method": "paypal", "receiver": "ann@example.com", "csrf_token": "forged"},
    )
    assert no_token.status_code == wrong.status_code == 403
    assert logins.payment_profile(warehouse, "ann@example.com") is None
    stranger = TestClient(portal, base_url="http://127.0.0.1")
    answer = stranger.post("/login", data={"email": "ann@example.com", "password": PASSWORD})
    assert answer.status_code == 403  # login form posted from elsewhere: no CSRF cookie


def test_a_collector_sees_and_changes_only_their_own_data(portal, warehouse):
    ann = member(portal, warehouse, "ann@example.com")
    member(portal, warehouse, "bob@example.com")
    assert ann.get("/collectors/bob@example.com/dashboard").status_code == 404
    assert ann.get("/collectors/nobody@example.com/dashboard").status_code == 404
    assert ann.get("/ops").status_code == 404
    own = ann.get("/collectors/ANN@example.com/dashboard")
    assert own.status_code == 200 and "Your dashboard" in own.text
    csrf = csrf_token(ann.get("/profile").text)
    answer = ann.post(
        "/profile",
        data={
            "method": "paypal",
            "receiver": "ann.pay@example.com",
            "csrf_token": csrf,
            "collector_id": "bob@example.com",  # ignored: the session says who
        },
    )
    assert answer.status_code == 200
    assert logins.payment_profile(warehouse, "ann@example.com") == ("paypal", "an…@ex…com")
    assert logins.payment_profile(warehouse, "bob@example.com") is None
    dashboard = ann.get("/dashboard").text
    assert "bob@example.com" not in dashboard


def test_ops_read_any_dashboard_and_change_nothing(portal, warehouse):
    ops = member(portal, warehouse, "ops@example.com", role="ops")
    assert ops.get("/dashboard", follow_redirects=False).headers["location"] == "/ops"
    listing = ops.get("/ops")
    assert "bob@example.com" in listing.text and "ann@example.com" in listing.text
    page = ops.get("/collectors/bob@example.com/dashboard")
    assert page.status_code == 200 and "(read only)" in page.text
    assert ops.get("/profile").status_code == 403
    csrf = csrf_token(page.text)
    answer = ops.post(
        "/profile", data={"method": "paypal", "receiver": "x@y.org", "csrf_token": csrf}
    )
    assert answer.status_code == 403
    assert "password" not in page.text.lower().replace("forgot your password", "")


def test_reset_request_answers_the_same_for_unknown_emails(portal, warehouse):
    member(portal, warehouse, "ann@example.com")
    client = TestClient(portal, base_url="http://127.0.0.1")
    answers = []
    for email in ("ann@example.com", "nobody@example.com"):
        csrf = csrf_token(client.get("/reset").text)
        answers.append(client.post("/reset", data={"email": email, "csrf_token": csrf}))
    assert answers[0].status_code == answers[1].status_code == 200
    assert answers[0].text == answers[1].text
    with warehouse.cursor() as cur:
        cur.execute("SELECT kind, collector_id FROM collector_events")
        assert cur.fetchall() == [("password_reset_requested", "ann@example.com")]
    warehouse.commit()


def test_login_throttling_per_email_and_address_pair_and_per_address(portal, warehouse):
    """Issue 21: a few failures of one (email, address) pair, then waits (429 + Retry-After),
    even for the right password; one address trying many accounts is stopped too. (Waits that
    grow, and the owner at another address, are tested over real HTTP: test_throttling.)"""
    member(portal, warehouse, "ann@example.com")
    client = TestClient(portal, base_url="http://127.0.0.1")
    for _ in range(throttle.FREE_PAIR_FAILURES):
        assert login(client, "ann@example.com", "wrong password").status_code == 401
    blocked = login(client, "ann@example.com")  # even the right password waits now
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert "Too many failed attempts" in blocked.text and "Forgot your password?" in blocked.text
    # One address trying many accounts is stopped too, even for an account it never tried.
    logins.use_link(warehouse, invite(warehouse, "bob@example.com"), PASSWORD, datetime.now(UTC))
    warehouse.commit()
    for n in range(throttle.MAX_FAILURES_PER_CLIENT - throttle.FREE_PAIR_FAILURES):
        login(client, f"guess{n}@example.com", "wrong password")
    assert login(client, "bob@example.com").status_code == 429


def test_profile_change_after_the_freeze_says_it_applies_to_the_next_batch(portal, warehouse):
    from collector.payouts.profiles import set_payment_profile

    ann = member(portal, warehouse, "ann@example.com")
    set_payment_profile(warehouse, "bob@example.com", "paypal", "bob@example.com", "test")
    now = datetime.now(UTC)
    from collector.core.clock import previous_week

    coming = previous_week(now)
    first = ann.post(
        "/profile",
        data={
            "method": "paypal",
            "receiver": " Ann.Pay@Example.com ",
            "csrf_token": csrf_token(ann.get("/profile").text),
        },
    )
    assert "after-freeze" not in first.text
    assert coming.strftime("%B %d, %Y") in first.text
    # Finance freezes the coming payout, paying ann with these details; a change now waits.
    _freeze_a_batch(warehouse, coming, paying={"ann@example.com": "ann.pay@example.com"})
    bad = ann.post(
        "/profile",
        data={
            "method": "paypal",
            "receiver": "not-an-email",
            "csrf_token": csrf_token(ann.get("/profile").text),
        },
    )
    assert (
        bad.status_code == 400
        and "PayPal email: &#39;not-an-email&#39; is not an email address" in bad.text
    )
    second = ann.post(
        "/profile",
        data={
            "method": "payoneer",
            "receiver": "PAYEE-778899",
            "csrf_token": csrf_token(ann.get("/profile").text),
        },
    )
    assert 'id="after-freeze"' in second.text
    assert "already prepared with your previous details (PayPal an…@ex…com)" in second.text
    assert (coming + timedelta(days=7)).strftime("%B %d, %Y") in second.text
    with warehouse.cursor() as cur:
        cur.execute(
            "SELECT method, receiver FROM payment_profiles WHERE collector_id = %s",
            ("ann@example.com",),
        )
        assert cur.fetchone() == ("payoneer", "PAYEE-778899")  # what the payout reads
        cur.execute(
            """SELECT changed_by, old_method, old_receiver, new_method, new_receiver, applies_from
               FROM payment_profile_changes ORDER BY change_id"""
        )
        audit = cur.fetchall()
        cur.execute("SELECT kind, payload FROM collector_events ORDER BY event_id")
        events = cur.fetchall()
    warehouse.commit()
    assert audit == [
        ("ann@example.com", None, None, "paypal", "an…@ex…com", coming),
        (
            "ann@example.com",
            "paypal",
            "an…@ex…com",
            "payoneer",
            "****8899",
            coming + timedelta(days=7),
        ),
    ]
    assert [kind for kind, _ in events] == ["payment_details_changed"] * 2
    assert "PAYEE-778899" not in str(events) and "ann.pay@example.com" not in str(events)


def _freeze_a_batch(conn, week: date, paying: dict[str, str]) -> None:
    """A frozen PayPal batch for ``week`` with one item per collector -> receiver."""
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO payout_batches (week_start, provider, attempt, state, item_count,
                   total_cents, frozen_by) VALUES (%s, 'paypal', 1, 'draft', %s, %s, 'test')
               RETURNING batch_id""",
            (week, max(1, len(paying)), 300 * max(1, len(paying))),
        )
        (batch_id,) = cur.fetchone()
        cur.execute(
            "INSERT INTO payout_submissions (batch_id, chunk, idempotency_key) VALUES (%s, 1, %s)",
            (batch_id, f"test-{batch_id}"),
        )
        for n, (collector, receiver) in enumerate(paying.items()):
            cur.execute(
                "INSERT INTO collectors (collector_id) VALUES (%s) ON CONFLICT DO NOTHING",
                (collector,),
            )
            cur.execute(
                """INSERT INTO payout_items (batch_id, chunk, collector_id, provider, receiver,
                       amount_cents, idempotency_key, status)
                   VALUES (%s, 1, %s, 'paypal', %s, 300, %s, 'frozen')""",
                (batch_id, collector, receiver, f"test-{batch_id}-{n}"),
            )
    conn.commit()


def test_profile_after_a_freeze_without_her_never_claims_previous_details(portal, warehouse):
    """Issue 17: a collector with no details on file was told the frozen week used her
    "previous details". Frozen without her, the page says so and what happens to her videos."""
    from collector.core.clock import previous_week

    coming = previous_week(datetime.now(UTC))
    _freeze_a_batch(warehouse, coming, paying={"bob@example.com": "bob@example.com"})
    ann = member(portal, warehouse, "ann@example.com")
    first = ann.post(
        "/profile",
        data={
            "method": "paypal",
            "receiver": "ann.pay@example.com",
            "csrf_token": csrf_token(ann.get("/profile").text),
        },
    )
    assert first.status_code == 200
    assert "previous details" not in first.text and 'id="after-freeze"' not in first.text
    assert 'id="after-freeze-unpaid"' in first.text
    assert "without a payment to you, since you had no payment details on file" in first.text
    assert (coming + timedelta(days=7)).strftime("%B %d, %Y") in first.text
    # Details on file but still not in the frozen week (nothing to pay then): no false claim
    # either, and no claim about missing details.
    second = ann.post(
        "/profile",
        data={
            "method": "payoneer",
            "receiver": "PAYEE-1234",
            "csrf_token": csrf_token(ann.get("/profile").text),
        },
    )
    assert "previous details" not in second.text
    assert 'id="after-freeze-unpaid"' in second.text
    assert "no payment details on file" not in second.text


def test_no_password_token_or_payment_identifier_in_logs(portal, warehouse, caplog):
    caplog.set_level(logging.DEBUG)
    token = invite(warehouse, "ann@example.com")
    client = TestClient(portal, base_url="http://127.0.0.1")
    set_password(client, token)
    login(client, "ann@example.com", "a wrong password here")
    login(client, "ann@example.com")
    client.post(
        "/profile",
        data={
            "method": "payoneer",
            "receiver": "PAYEE-SECRET-4242",
            "csrf_token": csrf_token(client.get("/profile").text),
        },
    )
    session = client.cookies["collector_session"]
    # The test's own HTTP client (httpx) logs the URLs it requests; the server must log nothing.
    logged = "\n".join(
        r.getMessage() for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))
    )
    for secret in (PASSWORD, "a wrong password here", token, "PAYEE-SECRET-4242", session):
        assert secret not in logged
    assert "payment details changed" in logged  # the log does say what happened


def test_dashboard_pages_through_thousands_and_links_the_sheet(portal, warehouse):
    with warehouse.cursor() as cur:
        cur.execute(
            """INSERT INTO collector_dashboards (collector_id, spreadsheet_id, sheet_ids)
               VALUES ('ann@example.com', 'SHEET123', '{}')"""
        )
    warehouse.commit()
    ann = member(portal, warehouse, "ann@example.com")
    first = ann.get("/dashboard")
    assert first.text.count("<tr>") - 1 >= 50
    rows = re.findall(r"<td>(P004C009-v\d+)</td>", first.text)
    assert len(rows) == 50 and "Page 1 of 3" in first.text
    last = ann.get("/dashboard?page=3")
    assert len(re.findall(r"<td>(P004C009-v\d+)</td>", last.text)) == 20
    assert 'href="https://sheets.example/d/SHEET123" target="_blank"' in first.text
    assert "Videos (120)" in first.text
    assert "=IF(1&gt;=0.75,&#34;YES&#34;,&#34;NO&#34;)" in first.text  # FAQ 11: the formula shown
    assert first.text.count('class="bar"') >= 1  # weekly earnings chart


def test_parallel_guesses_cannot_outrun_the_throttle(portal, warehouse):
    import threading

    member(portal, warehouse, "ann@example.com")
    codes: list[int] = []

    def guess():
        client = TestClient(portal, base_url="http://127.0.0.1")
        codes.append(login(client, "ann@example.com", "wrong password").status_code)

    threads = [threading.Thread(target=guess) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert codes.count(401) == throttle.FREE_PAIR_FAILURES
    assert codes.count(429) == 12 - throttle.FREE_PAIR_FAILURES
