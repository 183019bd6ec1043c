"""Google Sheets through gspread and google-auth, with bounded backoff and a rate limiter.

Connection ``google_sheets_default`` (type ``google_sheets``), extras:

* ``keyfile_dict``: the service account JSON (a dict or its JSON text). Never logged.
* ``api_base_url``: optional; every request to ``*.googleapis.com`` goes there instead (the
  sandbox). The token request follows the key's own ``token_uri``.
* ``reads_per_minute`` / ``writes_per_minute``: client-side limits (default 55 each, under
  Google's 60 per user per minute), ``quota_window_s`` (default 60), ``max_attempts`` for
  429/408/5xx/timeouts (default 6), ``timeout_s`` per request (default 60).
* ``drive_folder_id``: the shared-drive folder new spreadsheets are created in. Service
  accounts have no Drive storage of their own (since 2025 Google refuses their files with 403
  ``storageQuotaExceeded``): the service account must be a Contributor of that shared drive.
* ``subject``: optional; a Workspace user the service account acts as (domain-wide
  delegation), whose My Drive then holds the files made without ``drive_folder_id``.

Sharing tries a direct share first and, when Google answers ``invalidSharingRequest`` (the
address has no Google account), sends Google's invitation email instead
(:meth:`GoogleSheetsHook.share` says which one happened).

Every value the hook writes (``write_table``, ``append_rows``, ``write_ranges``) goes through
:func:`collector.core.cells.neutral_cell`: a string that would start a formula is written as
text (OWASP's CSV injection rule), unless it is a :class:`collector.core.cells.SheetFormula`,
the caller's statement that it built that formula. Writes are ``USER_ENTERED``, so numbers,
dates and those formulas keep their types.

When a call still fails after those attempts, or cannot reach Google at all, or Google refuses
the service account (401/403, a token refused), the hook raises :class:`SheetsUnavailable`: one
sentence naming the connection, the call, the answer and what to do (service_errors.py). It is
also a gspread ``APIError`` when Google answered, so ``except APIError`` keeps working. Other
answers (400 for a bad range, 404 turned into ``SpreadsheetNotFound`` by gspread) are the
caller's to handle and pass unchanged.
"""

from __future__ import annotations

import json
import logging
import time
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import google.auth.exceptions
import gspread
import requests
from airflow.sdk import BaseHook
from google.oauth2.service_account import Credentials
from gspread.exceptions import APIError, WorksheetNotFound
from gspread.http_client import BackOffHTTPClient, HTTPClient
from requests.adapters import HTTPAdapter

from collector.core.cells import neutral_cell
from collector_airflow.hooks.service_errors import (
    ExternalServiceError,
    connection_test_crash,
    connection_test_failure,
    endpoint,
    one_line,
    safe_url,
    transport_status,
)
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

    def target(self, url: str) -> str:
        """Where a Google URL really goes."""
        parts = urlsplit(url)
        return urlunsplit((self._scheme, self._netloc, self._prefix + parts.path, parts.query, ""))

    def send(self, request, **kwargs):
        request.url = self.target(request.url)
        return super().send(request, **kwargs)


GOOGLE_STATUS = "Google's status page https://www.google.com/appsstatus"
INVITATION_MESSAGE = (
    "You have been given access to this spreadsheet. Open it with a Google account for this "
    "address, or create one for it."
)


def google_reason(err: APIError) -> str | None:
    """The first ``errors[].reason`` of a Google answer (``storageQuotaExceeded``...)."""
    errors = err.error.get("errors") if isinstance(err.error, dict) else None
    return (errors[0].get("reason") if errors and isinstance(errors[0], dict) else None) or None


class SheetsUnavailable(ExternalServiceError):
    """Google Sheets/Drive could not be reached, refused the service account's token, or (as
    :class:`SheetsAnswerError`) answered an error after the hook's retries."""

    def __init__(self, **fields: Any) -> None:
        super().__init__(service="Google Sheets", **fields)


