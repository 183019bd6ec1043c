"""An outside API that fails explains itself in one sentence: the connection, the call (method and
URL without secrets), the answer (HTTP status or the transport failure) and the next step, raised
from the original error. Real clients (gspread, paypalrestsdk, requests, the dropbox SDK,
smtplib, psycopg2) against the sandbox, or against a closed port for "down"."""

from __future__ import annotations

import json
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


# --- PayPal and Payoneer -----------------------------------------------------------------------
def _chunk(key: str = "wk-2026-11-16-paypal-1", currency: str = "USD"):
    from collector.payouts.submission import Chunk, Instruction

    item = Instruction(f"{key}-1", "ann@example.com", 650, currency, "2 accepted videos")
    return Chunk(1, 1, key, None, False, False, [item])


def _set_connection(monkeypatch, name: str, **changes) -> None:
    import os

    env = f"AIRFLOW_CONN_{name.upper()}"
    conn = json.loads(os.environ[env])
    extra = changes.pop("extra", {})
    conn.update(changes)
    conn["extra"].update(extra)
    monkeypatch.setenv(env, json.dumps(conn))


def _secrets(clients: dict) -> tuple[str, ...]:
    return (clients["paypal"]["client_secret"], clients["payoneer"]["client_secret"])


def test_paypal_5xx_is_a_sentence_and_still_retryable(
    payment_connections, sandbox_url, sandbox_admin
):
    from collector_airflow.hooks.payouts import PayoutProviderError, PayoutRefused, provider_hook

    sandbox_admin("payments/faults", {"provider": "paypal", "kind": "server_error"})
    with pytest.raises(PayoutProviderError) as failed:  # the ledger retries these, same keys
        provider_hook("paypal").submit_chunk(_chunk())
    assert not isinstance(failed.value, PayoutRefused)
    assert_sentence(
        failed.value,
        "PayPal call POST ",
        f"{sandbox_url}/v1/payments/payouts",
        "(connection `paypal_default`)",
        "HTTP 500",
        "https://www.paypal-status.com",
        "nothing is paid twice",
        secrets=_secrets(payment_connections),
    )


def test_paypal_rotated_secret_says_update_the_connection(
    payment_connections, sandbox_url, monkeypatch
):
    from collector_airflow.hooks.payouts import provider_hook

    _set_connection(monkeypatch, "paypal_default", password="old-secret-rotated-away-42")
    with pytest.raises(Exception) as refused:
        provider_hook("paypal").submit_chunk(_chunk())
    assert_sentence(
        refused.value,
        f"POST {sandbox_url}/v1/oauth2/token",
        "HTTP 401",
        "(client secret rotated or wrong): update the connection `paypal_default`",
        secrets=("old-secret-rotated-away-42", *_secrets(payment_connections)),
    )


def test_paypal_401_on_every_call_is_bounded(payment_connections, sandbox_url, sandbox_admin):
    from collector_airflow.hooks.payouts import PayoutProviderError, provider_hook

    sandbox_admin("payments/faults", {"provider": "paypal", "kind": "unauthorized", "count": 20})
    with pytest.raises(PayoutProviderError) as refused:
        provider_hook("paypal").find_batch("BATCH123")
    assert_sentence(
        refused.value,
        f"GET {sandbox_url}/v1/payments/payouts/BATCH123 ",  # no page/size query
        "HTTP 401 3 times",
        "`paypal_default`",
        secrets=_secrets(payment_connections),
    )


def test_a_definitive_refusal_is_still_payout_refused(payment_connections):
    from collector_airflow.hooks.payouts import PayoutRefused, provider_hook
    from collector_airflow.hooks.service_errors import ExternalServiceError

    with pytest.raises(PayoutRefused) as refused:  # a 400: this request is wrong, not "down"
        provider_hook("paypal").submit_chunk(_chunk(currency="dollars"))
    assert not isinstance(refused.value, ExternalServiceError)


