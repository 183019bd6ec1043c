"""Collectors' payment details (FAQ 13): what they type under Profile, checked and stored.

A detail applies from the next frozen batch (the ledger, ``collector.payouts.ledger``, copies
the receiver into each item when it freezes a week, and checks it again with
:func:`receiver_problem` first: a receiver stored before these rules that no longer passes
them is held, never sent).

Receivers are money, so they are checked, never repaired (issue 21): what was typed is stored
as typed, but for the whitespace around it and, for a PayPal email, the case of ASCII letters
and Unicode NFC (the email key of ``collector.core.identity.normalize_email``, issue 19). An
invisible character, a fullwidth or other compatibility form, a character no address holds, a
phone number where an email is expected, or a value longer than the provider takes is refused
with a message naming the field, the character and its position, and what to type instead.
"""

from __future__ import annotations

import re
import unicodedata

import psycopg2.extensions
from email_validator import EmailNotValidError, validate_email

from collector.core.identity import INVISIBLE, mask_receiver, normalize_email
from collector.core.payment_failures import UNPAYABLE_DETAILS

METHODS = ("paypal", "payoneer")
FIELD = {"paypal": "PayPal email", "payoneer": "Payoneer payee id"}
# PayPal Payouts v1, payout_item.receiver: "Max value of up to 127 single-byte characters";
# EMAIL: "a string of up to 127 single-byte characters". Counted in UTF-8 bytes, so an
# internationalized address (RFC 6531) is measured as PayPal measures bytes.
PAYPAL_RECEIVER_MAX_BYTES = 127
# Payoneer publishes no format for payee ids (assumption, docs/decisions.md, issue 21): the
# partner assigns them at registration; letters, digits, '.', '_' and '-', at most 64.
PAYONEER_ID_MAX = 64
_PAYEE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# Not in an unquoted address (RFC 5322 specials, and quotes): markup, lists, display names.
_SPECIALS = set('<>()[]\\,;:"`')
_PHONE = re.compile(r"^\+?[\d\s().\-/]{7,}$")
_WHITESPACE_AROUND = " \t\r\n"
_SHOWN = 40  # characters of a refused value quoted back in a message


class ProfileError(ValueError):
    """A payment detail that cannot be paid to, with what was expected."""


def _quoted(value: str) -> str:
    """The refused value as a message quotes it: at most :data:`_SHOWN` characters."""
    if len(value) <= _SHOWN:
        return repr(value)
    return repr(value[:_SHOWN]) + f"... ({len(value):,} characters)"


def _char_name(ch: str) -> str:
    return f"U+{ord(ch):04X} {unicodedata.name(ch, 'unnamed character')}"


def _character_problem(field: str, value: str) -> str | None:
    """The first character no receiver may hold: invisible or control characters, spaces,
    fullwidth and other compatibility forms (NFKC would change them), markup and quotes."""
    for position, ch in enumerate(value, 1):
        category = unicodedata.category(ch)
        if ch in INVISIBLE or category in ("Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"):
            return (
                f"{field}: invisible character {_char_name(ch)} at position {position}; it "
                "often comes with copy and paste: delete the field and type the address again"
            )
        if category == "Zs":
            return f"{field}: a space ({_char_name(ch)}) at position {position}; remove it"
        if unicodedata.normalize("NFKC", ch) != ch:
            return (
                f"{field}: {ch!r} ({_char_name(ch)}) at position {position} is a fullwidth "
                "or compatibility form, not the character it looks like; type it with your "
                "keyboard in half-width (ASCII) mode"
            )
        if ch in _SPECIALS:
            return (
                f"{field}: {ch!r} at position {position} is not allowed; type only the "
                "address itself, without a name, quotes or brackets"
            )
    return None


def _paypal_problem(value: str, shown: str) -> str | None:
    field = FIELD["paypal"]
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > PAYPAL_RECEIVER_MAX_BYTES:
        return (
            f"{field}: {shown} is {size:,} bytes long; PayPal takes at most "
            f"{PAYPAL_RECEIVER_MAX_BYTES} (UTF-8 bytes: a letter like 'ß' counts 2)"
        )
    if "@" not in value and _PHONE.match(value):
        return (
            f"{field}: {shown} looks like a phone number; we pay PayPal to the email "
            "address of your PayPal account, so type that email address"
        )
    if problem := _character_problem(field, value):
        return problem
    if value[:1] in ("=", "+"):
        return (
            f"{field}: {shown} starts with {value[0]!r}, which spreadsheets read as a "
            "formula; type the email address of your PayPal account"
        )
    try:
        validate_email(
            value,
            check_deliverability=False,
            allow_smtputf8=True,
            allow_quoted_local=False,
            allow_domain_literal=False,
            allow_display_name=False,
        )
    except EmailNotValidError as exc:
        return (
            f"{field}: {shown} is not an email address ({exc}); type the email "
            "address of your PayPal account, like name@example.com"
        )
    return None


