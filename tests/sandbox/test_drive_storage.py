"""Drive as strict as Google since 2025 (issue 20), through gspread and GoogleSheetsHook: service
accounts own nothing outside shared drives, shared drives need ``supportsAllDrives``, domain-wide
delegation, and ``invalidSharingRequest`` without a Google account."""

from __future__ import annotations

import pytest
from gspread.exceptions import APIError

FILES = "https://www.googleapis.com/drive/v3/files"
SHEET = {"name": "Test: drive", "mimeType": "application/vnd.google-apps.spreadsheet"}


@pytest.fixture
def hook(sheets_connection, monkeypatch):
    from collector_airflow.hooks import sheets

    monkeypatch.setattr(sheets, "_sleep", lambda _: None)
    return sheets.GoogleSheetsHook()


def _folder(sandbox_admin, writers: list[str], name: str = "Collector platform") -> str:
    return sandbox_admin("shared-drives", {"name": name, "writers": writers})["folder_id"]


def test_a_service_account_has_no_drive_storage_and_it_is_not_retried(
    sheets_connection, sandbox_admin, monkeypatch
):
    from collector_airflow.hooks import sheets

    monkeypatch.setattr(sheets, "_sleep", lambda _: None)
    sheets_connection(drive_folder_id="")
    hook = sheets.GoogleSheetsHook()
    with pytest.raises(sheets.SheetsAnswerError) as refused:
        hook.create_and_share("Test: my drive")
    assert refused.value.code == 403
    assert refused.value.error["errors"][0]["reason"] == "storageQuotaExceeded"
    assert refused.value.error["errors"][0]["domain"] == "usageLimits"
    assert "set the extra `drive_folder_id`" in str(refused.value)
    assert hook.http.attempts == 1 and hook.http.retries == 0
    assert sandbox_admin("stats")["requests"] == 1


def test_a_shared_drive_folder_needs_supports_all_drives(hook, sandbox_admin, service_account):
    folder = _folder(sandbox_admin, [service_account["client_email"]])
    http = hook.http
    with pytest.raises(APIError) as hidden:
        http.request("post", FILES, json={**SHEET, "parents": [folder]})
    assert hidden.value.code == 404
    assert hidden.value.error["message"] == f"File not found: {folder}."
    made = http.request(
        "post", FILES, json={**SHEET, "parents": [folder]}, params={"supportsAllDrives": True}
    ).json()
    with pytest.raises(APIError) as unseen:
        http.request("get", f"{FILES}/{made['id']}")
    assert unseen.value.code == 404
    assert http.request("get", f"{FILES}/{made['id']}", params={"supportsAllDrives": True}).ok
    listed = http.request("get", FILES, params={"q": "name = 'Test: drive'"}).json()
    assert made["id"] not in {f["id"] for f in listed["files"]}
    book = hook.open(made["id"])
    assert not [p for p in book.list_permissions() if p["role"] == "owner"]


def test_a_shared_drive_the_service_account_is_not_in_is_not_found(hook, sandbox_admin):
    other = _folder(sandbox_admin, ["someone@collector.example"], name="Finance")
    with pytest.raises(APIError) as hidden:
        hook.http.request(
            "post", FILES, json={**SHEET, "parents": [other]}, params={"supportsAllDrives": True}
        )
    assert hidden.value.code == 404


def test_a_wrong_folder_id_names_the_setting(sheets_connection):
    from collector_airflow.hooks.sheets import GoogleSheetsHook, SheetsAnswerError

    sheets_connection(drive_folder_id="1Fnot-a-folder")
    with pytest.raises(SheetsAnswerError) as refused:
        GoogleSheetsHook().create_and_share("Test: wrong folder")
    assert "`drive_folder_id` (1Fnot-a-folder)" in str(refused.value)


def test_a_delegated_user_owns_files_in_their_my_drive(sheets_connection, sandbox_admin):
    from collector_airflow.hooks.sheets import GoogleSheetsHook, SheetsUnavailable

    sandbox_admin("google-accounts", {"emails": ["owner@collector.example"]})
    sandbox_admin("delegation", {"domains": []})
    sheets_connection(drive_folder_id="", subject="owner@collector.example")
    with pytest.raises(SheetsUnavailable) as unauthorised:
        GoogleSheetsHook().create_and_share("Test: not delegated")
    assert "unauthorized_client" in str(unauthorised.value)
    sandbox_admin("delegation", {"domains": ["collector.example"]})
    hook = GoogleSheetsHook()
    book = hook.open(hook.create_and_share("Test: delegated"))
    owners = [p["emailAddress"] for p in book.list_permissions() if p["role"] == "owner"]
    assert owners == ["owner@collector.example"]


def test_sharing_without_notification_needs_a_google_account(hook, sandbox_admin):
    sandbox_admin("google-accounts", {"emails": ["known@collector.example"], "replace": True})
    book = hook.create_spreadsheet("Test: sharing")
    with pytest.raises(APIError) as refused:
        book.share("nobody@example.org", perm_type="user", role="reader", notify=False)
    assert refused.value.code == 400
    assert refused.value.error["errors"][0]["reason"] == "invalidSharingRequest"
    before = len(sandbox_admin("invitations")["invitations"])
    assert hook.share(book, "nobody@example.org", "reader") == "invitation"
    assert hook.share(book, "known@collector.example", "writer") == "direct"
    invited = sandbox_admin("invitations")["invitations"][before:]
    assert [i["email"] for i in invited] == ["nobody@example.org"]
    roles = {p.get("emailAddress"): p["role"] for p in book.list_permissions()}
    assert roles["nobody@example.org"] == "reader" and roles["known@collector.example"] == "writer"
