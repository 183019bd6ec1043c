"""Sheets API v4 ``spreadsheets.values``: get, update, append, clear and their batch forms.

Follows https://developers.google.com/sheets/api/reference/rest/v4/spreadsheets.values: A1
ranges (:mod:`sandbox.a1`), ``valueInputOption`` RAW / USER_ENTERED (required on writes;
USER_ENTERED text is parsed by the spreadsheet's locale, :mod:`sandbox.google.locales`),
``valueRenderOption``, ``dateTimeRenderOption`` (each checked, :mod:`sandbox.google.cells`) and
``majorDimension`` on reads, trailing empty cells and rows left out of
a read, a write past the grid refused (400 "exceeds grid limits"), and append growing the grid.

Assumption: append writes from the row after the sheet's last non-empty row (or from the range's
first row, if that is further down); Google's table detection is richer, and our callers
append to one table per tab.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from sandbox.a1 import GridRange, column_letters, parse_range, quote_title
from sandbox.google.cells import check_render_options, parse_user_entered, rendered
from sandbox.google.errors import ApiError
from sandbox.google.state import GoogleDep, GoogleState
from sandbox.google.store import Spreadsheet

router = APIRouter()


def _rows_of(values: list, major: str) -> list[list]:
    if major == "COLUMNS":
        width = max((len(c) for c in values), default=0)
        return [[col[i] if i < len(col) else None for col in values] for i in range(width)]
    return values


def write(book: Spreadsheet, range_: str, values: list, option: str, major: str) -> dict:
    try:
        grid = parse_range(range_)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    sheet = book.sheet(grid.sheet)
    rows = _rows_of(values, major)
    height = len(rows)
    width = max((len(r) for r in rows), default=0)
    if grid.row0 + height > sheet.rows or grid.col0 + width > sheet.columns:
        raise ApiError(
            400,
            f"Range ({quote_title(sheet.title)}!"
            f"{column_letters(grid.col0 + width - 1)}{grid.row0 + height}) exceeds "
            f"grid limits. Max rows: {sheet.rows}, max columns: {sheet.columns}",
        )
    cells = 0
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is None:
                continue
            stored, pattern = (
                parse_user_entered(value, book.locale)
                if option == "USER_ENTERED"
                else (value, None)
            )
            sheet.put(grid.row0 + r, grid.col0 + c, stored, pattern)
            cells += 1
    written = GridRange(
        sheet.title, grid.row0, grid.col0, grid.row0 + max(height, 1), grid.col0 + max(width, 1)
    )
    return {
        "updatedRange": written.a1(sheet.title),
        "updatedRows": height,
        "updatedColumns": width,
        "updatedCells": cells,
    }


def read(
    book: Spreadsheet, range_: str, option: str, major: str, date_time: str = "SERIAL_NUMBER"
) -> dict:
    check_render_options(option, date_time)
    try:
        grid = parse_range(range_)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    sheet = book.sheet(grid.sheet)
    row0, col0, row1, col1 = sheet.bounded(grid)
    row1 = min(row1, sheet.used_rows())
    rows = []
    for r in range(row0, row1):
        line = [
            rendered(sheet.get(r, c), option, sheet.pattern(r, c), book.locale, date_time)
            for c in range(col0, col1)
        ]
        while line and line[-1] == "":
            line.pop()
        rows.append(line)
    while rows and not rows[-1]:
        rows.pop()
    if major == "COLUMNS":
        rows = _rows_of(rows, "COLUMNS") if rows else []
    result = {
        "range": GridRange(
            sheet.title, row0, col0, row1 if grid.row1 is None else grid.row1, col1
        ).a1(sheet.title),
        "majorDimension": major,
    }
    if rows:
        result["values"] = rows
    return result


def clear(book: Spreadsheet, range_: str) -> str:
    grid = parse_range(range_)
    sheet = book.sheet(grid.sheet)
    row0, col0, row1, col1 = sheet.bounded(grid)
    for r in range(row0, min(row1, len(sheet.cells))):
        for c in range(col0, min(col1, len(sheet.cells[r]))):
            sheet.cells[r][c] = None
    return GridRange(sheet.title, row0, col0, row1, col1).a1(sheet.title)


@router.get("/v4/spreadsheets/{book_id}/values:batchGet")
async def values_batch_get(book_id: str, request: Request, state: GoogleDep):
    book = state.store.get(book_id)
    params = request.query_params
    option = params.get("valueRenderOption", "FORMATTED_VALUE")
    date_time = params.get("dateTimeRenderOption", "SERIAL_NUMBER")
    major = params.get("majorDimension", "ROWS")
    return {
        "spreadsheetId": book_id,
        "valueRanges": [read(book, r, option, major, date_time) for r in params.getlist("ranges")],
    }


@router.post("/v4/spreadsheets/{book_id}/values:batchUpdate")
async def values_batch_update(book_id: str, request: Request, state: GoogleDep):
    book = state.store.get(book_id)
    body = await request.json()
    option = body.get("valueInputOption")
    if option not in ("RAW", "USER_ENTERED"):
        raise ApiError(400, "Invalid valueInputOption: 'INPUT_VALUE_OPTION_UNSPECIFIED'")
    responses = [
        write(book, d["range"], d.get("values") or [], option, d.get("majorDimension") or "ROWS")
        for d in body.get("data") or []
    ]
    state.store.save(book)
    return {
        "spreadsheetId": book_id,
        "totalUpdatedRows": sum(r.get("updatedRows", 0) for r in responses),
        "totalUpdatedColumns": max([r.get("updatedColumns", 0) for r in responses] or [0]),
        "totalUpdatedCells": sum(r.get("updatedCells", 0) for r in responses),
        "totalUpdatedSheets": len({r["updatedRange"].split("!")[0] for r in responses}),
        "responses": responses,
    }


@router.post("/v4/spreadsheets/{book_id}/values:batchClear")
async def values_batch_clear(book_id: str, request: Request, state: GoogleDep):
    book = state.store.get(book_id)
    body = await request.json()
    cleared = [clear(book, r) for r in body.get("ranges", [])]
    state.store.save(book)
    return {"spreadsheetId": book_id, "clearedRanges": cleared}


@router.get("/v4/spreadsheets/{book_id}/values/{range_:path}")
async def values_get(
    book_id: str,
    range_: str,
    state: GoogleDep,
    valueRenderOption: str = "FORMATTED_VALUE",
    dateTimeRenderOption: str = "SERIAL_NUMBER",
    majorDimension: str = "ROWS",
):
    return read(
        state.store.get(book_id), range_, valueRenderOption, majorDimension, dateTimeRenderOption
    )


@router.put("/v4/spreadsheets/{book_id}/values/{range_:path}")
async def values_update(book_id: str, range_: str, request: Request, state: GoogleDep):
    book = state.store.get(book_id)
    option = request.query_params.get("valueInputOption")
    if option not in ("RAW", "USER_ENTERED"):
        raise ApiError(400, "'valueInputOption' is required but not specified")
    body = await request.json()
    result = write(
        book, range_, body.get("values") or [], option, body.get("majorDimension") or "ROWS"
    )
    state.store.save(book)
    return {"spreadsheetId": book_id, **result}


@router.post("/v4/spreadsheets/{book_id}/values/{range_:path}")
async def values_post(book_id: str, range_: str, request: Request, state: GoogleDep):
    # ``{range}:append`` and ``{range}:clear``: the colon verb is part of the path
    book = state.store.get(book_id)
    if range_.endswith(":clear"):
        cleared = clear(book, range_.removesuffix(":clear"))
        state.store.save(book)
        return {"spreadsheetId": book_id, "clearedRange": cleared}
    if not range_.endswith(":append"):
        raise ApiError(404, "Requested entity was not found.")
    return await _append(book_id, book, range_, request, state)


async def _append(
    book_id: str, book: Spreadsheet, range_: str, request: Request, state: GoogleState
) -> dict:
    option = request.query_params.get("valueInputOption")
    if option not in ("RAW", "USER_ENTERED"):
        raise ApiError(400, "'valueInputOption' is required but not specified")
    body = await request.json()
    grid = parse_range(range_.removesuffix(":append"))
    sheet = book.sheet(grid.sheet)
    start_row = max(sheet.used_rows(), grid.row0)
    values = body.get("values") or []
    if sheet.rows < start_row + len(values):
        sheet.rows = start_row + len(values)  # append grows the grid, as Sheets does
    target = GridRange(sheet.title, start_row, grid.col0, None, None)
    updates = write(book, target.a1(sheet.title), values, option, "ROWS")
    state.store.save(book)
    table = GridRange(
        sheet.title,
        grid.row0,
        grid.col0,
        max(start_row, 1),
        grid.col0 + max((len(r) for r in values), default=1),
    )
    return {
        "spreadsheetId": book_id,
        "tableRange": table.a1(sheet.title),
        "updates": {"spreadsheetId": book_id, **updates},
    }
