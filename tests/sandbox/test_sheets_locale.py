"""The Google emulator's spreadsheet locale, through gspread and GoogleSheetsHook (issue 19)."""

from __future__ import annotations

import pytest
from gspread.exceptions import APIError

TYPED = [["3,50", "1.234,50", "3.50", "16.11.2026", "2026-11-16", "WAHR", "TRUE", "80 %", "1e2"]]


@pytest.fixture
def hook(sheets_connection):
    from collector_airflow.hooks.sheets import GoogleSheetsHook

    return GoogleSheetsHook()


def test_a_german_sheet_parses_and_shows_by_its_locale(hook):
    book = hook.get_conn().open_by_key(hook.create_and_share("Test: de_DE", worksheets=["T"]))
    book.update_locale("de_DE")  # updateSpreadsheetProperties, fields=locale
    assert book.fetch_sheet_metadata()["properties"]["locale"] == "de_DE"
    book.values_update(
        "'T'!A1", params={"valueInputOption": "USER_ENTERED"}, body={"values": TYPED}
    )

    shown = hook.get_rows(book.id, "T")  # FORMATTED_VALUE: the locale's way
    assert shown == [
        ["3,5", "1.234,5", "3.50", "16.11.2026", "2026-11-16", "WAHR", "TRUE", "80\u00a0%", "100"]
    ]
    typed = hook.get_rows(book.id, "T", render="UNFORMATTED_VALUE")
    assert typed == [[3.5, 1234.5, "3.50", 46342, 46342, True, "TRUE", 0.8, 100]]
    strings = hook.get_rows(book.id, "T", render="UNFORMATTED_VALUE", dates="FORMATTED_STRING")
    assert strings[0][3:5] == ["16.11.2026", "2026-11-16"]
    assert hook.get_rows(book.id, "T", render="FORMULA")[0][:2] == [3.5, 1234.5]

    book.update_locale("en_US")  # stored values stay; only their display follows the locale
    assert hook.get_rows(book.id, "T")[0][:6] == [
        "3.5",
        "1,234.5",
        "3.50",
        "11/16/2026",
        "2026-11-16",
        "TRUE",
    ]
    assert hook.get_rows(book.id, "T", render="UNFORMATTED_VALUE") == typed


def test_an_american_sheet_keeps_a_decimal_comma_as_text(hook):
    book = hook.get_conn().open_by_key(hook.create_and_share("Test: en_US", worksheets=["T"]))
    assert book.fetch_sheet_metadata()["properties"]["locale"] == "en_US"
    row = ["3,50", "1,200", "$3.50", "12/1/2026", "WAHR"]
    book.values_update(
        "'T'!A1", params={"valueInputOption": "USER_ENTERED"}, body={"values": [row]}
    )
    typed = hook.get_rows(book.id, "T", render="UNFORMATTED_VALUE")
    assert typed == [["3,50", 1200, 3.5, 46357, "WAHR"]]
    assert hook.get_rows(book.id, "T") == [["3,50", "1,200", "$3.50", "12/1/2026", "WAHR"]]


def test_a_locale_is_set_at_create_and_unknown_options_are_refused(
    sheets_connection, sandbox_admin
):
    # Sheets' own create has no parent folder: only a user with a My Drive may call it, so
    # the service account acts as one (domain-wide delegation, issue 20).
    from collector_airflow.hooks.sheets import GoogleSheetsHook

    sandbox_admin("google-accounts", {"emails": ["sheets-owner@collector.example"]})
    sandbox_admin("delegation", {"domains": ["collector.example"]})
    sheets_connection(subject="sheets-owner@collector.example")
    hook = GoogleSheetsHook()
    http = hook.http
    made = http.request(
        "post",
        "https://sheets.googleapis.com/v4/spreadsheets",
        json={"properties": {"title": "Test: fr", "locale": "fr_FR", "timeZone": "Europe/Paris"}},
    ).json()
    assert made["properties"] == {
        "title": "Test: fr",
        "locale": "fr_FR",
        "timeZone": "Europe/Paris",
    }
    book = hook.get_conn().open_by_key(made["spreadsheetId"])
    book.values_update(
        "A1", params={"valueInputOption": "USER_ENTERED"}, body={"values": [["3,50"]]}
    )
    assert book.values_get("A1", params={"valueRenderOption": "UNFORMATTED_VALUE"})["values"] == [
        [3.5]
    ]
    for params, field in (
        ({"valueRenderOption": "UNFORMATTED"}, "value_render_option"),
        ({"valueRenderOption": "UNFORMATTED_VALUE", "dateTimeRenderOption": "SERIAL"}, "date_time"),
    ):
        with pytest.raises(APIError) as refused:
            book.values_get("A1", params=params)
        assert refused.value.code == 400 and field in str(refused.value)
    with pytest.raises(APIError) as unknown:
        http.request(
            "post",
            "https://sheets.googleapis.com/v4/spreadsheets",
            json={"properties": {"title": "x", "locale": "xx_XX"}},
        )
    assert unknown.value.code == 400 and "xx_XX" in str(unknown.value)
    with pytest.raises(APIError) as no_fields:
        book.batch_update(
            {"requests": [{"updateSpreadsheetProperties": {"properties": {"locale": "de_DE"}}}]}
        )
    assert no_fields.value.code == 400
