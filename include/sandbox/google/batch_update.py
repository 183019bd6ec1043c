"""The ``Request`` kinds of ``spreadsheets.batchUpdate``, one function each.

Follows https://developers.google.com/sheets/api/reference/rest/v4/spreadsheets/request: each
request is an object with exactly one field, named after its kind; replies come back in order,
``{}`` for the kinds whose reply is empty. Handled: ``addSheet``, ``deleteSheet``,
``updateSheetProperties``, ``updateSpreadsheetProperties`` (title, locale, timeZone, by its
``fields`` mask; values already stored keep their value, only their display follows the new
locale), ``appendDimension``, ``setDataValidation``, ``addProtectedRange``;
the formatting kinds in :data:`KNOWN_REQUESTS` are stored and acknowledged (no effect on
values); any other kind is refused as Google refuses an unknown field.

Assumption: a new protected range's id is ``1000 × number of sheets + 1 + ranges so far``
(Google only promises a unique integer).
"""

from __future__ import annotations

from collections.abc import Callable

from sandbox.google.errors import ApiError
from sandbox.google.store import DEFAULT_COLUMNS, DEFAULT_ROWS, Sheet, Spreadsheet, check_locale

KNOWN_REQUESTS = {
    # stored and acknowledged; their effect on values is nil
    "repeatCell",
    "updateBorders",
    "updateDimensionProperties",
    "autoResizeDimensions",
    "mergeCells",
    "unmergeCells",
    "addConditionalFormatRule",
    "updateCells",
    "setBasicFilter",
    "clearBasicFilter",
    "addBanding",
}


def add_sheet(book: Spreadsheet, index: int, body: dict) -> dict:
    props = body.get("properties", {})
    title = props.get("title") or f"Sheet{book.next_sheet_id}"
    if any(s.title == title for s in book.sheets):
        raise ApiError(
            400,
            f'Invalid requests[{index}].addSheet: A sheet with the name "{title}" '
            "already exists. Please enter another name.",
        )
    grid = props.get("gridProperties", {})
    sheet = Sheet(
        props.get("sheetId", book.next_sheet_id),
        title,
        props.get("index", len(book.sheets)),
        grid.get("rowCount", DEFAULT_ROWS),
        grid.get("columnCount", DEFAULT_COLUMNS),
    )
    book.next_sheet_id = max(book.next_sheet_id, sheet.sheet_id) + 1
    book.sheets.append(sheet)
    return {"addSheet": {"properties": sheet.properties()}}


def delete_sheet(book: Spreadsheet, index: int, body: dict) -> dict:
    sheet = book.sheet_by_id(body["sheetId"])
    if len(book.sheets) == 1:
        raise ApiError(
            400,
            f"Invalid requests[{index}].deleteSheet: You can't remove all the sheets in a document.",
        )
    book.sheets.remove(sheet)
    return {}


def update_sheet_properties(book: Spreadsheet, index: int, body: dict) -> dict:
    props = body["properties"]
    sheet = book.sheet_by_id(props.get("sheetId", 0))
    grid = props.get("gridProperties", {})
    sheet.title = props.get("title", sheet.title)
    sheet.index = props.get("index", sheet.index)
    sheet.rows = grid.get("rowCount", sheet.rows)
    sheet.columns = grid.get("columnCount", sheet.columns)
    sheet.frozen_rows = grid.get("frozenRowCount", sheet.frozen_rows)
    sheet.frozen_columns = grid.get("frozenColumnCount", sheet.frozen_columns)
    return {}


def update_spreadsheet_properties(book: Spreadsheet, index: int, body: dict) -> dict:
    """Title, locale and time zone named by ``fields`` (``*`` for all); ``fields`` is required."""
    props, mask = body.get("properties") or {}, body.get("fields")
    where = f"requests[{index}].updateSpreadsheetProperties"
    if not mask:
        raise ApiError(400, f"Invalid {where}: At least one field must be updated, but none was.")
    fields = {"title", "locale", "timeZone"} if mask == "*" else set(mask.split(","))
    unknown = fields - {"title", "locale", "timeZone"}
    if unknown:
        raise ApiError(400, f"Invalid {where}: the sandbox updates title, locale, timeZone only")
    if "locale" in fields:
        check_locale(props.get("locale", ""), where)
        book.locale = props["locale"]
    if "timeZone" in fields:
        book.time_zone = props.get("timeZone") or book.time_zone
    if "title" in fields:
        book.title = props.get("title") or book.title
    return {}


def append_dimension(book: Spreadsheet, index: int, body: dict) -> dict:
    sheet = book.sheet_by_id(body["sheetId"])
    if body.get("dimension") == "COLUMNS":
        sheet.columns += body["length"]
    else:
        sheet.rows += body["length"]
    return {}


def set_data_validation(book: Spreadsheet, index: int, body: dict) -> dict:
    rng = body["range"]
    sheet = book.sheet_by_id(rng.get("sheetId", 0))
    sheet.validations = [v for v in sheet.validations if v["range"] != rng]
    if body.get("rule"):
        sheet.validations.append({"range": rng, "rule": body["rule"]})
    return {}


def add_protected_range(book: Spreadsheet, index: int, body: dict) -> dict:
    protected = dict(
        body["protectedRange"],
        protectedRangeId=len(book.sheets) * 1000 + 1 + sum(len(s.protected) for s in book.sheets),
    )
    sheet = book.sheet_by_id(protected["range"].get("sheetId", 0))
    sheet.protected.append(protected)
    return {"addProtectedRange": {"protectedRange": protected}}


def store_format(book: Spreadsheet, kind: str, body: dict) -> dict:
    """A formatting request: kept on its sheet (if it names one that exists), acknowledged."""
    sheet_id = (
        (body.get("range") or body.get("properties", {})).get("sheetId", 0)
        if isinstance(body, dict)
        else 0
    )
    try:
        book.sheet_by_id(sheet_id).formats.append({kind: body})
    except ApiError:
        pass
    return {}


HANDLERS: dict[str, Callable[[Spreadsheet, int, dict], dict]] = {
    "addSheet": add_sheet,
    "deleteSheet": delete_sheet,
    "updateSheetProperties": update_sheet_properties,
    "updateSpreadsheetProperties": update_spreadsheet_properties,
    "appendDimension": append_dimension,
    "setDataValidation": set_data_validation,
    "addProtectedRange": add_protected_range,
}


def apply_request(book: Spreadsheet, index: int, request: dict) -> dict:
    """Apply ``requests[index]`` to ``book``; its reply."""
    if len(request) != 1:
        raise ApiError(400, f"Invalid requests[{index}]: exactly one kind of request expected")
    kind, body = next(iter(request.items()))
    handler = HANDLERS.get(kind)
    if handler is not None:
        return handler(book, index, body)
    if kind in KNOWN_REQUESTS:
        return store_format(book, kind, body)
    raise ApiError(
        400,
        f'Invalid JSON payload received. Unknown name "{kind}" at '
        f"'requests[{index}]': Cannot find field.",
    )
