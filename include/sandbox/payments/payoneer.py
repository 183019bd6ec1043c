"""Payoneer mass payouts: the OAuth token, ``masspayouts`` (create) and a payout's status.

Public documentation is thin; the contract is the one open-source clients use, summarised in
docs/service-facts.md: a client-credentials token at ``/api/v2/oauth2/token`` (HTTP Basic client
id and secret); ``POST /v4/programs/{program_id}/masspayouts`` with up to 1,000 ``payments``
(``client_reference_id``, ``payee_id``, ``amount``, ``currency``, optional ``description``),
answered 201 ``{"result": "Payments Created"}``; ``GET
/v4/programs/{program_id}/payouts/{client_reference_id}/status`` answering ``Pending``,
``Transferred`` or ``Cancelled``, and 404 with ``sub_code`` 2306 for an unknown reference. A payee
id containing ``unregistered`` (any case) ends Cancelled; everyone else is paid.

Assumption: a ``payee_id`` is 1 to 64 letters, digits, ``.``, ``_`` or ``-``, starting with a
letter or digit (Payoneer publishes no format; the rule ``collector.payouts.profiles`` checks);
any other is refused with a 400 naming the field.

Assumption: a request containing any ``client_reference_id`` that already exists (or repeats
one within the request) is rejected as a whole and nothing is created: 400 ``Duplicate client
reference id`` with ``error_details.client_reference_ids``.
"""

from __future__ import annotations

import re
import secrets
import time
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from sandbox.payments.errors import (
    payoneer_error,
    payoneer_invalid,
    payoneer_server_error,
    payoneer_unauthorized,
)
from sandbox.payments.faults import after_accept
from sandbox.payments.request_parsing import (
    CURRENCY,
    MALFORMED,
    basic_credentials,
    bearer,
    json_body,
)
from sandbox.payments.state import PaymentsDep, PaymentsState

PAYONEER_MAX_PAYMENTS = 1000
PAYONEER_TOKEN_SECONDS = 2592000
PAYEE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

router = APIRouter()


def payoneer_gate(state: PaymentsState, request: Request, program_id: str) -> Response | None:
    if state.take_fault("payoneer", ("server_error",)):
        return payoneer_server_error()
    if state.take_fault("payoneer", ("unauthorized",)):
        return payoneer_unauthorized()
    if not state.token_valid("payoneer", bearer(request)):
        return payoneer_unauthorized()
    if program_id != state.clients["payoneer"]["program_id"]:
        return payoneer_error(404, "Not found", "Program not found", 2305)
    return None


def validate_payments(body: Any) -> JSONResponse | list[dict]:
    """The payments of a masspayouts request, or the 400 that Payoneer-style validation gives."""
    payments = body.get("payments") if isinstance(body, dict) else None
    if not isinstance(payments, list) or not payments:
        return payoneer_invalid("payments must be a non-empty list", "payments")
    if len(payments) > PAYONEER_MAX_PAYMENTS:
        return payoneer_invalid(
            f"A request may contain at most {PAYONEER_MAX_PAYMENTS} payments", "payments"
        )
    for index, payment in enumerate(payments):
        where = f"payments[{index}]"
        if not isinstance(payment, dict):
            return payoneer_invalid(f"{where} must be an object", where)
        for key in ("client_reference_id", "payee_id", "currency"):
            value = payment.get(key)
            if not isinstance(value, str) or not value.strip():
                return payoneer_invalid(f"{where}.{key} is required", f"{where}.{key}")
        if not PAYEE_ID.match(payment["payee_id"]):
            return payoneer_invalid(
                f"{where}.payee_id must be 1 to 64 letters, digits, '.', '_' or '-'",
                f"{where}.payee_id",
            )
        if not CURRENCY.match(payment["currency"]):
            return payoneer_invalid(
                f"{where}.currency must be a three-letter code", f"{where}.currency"
            )
        amount = payment.get("amount")
        try:
            exact = Decimal(str(amount)) if isinstance(amount, int | float) else None
        except InvalidOperation:
            exact = None
        if (
            isinstance(amount, bool)
            or exact is None
            or not exact.is_finite()
            or exact <= 0
            or exact.as_tuple().exponent < -2
        ):
            return payoneer_invalid(
                f"{where}.amount must be a positive number with at most 2 decimals",
                f"{where}.amount",
            )
        description = payment.get("description")
        if description is not None and not isinstance(description, str):
            return payoneer_invalid(f"{where}.description must be a string", f"{where}.description")
    return payments


