"""Google Sheets API v4 and Drive API v3, the subset gspread 6 uses, on 127.0.0.1.

Contract points kept: paths, JSON shapes, error bodies ``{"error": {code, message, status}}``,
OAuth token exchange for service accounts (JWT bearer), per-user and per-project per-minute
quotas for read and write requests answered with 429 RESOURCE_EXHAUSTED, grid limits on
writes, formulas stored as written. Admin switches under ``/_sandbox`` inject faults (429,
500, slow answers for client timeouts) and change quotas; ``/sheets/`` is a read-only HTML view.
"""

from __future__ import annotations

import asyncio
import base64
import html
import json
import re
import secrets
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from sandbox.a1 import GridRange, column_letters, parse_range, quote_title

DEFAULT_ROWS, DEFAULT_COLUMNS = 1000, 26
_IF_FORMULA = re.compile(
    r'^=IF\(\s*(-?\d+(?:\.\d+)?)\s*(>=|<=|<>|>|<|=)\s*(-?\d+(?:\.\d+)?)\s*,\s*"([^"]*)"\s*,'
    r'\s*"([^"]*)"\s*\)$',
    re.IGNORECASE,
)
_IMAGE_FORMULA = re.compile(r'^=IMAGE\(\s*"([^"]+)"', re.IGNORECASE)
_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")
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
    "updateSpreadsheetProperties",
}


