"""Portal accounts (FAQ 5, 13, 14): login, single-use links, sessions, throttling, and the
audited change of payment details. No web framework here: the portal and the CLI share it.

Secrets never leave as plain text: passwords as Argon2id, link tokens and session ids as
SHA-256, payment receivers masked in the audit and the events.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import psycopg2.extensions
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from collector.accounts import passwords, throttle
from collector.core.clock import BUSINESS_TZ, previous_week
from collector.core.identity import mask_receiver, normalize_email
from collector.payouts.profiles import set_payment_profile

_HASHER = PasswordHasher()  # argon2-cffi's default type is Argon2id
# Verified when the email has no account, so both answers take as long (no account probing).
_DUMMY_HASH = _HASHER.hash("no account has this password")
LINK_TTL = {"set_password": timedelta(days=7), "reset_password": timedelta(hours=2)}
SESSION_TTL = timedelta(days=14)
RESET_EVERY = timedelta(minutes=15)
MAX_EMAIL = 254  # RFC 5321's longest path: no longer address reaches a mailbox
COMMON_DOMAINS = (
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "icloud.com",
    "aol.com",
    "live.com",
    "msn.com",
    "protonmail.com",
    "gmx.com",
    "yandex.com",
    "mail.com",
)
LOGIN_REFUSED = "That email and password do not match an account."
LINK_REFUSED = (
    "This link has expired or was already used, or a newer link replaced it. Use the link in "
    "the newest email, or ask for a new one on the login page."
)


class AccountError(ValueError):
    """A request about an account that cannot be done, said so a person can act on it."""


def _distance(a: str, b: str) -> int:
    """Damerau-Levenshtein (optimal string alignment): typos are swaps as often as slips."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def suggest_email(email: str) -> str | None:
    """``ann@gmail.con`` -> ``ann@gmail.com``: the address with a common provider's domain
    when the typed one is a typo of it (FAQ 5), else None. Depends only on what was typed."""
    typed = normalize_email(email)
    local, _, domain = typed.rpartition("@")
    if not local or not domain or domain in COMMON_DOMAINS:
        return None
    best = min(COMMON_DOMAINS, key=lambda known: _distance(domain, known))
    return f"{local}@{best}" if _distance(domain, best) <= 2 else None


def hash_password(password: str, email: str = "") -> str:
    """The Argon2id hash of a new password that ``passwords.refusal`` accepts (ASVS 2.1: 12 to
    1,024 characters, not common or breached, nothing else required); AccountError saying why
    otherwise."""
    why = passwords.refusal(password or "", email)
    if why:
        raise AccountError(why)
    return _HASHER.hash(password)


def _sha256(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class Account:
    account_id: int
    email: str
    role: str
    collector_id: str | None


def create_account(
    conn: psycopg2.extensions.connection,
    email: str,
    role: str = "collector",
) -> Account:
    """An account for a collector (its collector id is the normalized email) or for ops;
    returns the existing one when there is one. No password until a set-password link is used."""
    email = normalize_email(email)
    if "@" not in email:
        raise AccountError(f"{email!r} is not an email address")
    collector_id = email if role == "collector" else None
    with conn.cursor() as cur:
        if collector_id:
            cur.execute(
                "INSERT INTO collectors (collector_id, email) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (collector_id, email),
            )
        cur.execute(
            """INSERT INTO portal_accounts (email, role, collector_id) VALUES (%s, %s, %s)
               ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email
               RETURNING account_id, email, role, collector_id""",
            (email, role, collector_id),
        )
        return Account(*cur.fetchone())


def find_account(conn: psycopg2.extensions.connection, email: str) -> Account | None:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT account_id, email, role, collector_id FROM portal_accounts WHERE email = %s",
            (normalize_email(email),),
        )
        row = cur.fetchone()
    return Account(*row) if row else None


