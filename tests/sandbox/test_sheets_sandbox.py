"""gspread, unmodified, through GoogleSheetsHook against the sandbox's Sheets v4 and Drive v3."""

from __future__ import annotations

import urllib.request

import gspread
import pytest
from gspread.exceptions import APIError


@pytest.fixture
def hook(sheets_connection, monkeypatch):
    from collector_airflow.hooks import sheets

    sleeps: list[float] = []
    monkeypatch.setattr(sheets, "_sleep", sleeps.append)  # backoff without waiting
    created = sheets.GoogleSheetsHook()
    created.sleeps = sleeps
    return created


def test_every_call_the_platform_uses(hook, sandbox_url):
    client = hook.get_conn()
    book_id = hook.create_and_share(
        "Test: calls",
        worksheets=["Data", "Other"],
        readers=["Reader@Example.com"],
        writers=["ops@example.com"],
    )
    book = client.open_by_key(book_id)
    assert [w.title for w in book.worksheets()] == ["Data", "Other"]
    assert client.open("Test: calls").id == book_id  # Drive files list by name
    roles = {p.get("emailAddress"): p["role"] for p in book.list_permissions()}
    assert roles["Reader@Example.com"] == "reader" and roles["ops@example.com"] == "writer"

    data = book.worksheet("Data")
    data.update([["name", "score", "threshold"], ["a", 0.83, 0.75]], "A1:C2")
    data.append_rows([["b", "0.5", "0.75"], ["c", 1, 0.75]], value_input_option="USER_ENTERED")
    assert data.get_all_values() == [
        ["name", "score", "threshold"],
        ["a", "0.83", "0.75"],
        ["b", "0.5", "0.75"],
        ["c", "1", "0.75"],
    ]
    data.batch_update(
        [
            {"range": "D1", "values": [["Accepted?"]]},
            {
                "range": "D2:D3",
                "values": [['=IF(0.83>=0.75,"YES","NO")'], ['=IF(0.5>=0.75,"YES","NO")']],
            },
        ],
        value_input_option="USER_ENTERED",
    )
    assert data.col_values(4) == ["Accepted?", "YES", "NO"]  # FORMATTED_VALUE evaluates
    formulas = data.get("D2", value_render_option="FORMULA")
    assert formulas == [['=IF(0.83>=0.75,"YES","NO")']]  # stored as written
    assert data.get("B2", value_render_option="UNFORMATTED_VALUE") == [[0.83]]
    both = data.batch_get(["A1:A2", "C3"])
    assert both[0] == [["name"], ["a"]] and both[1] == [["0.75"]]

    data.format("A1:D1", {"textFormat": {"bold": True}})
    data.freeze(rows=1)
    data.add_validation(
        "D2:D100", gspread.utils.ValidationConditionType.one_of_list, ["YES", "NO"], strict=True
    )
    data.add_protected_range("A1:D1", editor_users_emails=["ops@example.com"], description="header")
    meta = book.fetch_sheet_metadata()
    data_meta = next(s for s in meta["sheets"] if s["properties"]["title"] == "Data")
    assert data_meta["properties"]["gridProperties"]["frozenRowCount"] == 1
    assert data_meta["protectedRanges"][0]["description"] == "header"

    book.worksheet("Other").update([["x"]], "B2")
    book.values_clear("'Other'!A1:Z10")
    assert "values" not in book.values_get("'Other'!A1:Z10")  # as Google: no key when empty
    book.del_worksheet(book.worksheet("Other"))
    assert [w.title for w in book.worksheets()] == ["Data"]

    page = urllib.request.urlopen(f"{sandbox_url}/sheets/{book_id}").read().decode()
    assert "Accepted?" in page and "one of YES, NO" in page


def test_google_error_shapes(hook):
    book = hook.get_conn().open_by_key(hook.create_and_share("Test: errors"))
    sheet = book.sheet1
    with pytest.raises(APIError) as too_far:
        sheet.update([["x"]], "A1001")
    assert too_far.value.code == 400 and "exceeds grid limits" in str(too_far.value)
    with pytest.raises(APIError) as unknown:
        book.batch_update({"requests": [{"makeCoffee": {}}]})
    assert unknown.value.code == 400 and "Unknown name" in str(unknown.value)
    with pytest.raises(gspread.exceptions.SpreadsheetNotFound):
        hook.get_conn().open_by_key("no-such-spreadsheet")


def test_a_429_storm_is_survived_by_backoff_with_no_lost_write(hook, sandbox_admin):
    book = hook.get_conn().open_by_key(hook.create_and_share("Test: storm"))
    sandbox_admin(
        "faults",
        {"status": 429, "count": 4, "method": "PUT", "path_contains": "/values/"},
    )
    book.sheet1.update([["written once"]], "A1")
    assert hook.sleeps == [2, 4, 8, 16]  # gspread's exponential policy
    assert book.sheet1.get_all_values() == [["written once"]]
    sandbox_admin(
        "faults",
        {"status": 500, "count": 2, "method": "POST", "path_contains": ":append"},
    )
    book.sheet1.append_rows([["appended once"]])
    assert book.sheet1.col_values(1) == ["written once", "appended once"]


