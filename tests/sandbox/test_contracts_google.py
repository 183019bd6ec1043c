"""Every Sheets v4 and Drive v3 answer the emulator gives gspread (through GoogleSheetsHook),
checked against Google's discovery documents (:mod:`google_contract`): each emulated method at
least once, and the error answers (400, 401, 404, 429, 500) in Google's error shape.

The validator's own tests (does it reject a dropped field, an invented status?) are in
``test_contract_validators.py``.
"""

from __future__ import annotations

import gspread
import pytest
import requests
from google_contract import check
from gspread.exceptions import APIError
from http_recording import record_exchanges

SHEETS = "https://sheets.googleapis.com/v4/spreadsheets"


@pytest.fixture
def hook(sheets_connection, monkeypatch):
    from collector_airflow.hooks import sheets

    monkeypatch.setattr(sheets, "_sleep", lambda _s: None)  # backoff without waiting
    return sheets.GoogleSheetsHook()


def _exercise(hook, sandbox_url: str, sandbox_admin) -> None:
    client = hook.get_conn()
    book_id = hook.create_and_share(
        "Contract: calls", worksheets=["Data", "Other"], readers=["r@example.com"]
    )
    book = client.open_by_key(book_id)
    client.open("Contract: calls")  # Drive files list by name
    book.list_permissions()
    client.http_client.request(
        "get",
        f"https://www.googleapis.com/drive/v3/files/{book_id}",
        params={"supportsAllDrives": "true"},  # a shared-drive file (issue 20)
    )
    data = book.worksheet("Data")
    data.update([["name", "score"], ["a", 0.83]], "A1:B2")
    data.append_rows([["b", "=1/2"]], value_input_option="USER_ENTERED")
    data.get_all_values()
    data.get("B3", value_render_option="FORMULA")
    data.get("B2", value_render_option="UNFORMATTED_VALUE", date_time_render_option="SERIAL_NUMBER")
    data.batch_get(["A1:A2", "B3"])
    data.batch_update([{"range": "C1", "values": [["x"]]}], value_input_option="RAW")
    data.format("A1:B1", {"textFormat": {"bold": True}})
    data.freeze(rows=1)
    data.add_validation("C2:C9", gspread.utils.ValidationConditionType.one_of_list, ["Y", "N"])
    data.add_protected_range("A1:B1", editor_users_emails=["r@example.com"], description="h")
    book.fetch_sheet_metadata()
    book.values_clear("'Other'!A1:Z10")
    book.values_batch_clear(body={"ranges": ["'Other'!A1:B2"]})
    book.del_worksheet(book.worksheet("Other"))
    _errors(client, book, sandbox_url, sandbox_admin)
    client.del_spreadsheet(book_id)


def _errors(client, book, sandbox_url: str, sandbox_admin) -> None:
    for call in (
        lambda: client.http_client.request("get", f"{SHEETS}/no-such-book"),  # 404
        lambda: book.values_get("'Nope'!A1"),  # 400
        lambda: book.values_get("A1", params={"valueRenderOption": "PRETTY"}),  # 400
    ):
        with pytest.raises(APIError):
            call()
    for status in (500, 429):  # the hook retries both: the fault's answer, then a 200
        sandbox_admin("faults", {"status": status, "count": 1, "method": "GET"})
        client.http_client.request("get", f"{SHEETS}/{book.id}")
    requests.get(f"{sandbox_url}/v4/spreadsheets/{book.id}", timeout=10)  # 401: no token


def test_every_google_answer_is_in_the_discovery_documents(
    hook, sandbox_url, sandbox_admin, monkeypatch
):
    exchanges = record_exchanges(monkeypatch)
    _exercise(hook, sandbox_url, sandbox_admin)

    from google_contract import _api_for

    checked = [e for e in exchanges if _api_for(e) is not None]
    methods = {m.id for e in checked if (m := _api_for(e).find(e))}
    assert methods >= {
        "drive.files.create",
        "drive.files.list",
        "drive.files.get",
        "drive.files.delete",
        "drive.permissions.create",
        "drive.permissions.list",
        "sheets.spreadsheets.get",
        "sheets.spreadsheets.batchUpdate",
        "sheets.spreadsheets.values.get",
        "sheets.spreadsheets.values.update",
        "sheets.spreadsheets.values.append",
        "sheets.spreadsheets.values.clear",
        "sheets.spreadsheets.values.batchGet",
        "sheets.spreadsheets.values.batchUpdate",
        "sheets.spreadsheets.values.batchClear",
    }, methods
    assert {e.status for e in checked} >= {200, 204, 400, 401, 404, 429, 500}
    problems = [p for e in checked for p in check(e)]
    assert not problems, "\n".join(problems)