@router.post("/api/v2/oauth2/token")
async def payoneer_token(request: Request, state: PaymentsDep):
    state.stats["payoneer"]["token"] += 1
    client = state.clients["payoneer"]
    form = await request.form()
    if basic_credentials(request) != (client["client_id"], client["client_secret"]):
        return JSONResponse(
            {"error": "invalid_client", "error_description": "Client authentication failed"},
            status_code=401,
        )
    if form.get("grant_type") != "client_credentials":
        return JSONResponse(
            {
                "error": "unsupported_grant_type",
                "error_description": "grant_type must be client_credentials",
            },
            status_code=400,
        )
    return {
        "token_type": "Bearer",
        "access_token": state.issue_token("payoneer", PAYONEER_TOKEN_SECONDS),
        "expires_in": PAYONEER_TOKEN_SECONDS,
        "consented_on": int(time.time()),
        "scope": "read write",
        "refresh_token": "",
        "refresh_token_expires_in": 0,
        "id_token": "",
    }


@router.post("/v4/programs/{program_id}/masspayouts")
async def payoneer_create(program_id: str, request: Request, state: PaymentsDep):
    state.stats["payoneer"]["create"] += 1
    refusal = payoneer_gate(state, request, program_id)
    if refusal is not None:
        return refusal
    body = await json_body(request)
    if body is MALFORMED:
        return payoneer_invalid("The request body is not valid JSON", "body")
    payments = validate_payments(body)
    if isinstance(payments, JSONResponse):
        return payments
    seen: set[str] = set()
    duplicates: list[str] = []
    for payment in payments:
        reference = payment["client_reference_id"]
        if (reference in state.payments or reference in seen) and reference not in duplicates:
            duplicates.append(reference)
        seen.add(reference)
    if duplicates:
        return payoneer_error(
            400,
            "Duplicate client reference id",
            "Payments with these client_reference_id values already exist; nothing was created",
            2307,
            target="client_reference_id",
            client_reference_ids=duplicates,
        )
    if state.take_fault("payoneer", ("insufficient_funds",)):
        return payoneer_error(
            400,
            "Insufficient funds",
            "The program balance is too low for these payments; nothing was created",
            2309,
        )
    _store_payments(state, payments)
    return await after_accept(
        state, "payoneer", JSONResponse({"result": "Payments Created"}, status_code=201)
    )


def _store_payments(state: PaymentsState, payments: list[dict]) -> None:
    now = time.time()
    ready = now + state.settings.processing_seconds
    for payment in payments:
        state.payments[payment["client_reference_id"]] = {
            "client_reference_id": payment["client_reference_id"],
            "payee_id": payment["payee_id"],
            "amount": payment["amount"],
            "currency": payment["currency"],
            "description": payment.get("description", ""),
            "payout_id": str(secrets.randbelow(9 * 10**9) + 10**9),
            "created": now,
            "ready_at": ready,
            "outcome": (
                "Cancelled" if "unregistered" in payment["payee_id"].lower() else "Transferred"
            ),
        }
    state.save_payments()


@router.get("/v4/programs/{program_id}/payouts/{client_reference_id}/status")
async def payoneer_status(
    program_id: str, client_reference_id: str, request: Request, state: PaymentsDep
):
    state.stats["payoneer"]["status"] += 1
    refusal = payoneer_gate(state, request, program_id)
    if refusal is not None:
        return refusal
    payment = state.payments.get(client_reference_id)
    if payment is None:
        return JSONResponse(
            {
                "error": "Not found",
                "error_details": {
                    "code": 404,
                    "sub_code": 2306,
                    "description": "Payout not found",
                },
            },
            status_code=404,
        )
    return state.payment_view(payment, time.time())