def test_backoff_is_bounded(hook, sandbox_admin, sheets_connection):
    sheets_connection(max_attempts=3)
    from collector_airflow.hooks.sheets import GoogleSheetsHook

    bounded = GoogleSheetsHook()
    book = bounded.get_conn().open_by_key(bounded.create_and_share("Test: bounded"))
    sandbox_admin("faults", {"status": 429, "count": 50, "method": "PUT"})
    with pytest.raises(APIError) as exhausted:
        book.sheet1.update([["never"]], "A1")
    assert exhausted.value.code == 429
    assert bounded.http.retries == 2


def test_a_slow_answer_times_out_and_is_retried(hook, sandbox_admin, sheets_connection):
    sheets_connection(timeout_s=0.5)
    from collector_airflow.hooks.sheets import GoogleSheetsHook

    impatient = GoogleSheetsHook()
    book = impatient.get_conn().open_by_key(impatient.create_and_share("Test: timeout"))
    sandbox_admin("faults", {"delay_s": 1.5, "count": 1, "method": "PUT"})
    book.sheet1.update([["after a timeout"]], "A1")
    assert impatient.http.retries == 1
    assert book.sheet1.acell("A1").value == "after a timeout"


def _write_many(hook, count: int) -> gspread.Worksheet:
    sheet = hook.get_conn().open_by_key(hook.create_and_share("Test: quota")).sheet1
    for i in range(count):
        sheet.update([[f"row {i}"]], f"A{i + 1}")
    return sheet


@pytest.mark.slow  # 4-8 s: the fast lane skips it
def test_the_rate_limiter_keeps_a_300_write_run_under_the_quota(sandbox_admin, sheets_connection):
    from collector_airflow.hooks import sheets

    # Google's 60 writes/user/minute, on a 1.5 s window so the test takes seconds, not minutes.
    sandbox_admin("quota", {"per_user": 60, "per_project": 300, "window_s": 1.5})
    sheets_connection(writes_per_minute=55, reads_per_minute=55, quota_window_s=1.5)
    hook = sheets.GoogleSheetsHook()
    sheet = _write_many(hook, 300)
    stats = sandbox_admin("stats")
    assert stats["quota_rejections"] == 0
    assert len(sheet.col_values(1)) == 300
    assert hook.http.write_limiter.waited_s > 0  # it really had to hold back


def test_without_the_limiter_the_same_run_hits_the_quota(sandbox_admin, sheets_connection):
    from collector_airflow.hooks import sheets

    sandbox_admin("quota", {"per_user": 60, "per_project": 300, "window_s": 60})
    sheets_connection(writes_per_minute=100000, max_attempts=1)
    with pytest.raises(APIError) as refused:
        _write_many(sheets.GoogleSheetsHook(), 300)
    assert refused.value.code == 429 and "Write requests per minute per user" in str(refused.value)


def test_batch_clear_and_the_per_project_quota(hook, sandbox_admin):
    book = hook.get_conn().open_by_key(hook.create_and_share("Test: clear"))
    book.sheet1.update([["a", "b"], ["c", "d"]], "A1:B2")
    book.values_batch_clear(body={"ranges": ["Sheet1!A1", "Sheet1!B2"]})
    assert book.sheet1.get_all_values() == [["", "b"], ["c", ""]]  # gspread pads rows
    sandbox_admin("quota", {"per_user": 100, "per_project": 3, "window_s": 60})
    with pytest.raises(APIError) as refused:
        for _ in range(10):
            book.sheet1.acell("A1")
    assert refused.value.code == 429
    assert "'Read requests per minute'" in str(refused.value)  # the project-wide limit


def test_state_survives_a_restart(tmp_path):
    from sandbox.google import Sheet, Store

    first = Store(tmp_path)
    book = first.create("Persistent", "ops@example.com")
    book.sheets[0].put(0, 0, "kept")
    book.sheets.append(Sheet(7, "Second", 1))
    first.save(book)
    again = Store(tmp_path).get(book.spreadsheet_id)
    assert again.title == "Persistent" and again.sheets[0].get(0, 0) == "kept"
    assert [s.title for s in again.sheets] == ["Sheet1", "Second"]


def test_raw_text_and_quoted_text_are_never_formulas(hook):
    """ValueInputOption: RAW "=1+2" is the string "=1+2", not a formula; USER_ENTERED text
    after an apostrophe is that text, never parsed, and the apostrophe is in no render option's
    value (Sheets keeps it as a flag the editor shows). A USER_ENTERED formula is one."""
    book = hook.get_conn().open_by_key(hook.create_and_share("Test: text", worksheets=["T"]))
    sheet = book.worksheet("T")
    sheet.update(
        [['=IF(1>=0,"YES","NO")', '\'=IF(1>=0,"YES","NO")', "'007", "-2+3"]],
        "A1:D1",
        value_input_option="USER_ENTERED",
    )
    sheet.update([['=IF(1>=0,"YES","NO")', "=1+2"]], "A2:B2", value_input_option="RAW")
    shown = sheet.get("A1:D2")
    assert shown[0][:3] == ["YES", '=IF(1>=0,"YES","NO")', "007"]
    assert shown[0][3] == "#NAME?"  # a leading minus starts a formula (the strict reading)
    assert shown[1] == ['=IF(1>=0,"YES","NO")', "=1+2"]  # RAW: text as written
    formulas = sheet.get("A1:D2", value_render_option="FORMULA")
    assert formulas[0] == ['=IF(1>=0,"YES","NO")', '=IF(1>=0,"YES","NO")', "007", "=-2+3"]
    assert sheet.get("C1", value_render_option="UNFORMATTED_VALUE") == [["007"]]  # text
