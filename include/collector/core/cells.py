"""Spreadsheet cells: A1 references, problems named by cell, and parsers for typed values.

A value reaches a parser in one of two shapes:

* as the Sheets API gives a cell read **unformatted** (``valueRenderOption=UNFORMATTED_VALUE``,
  ``dateTimeRenderOption=SERIAL_NUMBER``; :data:`UNFORMATTED_READ`): a number (``int`` or
  ``float``), a boolean, a date as its serial number (days since 1899-12-30), or a string when
  the sheet holds text: what a person typed that the sheet's locale did not make a number;
* as text written outside a sheet (a self-serve YAML spec, a CLI flag).

A number or a boolean is taken as the sheet holds it: the sheet's locale decided it once, when
the person typed, and reading it unformatted no locale can change it again (a formatted read
gives ``3,50`` in a ``de_DE`` sheet, which is 350 to a reader expecting ``3.50``).

Text is read only in the forms that mean the same in every locale (:data:`TEXT_FORMS`); any
other text raises ``ValueError`` saying what was expected, so the caller reports it by cell:

* a number: ``-?digits[.digits]``, e.g. ``3.50``, ``-77.03``, ``1200``; but not with exactly
  three digits after the point unless the whole part is 0 (``1.200`` is 1200 where ``.`` groups
  thousands, ``0.125`` is not ambiguous); no ``,`` at all (``3,50`` is 3.5 in ``de_DE``, ``1,200``
  is 1200 in ``en_US``), no exponent (``1e2``), no ``%``, no currency symbol except a leading
  ``$`` on an amount of money (:func:`parse_money_cents`: the platform pays in US dollars);
* a date: ISO ``2026-12-01`` only (``12/1/2026`` is 1 December in ``en_US`` and 12 January in
  ``en_GB``, ``fr_FR``...);
* a boolean: ``TRUE``/``FALSE``, ``yes``/``no``, ``y``/``n``, ``1``/``0``,
  ``enabled``/``disabled`` in any case.

Source of the rule: issue 19 (a ``de_DE`` master sheet's ``3,50`` was read as $350.00).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

# The read that keeps a sheet's locale out of its values (the hook's ``get_rows(render=...)``).
UNFORMATTED_READ = {
    "valueRenderOption": "UNFORMATTED_VALUE",
    "dateTimeRenderOption": "SERIAL_NUMBER",
}
# Day 0 of the Sheets serial number (Lotus 1-2-3's epoch, with 1900 not a leap year).
SERIAL_EPOCH = date(1899, 12, 30)
# A date cell outside these years is a number typed into a date column, not a date.
DATE_YEARS = (2000, 2099)
TEXT_FORMS = {
    "number": "-?digits[.digits], e.g. 3.50 (not 1.200: three digits after the point)",
    "money": "the same, with an optional leading $, e.g. $3.50",
    "date": "YYYY-MM-DD, e.g. 2026-12-01",
    "boolean": "TRUE/FALSE, yes/no, y/n, 1/0, enabled/disabled",
}

_PLAIN_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_EXPONENT = re.compile(r"^[-+]?[\d.,]*\d[eE][-+]?\d+$")


def cell_ref(row_index: int, column_index: int) -> str:
    """0-based indices to A1 (``cell_ref(6, 5) == "F7"``)."""
    letters, n = "", column_index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row_index + 1}"


@dataclass(frozen=True)
class CellProblem:
    cell: str
    column: str
    message: str
    collection_id: str | None = None

    def __str__(self) -> str:
        who = f" ({self.collection_id})" if self.collection_id else ""
        return f"{self.cell} {self.column}{who}: {self.message}"


def cell_text(value: Any) -> str:
    """What a cell holds, as text: a string as is, a boolean as ``TRUE``/``FALSE``, a number
    in plain decimal notation (``3.5``, ``1200``; ``None`` is ``""``)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return _plain(_from_number(value, value))
    return str(value)


