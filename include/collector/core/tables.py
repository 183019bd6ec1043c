"""Typed tables from spreadsheet rows: header checked, every bad cell named (``C7``).

Rows are a tab read unformatted (``collector.core.cells.UNFORMATTED_READ``), so numbers, booleans
and dates arrive as the sheet holds them whatever its locale; text is read only in the forms of
``collector.core.cells``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from collector.core.cells import (
    CellProblem,
    cell_ref,
    cell_text,
    is_empty,
    parse_boolean,
    parse_date,
    parse_decimal,
)


def _integer(value: Any) -> int:
    number = parse_decimal(value)
    if number != number.to_integral_value():
        shown = repr(value) if isinstance(value, str) else cell_text(value)
        raise ValueError(f"expected a whole number, got {shown}")
    return int(number)


CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "str": lambda value: cell_text(value).strip(),
    "int": _integer,
    "float": lambda value: float(parse_decimal(value)),
    "decimal": parse_decimal,
    "bool": parse_boolean,
    "date": parse_date,
}


class SheetTableError(ValueError):
    """The tab does not hold the expected table; ``problems`` names each cell."""

    def __init__(self, problems: list[CellProblem]):
        self.problems = problems
        shown = "; ".join(str(p) for p in problems[:20])
        more = f" (+{len(problems) - 20} more)" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problem(s): {shown}{more}")


def typed_frame(
    rows: list[list[Any]], columns: dict[str, str], *, required: list[str] | None = None
) -> pd.DataFrame:
    """A DataFrame with exactly ``columns`` (name -> type), in that order.

    Extra columns in the sheet are ignored; a missing column, or a cell that is not of its
    column's type, raises :class:`SheetTableError`. Empty cells are missing values (None),
    except in ``required`` columns, where they are problems.
    """
    unknown = set(columns.values()) - set(CONVERTERS)
    if unknown:
        raise ValueError(f"unknown column types {sorted(unknown)}; use {sorted(CONVERTERS)}")
    header = [str(h).strip().casefold() for h in (rows[0] if rows else [])]
    positions = {name: i for i, name in enumerate(header) if name}
    missing = [name for name in columns if name.casefold() not in positions]
    if missing:
        raise SheetTableError(
            [
                CellProblem(
                    "A1",
                    "header",
                    f"missing column(s) {', '.join(missing)}; found: {', '.join(header) or 'nothing'}",
                )
            ]
        )
    required = set(required or [])
    problems: list[CellProblem] = []
    records = []
    for r, raw in enumerate(rows[1:], start=1):
        cells = list(raw)
        if all(is_empty(c) for c in cells):
            continue
        record = {}
        for name, kind in columns.items():
            index = positions[name.casefold()]
            text = cells[index] if index < len(cells) else ""
            if is_empty(text):
                if name in required:
                    problems.append(
                        CellProblem(cell_ref(r, index), name, "is empty; a value is required")
                    )
                record[name] = None
                continue
            try:
                record[name] = CONVERTERS[kind](text)
            except ValueError as exc:
                problems.append(CellProblem(cell_ref(r, index), name, str(exc)))
        records.append(record)
    if problems:
        raise SheetTableError(problems)
    return pd.DataFrame.from_records(records, columns=list(columns))
