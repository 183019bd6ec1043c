"""Spreadsheet cells: A1 references, problems named by cell, and parsers for typed-in values.

People type into sheets; every parser accepts what a person would reasonably type (``$3.50``,
``1,200``, ``12/1/2026``, ``yes``) and otherwise raises ``ValueError`` saying what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation


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


def parse_decimal(value: str) -> Decimal:
    try:
        number = Decimal(value.strip().lstrip("$").replace(",", ""))
    except InvalidOperation:
        raise ValueError(f"expected a number, got {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"expected a number, got {value!r}")
    return number


def parse_non_negative(value: str) -> Decimal:
    number = parse_decimal(value)
    if number < 0:
        raise ValueError(f"must be 0 or more, got {value!r}")
    return number


def parse_count(value: str) -> int:
    number = parse_non_negative(value)
    if number != number.to_integral_value():
        raise ValueError(f"expected a whole number, got {value!r}")
    return int(number)


def parse_date(value: str) -> date:
    text = value.strip()
    for fmt in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"expected a date like 2026-12-01 (or 12/1/2026), got {value!r}")


def parse_boolean(value: str) -> bool:
    text = value.strip().casefold()
    if text in ("true", "yes", "y", "1", "enabled"):
        return True
    if text in ("false", "no", "n", "0", "disabled"):
        return False
    raise ValueError(f"expected TRUE or FALSE, got {value!r}")