def is_empty(value: Any) -> bool:
    """An empty cell: None, or text of only spaces (a number 0 or FALSE is a value)."""
    return value is None or (isinstance(value, str) and not value.strip())


def _plain(number: Decimal) -> str:
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else cell_text(value)


def _from_number(number: int | float, original: Any) -> Decimal:
    try:
        result = Decimal(number) if isinstance(number, int) else Decimal(repr(number))
    except InvalidOperation:
        result = Decimal("NaN")
    if not result.is_finite():
        raise ValueError(f"expected a number, got {_shown(original)}")
    return result


def _text_problem(text: str, *, money: bool) -> str:
    """Why ``text`` is not read as a number, with what to type instead."""
    stripped = text.strip()
    example = "3.50" if money else "0.8"
    if "," in stripped:
        why = "',' is a decimal comma in some locales and separates thousands in others"
    elif _EXPONENT.match(stripped):
        why = "scientific notation is not read"
    elif "%" in stripped:
        why = "a percentage typed as text is not read"
    elif re.search(r"[^\d.\-\s]", stripped.removeprefix("$") if money else stripped):
        why = "only digits, '-' and '.' are read" + (" (and a leading $)" if money else "")
    else:
        why = "not a plain number"
    return (
        f"expected a number like {example}, got {text!r}: {why}; type it so the sheet holds "
        "a number (right-aligned), or as plain digits with '.' for the decimal point"
    )


def _decimal_text(text: str, *, money: bool = False) -> Decimal:
    body = text.strip()
    if money:
        body = body.removeprefix("$")
    if not _PLAIN_NUMBER.match(body):
        raise ValueError(_text_problem(text, money=money))
    whole, _, fraction = body.lstrip("-").partition(".")
    # Money never has three decimals: the cents check refuses 3.001 in both readings.
    if len(fraction) == 3 and whole.strip("0") and not money:
        raise ValueError(
            f"expected a number like {'3.50' if money else '0.8'}, got {text!r}: ambiguous "
            f"({whole}.{fraction} is {Decimal(body.lstrip('-'))} where '.' is the decimal point, "
            f"{whole}{fraction} where it separates thousands); type it so the sheet holds a "
            "number (right-aligned)"
        )
    return Decimal(body)


def parse_decimal(value: Any) -> Decimal:
    """A number: an unformatted cell's ``int``/``float`` exactly as the sheet holds it (via its
    shortest repr, so 3.1 is ``Decimal("3.1")``), or text in the plain form of the module
    docstring. Raises ``ValueError`` (what was expected) for anything else: a boolean, text
    with ``,``, ``1e2``, ``80%``, a currency symbol."""
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {cell_text(value)} (a TRUE/FALSE cell)")
    if isinstance(value, int | float):
        return _from_number(value, value)
    if isinstance(value, str):
        return _decimal_text(value)
    raise ValueError(f"expected a number, got {value!r}")


def parse_money_cents(value: Any) -> int:
    """Dollars to integer cents, exactly: an unformatted cell's number, or text in the plain
    form with an optional leading ``$`` (``$3.50``). ``ValueError`` below 0, with more than two
    decimals (text like ``3.001`` too, which is 3001 where ``.`` separates thousands), and for
    any text :func:`parse_decimal` refuses."""
    if isinstance(value, str):
        number = _decimal_text(value, money=True)
    else:
        number = parse_decimal(value)
    if number < 0 or number.is_signed():  # "-0" too: money is never written with a minus
        raise ValueError(f"must be 0 or more, got {_shown(value)}")
    cents = number * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"expected dollars with at most 2 decimals, got {_shown(value)}")
    return int(cents)


def parse_non_negative(value: Any) -> Decimal:
    number = parse_decimal(value)
    if number < 0:
        raise ValueError(f"must be 0 or more, got {_shown(value)}")
    return number


def parse_count(value: Any) -> int:
    number = parse_non_negative(value)
    if number != number.to_integral_value():
        raise ValueError(f"expected a whole number, got {_shown(value)}")
    return int(number)


