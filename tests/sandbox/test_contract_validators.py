"""The contract validators themselves: a real emulator answer passes, the same answer with one
field dropped, one field invented or one status invented fails. Without these, a validator
that accepts everything would let every contract test pass."""

from __future__ import annotations

import copy

import google_contract
import paypal_contract
import pytest
import requests
from http_recording import Exchange, record_exchanges

pytestmark = pytest.mark.filterwarnings("ignore:Unsupported scheme type:UserWarning")


def _paypal_batch(sandbox_url: str, monkeypatch) -> Exchange:
    requests.post(f"{sandbox_url}/_sandbox/payments/reset", json={}, timeout=10)
    clients = requests.get(f"{sandbox_url}/_sandbox/payments/clients", timeout=10).json()
    paypal = clients["paypal"]
    token = requests.post(
        f"{sandbox_url}/v1/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(paypal["client_id"], paypal["client_secret"]),
        timeout=10,
    ).json()["access_token"]
    body = {
        "sender_batch_header": {"sender_batch_id": "validator-1"},
        "items": [{"amount": {"currency": "USD", "value": "1.00"}, "receiver": "a@x.com"}],
    }
    headers = {"Authorization": f"Bearer {token}"}
    exchanges = record_exchanges(monkeypatch)
    created = requests.post(
        f"{sandbox_url}/v1/payments/payouts", json=body, headers=headers, timeout=10
    ).json()
    batch_id = created["batch_header"]["payout_batch_id"]
    requests.get(f"{sandbox_url}/v1/payments/payouts/{batch_id}", headers=headers, timeout=10)
    return exchanges[-1]


def test_paypal_validator_rejects_a_dropped_field_and_an_invented_status(sandbox_url, monkeypatch):
    exchange = _paypal_batch(sandbox_url, monkeypatch)
    assert paypal_contract.check(exchange) == []
    answer = exchange.response_json()

    dropped = copy.deepcopy(answer)
    del dropped["batch_header"]["batch_status"]  # required by payout_batch_header
    invented = copy.deepcopy(answer)
    invented["batch_header"]["batch_status"] = "ON_ITS_WAY"
    extra = copy.deepcopy(answer)
    extra["items"][0]["receiver_name"] = "A"
    for mutated, expected in (
        (exchange.with_response(dropped), "'batch_status' is a required property"),
        (exchange.with_response(invented), "'ON_ITS_WAY' is not one of"),
        (exchange.with_response(extra), "'receiver_name' was unexpected"),
        (exchange.with_response(answer, status=202), "status 202 is not one the operation lists"),
    ):
        problems = "\n".join(paypal_contract.check(mutated))
        assert expected in problems, problems


def _google_book(sandbox_url: str, service_account: dict, monkeypatch) -> Exchange:
    from google.auth.transport.requests import AuthorizedSession
    from google.oauth2.service_account import Credentials

    credentials = Credentials.from_service_account_info(
        service_account, scopes=["https://www.googleapis.com/auth/spreadsheets"]
    )
    session = AuthorizedSession(credentials)
    # A service account creates in the shared-drive folder (issue 20), as the hook does.
    from collector_airflow.hooks.sheets import GoogleSheetsHook

    book_id = GoogleSheetsHook().create_spreadsheet("Contract: validator").id
    exchanges = record_exchanges(monkeypatch)
    session.get(f"{sandbox_url}/v4/spreadsheets/{book_id}", timeout=10)
    session.get(f"{sandbox_url}/v4/spreadsheets/no-such-book", timeout=10)
    return exchanges[-2], exchanges[-1]


def test_google_validator_rejects_invented_fields_statuses_and_error_shapes(
    sandbox_url, service_account, sheets_connection, monkeypatch
):
    book, missing = _google_book(sandbox_url, service_account, monkeypatch)
    assert google_contract.check(book) == [] and google_contract.check(missing) == []
    answer, error = book.response_json(), missing.response_json()

    extra = copy.deepcopy(answer)
    extra["sheets"][0]["properties"]["hidden_rows"] = 1
    enum = copy.deepcopy(answer)
    enum["sheets"][0]["properties"]["sheetType"] = "TABLE_OF_CONTENTS"
    no_status = copy.deepcopy(error)
    del no_status["error"]["status"]
    wrong_status = copy.deepcopy(error)
    wrong_status["error"]["status"] = "NOT_THERE"
    for mutated, expected in (
        (book.with_response(extra), "property 'hidden_rows' is not in the contract"),
        (book.with_response(enum), "'TABLE_OF_CONTENTS' is not one of"),
        (book.with_response(answer, status=201), "status 201: the method answers 200"),
        (missing.with_response(no_status), "error.status None is not one for this status"),
        (missing.with_response(wrong_status), "'NOT_THERE' is not one of"),
        (missing.with_response(error, status=410), "is not one for this status"),
    ):
        problems = "\n".join(google_contract.check(mutated))
        assert expected in problems, problems
