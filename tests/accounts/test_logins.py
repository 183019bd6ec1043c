"""Portal accounts in the domain, without HTTP: typo suggestions for emails, and set-password
and reset links (single use, expiring, stored only as hashes; passwords as Argon2id)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from collector.accounts import logins

PASSWORD = "correct horse battery"


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("ann@gmail.con", "ann@gmail.com"),
        ("ann@gmial.com", "ann@gmail.com"),
        ("ann@yahoo.co", "ann@yahoo.com"),
        ("ann@hotmial.com", "ann@hotmail.com"),
        ("ann@example.com", None),
        ("ann@gmail.com", None),
    ],
)
def test_typo_suggestion(typed, suggested):
    assert logins.suggest_email(typed) == suggested


def test_sessions_end_after_14_days_on_logout_and_on_a_new_password(warehouse):
    """ASVS 3.3.1, 3.3.2: a session ends by itself after SESSION_TTL, on logout, and when the
    password changes."""
    account = logins.create_account(warehouse, "ann@example.com")
    now = datetime.now(UTC)
    raw, _ = logins.open_session(warehouse, account, now)
    assert logins.session_account(warehouse, raw, now + logins.SESSION_TTL - timedelta(seconds=1))
    assert logins.session_account(warehouse, raw, now + logins.SESSION_TTL) is None
    logins.close_session(warehouse, raw, now)
    assert logins.session_account(warehouse, raw, now) is None
    other, _ = logins.open_session(warehouse, account, now)
    link = logins.issue_link(warehouse, account, "reset_password", now)
    logins.use_link(warehouse, link, PASSWORD, now)
    assert logins.session_account(warehouse, other, now) is None
    warehouse.rollback()


def test_links_are_single_use_and_expire(warehouse):
    account = logins.create_account(warehouse, "ann@example.com")
    now = datetime.now(UTC)
    token = logins.issue_link(warehouse, account, "set_password", now)
    logins.use_link(warehouse, token, PASSWORD, now)
    with pytest.raises(logins.AccountError, match="expired or was already used"):
        logins.use_link(warehouse, token, PASSWORD + "x", now)
    reset = logins.issue_link(warehouse, account, "reset_password", now)
    with pytest.raises(logins.AccountError, match="expired"):
        logins.use_link(warehouse, reset, PASSWORD, now + timedelta(hours=2, seconds=1))
    warehouse.commit()
    with warehouse.cursor() as cur:
        cur.execute("SELECT token_hash FROM portal_tokens")
        stored = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT password_hash FROM portal_accounts")
        (password_hash,) = cur.fetchone()
    assert token not in stored and reset not in stored and all(len(h) == 64 for h in stored)
    assert password_hash.startswith("$argon2id$v=19$")
