"""A spreadsheet's locale: how USER_ENTERED text becomes a value, and how FORMATTED_VALUE shows it.

Follows ``SpreadsheetProperties.locale`` of the Sheets API v4
(https://developers.google.com/sheets/api/reference/rest/v4/spreadsheets#SpreadsheetProperties),
``ValueInputOption.USER_ENTERED`` ("parsed as if the user typed them into the UI") and
``ValueRenderOption.FORMATTED_VALUE`` ("formatting is based on the spreadsheet's locale, not the
requesting user's locale"). Dates are serial numbers, whole days since 1899-12-30
(``DateTimeRenderOption.SERIAL_NUMBER``).

A parsed value keeps a *pattern* (what the input implied, as Sheets infers a number format):
``None`` (plain number, or text), ``"GROUPED"`` (typed with thousands separators),
``"CURRENCY"``, ``"PERCENT"``, ``"DATE"`` (the locale's short date) or ``"ISO_DATE"``; and
:data:`FORMULA` for a formula, the only way a stored string is one (``RAW`` input never is:
"the input ``=1+2`` places the string ``=1+2`` in the cell, not a formula", ValueInputOption).

Text typed with a leading apostrophe (``'=1+2``, ``'007``) is stored as the text after it and
never parsed: the apostrophe is the Sheets UI's mark for "this is text", kept as a flag that the
editor shows and the API's values never include (it reads ``=1+2`` under every render option).

Assumptions (no public source found for the exact rules; our code must be safe either way):

- Only :data:`LOCALES` are emulated; another locale is refused with a 400 naming them (Google
  accepts many more: the sandbox is stricter, never kinder).
- Numbers: an optional ``-``, digits with the locale's thousands separator only in groups of
  three, the locale's decimal separator; the other separator makes the input text (``3,50`` in
  ``en_US``, ``3.50`` in ``de_DE`` stay text). Scientific ``1e2`` (with the locale's decimal
  separator) is a number everywhere.
- Currency: the locale's own symbol only (``$3.50`` in ``en_US``, ``3,50 €`` in ``de_DE``); a
  foreign symbol leaves the input text. Percent: ``80%`` (``80 %`` too) is 0.8.
- Booleans: the locale's words only (``TRUE``/``FALSE``; ``WAHR``/``FALSCH``; ``VRAI``/``FAUX``),
  any case. Google may also accept English words in other locales.
- Dates: ISO ``2026-12-01`` everywhere; else the locale's order with a four-digit year
  (``12/1/2026`` in ``en_US``; ``1/12/2026`` in ``en_GB`` and ``fr_FR``; ``1.12.2026`` in
  ``de_DE``). Google also reads dates without a year (``3.5`` may become 3 May in ``de_DE``):
  the sandbox leaves those text.
- Display: a plain number with as few decimals as needed (``3.5``, ``3,5``), grouped numbers
  and currency with the locale's separators (currency always with 2 decimals), percent with as
  few decimals as needed, an ISO-typed date in ISO, another date in the locale's short form.
- A write replaces a cell's pattern with what its input implies (Google keeps a cell's number
  format across writes).
- Formulas: input starting with ``=`` is one; so is input starting with ``+`` or ``-`` that is
  not a number, amount, percent or date (``-2+3``, ``+A1``), stored as ``=`` and the input, as
  spreadsheets inherited from Lotus 1-2-3 do. A sign alone or before digits and separators
  only (``-``, ``-3.50`` in ``de_DE``) stays text, like any number in another locale's
  notation. Whether Sheets reads ``+``/``-`` so is not documented; taken in the strict
  direction, so that a test sees any such value we fail to neutralize (OWASP's CSV injection
  rule lists both). ``@`` starts no formula in Sheets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

EPOCH = date(1899, 12, 30)
FORMULA = "FORMULA"  # the pattern of a cell that holds a formula
_SIGNED_DIGITS = re.compile(r"^[+-][\d.,\s\u00a0\u202f']*$")


@dataclass(frozen=True)
class Locale:
    decimal: str
    groups: tuple[str, ...]  # accepted thousands separators; the first is shown
    date_order: str  # "MDY" or "DMY"
    date_sep: str
    currency: str
    currency_first: bool  # "$3.50" or "3,50 €"
    true: str
    false: str
    percent_space: bool


LOCALES: dict[str, Locale] = {
    "en_US": Locale(".", (",",), "MDY", "/", "$", True, "TRUE", "FALSE", False),
    "en_GB": Locale(".", (",",), "DMY", "/", "£", True, "TRUE", "FALSE", False),
    "de_DE": Locale(",", (".",), "DMY", ".", "€", False, "WAHR", "FALSCH", True),
    "fr_FR": Locale(",", ("\u202f", "\u00a0", " "), "DMY", "/", "€", False, "VRAI", "FAUX", True),
}
DEFAULT_LOCALE = "en_US"


def known_locale(name: str) -> bool:
    return name in LOCALES


def _number_pattern(loc: Locale) -> re.Pattern[str]:
    group = "|".join(re.escape(g) for g in loc.groups)
    dec = re.escape(loc.decimal)
    return re.compile(
        rf"^(?P<sign>-?)(?P<whole>\d+|\d{{1,3}}(?:(?:{group})\d{{3}})+)"
        rf"(?:{dec}(?P<frac>\d+))?(?:[eE](?P<exp>[-+]?\d+))?$"
    )


_PATTERNS = {name: _number_pattern(loc) for name, loc in LOCALES.items()}
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def _number(text: str, locale: str) -> tuple[Decimal, bool] | None:
    """``text`` as the locale reads a number: (value, typed with grouping), or None."""
    match = _PATTERNS[locale].match(text)
    if not match:
        return None
    whole = match["whole"]
    grouped = whole != re.sub(r"\D", "", whole)
    digits = re.sub(r"\D", "", whole) + ("." + match["frac"] if match["frac"] else "")
    value = Decimal(digits)
    if match["exp"]:
        if grouped:
            return None
        value = value.scaleb(int(match["exp"]))
    return (-value if match["sign"] else value), grouped


def _stored(value: Decimal) -> int | float:
    """A JSON-ready number: whole numbers as int (Google's JSON writes 3, not 3.0)."""
    if value == value.to_integral_value() and abs(value) < 2**53:
        return int(value)
    return float(value)


def _date(text: str, locale: str) -> tuple[int, str] | None:
    iso = _ISO.match(text)
    loc = LOCALES[locale]
    if iso:
        y, m, d = (int(p) for p in iso.groups())
        pattern = "ISO_DATE"
    else:
        parts = text.split(loc.date_sep)
        if len(parts) != 3 or not all(p.isdigit() for p in parts) or len(parts[2]) != 4:
            return None
        a, b, y = (int(p) for p in parts)
        m, d = (a, b) if loc.date_order == "MDY" else (b, a)
        pattern = "DATE"
    try:
        return (date(y, m, d) - EPOCH).days, pattern
    except ValueError:
        return None


def parse_typed(text: str, locale: str) -> tuple[Any, str | None]:
    """What Sheets stores for a string written USER_ENTERED in ``locale``, and its pattern:
    a formula as written (pattern :data:`FORMULA`), a number, a boolean, a date's serial
    number, the text after a leading apostrophe, or the text itself."""
    if text.startswith("'"):
        return text[1:], None
    if text.startswith("="):
        return text, FORMULA
    loc = LOCALES[locale]
    stripped = text.strip()
    if stripped.upper() in (loc.true, loc.false):
        return stripped.upper() == loc.true, None
    number = _number(stripped, locale)
    if number is not None:
        return _stored(number[0]), "GROUPED" if number[1] else None
    percent = re.match(r"^(.+?)\s?%$", stripped)
    if percent and (inner := _number(percent[1], locale)) is not None:
        return _stored(inner[0] / 100), "PERCENT"
    amount = _currency(stripped, loc)
    if amount is not None and (inner := _number(amount[1], locale)) is not None:
        value = -inner[0] if amount[0] else inner[0]
        return _stored(value), "CURRENCY"
    serial = _date(stripped, locale)
    if serial is not None:
        return serial
    if text.startswith(("+", "-")) and not _SIGNED_DIGITS.match(stripped):
        return "=" + text, FORMULA
    return text, None


def _currency(text: str, loc: Locale) -> tuple[bool, str] | None:
    """(negative, the number's text) when ``text`` is an amount in the locale's currency."""
    negative = text.startswith("-")
    body = text[1:] if negative else text
    if loc.currency_first and body.startswith(loc.currency):
        return negative, body[len(loc.currency) :]
    if not loc.currency_first and body.endswith(loc.currency):
        return negative, body[: -len(loc.currency)].rstrip(" \u00a0\u202f")
    return None


def _grouped(digits: str, sep: str) -> str:
    out = ""
    while len(digits) > 3:
        digits, out = digits[:-3], sep + digits[-3:] + out
    return digits + out


def _decimal_text(value: float | int, loc: Locale, *, grouped: bool, places: int | None) -> str:
    number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if places is not None:
        number = number.quantize(Decimal(1).scaleb(-places))
    text = format(abs(number), "f")
    if places is None and "." in text:
        text = text.rstrip("0").rstrip(".")
    whole, _, frac = text.partition(".")
    if grouped:
        whole = _grouped(whole, loc.groups[0])
    sign = "-" if number < 0 else ""
    return sign + whole + (loc.decimal + frac if frac else "")


def show(value: Any, pattern: str | None, locale: str) -> str:
    """A stored value as FORMATTED_VALUE shows it in ``locale`` (formulas already computed)."""
    loc = LOCALES[locale]
    if value is None:
        return ""
    if isinstance(value, bool):
        return loc.true if value else loc.false
    if not isinstance(value, int | float):
        return str(value)
    if pattern in ("DATE", "ISO_DATE") and float(value).is_integer():
        return show_date(int(value), pattern, locale)
    if pattern == "CURRENCY":
        body = _decimal_text(abs(value), loc, grouped=True, places=2)
        sign = "-" if value < 0 else ""
        return (
            f"{sign}{loc.currency}{body}"
            if loc.currency_first
            else f"{sign}{body}\u00a0{loc.currency}"
        )
    if pattern == "PERCENT":
        body = _decimal_text(
            float(Decimal(repr(float(value))) * 100), loc, grouped=False, places=None
        )
        return body + ("\u00a0%" if loc.percent_space else "%")
    if isinstance(value, float) and (abs(value) >= 1e15 or (value and abs(value) < 1e-9)):
        return f"{value:.10g}".replace(".", loc.decimal)
    return _decimal_text(value, loc, grouped=pattern == "GROUPED", places=None)


def show_date(serial: int, pattern: str | None, locale: str) -> str:
    day = EPOCH + timedelta(days=serial)
    if pattern == "ISO_DATE":
        return day.isoformat()
    loc = LOCALES[locale]
    if loc.date_order == "MDY":
        return f"{day.month}/{day.day}/{day.year}"
    if loc.date_sep == ".":
        return f"{day.day:02d}.{day.month:02d}.{day.year}"
    return f"{day.day:02d}/{day.month:02d}/{day.year}"