def _payoneer_problem(value: str, shown: str) -> str | None:
    field = FIELD["payoneer"]
    if len(value) > PAYONEER_ID_MAX:
        return (
            f"{field}: {shown} is {len(value):,} characters long; a payee id has at "
            f"most {PAYONEER_ID_MAX}"
        )
    if problem := _character_problem(field, value):
        return problem
    if "@" in value:
        return (
            f"{field}: {shown} is an email address; Payoneer pays to your payee id "
            "(in your Payoneer account), or choose PayPal to be paid by email"
        )
    if not _PAYEE_ID.match(value):
        return (
            f"{field}: expected letters, digits, '.', '_' or '-' (starting with a letter or "
            f"digit, at most {PAYONEER_ID_MAX}), got {shown}"
        )
    return None


def receiver_problem(method: str, receiver: str | None, shown: str | None = None) -> str | None:
    """Why ``receiver`` cannot be paid through ``method`` (a sentence naming the field, what is
    wrong, where, and what to type), or None when it can. Checks exactly what is given:
    nothing is trimmed or folded. Used at entry and again when a week is frozen. The sentence
    quotes the value (its first 40 characters), or ``shown`` instead (a mask, for sentences
    kept where receivers are masked)."""
    if method not in METHODS:
        return f"payment method must be 'paypal' or 'payoneer', got {_quoted(str(method))}"
    if not receiver:
        return f"{FIELD[method]}: empty; " + (
            "type the email address of your PayPal account"
            if method == "paypal"
            else "type your Payoneer payee id"
        )
    shown = _quoted(receiver) if shown is None else shown
    if method == "paypal":
        return _paypal_problem(receiver, shown)
    return _payoneer_problem(receiver, shown)


def normalize_payment_profile(method: str, value: str) -> tuple[str, str]:
    """Check what a collector typed under Profile (or ops with ``collector payouts profile``):
    ``(method, receiver)`` to store, or :class:`ProfileError` saying what to type.

    Only the ASCII whitespace around the value is dropped; a PayPal email is then stored as
    its email key (ASCII case and NFC, never ``casefold``: ``maria.weiß@`` stays ``weiß``,
    issue 19). Everything else that would change the value is refused, not repaired."""
    method = (method or "").strip().lower()
    typed = (value or "").strip(_WHITESPACE_AROUND)
    if problem := receiver_problem(method, typed):
        raise ProfileError(problem)
    receiver = normalize_email(typed) if method == "paypal" else typed
    if problem := receiver_problem(method, receiver):  # NFC may lengthen a rare character
        raise ProfileError(problem)
    return method, receiver


def set_payment_profile(
    conn: psycopg2.extensions.connection,
    collector_id: str,
    method: str,
    value: str,
    updated_by: str,
) -> tuple[str, str]:
    """Store a collector's checked payment details (applies to the next frozen batch)."""
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


def hold_reason(method: str, receiver: str) -> str | None:
    """Why a week's freeze holds a collector whose stored details no longer pass
    :func:`receiver_problem` (stored before its rules), for the finance report, the ledger and
    the collector's dashboard; the receiver only masked. None when they can be paid."""
    problem = receiver_problem(method, receiver, shown=mask_receiver(method, receiver))
    if problem is None:
        return None
    return f"{UNPAYABLE_DETAILS}: {problem}; enter them again under Profile"


def unpayable(cur, collector_ids: list[str] | None = None) -> dict[str, str]:
    """Collectors (all, or of ``collector_ids``) whose stored payment details cannot be paid,
    with :func:`hold_reason`'s sentence (read on the caller's cursor)."""
    cur.execute(
        """SELECT collector_id, method, receiver FROM payment_profiles
           WHERE %(ids)s::text[] IS NULL OR collector_id = ANY(%(ids)s::text[])""",
        {"ids": collector_ids},
    )
    found = {}
    for collector_id, method, receiver in cur.fetchall():
        if reason := hold_reason(method, receiver):
            found[collector_id] = reason
    return found
