"""The package as an Airflow provider (issue 18, item 3): `airflow providers list` shows it, the
Connections form (the UI's `GET /ui/connections/hook_meta`) offers the google_sheets, paypal,
payoneer and dropbox types with their fields, and the form's Test button
(`POST /api/v2/connections/test`) passes against the sandbox and fails, with a sentence that
names the fix and no secret, for a wrong one.

A real `airflow api-server` on a fresh metadata DB of its own, with test_connection enabled.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from processes import admin_token, call_json, start_api_server, stop_group

AIRFLOW = str(Path(sys.executable).parent / "airflow")
TYPES = {
    "google_sheets": ("collector_airflow.hooks.sheets", "GoogleSheetsHook"),
    "paypal": ("collector_airflow.hooks.payouts", "PayPalPayoutsHook"),
    "payoneer": ("collector_airflow.hooks.payouts", "PayoneerPayoutsHook"),
    "dropbox": ("collector_airflow.hooks.dropbox_api", "DropboxHook"),
}


_call = call_json


def _env(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
    }


@pytest.fixture(scope="module")
def api(tmp_path_factory, sandbox_url):
    home = tmp_path_factory.mktemp("airflow-provider")
    env = _env(home)
    done = subprocess.run([AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    server, base = start_api_server(env, home / "api-server.log")
    try:
        yield base, admin_token(base, home), home
    finally:
        stop_group(server)


@pytest.mark.airflow
def test_airflow_providers_list_shows_the_package(api):
    _, _, home = api
    done = subprocess.run(
        [AIRFLOW, "providers", "list", "-o", "json"], env=_env(home), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    listed = {p["package_name"]: p for p in json.loads(done.stdout)}
    assert "collector" in listed, sorted(listed)
    assert "Google Sheets" in listed["collector"]["description"]


@pytest.mark.airflow
def test_the_connections_form_offers_the_four_types_with_their_fields(api):
    base, token, _ = api
    status, metas = _call(f"{base}/ui/connections/hook_meta", token=token)
    assert status == 200, metas
    by_type = {m["connection_type"]: m for m in metas}
    for conn_type, (module, name) in TYPES.items():
        meta = by_type.get(conn_type)
        assert meta is not None, f"{conn_type} missing from the Connections form"
        assert meta["hook_class_name"] == f"{module}.{name}"
        hook = getattr(__import__(module, fromlist=[name]), name)
        assert (hook.conn_type, hook.hook_name) == (conn_type, meta["hook_name"])
        assert meta["standard_fields"]["host"]["hidden"] is True
    paypal = by_type["paypal"]
    assert paypal["standard_fields"]["login"]["title"] == "Client ID"
    assert paypal["standard_fields"]["password"]["title"] == "Client secret"
    assert paypal["extra_fields"]["mode"]["schema"]["enum"] == ["sandbox", "live"]
    assert set(paypal["extra_fields"]) == {"mode", "endpoint", "timeout_s"}
    assert set(by_type["payoneer"]["extra_fields"]) == {
        "program_id",
        "api_base_url",
        "token_url",
        "timeout_s",
    }
    sheets = by_type["google_sheets"]
    assert sheets["standard_fields"]["login"]["hidden"] is True
    assert sheets["extra_fields"]["keyfile_dict"]["schema"]["format"] == "password"
    assert {"keyfile_dict", "api_base_url", "reads_per_minute", "writes_per_minute"} <= set(
        sheets["extra_fields"]
    )
    assert by_type["dropbox"]["standard_fields"]["login"]["title"] == "App key"
    assert set(by_type["dropbox"]["extra_fields"]) == {"api_base_url", "timeout_s"}


def _test(api, conn_type: str, login=None, password=None, extra=None) -> tuple[bool, str]:
    base, token, _ = api
    body = {"connection_id": f"form_{conn_type}", "conn_type": conn_type}
    body |= {"login": login, "password": password, "extra": json.dumps(extra or {})}
    status, answer = _call(f"{base}/api/v2/connections/test", "POST", body, token)
    assert status == 200, answer
    return answer["status"], answer["message"]


def _connections(sandbox_url: str, service_account: dict) -> dict[str, dict]:
    def admin(path: str) -> dict:
        with urllib.request.urlopen(f"{sandbox_url}/_sandbox/{path}", timeout=10) as answer:
            return json.loads(answer.read())

    clients, app = admin("payments/clients"), admin("dropbox/app")
    _, drive = call_json(
        f"{sandbox_url}/_sandbox/shared-drives",
        "POST",
        {"name": "Collector platform", "writers": [service_account["client_email"]]},
        timeout=10,
    )
    folder = drive["folder_id"]
    return {
        "paypal": {
            "login": clients["paypal"]["client_id"],
            "password": clients["paypal"]["client_secret"],
            "extra": {"mode": "sandbox", "endpoint": sandbox_url, "timeout_s": 5},
        },
        "payoneer": {
            "login": clients["payoneer"]["client_id"],
            "password": clients["payoneer"]["client_secret"],
            "extra": {
                "program_id": clients["payoneer"]["program_id"],
                "api_base_url": sandbox_url,
                "token_url": f"{sandbox_url}/api/v2/oauth2/token",
                "timeout_s": 5,
            },
        },
        "dropbox": {
            "login": app["app_key"],
            "password": app["app_secret"],
            "extra": {"api_base_url": sandbox_url, "timeout_s": 5},
        },
        "google_sheets": {
            "extra": {
                "keyfile_dict": json.dumps(service_account),
                "api_base_url": sandbox_url,
                "drive_folder_id": folder,
            }
        },
    }


@pytest.mark.airflow
@pytest.mark.parametrize("conn_type", ["paypal", "payoneer", "dropbox", "google_sheets"])
def test_the_test_button_passes_against_the_sandbox(api, sandbox_url, service_account, conn_type):
    ok, message = _test(api, conn_type, **_connections(sandbox_url, service_account)[conn_type])
    assert ok is True, message
    if conn_type == "google_sheets":  # the one Test that writes: a probe, deleted at once
        assert "probe spreadsheet created and deleted in the shared-drive folder" in message
    else:
        assert "nothing was" in message


@pytest.mark.airflow
def test_the_sheets_test_proves_where_spreadsheets_go(api, sandbox_url, service_account):
    """Issue 20: a service account owns no Drive storage, so the Test fails without a
    shared-drive folder (naming the setting) and with a folder it cannot see."""
    conn = _connections(sandbox_url, service_account)["google_sheets"]
    without = {k: v for k, v in conn["extra"].items() if k != "drive_folder_id"}
    ok, message = _test(api, "google_sheets", extra=without)
    assert ok is False and "owns no Drive storage" in message, message
    assert "`drive_folder_id`" in message and "`subject`" in message
    ok, message = _test(api, "google_sheets", extra=without | {"drive_folder_id": "no-such-folder"})
    assert ok is False and "`drive_folder_id` (no-such-folder)" in message, message


WRONG = "wrong-secret-0123456789"


@pytest.mark.airflow
@pytest.mark.parametrize(
    ("conn_type", "expected"),
    [
        ("paypal", "PayPal refused the client ID and secret"),
        ("payoneer", "Payoneer refused the client ID and secret"),
        ("dropbox", "app key or secret was refused"),
    ],
)
def test_the_test_button_fails_clearly_for_a_wrong_secret(
    api, sandbox_url, service_account, conn_type, expected
):
    conn = _connections(sandbox_url, service_account)[conn_type]
    ok, message = _test(api, conn_type, **(conn | {"password": WRONG}))
    assert ok is False
    assert expected in message and "HTTP 4" in message, message
    assert WRONG not in message


@pytest.mark.airflow
def test_the_sheets_test_fails_clearly_for_a_broken_key_or_a_refusal(
    api, sandbox_url, service_account, sandbox_admin
):
    # The sandbox issues a token for any well-formed key (it does not know the public keys):
    # a wrong key is tested as a corrupted one, and Google's refusal as an injected 403.
    broken = dict(service_account, private_key=f"-----BEGIN PRIVATE KEY-----\n{WRONG}\n")
    ok, message = _test(
        api,
        "google_sheets",
        extra={"keyfile_dict": json.dumps(broken), "api_base_url": sandbox_url},
    )
    assert ok is False and message.startswith("Google Sheets: "), message
    assert WRONG not in message

    sandbox_admin(
        "faults", {"status": 403, "count": 1, "path_contains": "/drive/v3/files", "method": "GET"}
    )
    ok, message = _test(
        api, "google_sheets", **_connections(sandbox_url, service_account)["google_sheets"]
    )
    assert ok is False
    assert "HTTP 403" in message and "enable the Sheets and Drive APIs" in message, message
    assert service_account["private_key"][40:80] not in message