def issue_link(
    conn: psycopg2.extensions.connection, account: Account, purpose: str, now: datetime
) -> str:
    """A single-use token for a set-password or reset link; only its hash is stored. Every
    older unused link of the account stops working (only the newest email's link opens)."""
    raw = secrets.token_urlsafe(32)
    with conn.cursor() as cur:
        # One account's links are issued one at a time: two at once cannot both stay valid.
        cur.execute(
            "SELECT 1 FROM portal_accounts WHERE account_id = %s FOR UPDATE",
            (account.account_id,),
        )
        cur.execute(
            """UPDATE portal_tokens SET superseded_at = %s
               WHERE account_id = %s AND used_at IS NULL AND superseded_at IS NULL""",
            (now, account.account_id),
        )
        cur.execute(
            """INSERT INTO portal_tokens (token_hash, account_id, purpose, expires_at)
               VALUES (%s, %s, %s, %s)""",
            (_sha256(raw), account.account_id, purpose, now + LINK_TTL[purpose]),
        )
    return raw


def use_link(
    conn: psycopg2.extensions.connection, raw: str, password: str, now: datetime
) -> Account:
    """Set the password with a link token, once: expired, used, superseded or unknown tokens
    are refused (the link is checked before the password, so a dead link is said first).
    Replacing a collector's existing password records a ``password_changed`` event, which the
    notifications pipeline mails to them (ASVS 4.0.3 V2.2.3); a first password records none."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT t.account_id, a.email, a.password_hash IS NOT NULL
               FROM portal_tokens t JOIN portal_accounts a USING (account_id)
               WHERE t.token_hash = %s AND t.used_at IS NULL AND t.superseded_at IS NULL
                 AND t.expires_at > %s
               FOR UPDATE OF t""",
            (_sha256(raw or ""), now),
        )
        row = cur.fetchone()
        if row is None:
            raise AccountError(LINK_REFUSED)
        had_password = row[2]
        new_hash = hash_password(password, row[1])  # refused: nothing written, link still good
        cur.execute(
            "UPDATE portal_tokens SET used_at = %s WHERE token_hash = %s", (now, _sha256(raw))
        )
        cur.execute(
            """UPDATE portal_accounts SET password_hash = %s, password_set_at = %s
               WHERE account_id = %s RETURNING account_id, email, role, collector_id""",
            (new_hash, now, row[0]),
        )
        account = Account(*cur.fetchone())
        # Every other link of the account stops working (an old welcome or reset email).
        cur.execute(
            """UPDATE portal_tokens SET used_at = %s
               WHERE account_id = %s AND used_at IS NULL""",
            (now, account.account_id),
        )
        # A new password ends every other session of the account.
        cur.execute(
            """UPDATE portal_sessions SET revoked_at = %s
               WHERE account_id = %s AND revoked_at IS NULL""",
            (now, account.account_id),
        )
        if had_password:
            _record_event(cur, "password_changed", account, now, "changed_at")
    return account


def _record_event(cur, kind: str, account: Account, now: datetime, moment_key: str) -> None:
    """A ``collector_events`` row for the notifications pipeline, with the moment in words
    (business time); ops accounts have no collector and get none."""
    if account.collector_id:
        when = f"{now.astimezone(BUSINESS_TZ):%Y-%m-%d %H:%M} ET"
        cur.execute(
            """INSERT INTO collector_events (kind, collector_id, created_at, payload)
               VALUES (%s, %s, %s, %s)""",
            (kind, account.collector_id, now, json.dumps({moment_key: when})),
        )


def record_new_browser(
    conn: psycopg2.extensions.connection, account: Account, now: datetime
) -> None:
    """A sign-in from a browser the account had not used (no device cookie naming it): a
    ``new_browser_sign_in`` event, mailed to the collector (ASVS 4.0.3 V2.2.3)."""
    with conn.cursor() as cur:
        _record_event(cur, "new_browser_sign_in", account, now, "signed_in_at")