def test_payoneer_5xx_and_401(payment_connections, sandbox_url, sandbox_admin):
    from collector_airflow.hooks.payouts import PayoutProviderError, provider_hook

    program = payment_connections["payoneer"]["program_id"]
    sandbox_admin("payments/faults", {"provider": "payoneer", "kind": "server_error"})
    with pytest.raises(PayoutProviderError) as failed:
        provider_hook("payoneer").submit_chunk(_chunk("wk-payoneer-1"))
    assert_sentence(
        failed.value,
        f"Payoneer call POST {sandbox_url}/v4/programs/{program}/masspayouts",
        "(connection `payoneer_default`)",
        "HTTP 500",
        secrets=_secrets(payment_connections),
    )
    sandbox_admin("payments/faults", {"provider": "payoneer", "kind": "unauthorized", "count": 5})
    with pytest.raises(PayoutProviderError) as refused:
        provider_hook("payoneer").submit_chunk(_chunk("wk-payoneer-2"))
    assert_sentence(
        refused.value,
        "HTTP 401",
        "update the connection `payoneer_default` (login = client id, password = client secret)",
        secrets=_secrets(payment_connections),
    )


def test_payoneer_down(payment_connections, sandbox_url, sandbox_admin, monkeypatch):
    from collector_airflow.hooks.payouts import provider_hook

    port = closed_port()
    _set_connection(
        monkeypatch,
        "payoneer_default",
        extra={"token_url": f"http://127.0.0.1:{port}/api/v2/oauth2/token?client_secret=x1y2z3w4"},
    )
    with pytest.raises(Exception) as down:
        provider_hook("payoneer").submit_chunk(_chunk("wk-payoneer-3"))
    text = assert_sentence(
        down.value,
        f"POST http://127.0.0.1:{port}/api/v2/oauth2/token (connection `payoneer_default`)",
        "connection refused",
        "check Payoneer's service status",
        secrets=("x1y2z3w4", *_secrets(payment_connections)),
    )
    assert "Admin → Connections" in text


# --- Dropbox -----------------------------------------------------------------------------------
def _dropbox_connection(monkeypatch, sandbox_url: str, **changes) -> dict:
    import requests

    app = requests.get(f"{sandbox_url}/_sandbox/dropbox/app", timeout=10).json()
    conn = {
        "conn_type": "dropbox",
        "login": app["app_key"],
        "password": app["app_secret"],
        "extra": {"api_base_url": sandbox_url, "timeout_s": 5},
    }
    extra = changes.pop("extra", {})
    conn.update(changes)
    conn["extra"].update(extra)
    monkeypatch.setenv("AIRFLOW_CONN_DROPBOX_DEFAULT", json.dumps(conn))
    return app


def test_dropbox_down_names_the_token_call(sandbox_url, monkeypatch):
    from collector_airflow.hooks.dropbox_api import DropboxHook

    port = closed_port()
    app = _dropbox_connection(
        monkeypatch, sandbox_url, extra={"api_base_url": f"http://127.0.0.1:{port}"}
    )
    refresh_token = "rt-users-own-secret-0042"
    with pytest.raises(Exception) as down:
        DropboxHook().client_for(refresh_token).files_list_folder("")
    assert_sentence(
        down.value,
        f"Dropbox call POST http://127.0.0.1:{port}/oauth2/token (connection `dropbox_default`)",
        "connection refused",
        "https://status.dropbox.com",
        "extra `api_base_url`, Admin → Connections",
        secrets=(refresh_token, app["app_secret"]),
    )


def test_dropbox_app_secret_refused(sandbox_url, monkeypatch):
    from collector_airflow.hooks.dropbox_api import DropboxHook

    _dropbox_connection(monkeypatch, sandbox_url, password="rotated-app-secret-77")
    with pytest.raises(Exception) as refused:
        DropboxHook().client_for("rt-users-own-secret-0042").files_list_folder("")
    assert_sentence(
        refused.value,
        f"POST {sandbox_url}/oauth2/token",
        "HTTP 400 (the app key or secret was refused)",
        "update the app key (login) and secret (password) of the connection `dropbox_default`",
        secrets=("rt-users-own-secret-0042", "rotated-app-secret-77"),
    )


