"""Issue 21, findings 2 and 3, through the portal as its own uvicorn process, with clients on
several addresses of 127.0.0.0/8 (each a real TCP peer): the client address comes from
X-Forwarded-For only when a configured trusted proxy sends it, and login throttling slows an
attacker without letting them keep the owner out."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from portal_client import PASSWORD, http_client, invite, login, set_password

from collector.accounts import logins, throttle

ATTACKER, VICTIM, OWNER = "127.0.0.1", "127.0.0.2", "127.0.0.3"


def owner_with_password(url: str, warehouse, email: str = "ann@example.com"):
    """A browser of the owner (at OWNER) that set its password through the link."""
    owner = http_client(url, source=OWNER)
    assert set_password(owner, invite(warehouse, email)).status_code == 200
    return owner


def spray(client, count: int, start: int = 0) -> list[int]:
    """``count`` failed logins on different emails (one address spraying many accounts)."""
    return [
        login(client, f"guess{n}@example.com", "wrong password").status_code
        for n in range(start, start + count)
    ]


def test_rotating_x_forwarded_for_from_an_untrusted_client_does_not_bypass(live_portal):
    """No proxy is trusted by default: a new X-Forwarded-For on each try is still one address,
    which the per-address limit stops (before: each forged address was a fresh client)."""
    attacker = http_client(live_portal, source=ATTACKER)
    codes = []
    for n in range(throttle.MAX_FAILURES_PER_CLIENT + 2):
        attacker.headers["X-Forwarded-For"] = f"198.51.100.{n + 1}"
        codes.append(login(attacker, f"guess{n}@example.com", "wrong password").status_code)
    assert codes[: throttle.MAX_FAILURES_PER_CLIENT] == [401] * throttle.MAX_FAILURES_PER_CLIENT
    assert codes[throttle.MAX_FAILURES_PER_CLIENT :] == [429, 429]


def test_a_victims_address_in_x_forwarded_for_does_not_lock_the_victim_out(live_portal, warehouse):
    """An attacker naming the victim's address in X-Forwarded-For is throttled as themself; the
    victim, at that address, logs in (before: the victim's address was locked)."""
    victim = owner_with_password(live_portal, warehouse)
    victim_at_own_address = http_client(live_portal, source=VICTIM)
    attacker = http_client(live_portal, source=ATTACKER, **{"X-Forwarded-For": VICTIM})
    codes = spray(attacker, throttle.MAX_FAILURES_PER_CLIENT + 1)
    assert codes[-1] == 429
    assert login(victim_at_own_address, "ann@example.com").status_code == 303
    assert login(victim, "ann@example.com").status_code == 303


def test_a_trusted_proxys_forwarded_address_is_the_client(serve, warehouse):
    """With the proxy configured (COLLECTOR_PORTAL_TRUSTED_PROXIES), each forwarded address is
    its own client: one is stopped, another behind the same proxy is not; HTTPS said by the
    proxy gives Secure cookies and HSTS. A peer that is not the proxy is still its own client."""
    url = serve(COLLECTOR_PORTAL_TRUSTED_PROXIES=f"{ATTACKER}/32, 10.9.0.0/16")
    owner_with_password(url, warehouse)
    proxy = http_client(url, source=ATTACKER, **{"X-Forwarded-For": "203.0.113.7"})
    assert spray(proxy, throttle.MAX_FAILURES_PER_CLIENT + 1)[-1] == 429
    proxy.headers["X-Forwarded-For"] = "203.0.113.8"
    assert login(proxy, "ann@example.com").status_code == 303
    over_https = proxy.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in over_https.headers["set-cookie"]
    assert over_https.headers["Strict-Transport-Security"].startswith("max-age=")
    assert "Strict-Transport-Security" not in proxy.get("/login").headers
    not_the_proxy = http_client(url, source=VICTIM, **{"X-Forwarded-For": "203.0.113.7"})
    assert login(not_the_proxy, "ann@example.com").status_code == 303


@pytest.mark.slow  # ~11 s: it waits out the growing delays (1, 2, 4 s)
def test_an_attacker_hammering_an_email_is_slowed_and_cannot_keep_its_owner_out(serve, warehouse):
    """Finding 3. From one address: a few failures, then 429 with a Retry-After that grows
    (1, 2, 4 s); the owner at another address logs in all along (before: 5 failures locked the
    account for 15 minutes, for everyone). Then guessing from many addresses: browsers unknown
    to the account wait, the owner's known browser does not, and a new browser of the owner
    gets in through the emailed link ("Forgot your password?")."""
    url = serve()
    owner = owner_with_password(url, warehouse)
    attacker = http_client(url, source=ATTACKER)
    waits = []
    for _ in range(3):
        while login(attacker, "ann@example.com", "wrong password").status_code == 401:
            pass
        slowed = login(attacker, "ann@example.com", PASSWORD)  # even the right password
        assert slowed.status_code == 429 and "Forgot your password?" in slowed.text
        waits.append(int(slowed.headers["Retry-After"]))
        assert login(owner, "ann@example.com").status_code == 303  # the owner is not held
        owner.cookies.pop("collector_session")
        time.sleep(waits[-1])
    assert waits == sorted(set(waits)) and waits[0] >= 1, waits
    # Distributed guessing, one failure from each of many addresses: after
    # FREE_ACCOUNT_FAILURES from browsers unknown to the account (the attacker's count too),
    # those browsers wait.
    codes = [
        login(http_client(url, source=f"127.0.1.{n + 1}"), "ann@example.com", "wrong").status_code
        for n in range(throttle.FREE_ACCOUNT_FAILURES)
    ]
    assert 401 in codes and codes[-1] == 429, codes
    new_browser = http_client(url, source="127.0.2.1")
    held = login(new_browser, "ann@example.com")
    assert held.status_code == 429 and "Forgot your password?" in held.text
    assert login(owner, "ann@example.com").status_code == 303  # known browser: not held
    account = logins.find_account(warehouse, "ann@example.com")
    token = logins.issue_link(warehouse, account, "reset_password", datetime.now(UTC))
    warehouse.commit()  # as the reset email would carry it
    assert set_password(new_browser, token, "another long pass phrase").status_code == 200
    assert login(new_browser, "ann@example.com", "another long pass phrase").status_code == 303