def request_reset(conn: psycopg2.extensions.connection, email: str, now: datetime) -> None:
    """Record that someone asked for a reset link (the notifications pipeline issues and mails
    it); unknown emails are ignored silently, so the answer never reveals an account."""
    account = find_account(conn, email)
    if account and account.collector_id:
        with conn.cursor() as cur:
            # At most one reset email per collector in RESET_EVERY: a form is not a mail cannon.
            cur.execute(
                """INSERT INTO collector_events (kind, collector_id, created_at)
                   SELECT 'password_reset_requested', %(c)s, %(now)s
                   WHERE NOT EXISTS (SELECT 1 FROM collector_events
                                     WHERE kind = 'password_reset_requested'
                                       AND collector_id = %(c)s AND created_at > %(since)s)""",
                {"c": account.collector_id, "now": now, "since": now - RESET_EVERY},
            )


@dataclass(frozen=True)
class LoginResult:
    account: Account | None
    message: str = ""
    retry_after_s: int = 0  # > 0 when throttled


def authenticate(
    conn: psycopg2.extensions.connection,
    email: str,
    password: str,
    client: str,
    now: datetime,
    known_accounts: frozenset[int] = frozenset(),
) -> LoginResult:
    """Check a login from ``client`` (an address), in a browser known to ``known_accounts``
    (its device cookie). The refusal is the same whether or not the email has an account;
    failures are slowed as ``throttle`` says: a wait answers before the password is checked."""
    email = normalize_email(email)
    if len(email) > MAX_EMAIL:
        return LoginResult(None, LOGIN_REFUSED)  # no such account can exist; nothing recorded
    throttle.lock(conn, email, client)
    with conn.cursor() as cur:
        cur.execute(
            """SELECT account_id, email, role, collector_id, password_hash, password_set_at
               FROM portal_accounts WHERE email = %s""",
            (email,),
        )
        row = cur.fetchone()
    known = row is not None and row[0] in known_accounts
    wait = throttle.wait_before_try(conn, email, client, known, row[5] if row else None, now)
    if wait:
        return LoginResult(None, throttle.wait_message(wait), wait.seconds)
    stored = row[4] if row and row[4] else _DUMMY_HASH
    try:
        ok = _HASHER.verify(stored, password or "") and row is not None and bool(row[4])
    except (VerificationError, InvalidHashError):
        ok = False
    throttle.record(conn, email, client, ok, known, now)
    if not ok:
        suggestion = suggest_email(email)
        message = LOGIN_REFUSED + (f" Did you mean {suggestion}?" if suggestion else "")
        return LoginResult(None, message)
    if _HASHER.check_needs_rehash(stored):
        with conn.cursor() as cur:
            cur.execute(
                "UPDATE portal_accounts SET password_hash = %s WHERE account_id = %s",
                (_HASHER.hash(password), row[0]),
            )
    return LoginResult(Account(*row[:4]))


def open_session(
    conn: psycopg2.extensions.connection, account: Account, now: datetime
) -> tuple[str, str]:
    """(session id for the signed cookie, CSRF token for the forms); only the id's hash is kept."""
    raw, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO portal_sessions (session_hash, account_id, csrf_token, expires_at)
               VALUES (%s, %s, %s, %s)""",
            (_sha256(raw), account.account_id, csrf, now + SESSION_TTL),
        )
    return raw, csrf


def session_account(
    conn: psycopg2.extensions.connection, raw: str, now: datetime
) -> tuple[Account, str] | None:
    """The account and CSRF token of a live session, or None."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT a.account_id, a.email, a.role, a.collector_id, s.csrf_token
               FROM portal_sessions s JOIN portal_accounts a USING (account_id)
               WHERE s.session_hash = %s AND s.revoked_at IS NULL AND s.expires_at > %s""",
            (_sha256(raw or ""), now),
        )
        row = cur.fetchone()
    return (Account(*row[:4]), row[4]) if row else None


def close_session(conn: psycopg2.extensions.connection, raw: str, now: datetime) -> None:
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE portal_sessions SET revoked_at = %s WHERE session_hash = %s",
            (now, _sha256(raw or "")),
        )


@dataclass(frozen=True)
class ProfileChange:
    method: str
    masked: str
    applies_from: date  # Monday of the first payout week that uses the new details
    after_freeze: bool  # the coming payout's week was already frozen: the change waits a week
    # What that frozen week pays this collector with: "PayPal a***@example.com" (masked), or
    # None when the freeze holds no payment to them (no details then, or nothing to pay). Only
    # then may the page say the coming payout uses the "previous details".
    frozen_with: str | None = None
    had_details: bool = False  # details were on file before this change


def payment_profile(
    conn: psycopg2.extensions.connection, collector_id: str
) -> tuple[str, str] | None:
    """(method, masked receiver) on file, or None."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT method, receiver FROM payment_profiles WHERE collector_id = %s",
            (collector_id,),
        )
        row = cur.fetchone()
    return (row[0], mask_receiver(*row)) if row else None


