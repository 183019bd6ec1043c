"""Spreadsheets and their sheets (tabs), kept on disk as JSON under ``state_dir/sheets``.

Mirrors the ``Spreadsheet`` and ``Sheet`` resources of the Sheets API v4
(https://developers.google.com/sheets/api/reference/rest/v4/spreadsheets#Spreadsheet and
https://developers.google.com/sheets/api/reference/rest/v4/spreadsheets/sheets#Sheet): ids,
titles, the spreadsheet's ``locale`` and ``timeZone``, grid properties (size, frozen rows and
columns), data validations, protected ranges, the cells' stored values and the pattern each
value's input implied (:mod:`sandbox.google.locales`). Drive permissions live on the
spreadsheet too.

Assumption: a spreadsheet created without a locale is ``en_US`` in ``America/New_York`` (Google
takes the creating account's settings).
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sandbox.a1 import GridRange, quote_title
from sandbox.google.errors import ApiError
from sandbox.google.locales import DEFAULT_LOCALE, LOCALES

DEFAULT_ROWS, DEFAULT_COLUMNS = 1000, 26


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Sheet:
    sheet_id: int
    title: str
    index: int
    rows: int = DEFAULT_ROWS
    columns: int = DEFAULT_COLUMNS
    frozen_rows: int = 0
    frozen_columns: int = 0
    cells: list[list[Any]] = field(default_factory=list)
    validations: list[dict] = field(default_factory=list)
    protected: list[dict] = field(default_factory=list)
    formats: list[dict] = field(default_factory=list)
    patterns: dict[str, str] = field(default_factory=dict)  # "row:col" -> locales pattern

    def properties(self) -> dict:
        grid = {"rowCount": self.rows, "columnCount": self.columns}
        if self.frozen_rows:
            grid["frozenRowCount"] = self.frozen_rows
        if self.frozen_columns:
            grid["frozenColumnCount"] = self.frozen_columns
        return {
            "sheetId": self.sheet_id,
            "title": self.title,
            "index": self.index,
            "sheetType": "GRID",
            "gridProperties": grid,
        }

    def get(self, row: int, col: int) -> Any:
        if row < len(self.cells) and col < len(self.cells[row]):
            return self.cells[row][col]
        return None

    def pattern(self, row: int, col: int) -> str | None:
        return self.patterns.get(f"{row}:{col}")

    def put(self, row: int, col: int, value: Any, pattern: str | None = None) -> None:
        while len(self.cells) <= row:
            self.cells.append([])
        line = self.cells[row]
        while len(line) <= col:
            line.append(None)
        line[col] = None if value == "" else value
        if pattern:
            self.patterns[f"{row}:{col}"] = pattern
        else:
            self.patterns.pop(f"{row}:{col}", None)

    def used_rows(self) -> int:
        for index in range(len(self.cells) - 1, -1, -1):
            if any(v not in (None, "") for v in self.cells[index]):
                return index + 1
        return 0

    def bounded(self, grid: GridRange) -> tuple[int, int, int, int]:
        return (
            grid.row0,
            grid.col0,
            self.rows if grid.row1 is None else grid.row1,
            self.columns if grid.col1 is None else grid.col1,
        )


@dataclass
class Spreadsheet:
    spreadsheet_id: str
    title: str
    owner: str
    sheets: list[Sheet]
    permissions: list[dict] = field(default_factory=list)
    created: str = field(default_factory=_now)
    modified: str = field(default_factory=_now)
    next_sheet_id: int = 1
    locale: str = DEFAULT_LOCALE
    time_zone: str = "America/New_York"
    drive_id: str | None = None  # the shared drive it is in; None: its owner's My Drive

    def resource(self, base_url: str) -> dict:
        return {
            "spreadsheetId": self.spreadsheet_id,
            "properties": {"title": self.title, "locale": self.locale, "timeZone": self.time_zone},
            "sheets": [
                {"properties": s.properties(), "protectedRanges": s.protected}
                for s in sorted(self.sheets, key=lambda s: s.index)
            ],
            "spreadsheetUrl": f"{base_url}/sheets/{self.spreadsheet_id}",
        }

    def sheet(self, title: str | None) -> Sheet:
        if title is None:
            return min(self.sheets, key=lambda s: s.index)
        for sheet in self.sheets:
            if sheet.title == title:
                return sheet
        raise ApiError(400, f"Unable to parse range: {quote_title(title)}")

    def sheet_by_id(self, sheet_id: int) -> Sheet:
        for sheet in self.sheets:
            if sheet.sheet_id == sheet_id:
                return sheet
        raise ApiError(400, f"Invalid requests[0]: No grid with id: {sheet_id}")


def check_locale(locale: str, where: str) -> None:
    """400 for a locale the sandbox does not emulate (Google knows more: stricter, not kinder)."""
    if locale not in LOCALES:
        raise ApiError(
            400,
            f"Invalid {where}: unsupported locale {locale!r} (the sandbox emulates "
            f"{', '.join(LOCALES)})",
        )


class Store:
    """Spreadsheets kept on disk as JSON, one file each, written after every change."""

    def __init__(self, state_dir: Path):
        self.folder = state_dir / "sheets"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.books: dict[str, Spreadsheet] = {}
        for path in self.folder.glob("*.json"):
            data = json.loads(path.read_text())
            data["sheets"] = [Sheet(**s) for s in data["sheets"]]
            book = Spreadsheet(**data)
            self.books[book.spreadsheet_id] = book

    def save(self, book: Spreadsheet) -> None:
        book.modified = _now()
        data = dict(book.__dict__, sheets=[s.__dict__ for s in book.sheets])
        tmp = self.folder / f"{book.spreadsheet_id}.json.tmp"
        tmp.write_text(json.dumps(data))
        tmp.replace(self.folder / f"{book.spreadsheet_id}.json")

    def create(
        self,
        title: str,
        owner: str,
        sheet_titles: list[str] | None = None,
        *,
        locale: str = DEFAULT_LOCALE,
        time_zone: str = "America/New_York",
        drive: tuple[str, list[str]] | None = None,
    ) -> Spreadsheet:
        """A new spreadsheet: in ``owner``'s My Drive, or with ``drive`` (shared drive id,
        its writers) in that shared drive, where no one is its owner."""
        book_id = secrets.token_urlsafe(30)[:44]
        sheets = [Sheet(i, t, i) for i, t in enumerate(sheet_titles or ["Sheet1"])]
        book = Spreadsheet(
            book_id,
            title,
            owner,
            sheets,
            next_sheet_id=len(sheets) + 1,
            locale=locale,
            time_zone=time_zone,
            drive_id=drive[0] if drive else None,
        )
        for email in drive[1] if drive else [owner]:
            book.permissions.append(
                {
                    "id": uuid.uuid4().hex,
                    "type": "user",
                    "role": "writer" if drive else "owner",
                    "emailAddress": email,
                    "kind": "drive#permission",
                    **({"permissionDetails": [{"inherited": True}]} if drive else {}),
                }
            )
        self.books[book_id] = book
        self.save(book)
        return book

    def get(self, book_id: str) -> Spreadsheet:
        book = self.books.get(book_id)
        if book is None:
            raise ApiError(404, "Requested entity was not found.")
        return book
