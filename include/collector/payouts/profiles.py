"""Collectors' payment details (FAQ 13): what they type under Profile, checked and stored.

A detail applies from the next frozen batch (the ledger, ``collector.payouts.ledger``, copies
the receiver into each item when it freezes a week).
"""

from __future__ import annotations

import re

import psycopg2.extensions

from collector.core.identity import normalize_email

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$")
_PAYEE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ProfileError(ValueError):
    """A payment detail that cannot be paid to, with what was expected."""


def normalize_payment_profile(method: str, value: str) -> tuple[str, str]:
    """Validate and normalize what a collector typed under Profile: ``(method, receiver)``.

    A PayPal email is normalized as an identity is (``normalize_email``: trimmed, invisible
    characters removed, NFC, ASCII case): never ``casefold``-ed, which would pay
    ``maria.weiss@`` what ``maria.weiß@`` earned (issue 19). Raises :class:`ProfileError`."""
    method = (method or "").strip().casefold()
    raw = (value or "").strip()
    if method == "paypal":
        email = normalize_email(raw)
        if not _EMAIL.match(email):
            raise ProfileError(
                f"PayPal needs the email address of your PayPal account, got {raw!r}"
            )
        return method, email
    if method == "payoneer":
        if not _PAYEE_ID.match(raw):
            raise ProfileError(
                "Payoneer needs your payee id (letters, digits, '.', '_' or '-', at most 64), "
                f"got {raw!r}"
            )
        return method, raw
    raise ProfileError(f"payment method must be 'paypal' or 'payoneer', got {method!r}")


def set_payment_profile(
    conn: psycopg2.extensions.connection,
    collector_id: str,
    method: str,
    value: str,
    updated_by: str,
) -> tuple[str, str]:
    """Store a collector's normalized payment details (applies to the next frozen batch)."""
    method, receiver = normalize_payment_profile(method, value)
    with conn.cursor() as cur:
        # A collector may enter details before their first video arrives.
        cur.execute(
            "INSERT INTO collectors (collector_id) VALUES (%s) ON CONFLICT DO NOTHING",
            (collector_id,),
        )
        cur.execute(
            """INSERT INTO payment_profiles (collector_id, method, receiver, updated_by)
               VALUES (%s, %s, %s, %s)
               ON CONFLICT (collector_id) DO UPDATE
                 SET method = EXCLUDED.method, receiver = EXCLUDED.receiver,
                     updated_by = EXCLUDED.updated_by, updated_at = now()""",
            (collector_id, method, receiver, updated_by),
        )
    return method, receiver
