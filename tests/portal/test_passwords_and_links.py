"""Issue 21, findings 5 and 6, through the portal as its own uvicorn process: new passwords to
ASVS level 1 (12 characters or more, long passphrases welcome, common and breached passwords
refused with a sentence), and a newer set-password or reset link revoking the older ones."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from portal_client import http_client, invite, login, set_password

from collector.accounts import logins, passwords


def error_of(answer) -> str:
    return re.search(r'id="error">([^<]+)<', answer.text).group(1)


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("1234567890", "at least 12 characters"),  # the issue's example: too short, and common
        ("12345678901234", "too easy to guess"),
        ("QwertyUIOP12", "most common"),
        ("password1234", "most common"),
        ("Iloveyou2024!", "too easy to guess"),
        ("qwertyuiopasdf", "too easy to guess"),
        ("aaaaaaaaaaaaaaaa", "too easy to guess"),
        ("ann@example.com1", "too easy to guess"),  # the account's own email
        ("x" * 1025, "at most 1024 characters"),
    ],
)
def test_weak_new_passwords_are_refused_with_a_sentence(live_portal, warehouse, password, why):
    client = http_client(live_portal)
    token = invite(warehouse, "ann@example.com")
    answer = set_password(client, token, password)
    assert answer.status_code == 400 and why in answer.text, answer.text[-400:]
    assert logins.find_account(warehouse, "ann@example.com") is not None
    with warehouse.cursor() as cur:
        cur.execute("SELECT password_hash FROM portal_accounts")
        assert cur.fetchone() == (None,)  # nothing set; and the link still works:
    warehouse.commit()
    assert set_password(client, token, "a calm violet tractor").status_code == 200


def test_long_passphrases_are_welcome(live_portal, warehouse):
    """64 and 1,024 characters, spaces and any script: set through the page, then logged in."""
    client = http_client(live_portal)
    for n, phrase in enumerate(
        [
            "my grandmother's garden had seventeen kinds of tomatoes in 1987!",
            ("Zwölf Boxkämpfer jagen Viktor quer über den großen Sylter Deich " * 16)[:1024],
        ]
    ):
        email = f"ann{n}@example.com"
        assert len(phrase) in (64, 1024)
        assert set_password(client, invite(warehouse, email), phrase).status_code == 200
        client.cookies.clear()
        assert login(client, email, phrase[:-1]).status_code == 401  # never truncated
        assert login(client, email, phrase).status_code == 303


def test_the_breached_list_is_the_packages(warehouse):
    """What "common and breached" means, in numbers (docs/security.md)."""
    assert len(passwords.BREACHED) == 30_000
    assert {"123456", "password", "qwerty", "iloveyou", "1234567890"} <= passwords.BREACHED


def test_a_newer_link_revokes_the_older_ones(live_portal, warehouse):
    """The welcome link, then a reset link, then another reset link: only the newest works;
    the older ones say so and point to the newest email."""
    client = http_client(live_portal)
    welcome = invite(warehouse, "ann@example.com")
    account = logins.find_account(warehouse, "ann@example.com")
    first_reset = logins.issue_link(warehouse, account, "reset_password", datetime.now(UTC))
    warehouse.commit()
    refused = set_password(client, welcome, "the welcome link was older")
    assert refused.status_code == 400 and "a newer link replaced it" in error_of(refused)
    newest = logins.issue_link(warehouse, account, "reset_password", datetime.now(UTC))
    warehouse.commit()
    refused = set_password(client, first_reset, "the first reset was older")
    assert refused.status_code == 400 and "Use the link in the newest email" in error_of(refused)
    assert set_password(client, newest, "the newest link works fine").status_code == 200
    assert login(client, "ann@example.com", "the newest link works fine").status_code == 303
    for password in (
        "the welcome link was older",
        "the first reset was older",
    ):
        client.cookies.clear()
        assert login(client, "ann@example.com", password).status_code == 401
