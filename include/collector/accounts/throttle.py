"""How failed logins are slowed (issue 21): an attacker is slowed, the owner is never locked out.

Three limits, all counted from ``portal_login_attempts`` in the warehouse (so every portal
process agrees), each answered with a wait rather than a lock:

- **per (email, client address)**: ``FREE_PAIR_FAILURES`` failures, then each further try waits
  1, 2, 4, ... seconds after the last failure, up to ``MAX_DELAY``. A success of that pair, or a
  new password, starts the count again. The owner at another address is not concerned.
- **per client address**: ``MAX_FAILURES_PER_CLIENT`` failures in ``CLIENT_WINDOW`` across all
  emails (one address spraying many accounts), then it waits until the oldest leaves the window.
- **per email, for browsers not known to the account** (distributed guessing from many
  addresses): ``FREE_ACCOUNT_FAILURES`` failures from unknown browsers, then growing delays as
  above. A browser that logged in to the account before, or used a set-password link of it,
  carries a signed device cookie and is not held by this limit (OWASP's device cookies), so
  the owner keeps their way in; a new browser gets in through "Forgot your password?".

A try refused for a wait is not counted: hammering does not lengthen anyone's wait beyond the
failures actually tried. The address is what the portal was told to believe (the TCP peer, or
``X-Forwarded-For`` from a configured trusted proxy only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg2.extensions

FREE_PAIR_FAILURES = 3
FREE_ACCOUNT_FAILURES = 10
MAX_DELAY = timedelta(minutes=15)
MEMORY = timedelta(hours=24)  # failures older than this no longer count for pairs or accounts
CLIENT_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_CLIENT = 20


@dataclass(frozen=True)
class Wait:
    seconds: int  # > 0
    why: str  # "pair", "client" or "account"


def delay(failures: int, free: int) -> timedelta:
    """The wait after the last of ``failures``: none up to ``free``, then 1 s, 2 s, 4 s, ...
    capped at ``MAX_DELAY``."""
    if failures < free:
        return timedelta(0)
    return min(MAX_DELAY, timedelta(seconds=2 ** min(failures - free, 20)))


def lock(conn: psycopg2.extensions.connection, email: str, client: str) -> None:
    """Attempts from one address, and for one email, take turns (client first, then email,
    always in that order): parallel guesses cannot all read "under the limit". Held until the
    transaction ends."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT pg_advisory_xact_lock(hashtext('portal-client:' || %s)),"
            " pg_advisory_xact_lock(hashtext('portal-login:' || %s))",
            (client, email),
        )


def wait_before_try(
    conn: psycopg2.extensions.connection,
    email: str,
    client: str,
    known_device: bool,
    password_set_at: datetime | None,
    now: datetime,
) -> Wait | None:
    """How long this (email, client) must still wait before its password is even checked, or
    None. Call under ``lock``."""
    since = max(now - MEMORY, password_set_at or now - MEMORY)
    with conn.cursor() as cur:
        cur.execute(
            """SELECT count(*), max(at) FROM portal_login_attempts
               WHERE email = %(email)s AND client = %(client)s AND NOT succeeded
                 AND at > %(since)s
                 AND at > coalesce((SELECT max(at) FROM portal_login_attempts
                                    WHERE email = %(email)s AND client = %(client)s
                                      AND succeeded), '-infinity')""",
            {"email": email, "client": client, "since": since},
        )
        pair, pair_last = cur.fetchone()
        cur.execute(
            """SELECT count(*), max(at) FROM portal_login_attempts
               WHERE email = %s AND NOT succeeded AND NOT known_device AND at > %s""",
            (email, since),
        )
        account, account_last = cur.fetchone()
        cur.execute(
            """SELECT at FROM portal_login_attempts
               WHERE client = %s AND NOT succeeded AND at > %s
               ORDER BY at DESC OFFSET %s LIMIT 1""",
            (client, now - CLIENT_WINDOW, MAX_FAILURES_PER_CLIENT - 1),
        )
        client_full = cur.fetchone()
    waits = []
    if pair_last is not None:
        waits.append((pair_last + delay(pair, FREE_PAIR_FAILURES), "pair"))
    if account_last is not None and not known_device:
        waits.append((account_last + delay(account, FREE_ACCOUNT_FAILURES), "account"))
    if client_full is not None:
        waits.append((client_full[0] + CLIENT_WINDOW, "client"))
    until, why = max(waits, default=(now, ""))
    if until <= now:
        return None
    return Wait(math.ceil((until - now).total_seconds()), why)


def record(
    conn: psycopg2.extensions.connection,
    email: str,
    client: str,
    succeeded: bool,
    known_device: bool,
    now: datetime,
) -> None:
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO portal_login_attempts (email, client, at, succeeded, known_device)
               VALUES (%s, %s, %s, %s, %s)""",
            (email, client, now, succeeded, known_device),
        )


def wait_message(wait: Wait) -> str:
    """What the login page says while a wait lasts: how long, and the way in that needs no
    waiting (a link by email)."""
    if wait.seconds < 90:
        when = f"{wait.seconds} second{'s' if wait.seconds != 1 else ''}"
    else:
        when = f"{math.ceil(wait.seconds / 60)} minutes"
    return (
        f"Too many failed attempts. Try again in {when}, or use \u201cForgot your password?\u201d "
        "below: the link we email you sets a new password and lets you in from this browser "
        "right away."
    )
