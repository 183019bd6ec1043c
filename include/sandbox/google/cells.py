"""What a cell holds and shows: USER_ENTERED parsing, the formulas we evaluate, render options.

Follows the ``ValueInputOption``, ``ValueRenderOption`` and ``DateTimeRenderOption`` enums of
the Sheets API v4 (https://developers.google.com/sheets/api/reference/rest/v4/ValueInputOption,
https://developers.google.com/sheets/api/reference/rest/v4/ValueRenderOption and
https://developers.google.com/sheets/api/reference/rest/v4/DateTimeRenderOption):
``FORMATTED_VALUE`` shows values as the spreadsheet's locale formats them
(:mod:`sandbox.google.locales`), ``UNFORMATTED_VALUE`` gives numbers and booleans as JSON ones
and dates as serial numbers (``SERIAL_NUMBER``, the default) or formatted strings
(``FORMATTED_STRING``), ``FORMULA`` gives formulas as written. Any other value of either option
is refused with a 400, as Google refuses an unknown enum value.

Assumptions: only ``=IF(number op number, "text", "text")`` is computed; ``=IMAGE(...)`` shows
no text; any other formula shows ``#NAME?``, as Sheets shows an unknown function. Formulas are
read with ``,`` between arguments whatever the locale. The 400's wording for a bad enum value
(``Invalid value at 'value_render_option' (...), "X"``) follows Google's messages for other
enum fields.
"""

from __future__ import annotations

import re
from typing import Any

from sandbox.google.errors import ApiError
from sandbox.google.locales import DEFAULT_LOCALE, FORMULA, parse_typed, show, show_date

_IF_FORMULA = re.compile(
    r'^=IF\(\s*(-?\d+(?:\.\d+)?)\s*(>=|<=|<>|>|<|=)\s*(-?\d+(?:\.\d+)?)\s*,\s*"([^"]*)"\s*,'
    r'\s*"([^"]*)"\s*\)$',
    re.IGNORECASE,
)
IMAGE_FORMULA = re.compile(r'^=IMAGE\(\s*"([^"]+)"', re.IGNORECASE)
VALUE_RENDER_OPTIONS = ("FORMATTED_VALUE", "UNFORMATTED_VALUE", "FORMULA")
DATE_TIME_RENDER_OPTIONS = ("SERIAL_NUMBER", "FORMATTED_STRING")


def check_render_options(value: str, date_time: str) -> None:
    """400 for a ``valueRenderOption`` or ``dateTimeRenderOption`` Google does not know."""
    for field, given, known, enum in (
        ("value_render_option", value, VALUE_RENDER_OPTIONS, "ValueRenderOption"),
        ("date_time_render_option", date_time, DATE_TIME_RENDER_OPTIONS, "DateTimeRenderOption"),
    ):
        if given not in known:
            raise ApiError(
                400,
                f"Invalid value at '{field}' "
                f'(type.googleapis.com/google.apps.sheets.v4.{enum}), "{given}"',
            )


def parse_user_entered(value: Any, locale: str = DEFAULT_LOCALE) -> tuple[Any, str | None]:
    """What Sheets stores for USER_ENTERED input in ``locale`` and the pattern it implies
    (:func:`sandbox.google.locales.parse_typed`): numbers, booleans, dates, formulas (pattern
    ``FORMULA``), text. JSON numbers and booleans are kept as they are."""
    if not isinstance(value, str):
        return value, None
    return parse_typed(value, locale)


def is_formula(value: Any, pattern: str | None) -> bool:
    """Whether a stored cell holds a formula: only USER_ENTERED input parsed as one does; the
    same characters written RAW, or typed after an apostrophe, are text."""
    return pattern == FORMULA and isinstance(value, str)


def evaluate(value: Any, pattern: str | None = None) -> Any:
    """A cell's computed value: the ``=IF(a>=b,"YES","NO")`` form we use; =IMAGE shows no text.
    Text (any cell whose ``pattern`` is not ``FORMULA``) is its own value."""
    if is_formula(value, pattern):
        match = _IF_FORMULA.match(value.replace(" ", ""))
        if match:
            a, op, b, yes, no = match.groups()
            x, y = float(a), float(b)
            truth = {">=": x >= y, "<=": x <= y, ">": x > y, "<": x < y, "=": x == y, "<>": x != y}[
                op
            ]
            return yes if truth else no
        if IMAGE_FORMULA.match(value):
            return ""
        return "#NAME?"  # outside the emulated subset, as Sheets shows unknown functions
    return value


def formatted(value: Any, pattern: str | None = None, locale: str = DEFAULT_LOCALE) -> str:
    """A cell as people see it (FORMATTED_VALUE) in ``locale``."""
    if is_formula(value, pattern):
        return show(evaluate(value, pattern), None, locale)
    return show(value, pattern, locale)


def _number(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)  # Google's JSON writes 3, not 3.0
    return value


def rendered(
    value: Any,
    option: str,
    pattern: str | None = None,
    locale: str = DEFAULT_LOCALE,
    date_time: str = "SERIAL_NUMBER",
) -> Any:
    """A stored cell as ``values.get`` answers it for ``valueRenderOption`` ``option`` and
    ``dateTimeRenderOption`` ``date_time`` (ignored for FORMATTED_VALUE)."""
    if option == "FORMATTED_VALUE":
        return formatted(value, pattern, locale)
    is_date = pattern in ("DATE", "ISO_DATE") and isinstance(value, int | float)
    if is_date and date_time == "FORMATTED_STRING" and not isinstance(value, bool):
        return show_date(int(value), pattern, locale)
    if option == "FORMULA":
        return _number(value) if value is not None else ""
    computed = evaluate(value, pattern)
    return "" if computed is None else _number(computed)
