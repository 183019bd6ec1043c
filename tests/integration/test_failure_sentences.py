"""An outside API that fails explains itself in one sentence: the connection, the call (method and
URL without secrets), the answer (HTTP status or the transport failure) and the next step, raised
from the original error. Real clients (gspread, paypalrestsdk, requests, the dropbox SDK,
smtplib, psycopg2) against the sandbox, or against a closed port for "down"."""

from __future__ import annotations

import socket

import pytest


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def assert_sentence(error: BaseException, *parts: str, secrets: tuple[str, ...] = ()) -> str:
    """One line, naming every part, raised from the original, no secret anywhere in it."""
    from collector_airflow.hooks.service_errors import ExternalServiceError

    assert isinstance(error, ExternalServiceError), repr(error)
    text = str(error)
    assert "\n" not in text
    for part in parts:
        assert part in text, f"{part!r} not in {text!r}"
    assert "Next step: " in text
    assert error.__cause__ is not None  # the original traceback is kept above the sentence
    for secret in secrets:
        assert secret not in text and secret not in repr(error.__dict__)
    return text


# --- Google Sheets ---------------------------------------------------------------------------
@pytest.fixture
def sheets_hook(sheets_connection, monkeypatch):
    from collector_airflow.hooks import sheets

    monkeypatch.setattr(sheets, "_sleep", lambda _s: None)  # backoff without waiting
    return sheets


def test_sheets_endpoint_down_names_connection_endpoint_and_next_step(
    sheets_hook, sheets_connection, service_account
):
    port = closed_port()
    sheets_connection(api_base_url=f"http://127.0.0.1:{port}")
    with pytest.raises(sheets_hook.SheetsUnavailable) as down:
        sheets_hook.GoogleSheetsHook().get_rows("abc123", "Collections")
    text = assert_sentence(
        down.value,
        "connection `google_sheets_default`",
        f"GET http://127.0.0.1:{port}/v4/spreadsheets/abc123",
        "connection refused",
        "the connection `google_sheets_default` (extra `api_base_url`, Admin → Connections)",
        "https://www.google.com/appsstatus",
        secrets=(service_account["private_key"].splitlines()[1], service_account["private_key_id"]),
    )
    assert "?" not in text.split("failed:")[0]  # no query string in the endpoint


def test_sheets_5xx_after_retries_is_a_sentence_and_still_an_api_error(
    sheets_hook, sheets_connection, sandbox_admin
):
    from gspread.exceptions import APIError

    sheets_connection(max_attempts=3)
    hook = sheets_hook.GoogleSheetsHook()
    book_id = hook.create_and_share("Test: 503", worksheets=["Tab"])
    sandbox_admin("faults", {"status": 503, "count": 10, "method": "PUT"})
    with pytest.raises(APIError) as failed:  # callers catching gspread's error still do
        hook.write_table(book_id, "Tab", ["a"], [["1"]])
    assert failed.value.code == 503
    assert_sentence(
        failed.value,
        "Google Sheets call PUT ",
        f"/v4/spreadsheets/{book_id}/values/",
        "HTTP 503",
        "after 3 attempts",
        "google_sheets_default",
        "https://www.google.com/appsstatus",
    )


def test_sheets_key_refused_says_to_paste_a_new_key(sheets_hook, sheets_connection, sandbox_url):
    from collector_airflow.hooks.service_errors import ExternalServiceError
    from sandbox.credentials import service_account_info

    info = service_account_info(sandbox_url)
    info["token_uri"] = f"{sandbox_url}/no-token-here?key=shh-not-for-logs"
    sheets_connection(keyfile_dict=info)
    with pytest.raises(ExternalServiceError) as refused:
        sheets_hook.GoogleSheetsHook().get_rows("abc123", "Collections")
    text = assert_sentence(
        refused.value,
        f"POST {sandbox_url}/no-token-here",
        "token refused",
        "create a new key",
        "google_sheets_default",
        secrets=("shh-not-for-logs", info["private_key_id"]),
    )
    assert "keyfile_dict" in text


def test_a_bad_request_is_left_to_the_caller(sheets_hook, sheets_connection):
    """400s and 404s are answers a caller handles (a wrong range, a missing sheet): unchanged."""
    import gspread

    from collector_airflow.hooks.service_errors import ExternalServiceError

    hook = sheets_hook.GoogleSheetsHook()
    with pytest.raises(gspread.exceptions.SpreadsheetNotFound):
        hook.open("no-such-spreadsheet")
    book = hook.open(hook.create_and_share("Test: 400"))
    with pytest.raises(gspread.exceptions.APIError) as bad:
        book.sheet1.update([["x"]], "A1001")
    assert bad.value.code == 400 and not isinstance(bad.value, ExternalServiceError)
