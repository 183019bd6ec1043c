"""Money as integer cents, and how it is written for people, files and sheets.

Amounts are ``int`` cents everywhere (USD; FAQ 6 pays in US dollars) and never pass through
``float``; these functions only format them.
"""

from __future__ import annotations

from decimal import Decimal


def dollars(cents: int) -> str:
    """Integer cents as a plain dollar amount, never through float: 1234 -> "12.34"."""
    sign = "-" if cents < 0 else ""
    cents = abs(int(cents))
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def usd(cents: int) -> str:
    """Integer cents for people, grouped: 123456 -> "$1,234.56" (built on :func:`dollars`)."""
    whole, frac = dollars(cents).lstrip("-").split(".")
    return f"{'-' if cents < 0 else ''}${int(whole):,}.{frac}"


def sheet_money(cents: int) -> str:
    """Dollars as Sheets shows currency, "$3.50" (a plain 3.50 would read back as 3.5)."""
    return f"${Decimal(cents) / 100:.2f}"
