"""A1 notation: ``'My tab'!A1:C10``, ``Sheet1!A:C``, ``A2``, ``Sheet1``."""

from __future__ import annotations

import re
from dataclasses import dataclass

_CELL = re.compile(r"^([A-Za-z]*)(\d*)$")


def column_index(letters: str) -> int:
    """``A`` -> 0, ``Z`` -> 25, ``AA`` -> 26."""
    index = 0
    for char in letters.upper():
        index = index * 26 + (ord(char) - 64)
    return index - 1


def column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def quote_title(title: str) -> str:
    return f"'{title}'" if re.search(r"[^A-Za-z0-9_]", title) else title


@dataclass(frozen=True)
class GridRange:
    """Zero-based, end-exclusive; ``None`` means open (whole column / row)."""

    sheet: str | None
    row0: int
    col0: int
    row1: int | None
    col1: int | None

    def a1(self, sheet_title: str) -> str:
        start = f"{column_letters(self.col0)}{self.row0 + 1}"
        end_col = column_letters(self.col1 - 1) if self.col1 is not None else ""
        end_row = str(self.row1) if self.row1 is not None else ""
        return f"{quote_title(sheet_title)}!{start}:{end_col}{end_row}"


def parse_range(text: str) -> GridRange:
    """Parse A1 notation; raises ValueError with Google's wording for bad ranges."""
    sheet, cells = None, text
    if "!" not in text and text.startswith("'") and text.endswith("'") and len(text) > 1:
        return GridRange(text[1:-1].replace("''", "'"), 0, 0, None, None)
    if "!" in text:
        sheet, cells = text.rsplit("!", 1)
        if sheet.startswith("'") and sheet.endswith("'"):
            sheet = sheet[1:-1].replace("''", "'")
    elif not _CELL.match(text.split(":")[0]) or text == "":
        return GridRange(text, 0, 0, None, None)  # a bare sheet title
    if cells == "":
        return GridRange(sheet, 0, 0, None, None)
    first, _, last = cells.partition(":")
    m1, m2 = _CELL.match(first), _CELL.match(last or first)
    if not m1 or not m2 or (not m1.group(1) and not m1.group(2)):
        raise ValueError(f"Unable to parse range: {text}")
    col0 = column_index(m1.group(1)) if m1.group(1) else 0
    row0 = int(m1.group(2)) - 1 if m1.group(2) else 0
    col1 = column_index(m2.group(1)) + 1 if m2.group(1) else None
    row1 = int(m2.group(2)) if m2.group(2) else None
    if not last:  # a single cell
        col1 = col0 + 1 if m1.group(1) else None
        row1 = row0 + 1 if m1.group(2) else None
    return GridRange(sheet, row0, col0, row1, col1)
