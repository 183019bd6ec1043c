"""Google Sheets through gspread and google-auth, with bounded backoff and a rate limiter.

Connection ``google_sheets_default`` (type ``google_sheets``), extras:

* ``keyfile_dict``: the service account JSON (a dict or its JSON text). Never logged.
* ``api_base_url``: optional; every request to ``*.googleapis.com`` goes there instead (the
  sandbox). The token request follows the key's own ``token_uri``.
* ``reads_per_minute`` / ``writes_per_minute``: client-side limits (default 55 each, under
  Google's 60 per user per minute), ``quota_window_s`` (default 60), ``max_attempts`` for
  429/408/5xx/timeouts (default 6), ``timeout_s`` per request (default 60).
"""

from __future__ import annotations

import json
import logging
import time
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import gspread
import requests
from airflow.sdk import BaseHook
from gspread.exceptions import APIError, WorksheetNotFound
from gspread.http_client import BackOffHTTPClient, HTTPClient
from requests.adapters import HTTPAdapter

from collector_airflow.ratelimit import SlidingWindowLimiter

log = logging.getLogger(__name__)
_sleep = time.sleep  # tests replace this to make backoff instant


class _RedirectAdapter(HTTPAdapter):
    """Send Google API requests to another base URL, keeping path and query."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        parts = urlsplit(base_url)
        self._scheme, self._netloc = parts.scheme, parts.netloc
        self._prefix = parts.path.rstrip("/")

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        request.url = urlunsplit(
            (self._scheme, self._netloc, self._prefix + parts.path, parts.query, "")
        )
        return super().send(request, **kwargs)


class _BoundedBackOffClient(BackOffHTTPClient):
    """gspread's backoff policy (retry 408, 429, 5xx and Drive usage limits, waiting 2^n s),
    but with a bounded number of attempts, and every attempt admitted by the rate limiter.

    Configured per hook by subclassing (gspread instantiates the class itself).
    """

    base_url: str | None = None
    read_limiter: SlidingWindowLimiter | None = None
    write_limiter: SlidingWindowLimiter | None = None
    max_attempts: int = 6
    timeout_s: float = 60.0

    def __init__(self, auth, session=None) -> None:
        super().__init__(auth, session)
        self.set_timeout(self.timeout_s)
        if self.base_url:
            self.session.mount("https://", _RedirectAdapter(self.base_url))
        self.retries = 0

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        method = str(kwargs.get("method") or args[0]).upper()
        limiter = self.read_limiter if method == "GET" else self.write_limiter
        for attempt in range(1, self.max_attempts + 1):
            if limiter is not None:
                limiter.acquire()
            try:
                return HTTPClient.request(self, *args, **kwargs)
            except APIError as err:
                if not self._retryable(err) or attempt == self.max_attempts:
                    raise
                reason = f"HTTP {err.code}"
            except requests.Timeout:
                if attempt == self.max_attempts:
                    raise
                reason = "timeout"
            wait = min(2**attempt, self._MAX_BACKOFF)
            self.retries += 1
            log.warning(
                "Google API %s on %s attempt %d/%d; retrying in %d s",
                reason,
                method,
                attempt,
                self.max_attempts,
                wait,
            )
            _sleep(wait)
        raise AssertionError("unreachable")

    def _retryable(self, err: APIError) -> bool:
        if err.code in (HTTPStatus.REQUEST_TIMEOUT, HTTPStatus.TOO_MANY_REQUESTS):
            return True
        if err.code >= HTTPStatus.INTERNAL_SERVER_ERROR:
            return True
        errors = err.error.get("errors") if isinstance(err.error, dict) else None
        return bool(
            err.code == HTTPStatus.FORBIDDEN and errors and errors[0].get("domain") == "usageLimits"
        )


class GoogleSheetsHook(BaseHook):
    """Spreadsheets as tables: read typed rows, write whole tabs, create and share."""

    conn_name_attr = "gcp_conn_id"
    default_conn_name = "google_sheets_default"
    conn_type = "google_sheets"
    hook_name = "Google Sheets (gspread)"

    def __init__(self, gcp_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.gcp_conn_id = gcp_conn_id
        self._client: gspread.Client | None = None
        self._http_class: type[_BoundedBackOffClient] | None = None

    # --- connection --------------------------------------------------------------------------
    def _extras(self) -> dict[str, Any]:
        return self.get_connection(self.gcp_conn_id).extra_dejson or {}

    def get_conn(self) -> gspread.Client:
        if self._client is None:
            extras = self._extras()
            keyfile = extras.get("keyfile_dict")
            if not keyfile:
                raise ValueError(
                    f"Connection {self.gcp_conn_id!r} has no 'keyfile_dict' extra: paste the "
                    "service account JSON there"
                )
            info = json.loads(keyfile) if isinstance(keyfile, str) else keyfile
            window = float(extras.get("quota_window_s", 60))
            self._http_class = type(
                "ConfiguredSheetsClient",
                (_BoundedBackOffClient,),
                {
                    "base_url": extras.get("api_base_url"),
                    "read_limiter": SlidingWindowLimiter(
                        int(extras.get("reads_per_minute", 55)), window
                    ),
                    "write_limiter": SlidingWindowLimiter(
                        int(extras.get("writes_per_minute", 55)), window
                    ),
                    "max_attempts": int(extras.get("max_attempts", 6)),
                    "timeout_s": float(extras.get("timeout_s", 60)),
                },
            )
            self._client = gspread.service_account_from_dict(info, http_client=self._http_class)
        return self._client

    @property
    def http(self) -> _BoundedBackOffClient:
        return self.get_conn().http_client  # type: ignore[return-value]

    def open(self, spreadsheet_id: str) -> gspread.Spreadsheet:
        return self.get_conn().open_by_key(spreadsheet_id)

    # --- tables ------------------------------------------------------------------------------
    def worksheet(
        self, spreadsheet: gspread.Spreadsheet, title: str, *, create: bool = False
    ) -> gspread.Worksheet:
        try:
            return spreadsheet.worksheet(title)
        except WorksheetNotFound:
            if not create:
                raise
            return spreadsheet.add_worksheet(title, rows=100, cols=26)

    def get_rows(
        self, spreadsheet_id: str, worksheet: str, *, render: str = "FORMATTED_VALUE"
    ) -> list[list[Any]]:
        """Every row of a tab, header included, in one values request."""
        book = self.open(spreadsheet_id)
        self.worksheet(book, worksheet)  # WorksheetNotFound names the tab, a 400 would not
        response = book.values_get(f"'{worksheet}'", params={"valueRenderOption": render})
        return response.get("values", [])

    def write_table(
        self,
        spreadsheet_id: str,
        worksheet: str,
        header: list[str],
        rows: list[list[Any]],
        *,
        freeze_header: bool = True,
        formatting: list[dict] | None = None,
        spare_rows: int = 0,
    ) -> None:
        """Replace a whole tab: one batchUpdate (grid size, frozen header, formatting), then
        all values in one request. Shrinking the grid removes rows left from a longer write;
        ``spare_rows`` keeps empty rows for tabs people fill in."""
        book = self.open(spreadsheet_id)
        sheet = self.worksheet(book, worksheet, create=True)
        values = [header, *rows]
        width = max(len(header), max((len(r) for r in rows), default=0), 1)
        layout = [
            {
                "updateSheetProperties": {
                    "properties": {
                        "sheetId": sheet.id,
                        "gridProperties": {
                            "rowCount": max(len(values) + spare_rows, 2),
                            "columnCount": width,
                            "frozenRowCount": 1 if freeze_header else 0,
                        },
                    },
                    "fields": "gridProperties(rowCount,columnCount,frozenRowCount)",
                }
            },
            *(formatting or []),
        ]
        book.batch_update({"requests": layout})
        book.values_update(
            f"'{worksheet}'!A1",
            params={"valueInputOption": "USER_ENTERED"},
            body={"values": values},
        )

    def append_rows(self, spreadsheet_id: str, worksheet: str, rows: list[list[Any]]) -> dict:
        """Append after the tab's last row in one request; returns the API's answer."""
        book = self.open(spreadsheet_id)
        return book.values_append(
            f"'{worksheet}'!A1",
            params={"valueInputOption": "USER_ENTERED", "insertDataOption": "INSERT_ROWS"},
            body={"values": rows},
        )

    def create_and_share(
        self,
        title: str,
        *,
        worksheets: list[str] | None = None,
        readers: list[str] = (),
        writers: list[str] = (),
    ) -> str:
        """Create a spreadsheet with the given tabs, share it, and return its id."""
        client = self.get_conn()
        book = client.create(title)
        if worksheets:
            first = book.sheet1
            first.update_title(worksheets[0])
            for name in worksheets[1:]:
                book.add_worksheet(name, rows=100, cols=26)
        for email in writers:
            book.share(email, perm_type="user", role="writer", notify=False)
        for email in readers:
            book.share(email, perm_type="user", role="reader", notify=False)
        self.log.info(
            "Created spreadsheet %r (%s) with %d tabs", title, book.id, len(worksheets or [1])
        )
        return book.id