class SheetsAnswerError(SheetsUnavailable, APIError):
    """Google answered an error no caller handles (5xx/429 after retries, 401, 403): also a
    gspread ``APIError`` (``code``, ``response``, ``error``), so ``except APIError`` holds."""

    def __init__(self, *, response: requests.Response, **fields: Any) -> None:
        APIError.__init__(self, response)
        SheetsUnavailable.__init__(self, **fields)


class _BoundedBackOffClient(BackOffHTTPClient):
    """gspread's backoff policy (retry 408, 429, 5xx and Drive usage limits, waiting 2^n s),
    but with a bounded number of attempts, and every attempt admitted by the rate limiter.

    Configured per hook by subclassing (gspread instantiates the class itself).
    """

    base_url: str | None = None
    conn_id: str = "google_sheets_default"
    account_email: str = ""
    folder_id: str = ""
    subject: str = ""
    read_limiter: SlidingWindowLimiter | None = None
    write_limiter: SlidingWindowLimiter | None = None
    max_attempts: int = 6
    timeout_s: float = 60.0

    def __init__(self, auth, session=None) -> None:
        super().__init__(auth, session)
        self.set_timeout(self.timeout_s)
        self._redirect = _RedirectAdapter(self.base_url) if self.base_url else None
        if self._redirect is not None:
            self.session.mount("https://", self._redirect)
        self.retries = 0
        self.attempts = 0

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        method = str(kwargs.get("method") or args[0]).upper()
        url = str(kwargs.get("endpoint") or (args[1] if len(args) > 1 else ""))
        if self._redirect is not None:
            url = self._redirect.target(url)
        try:
            return self._request(method, *args, **kwargs)
        except APIError as err:
            if not self._unavailable(err):
                raise  # the caller's to handle: a bad range, a missing sheet (404)...
            raise SheetsAnswerError(
                response=err.response, **self._api_fields(err, method, url)
            ) from err
        except requests.RequestException as err:
            raise SheetsUnavailable(
                conn_id=self.conn_id,
                endpoint=endpoint(method, url),
                status=self._tried(transport_status(err)),
                next_step=self._reach_step(),
            ) from err
        except google.auth.exceptions.GoogleAuthError as err:
            raise SheetsUnavailable(**self._token_fields(err)) from err

    def _tried(self, status: str) -> str:
        return f"{status} after {self.attempts} attempts" if self.attempts > 1 else status

    def _reach_step(self) -> str:
        where = "extra `api_base_url`, " if self.base_url else ""
        return (
            f"check {GOOGLE_STATUS} and the connection `{self.conn_id}` ({where}Admin → "
            "Connections)"
        )

    def _unavailable(self, err: APIError) -> bool:
        """Google answered something no caller can handle: still failing after retries,
        or the service account refused."""
        return self._retryable(err) or err.code in (
            HTTPStatus.UNAUTHORIZED,
            HTTPStatus.FORBIDDEN,
        )

    def _api_fields(self, err: APIError, method: str, url: str) -> dict[str, Any]:
        google = err.error if isinstance(err.error, dict) else {}
        said = one_line(google.get("message") or "", 160).rstrip(".")
        status = self._tried(f"HTTP {err.code}") + f" ({google.get('status') or '?'}: {said})"
        if err.code == HTTPStatus.TOO_MANY_REQUESTS:
            step = (
                "the quota stayed exhausted: lower `reads_per_minute`/`writes_per_minute` in "
                f"the connection `{self.conn_id}`'s extras, or ask Google for more quota"
            )
        elif err.code == HTTPStatus.UNAUTHORIZED:
            step = self._key_step()
        elif google_reason(err) == "storageQuotaExceeded":
            step = self._storage_step()
        elif err.code == HTTPStatus.FORBIDDEN and not self._retryable(err):
            who = self.account_email or "the service account"
            step = (
                f"share the spreadsheet with {who} (editor), or enable the Sheets and Drive "
                "APIs for its project"
            )
        else:
            step = self._reach_step()
        return {
            "conn_id": self.conn_id,
            "endpoint": endpoint(method, url),
            "status": status,
            "next_step": step,
        }

    def _storage_step(self) -> str:
        who = self.account_email or "the service account"
        if self.subject and not self.folder_id:
            return (
                f"the Drive of `{self.subject}` (extra `subject`) is full: free space there, or "
                f"set the extra `drive_folder_id` of the connection `{self.conn_id}` to a "
                f"shared-drive folder where {who} is a Contributor"
            )
        return (
            f"service accounts have no Drive storage: set the extra `drive_folder_id` of the "
            f"connection `{self.conn_id}` (Admin → Connections) to a shared-drive folder where "
            f"{who} is a Contributor, or the extra `subject` to a Workspace user it may act as "
            "(domain-wide delegation)"
        )

    def _key_step(self) -> str:
        return (
            f"the service account key in `{self.conn_id}` (extra `keyfile_dict`) was refused "
            "(deleted, disabled or rotated): create a new key in Google Cloud (IAM → Service "
            "accounts) and paste it into the connection"
        )

    def _token_fields(self, err: google.auth.exceptions.GoogleAuthError) -> dict[str, Any]:
        token_uri = getattr(self.auth, "_token_uri", None) or "https://oauth2.googleapis.com/token"
        if isinstance(err, google.auth.exceptions.TransportError):
            status = transport_status(err)
            step = (
                f"check {GOOGLE_STATUS} and the `token_uri` of the key in the connection "
                f"`{self.conn_id}` (Admin → Connections)"
            )
        else:  # RefreshError: an answer, but no token ("invalid_grant: Invalid JWT", a body)
            reason = one_line(err.args[0] if err.args else type(err).__name__, 80)
            status = f"token refused ({reason})"
            step = self._key_step()
        return {
            "conn_id": self.conn_id,
            "endpoint": f"POST {safe_url(token_uri)}",
            "status": status,
            "next_step": step,
        }

    def _request(self, method: str, *args: Any, **kwargs: Any) -> requests.Response:
        limiter = self.read_limiter if method == "GET" else self.write_limiter
        for attempt in range(1, self.max_attempts + 1):
            self.attempts = attempt
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
        if google_reason(err) == "storageQuotaExceeded":
            return False  # a usageLimits 403 that no wait cures (gspread issue 1592)
        if err.code in (HTTPStatus.REQUEST_TIMEOUT, HTTPStatus.TOO_MANY_REQUESTS):
            return True
        if err.code >= HTTPStatus.INTERNAL_SERVER_ERROR:
            return True
        errors = err.error.get("errors") if isinstance(err.error, dict) else None
        return bool(
            err.code == HTTPStatus.FORBIDDEN and errors and errors[0].get("domain") == "usageLimits"
        )