def change_payment_profile(
    conn: psycopg2.extensions.connection,
    account: Account,
    method: str,
    value: str,
    now: datetime,
) -> ProfileChange:
    """A collector changes their own payment details: validated, normalized, audited (masked),
    and an event for the "your payment details changed" email. Says which payout it reaches."""
    if account.role != "collector" or not account.collector_id:
        raise AccountError("Only a collector can change their own payment details.")
    collector_id = account.collector_id
    with conn.cursor() as cur:
        cur.execute(
            "SELECT method, receiver FROM payment_profiles WHERE collector_id = %s FOR UPDATE",
            (collector_id,),
        )
        old = cur.fetchone() or (None, None)
    method, receiver = set_payment_profile(conn, collector_id, method, value, account.email)
    next_payout = previous_week(now)  # the week the coming Tuesday pays
    with conn.cursor() as cur:
        frozen, frozen_with = _coming_payout(cur, next_payout, collector_id)
        applies_from = next_payout + timedelta(days=7) if frozen else next_payout
        old_masked, new_masked = mask_receiver(*old), mask_receiver(method, receiver)
        cur.execute(
            """INSERT INTO payment_profile_changes (collector_id, changed_by, changed_at,
                   old_method, old_receiver, new_method, new_receiver, applies_from)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s)""",
            (
                collector_id,
                account.email,
                now,
                old[0],
                old_masked,
                method,
                new_masked,
                applies_from,
            ),
        )
        payload = {
            "method": method,
            "receiver": new_masked,
            "previous_method": old[0],
            "previous_receiver": old_masked,  # the email says "instead of ..."
            "applies_from": applies_from.isoformat(),
        }
        cur.execute(
            """INSERT INTO collector_events (kind, collector_id, created_at, payload)
               VALUES ('payment_details_changed', %s, %s, %s)""",
            (collector_id, now, json.dumps(payload)),
        )
    return ProfileChange(method, new_masked, applies_from, frozen, frozen_with, old[0] is not None)


def _coming_payout(cur, week: date, collector_id: str) -> tuple[bool, str | None]:
    """Whether the payout of ``week`` is frozen already, and what it pays this collector with
    ("PayPal ma…@gm…com", masked), or None when the freeze holds no payment to them."""
    cur.execute(
        """SELECT EXISTS (SELECT 1 FROM payout_batches WHERE week_start = %s
                          AND state NOT IN ('rejected', 'cancelled'))""",
        (week,),
    )
    frozen = cur.fetchone()[0]
    cur.execute(
        """SELECT i.provider, i.receiver FROM payout_items i JOIN payout_batches b
           USING (batch_id)
           WHERE b.week_start = %s AND b.state NOT IN ('rejected', 'cancelled')
             AND i.collector_id = %s ORDER BY i.item_id DESC LIMIT 1""",
        (week, collector_id),
    )
    item = cur.fetchone()
    if item is None:
        return frozen, None
    return frozen, f"{'PayPal' if item[0] == 'paypal' else 'Payoneer'} {mask_receiver(*item)}"
