"""What a cell holds and shows: USER_ENTERED parsing, the formulas we evaluate, render options.

Follows the ``ValueInputOption`` and ``ValueRenderOption`` enums of the Sheets API v4
(https://developers.google.com/sheets/api/reference/rest/v4/ValueInputOption and
https://developers.google.com/sheets/api/reference/rest/v4/ValueRenderOption).

Assumptions: only ``=IF(number op number, "text", "text")`` is computed; ``=IMAGE(...)`` shows
no text; any other formula shows ``#NAME?``, as Sheets shows an unknown function.
"""

from __future__ import annotations

import re
from typing import Any

_IF_FORMULA = re.compile(
    r'^=IF\(\s*(-?\d+(?:\.\d+)?)\s*(>=|<=|<>|>|<|=)\s*(-?\d+(?:\.\d+)?)\s*,\s*"([^"]*)"\s*,'
    r'\s*"([^"]*)"\s*\)$',
    re.IGNORECASE,
)
IMAGE_FORMULA = re.compile(r'^=IMAGE\(\s*"([^"]+)"', re.IGNORECASE)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")


def parse_user_entered(value: Any) -> Any:
    """What Sheets stores for USER_ENTERED input: numbers, booleans, formulas, text."""
    if not isinstance(value, str):
        return value
    if value.startswith("="):
        return value
    text = value.strip()
    if _NUMBER.match(text):
        number = float(text)
        return (
            int(number)
            if number.is_integer() and "." not in text and "e" not in text.lower()
            else number
        )
    if text.upper() in ("TRUE", "FALSE"):
        return text.upper() == "TRUE"
    return value


def evaluate(value: Any) -> Any:
    """A cell's computed value: the ``=IF(a>=b,"YES","NO")`` form we use; =IMAGE shows no text."""
    if isinstance(value, str) and value.startswith("="):
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


def formatted(value: Any) -> str:
    value = evaluate(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return f"{value:.10g}"
    return "" if value is None else str(value)


def rendered(value: Any, option: str) -> Any:
    if option == "FORMULA":
        return value if value is not None else ""
    if option == "UNFORMATTED_VALUE":
        computed = evaluate(value)
        return "" if computed is None else computed
    return formatted(value)