def test_dropbox_5xx_on_a_route_is_a_sentence_and_still_internal_server_error(
    seeded_warehouse, warehouse_url, landing, sandbox_url, tmp_path, monkeypatch
):
    from dropbox.exceptions import InternalServerError
    from dropbox_world import collectors_with_videos, make_world

    from collector.delivery import links
    from collector_airflow.hooks.dropbox_api import DropboxHook

    world = make_world(seeded_warehouse, warehouse_url, landing, sandbox_url, tmp_path, monkeypatch)
    alice = collectors_with_videos(world.conn)[0]
    world.link(alice, "alice.box@example.com")
    token = links.refresh_token(world.conn, world.vault, alice)
    world.admin("faults", {"kind": "server_error", "count": 1, "route": "files/list_folder"})
    client = DropboxHook().client_for(token)
    with pytest.raises(InternalServerError) as failed:  # delivery's retries still see the type
        client.files_list_folder("")
    assert failed.value.status_code == 500
    assert_sentence(
        failed.value,
        f"Dropbox call POST {sandbox_url}/2/files/list_folder (connection `dropbox_default`)",
        "HTTP 500",
        "nothing is uploaded twice",
        secrets=(token, client._oauth2_access_token, world.app["app_secret"]),
    )
    assert client.files_list_folder("").entries == []  # the fault is spent: the next call works


# --- SMTP and the warehouse --------------------------------------------------------------------
def test_smtp_down_names_the_server_and_connection(monkeypatch):
    from collector_airflow.hooks.mail import CollectorMailHook, MailUnavailable

    port = closed_port()
    monkeypatch.setenv(
        "AIRFLOW_CONN_SMTP_DEFAULT",
        f"smtp://mailer:mail-pass-9931@127.0.0.1:{port}?disable_ssl=true&disable_tls=true"
        "&retry_limit=0&timeout=5",
    )
    with pytest.raises(MailUnavailable) as down, CollectorMailHook():
        pass
    assert_sentence(
        down.value,
        f"Email (SMTP) call CONNECT smtp://127.0.0.1:{port} (connection `smtp_default`)",
        "connection refused",
        "queued emails go out on the next send",
        secrets=("mail-pass-9931",),
    )


def test_warehouse_down_names_host_port_and_connection(monkeypatch):
    import psycopg2

    from collector_airflow.hooks.warehouse import CollectorWarehouseHook

    port = closed_port()
    monkeypatch.setenv(
        "AIRFLOW_CONN_COLLECTOR_WAREHOUSE", f"postgresql://etl:pg-pass-5521@127.0.0.1:{port}/dw"
    )
    with pytest.raises(psycopg2.OperationalError) as down:  # callers' type kept
        CollectorWarehouseHook().get_conn()
    assert_sentence(
        down.value,
        f"Warehouse (PostgreSQL) call CONNECT postgresql://127.0.0.1:{port}/dw",
        "(connection `collector_warehouse`)",
        "connection refused",
        f"check that PostgreSQL runs at 127.0.0.1:{port}",
        secrets=("pg-pass-5521",),
    )


def test_warehouse_missing_database(pg_server, monkeypatch):
    from collector_airflow.hooks.warehouse import CollectorWarehouseHook

    monkeypatch.setenv("AIRFLOW_CONN_COLLECTOR_WAREHOUSE", pg_server.rsplit("/", 1)[0] + "/nope_db")
    with pytest.raises(Exception) as missing:
        CollectorWarehouseHook().get_conn()
    assert_sentence(missing.value, "database does not exist", "create the database 'nope_db'")