class ApiError(Exception):
    STATUS: ClassVar[dict[int, str]] = {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        429: "RESOURCE_EXHAUSTED",
        500: "INTERNAL",
    }

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code, self.message = code, message

    def response(self) -> JSONResponse:
        body = {
            "error": {
                "code": self.code,
                "message": self.message,
                "status": self.STATUS.get(self.code, "UNKNOWN"),
            }
        }
        return JSONResponse(body, status_code=self.code)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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
        if _IMAGE_FORMULA.match(value):
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

    def put(self, row: int, col: int, value: Any) -> None:
        while len(self.cells) <= row:
            self.cells.append([])
        line = self.cells[row]
        while len(line) <= col:
            line.append(None)
        line[col] = None if value == "" else value

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

    def resource(self, base_url: str) -> dict:
        return {
            "spreadsheetId": self.spreadsheet_id,
            "properties": {"title": self.title, "locale": "en_US", "timeZone": "America/New_York"},
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

    def create(self, title: str, owner: str, sheet_titles: list[str] | None = None) -> Spreadsheet:
        book_id = secrets.token_urlsafe(30)[:44]
        sheets = [Sheet(i, t, i) for i, t in enumerate(sheet_titles or ["Sheet1"])]
        book = Spreadsheet(book_id, title, owner, sheets, next_sheet_id=len(sheets) + 1)
        book.permissions.append(
            {
                "id": uuid.uuid4().hex,
                "type": "user",
                "role": "owner",
                "emailAddress": owner,
                "kind": "drive#permission",
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


class Quota:
    """Sliding-window request counters per (user, kind) and per (project, kind)."""

    def __init__(self, per_user: int = 60, per_project: int = 300, window_s: float = 60.0):
        self.per_user, self.per_project, self.window_s = per_user, per_project, window_s
        self.events: dict[tuple[str, str], deque] = {}
        self.rejected = 0

    def admit(self, user: str, kind: str) -> str | None:
        now = time.monotonic()
        label = "Read" if kind == "read" else "Write"
        checks = (
            (("user", user, kind), self.per_user, "per minute per user"),
            (("project", "", kind), self.per_project, "per minute"),
        )
        for key, limit, scope in checks:
            window = self.events.setdefault(key, deque())
            while window and now - window[0] >= self.window_s:
                window.popleft()
            if len(window) >= limit:
                self.rejected += 1
                return (
                    f"Quota exceeded for quota metric '{label} requests' and limit "
                    f"'{label} requests {scope}' of service 'sheets.googleapis.com' for "
                    "consumer 'project_number:000000000000'."
                )
        for key, _, _ in checks:
            self.events[key].append(now)
        return None


def create_app(state_dir: Path, base_url: str = "") -> FastAPI:
    app = FastAPI(title="Sandbox: Google Sheets v4 / Drive v3", docs_url=None, redoc_url=None)
    store = Store(state_dir)
    quota = Quota()
    tokens: dict[str, str] = {}
    faults: list[dict] = []
    stats: dict[str, int] = {"requests": 0, "writes": 0, "reads": 0, "faults_injected": 0}
    app.state.store, app.state.quota, app.state.stats = store, quota, stats

    @app.middleware("http")
    async def gate(request: Request, call_next):
        path = request.url.path
        api = path.startswith(("/v4/", "/drive/v3/"))
        if not api:
            return await call_next(request)
        stats["requests"] += 1
        for fault in list(faults):
            if fault["path_contains"] in path and fault["method"] in ("*", request.method):
                fault["count"] -= 1
                if fault["count"] <= 0:
                    faults.remove(fault)
                stats["faults_injected"] += 1
                if fault.get("delay_s"):
                    await asyncio.sleep(fault["delay_s"])  # the client times out first
                    break
                return ApiError(
                    fault["status"],
                    fault.get("message")
                    or (
                        "Quota exceeded (injected fault)."
                        if fault["status"] == 429
                        else "Internal error encountered."
                    ),
                ).response()
        auth = request.headers.get("authorization", "")
        user = tokens.get(auth.removeprefix("Bearer ").strip())
        if user is None:
            return ApiError(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token.",
            ).response()
        request.state.user = user
        if path.startswith("/v4/"):
            kind = "read" if request.method == "GET" else "write"
            stats["reads" if kind == "read" else "writes"] += 1
            refusal = quota.admit(user, kind)
            if refusal:
                return ApiError(429, refusal).response()
        # One event loop, and handlers mutate state without awaiting in between: no lock needed.
        return await call_next(request)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError):
        return exc.response()

    # --- OAuth: service-account JWT bearer grant -------------------------------------------
    @app.post("/token")
    async def token(request: Request):
        form = await request.form()
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        try:
            payload = str(form["assertion"]).split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            subject = claims["iss"]
        except (KeyError, IndexError, ValueError):
            return JSONResponse(
                {"error": "invalid_grant", "error_description": "Invalid JWT"}, status_code=400
            )
        access = "ya29.sandbox-" + secrets.token_urlsafe(24)
        tokens[access] = subject
        return {"access_token": access, "expires_in": 3599, "token_type": "Bearer"}

    # --- Drive v3 --------------------------------------------------------------------------
    def drive_file(book: Spreadsheet) -> dict:
        return {
            "kind": "drive#file",
            "id": book.spreadsheet_id,
            "name": book.title,
            "mimeType": "application/vnd.google-apps.spreadsheet",
            "createdTime": book.created,
            "modifiedTime": book.modified,
        }

    @app.post("/drive/v3/files")
    async def drive_create(request: Request):
        body = await request.json()
        if body.get("mimeType") != "application/vnd.google-apps.spreadsheet":
            raise ApiError(400, "Only Google Sheets files can be created in this sandbox.")
        return drive_file(
            store.create(body.get("name") or "Untitled spreadsheet", request.state.user)
        )

    @app.get("/drive/v3/files")
    async def drive_list(q: str = ""):
        name = re.search(r"name\s*=\s*'((?:[^'\\]|\\.)*)'", q)
        books = [
            b
            for b in store.books.values()
            if name is None or b.title == name.group(1).replace("\\'", "'")
        ]
        return {
            "kind": "drive#fileList",
            "incompleteSearch": False,
            "files": [drive_file(b) for b in books],
        }

    @app.get("/drive/v3/files/{file_id}")
    async def drive_get(file_id: str):
        return drive_file(store.get(file_id))

    @app.delete("/drive/v3/files/{file_id}")
    async def drive_delete(file_id: str):
        store.get(file_id)
        del store.books[file_id]
        (store.folder / f"{file_id}.json").unlink(missing_ok=True)
        return JSONResponse(None, status_code=204)

    @app.post("/drive/v3/files/{file_id}/permissions")
    async def drive_share(file_id: str, request: Request):
        book = store.get(file_id)
        body = await request.json()
        if body.get("role") not in ("owner", "writer", "commenter", "reader"):
            raise ApiError(400, f"Invalid permission role: {body.get('role')}")
        if body.get("type") in ("user", "group") and "@" not in str(body.get("emailAddress")):
            raise ApiError(400, "Invalid sharing request: emailAddress is required.")
        permission = {
            "kind": "drive#permission",
            "id": uuid.uuid4().hex,
            "type": body.get("type"),
            "role": body["role"],
        }
        if body.get("emailAddress"):
            permission["emailAddress"] = body["emailAddress"]
        book.permissions = [
            p
            for p in book.permissions
            if p.get("emailAddress") != permission.get("emailAddress") or p["role"] == "owner"
        ] + [permission]
        store.save(book)
        return permission

    @app.get("/drive/v3/files/{file_id}/permissions")
    async def drive_permissions(file_id: str):
        return {"kind": "drive#permissionList", "permissions": store.get(file_id).permissions}

    # --- Sheets v4 -------------------------------------------------------------------------
    @app.post("/v4/spreadsheets")
    async def sheets_create(request: Request):
        body = await request.json()
        titles = [s["properties"]["title"] for s in body.get("sheets", [])] or None
        title = body.get("properties", {}).get("title") or "Untitled spreadsheet"
        return store.create(title, request.state.user, titles).resource(base_url)

    @app.get("/v4/spreadsheets/{book_id}")
    async def sheets_get(book_id: str):
        return store.get(book_id).resource(base_url)

    @app.post("/v4/spreadsheets/{book_id}:batchUpdate")
    async def sheets_batch_update(book_id: str, request: Request):
        book = store.get(book_id)
        body = await request.json()
        replies = [_apply_request(book, i, r) for i, r in enumerate(body.get("requests", []))]
        store.save(book)
        return {"spreadsheetId": book_id, "replies": replies}

    @app.get("/v4/spreadsheets/{book_id}/values:batchGet")
    async def values_batch_get(book_id: str, request: Request):
        book = store.get(book_id)
        params = request.query_params
        option = params.get("valueRenderOption", "FORMATTED_VALUE")
        major = params.get("majorDimension", "ROWS")
        return {
            "spreadsheetId": book_id,
            "valueRanges": [_read(book, r, option, major) for r in params.getlist("ranges")],
        }

    @app.post("/v4/spreadsheets/{book_id}/values:batchUpdate")
    async def values_batch_update(book_id: str, request: Request):
        book = store.get(book_id)
        body = await request.json()
        option = body.get("valueInputOption")
        if option not in ("RAW", "USER_ENTERED"):
            raise ApiError(400, "Invalid valueInputOption: 'INPUT_VALUE_OPTION_UNSPECIFIED'")
        responses = [
            _write(
                book, d["range"], d.get("values") or [], option, d.get("majorDimension") or "ROWS"
            )
            for d in body.get("data") or []
        ]
        store.save(book)
        return {
            "spreadsheetId": book_id,
            "totalUpdatedRows": sum(r.get("updatedRows", 0) for r in responses),
            "totalUpdatedColumns": max([r.get("updatedColumns", 0) for r in responses] or [0]),
            "totalUpdatedCells": sum(r.get("updatedCells", 0) for r in responses),
            "totalUpdatedSheets": len({r["updatedRange"].split("!")[0] for r in responses}),
            "responses": responses,
        }

    @app.post("/v4/spreadsheets/{book_id}/values:batchClear")
    async def values_batch_clear(book_id: str, request: Request):
        book = store.get(book_id)
        body = await request.json()
        cleared = [_clear(book, r) for r in body.get("ranges", [])]
        store.save(book)
        return {"spreadsheetId": book_id, "clearedRanges": cleared}

    @app.get("/v4/spreadsheets/{book_id}/values/{range_:path}")
    async def values_get(
        book_id: str,
        range_: str,
        valueRenderOption: str = "FORMATTED_VALUE",
        majorDimension: str = "ROWS",
    ):
        return _read(store.get(book_id), range_, valueRenderOption, majorDimension)

    @app.put("/v4/spreadsheets/{book_id}/values/{range_:path}")
    async def values_update(book_id: str, range_: str, request: Request):
        book = store.get(book_id)
        option = request.query_params.get("valueInputOption")
        if option not in ("RAW", "USER_ENTERED"):
            raise ApiError(400, "'valueInputOption' is required but not specified")
        body = await request.json()
        result = _write(
            book, range_, body.get("values") or [], option, body.get("majorDimension") or "ROWS"
        )
        store.save(book)
        return {"spreadsheetId": book_id, **result}

    @app.post("/v4/spreadsheets/{book_id}/values/{range_:path}")
    async def values_post(book_id: str, range_: str, request: Request):
        book = store.get(book_id)
        if range_.endswith(":clear"):
            cleared = _clear(book, range_.removesuffix(":clear"))
            store.save(book)
            return {"spreadsheetId": book_id, "clearedRange": cleared}
        if not range_.endswith(":append"):
            raise ApiError(404, "Requested entity was not found.")
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
        updates = _write(book, target.a1(sheet.title), values, option, "ROWS")
        store.save(book)
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

    # --- admin switches and the HTML view ---------------------------------------------------
    @app.post("/_sandbox/faults")
    async def add_fault(request: Request):
        body = await request.json()
        faults.append(
            {
                "status": int(body.get("status", 429)),
                "count": int(body.get("count", 1)),
                "path_contains": body.get("path_contains", "/v4/"),
                "method": body.get("method", "*"),
                "delay_s": body.get("delay_s"),
                "message": body.get("message"),
            }
        )
        return {"faults": faults}

    @app.post("/_sandbox/quota")
    async def set_quota(request: Request):
        body = await request.json()
        quota.per_user = int(body.get("per_user", quota.per_user))
        quota.per_project = int(body.get("per_project", quota.per_project))
        quota.window_s = float(body.get("window_s", quota.window_s))
        quota.events.clear()
        return {
            "per_user": quota.per_user,
            "per_project": quota.per_project,
            "window_s": quota.window_s,
        }

    @app.get("/_sandbox/stats")
    async def get_stats():
        return {**stats, "quota_rejections": quota.rejected, "pending_faults": len(faults)}

    @app.post("/_sandbox/reset-stats")
    async def reset_stats():
        for key in stats:
            stats[key] = 0
        quota.rejected = 0
        faults.clear()
        return stats

    @app.get("/_sandbox/spreadsheets/{book_id}")
    async def raw_state(book_id: str):
        """Everything stored for a spreadsheet, validations and protections included."""
        book = store.get(book_id)
        return dict(book.__dict__, sheets=[s.__dict__ for s in book.sheets])

    @app.get("/sheets/", response_class=HTMLResponse)
    async def html_index():
        items = "".join(
            f'<li><a href="/sheets/{b.spreadsheet_id}">{html.escape(b.title)}</a> '
            f"<small>{len(b.sheets)} tabs, shared with "
            f"{html.escape(', '.join(p.get('emailAddress', p['type']) for p in b.permissions))}"
            "</small></li>"
            for b in sorted(store.books.values(), key=lambda b: b.title)
        )
        return _page("Sandbox spreadsheets", f"<ul>{items or '<li>none yet</li>'}</ul>")

    @app.get("/sheets/{book_id}", response_class=HTMLResponse)
    async def html_book(book_id: str):
        book = store.books.get(book_id)
        if book is None:
            return HTMLResponse("not found", status_code=404)
        return _page(
            book.title, "".join(_sheet_html(s) for s in sorted(book.sheets, key=lambda s: s.index))
        )

    return app


def _apply_request(book: Spreadsheet, index: int, request: dict) -> dict:
    if len(request) != 1:
        raise ApiError(400, f"Invalid requests[{index}]: exactly one kind of request expected")
    kind, body = next(iter(request.items()))
    if kind == "addSheet":
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
    if kind == "deleteSheet":
        sheet = book.sheet_by_id(body["sheetId"])
        if len(book.sheets) == 1:
            raise ApiError(
                400,
                f"Invalid requests[{index}].deleteSheet: You can't remove all the sheets in a document.",
            )
        book.sheets.remove(sheet)
        return {}
    if kind == "updateSheetProperties":
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
    if kind == "appendDimension":
        sheet = book.sheet_by_id(body["sheetId"])
        if body.get("dimension") == "COLUMNS":
            sheet.columns += body["length"]
        else:
            sheet.rows += body["length"]
        return {}
    if kind == "setDataValidation":
        rng = body["range"]
        sheet = book.sheet_by_id(rng.get("sheetId", 0))
        sheet.validations = [v for v in sheet.validations if v["range"] != rng]
        if body.get("rule"):
            sheet.validations.append({"range": rng, "rule": body["rule"]})
        return {}
    if kind == "addProtectedRange":
        protected = dict(
            body["protectedRange"],
            protectedRangeId=len(book.sheets) * 1000
            + 1
            + sum(len(s.protected) for s in book.sheets),
        )
        sheet = book.sheet_by_id(protected["range"].get("sheetId", 0))
        sheet.protected.append(protected)
        return {"addProtectedRange": {"protectedRange": protected}}
    if kind in KNOWN_REQUESTS:
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
    raise ApiError(
        400,
        f'Invalid JSON payload received. Unknown name "{kind}" at '
        f"'requests[{index}]': Cannot find field.",
    )


def _rows_of(values: list, major: str) -> list[list]:
    if major == "COLUMNS":
        width = max((len(c) for c in values), default=0)
        return [[col[i] if i < len(col) else None for col in values] for i in range(width)]
    return values


def _write(book: Spreadsheet, range_: str, values: list, option: str, major: str) -> dict:
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
            stored = parse_user_entered(value) if option == "USER_ENTERED" else value
            sheet.put(grid.row0 + r, grid.col0 + c, stored)
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


def _read(book: Spreadsheet, range_: str, option: str, major: str) -> dict:
    try:
        grid = parse_range(range_)
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    sheet = book.sheet(grid.sheet)
    row0, col0, row1, col1 = sheet.bounded(grid)
    row1 = min(row1, sheet.used_rows())
    rows = []
    for r in range(row0, row1):
        line = [rendered(sheet.get(r, c), option) for c in range(col0, col1)]
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


def _clear(book: Spreadsheet, range_: str) -> str:
    grid = parse_range(range_)
    sheet = book.sheet(grid.sheet)
    row0, col0, row1, col1 = sheet.bounded(grid)
    for r in range(row0, min(row1, len(sheet.cells))):
        for c in range(col0, min(col1, len(sheet.cells[r]))):
            sheet.cells[r][c] = None
    return GridRange(sheet.title, row0, col0, row1, col1).a1(sheet.title)


def _validation_lists(sheet: Sheet) -> dict[int, list[str]]:
    lists = {}
    for v in sheet.validations:
        condition = v["rule"].get("condition", {})
        if condition.get("type") == "ONE_OF_LIST":
            for col in range(
                v["range"].get("startColumnIndex", 0), v["range"].get("endColumnIndex", 1)
            ):
                lists[col] = [x.get("userEnteredValue") for x in condition.get("values", [])]
    return lists


def _sheet_html(sheet: Sheet) -> str:
    lists = _validation_lists(sheet)
    width = max((len(r) for r in sheet.cells), default=0)
    head = "".join(f"<th>{column_letters(c)}</th>" for c in range(width))
    body = []
    for r in range(sheet.used_rows()):
        cells = []
        for c in range(width):
            raw = sheet.get(r, c)
            image = _IMAGE_FORMULA.match(raw) if isinstance(raw, str) else None
            if image:
                cells.append(f'<td><img src="{html.escape(image.group(1))}" width="160"></td>')
            else:
                text = html.escape(formatted(raw))
                title = (
                    f' title="{html.escape(raw)}"'
                    if isinstance(raw, str) and raw.startswith("=")
                    else ""
                )
                mark = " class=list" if c in lists and r >= sheet.frozen_rows else ""
                cells.append(f"<td{title}{mark}>{text}</td>")
        style = " class=frozen" if r < sheet.frozen_rows else ""
        body.append(f"<tr{style}><th>{r + 1}</th>{''.join(cells)}</tr>")
    notes = "".join(
        f"<li>column {column_letters(c)}: one of {html.escape(', '.join(map(str, values)))}</li>"
        for c, values in lists.items()
    )
    return (
        f"<h2>{html.escape(sheet.title)}</h2><table><tr><th></th>{head}</tr>{''.join(body)}"
        f"</table>" + (f"<p>Data validation:</p><ul>{notes}</ul>" if notes else "")
    )


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(f"""<!doctype html><html><head><meta charset="utf-8">
<title>{html.escape(title)}</title><style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; }}
table {{ border-collapse: collapse; font-size: 13px; }}
td, th {{ border: 1px solid #ccc; padding: 3px 6px; vertical-align: top; }}
th {{ background: #f1f3f4; }} tr.frozen td {{ font-weight: 600; background: #e8f0fe; }}
td.list {{ background: #fffbe6; }}
</style></head><body><h1>{html.escape(title)}</h1>{body}
<p><small>Google Sheets sandbox, read-only view</small></p></body></html>""")