def _neutral(rows: list[list[Any]]) -> list[list[Any]]:
    return [[neutral_cell(value) for value in row] for row in rows]


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
            window = float(extras.get("quota_window_s") or 60)
            self._http_class = type(
                "ConfiguredSheetsClient",
                (_BoundedBackOffClient,),
                {
                    "base_url": extras.get("api_base_url") or None,
                    "read_limiter": SlidingWindowLimiter(
                        int(extras.get("reads_per_minute") or 55), window
                    ),
                    "write_limiter": SlidingWindowLimiter(
                        int(extras.get("writes_per_minute") or 55), window
                    ),
                    "max_attempts": int(extras.get("max_attempts") or 6),
                    "timeout_s": float(extras.get("timeout_s") or 60),
                    "conn_id": self.gcp_conn_id,
                    "account_email": str(info.get("client_email") or ""),
                    "folder_id": str(extras.get("drive_folder_id") or ""),
                    "subject": str(extras.get("subject") or ""),
                },
            )
            credentials = Credentials.from_service_account_info(
                info,
                scopes=gspread.auth.DEFAULT_SCOPES,
                subject=extras.get("subject") or None,
            )
            self._client = gspread.Client(auth=credentials, http_client=self._http_class)
        return self._client

    def test_connection(self) -> tuple[bool, str]:
        """The Connections form's Test (and ``collector doctor``): fetch a token with the service
        account key, list at most one spreadsheet the account can see (Drive ``files.list``),
        then prove that spreadsheets can be created where the pipelines create them: a probe
        spreadsheet made in the shared-drive folder (``drive_folder_id``) or the ``subject``'s
        Drive, and deleted at once. Without either it fails naming them (a service account owns
        no Drive storage). One attempt each, no backoff behind the Test button."""
        import google.auth.transport.requests  # noqa: PLC0415

        secrets: list[str | None] = []
        try:
            keyfile = self._extras().get("keyfile_dict")
            info = json.loads(keyfile) if isinstance(keyfile, str) else (keyfile or {})
            secrets = [str(info.get("private_key") or "") or None, keyfile and str(keyfile)]
            http = self.http
            http.max_attempts = 1
            try:
                http.auth.refresh(google.auth.transport.requests.Request())
            except google.auth.exceptions.GoogleAuthError as err:
                raise SheetsUnavailable(**http._token_fields(err)) from err
            secrets.append(http.auth.token)
            http.request(
                "get",
                "https://www.googleapis.com/drive/v3/files",
                params={
                    "q": "mimeType='application/vnd.google-apps.spreadsheet'",
                    "pageSize": 1,
                    "fields": "files(id)",
                },
            )
        except SheetsUnavailable as err:
            if "token refused" in err.status or "401" in err.status:
                hint = (
                    "Google refused the service account key: create a new key (IAM → Service "
                    "accounts → Keys) and paste its JSON"
                )
            elif "403" in err.status:
                hint = (
                    "the key works but Google refused the call: enable the Sheets and Drive APIs "
                    "for the key's project"
                )
            else:
                hint = "Google could not be asked: check the token_uri, API base URL, network"
            return connection_test_failure(err, hint)
        except Exception as exc:
            return False, connection_test_crash("Google Sheets", exc, secrets)
        return self._probe_where_spreadsheets_go(str(info.get("client_email")), secrets)

    def _probe_where_spreadsheets_go(self, account: str, secrets: list) -> tuple[bool, str]:
        """Create and delete a probe spreadsheet where :meth:`create_spreadsheet` would."""
        folder, subject = self.http.folder_id, self.http.subject
        if not folder and not subject:
            return False, (
                f"Google accepted the service account {account}, but it owns no Drive storage: "
                "set the extra `drive_folder_id` to a shared-drive folder it may write to (or "
                "`subject` to a Workspace user it may act as)"
            )
        where = f"the shared-drive folder {folder}" if folder else f"the Drive of {subject}"
        try:
            probe = self.create_spreadsheet("collector-connection-test (deleted at once)")
            self.get_conn().del_spreadsheet(probe.id)
        except SheetsUnavailable as err:
            return connection_test_failure(err, err.next_step or f"check {where}")
        except Exception as exc:
            return False, connection_test_crash("Google Sheets", exc, secrets)
        return True, (
            f"Google accepted the service account {account}: token fetched, Drive listed, and a "
            f"probe spreadsheet created and deleted in {where}"
        )

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
        self,
        spreadsheet_id: str,
        worksheet: str,
        *,
        render: str = "FORMATTED_VALUE",
        dates: str = "SERIAL_NUMBER",
    ) -> list[list[Any]]:
        """Every row of a tab, header included, in one values request.

        ``render`` is the API's ``valueRenderOption``. ``FORMATTED_VALUE`` (the default) gives
        strings as people see them, formatted by the spreadsheet's locale (``3,50`` in
        ``de_DE``): for showing, never for reading typed values. ``UNFORMATTED_VALUE`` gives
        numbers and booleans as JSON numbers and booleans, and dates as ``dates``
        (``dateTimeRenderOption``: ``SERIAL_NUMBER``, days since 1899-12-30, or
        ``FORMATTED_STRING``), so no locale changes them: read typed values that way
        (``collector.core.cells``). ``FORMULA`` gives formulas as written.
        """
        book = self.open(spreadsheet_id)
        self.worksheet(book, worksheet)  # WorksheetNotFound names the tab, a 400 would not
        params = {"valueRenderOption": render}
        if render != "FORMATTED_VALUE":  # Google ignores it there
            params["dateTimeRenderOption"] = dates
        response = book.values_get(f"'{worksheet}'", params=params)
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
            body={"values": _neutral(values)},
        )

    def append_rows(self, spreadsheet_id: str, worksheet: str, rows: list[list[Any]]) -> dict:
        """Append after the tab's last row in one request; returns the API's answer."""
        book = self.open(spreadsheet_id)
        return book.values_append(
            f"'{worksheet}'!A1",
            params={"valueInputOption": "USER_ENTERED", "insertDataOption": "INSERT_ROWS"},
            body={"values": _neutral(rows)},
        )

    def write_ranges(self, spreadsheet_id: str, data: list[dict[str, Any]]) -> dict:
        """Write several ranges in one ``values.batchUpdate`` (``data``: ``{"range": A1,
        "values": rows}`` each); returns the API's answer."""
        body = {
            "valueInputOption": "USER_ENTERED",
            "data": [{**item, "values": _neutral(item["values"])} for item in data],
        }
        return self.http.values_batch_update(spreadsheet_id, body)

    def create_spreadsheet(
        self, title: str, *, worksheets: list[str] | None = None
    ) -> gspread.Spreadsheet:
        """Create a spreadsheet with the given tabs in the connection's ``drive_folder_id``
        (a shared drive, ``supportsAllDrives``), or in the ``subject``'s My Drive without one."""
        client = self.get_conn()
        folder = self.http.folder_id or None
        try:
            book = client.create(title, folder_id=folder)
        except APIError as err:
            if err.code != HTTPStatus.NOT_FOUND or not folder:
                raise
            fields = self.http._api_fields(err, "POST", "https://www.googleapis.com/drive/v3/files")
            who = self.http.account_email or "the service account"
            fields["next_step"] = (
                f"the extra `drive_folder_id` ({folder}) of the connection `{self.gcp_conn_id}` "
                f"is not a shared-drive folder {who} can see: add {who} to the shared drive as "
                "a Contributor, or correct the folder id"
            )
            raise SheetsAnswerError(response=err.response, **fields) from err
        if worksheets:
            book.sheet1.update_title(worksheets[0])
            for name in worksheets[1:]:
                book.add_worksheet(name, rows=100, cols=26)
        self.log.info(
            "Created spreadsheet %r (%s) with %d tabs", title, book.id, len(worksheets or [1])
        )
        return book

    def share(self, book: gspread.Spreadsheet, email: str, role: str) -> str:
        """Give ``email`` the ``role``: directly (``"direct"``, no email) when the address is a
        Google account; else Google answers ``invalidSharingRequest`` and the address gets
        Google's invitation email (``"invitation"``)."""
        try:
            book.share(email, perm_type="user", role=role, notify=False)
            return "direct"
        except APIError as err:
            if google_reason(err) != "invalidSharingRequest":
                raise
        book.share(
            email, perm_type="user", role=role, notify=True, email_message=INVITATION_MESSAGE
        )
        self.log.info("%s has no Google account: shared with an invitation", email)
        return "invitation"

    def create_and_share(
        self,
        title: str,
        *,
        worksheets: list[str] | None = None,
        readers: list[str] = (),
        writers: list[str] = (),
    ) -> str:
        """Create a spreadsheet with the given tabs, share it, and return its id."""
        book = self.create_spreadsheet(title, worksheets=worksheets)
        for email in writers:
            self.share(book, email, "writer")
        for email in readers:
            self.share(book, email, "reader")
        return book.id