def serial_date(serial: int | float) -> date:
    """A Sheets serial number (whole days since 1899-12-30) as a date, if it is one of
    :data:`DATE_YEARS`; ``ValueError`` for a time of day or a number outside them."""
    if isinstance(serial, float) and not serial.is_integer():
        raise ValueError(
            f"expected a date without a time of day, got the serial number {serial}; "
            "type a date like 2026-12-01"
        )
    try:
        day = SERIAL_EPOCH + timedelta(days=int(serial))
    except OverflowError:
        day = None
    if day is None or not DATE_YEARS[0] <= day.year <= DATE_YEARS[1]:
        shown = f" ({day.isoformat()})" if day else ""
        raise ValueError(
            f"expected a date like 2026-12-01, got the number {cell_text(serial)}{shown}: "
            "the cell holds a number, not a date; type a date the sheet recognises"
        )
    return day


def parse_date(value: Any) -> date:
    """A date: an unformatted cell's serial number (:func:`serial_date`), or ISO text
    ``2026-12-01``; ``ValueError`` for any other text (``12/1/2026`` depends on the locale)."""
    if isinstance(value, bool):
        raise ValueError(f"expected a date like 2026-12-01, got {cell_text(value)}")
    if isinstance(value, int | float):
        return serial_date(value)
    text = str(value).strip()
    match = _ISO_DATE.match(text)
    if match:
        try:
            return date(*(int(part) for part in match.groups()))
        except ValueError:
            pass
    raise ValueError(
        f"expected a date like 2026-12-01, got {value!r}"
        + (
            ": the order of day and month depends on the locale, so only YYYY-MM-DD text is read"
            if re.search(r"\d[/.]\d", text)
            else ""
        )
    )


def parse_boolean(value: Any) -> bool:
    """A boolean cell as is; the numbers 1 and 0; text of the module docstring's forms."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = cell_text(value).strip().casefold()
    if text in ("true", "yes", "y", "1", "enabled"):
        return True
    if text in ("false", "no", "n", "0", "disabled"):
        return False
    raise ValueError(f"expected TRUE or FALSE, got {_shown(value)}")


# --- Cells fed by outside text, neutralized (OWASP "CSV Injection") -----------------------
# A spreadsheet reads a cell starting with one of these as a formula (Excel, LibreOffice and
# Google Sheets; tab and carriage return start one in Excel's CSV import). The fullwidth forms
# are included because some IMEs and locales turn them into the ASCII ones.
FORMULA_TRIGGERS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
_NUMBER_TEXT = re.compile(r"^-?\d+(\.\d+)?$")


class SheetFormula(str):
    """A formula we built (``=IF(...)``, ``=IMAGE(...)``): the only kind of text a sheet write
    may leave live. Every other string is outside text to :func:`neutral_cell`, and the Sheets
    hook passes every cell through it, so text cannot become a formula by being forgotten."""

    __slots__ = ()


def neutral_cell(value: Any) -> Any:
    """A cell that came from outside (names, receivers, notes, labels: anything a collector,
    reviewer or ops typed) as a spreadsheet may hold it: text whose first character (leading
    spaces aside) is one of :data:`FORMULA_TRIGGERS` gets a single quote in front, OWASP's rule,
    so Sheets and Excel show it as text instead of running it. Numbers, booleans, None and text
    that is a plain number (``-3.50``: a negative amount is a number) are returned unchanged,
    and so is a :class:`SheetFormula`. Idempotent: a neutralized cell starts with the quote."""
    if not isinstance(value, str) or isinstance(value, SheetFormula) or _NUMBER_TEXT.match(value):
        return value
    stripped = value.lstrip(" ")
    if stripped and stripped[0] in FORMULA_TRIGGERS:
        return "'" + value
    return value


def neutral_row(row: list[Any]) -> list[Any]:
    """:func:`neutral_cell` of every cell of a row with no formula of ours in it."""
    return [neutral_cell(value) for value in row]
