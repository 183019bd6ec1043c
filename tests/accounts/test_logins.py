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
