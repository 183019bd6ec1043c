"""Injected failures of the payment emulators, switched on under ``/_sandbox/payments/faults``.

Kinds (:data:`FAULT_KINDS`), per provider (``paypal`` or ``payoneer``), each consumed ``count``
times: ``server_error`` (500 before anything is stored), ``unauthorized`` (401),
``insufficient_funds`` (PayPal: the batch is DENIED; Payoneer: 400, nothing created),
``server_error_after_accept`` (the create is stored, the answer is a 500) and ``timeout`` (the
create is stored, the answer comes after ``delay_s``, too late for the client).

Assumption: the ``insufficient_funds``, ``server_error_after_accept`` and ``timeout`` faults are
consumed only by a create request that would otherwise be accepted.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from sandbox.payments.errors import payoneer_server_error, paypal_server_error
from sandbox.payments.request_parsing import json_body
from sandbox.payments.state import PaymentsDep, PaymentsState

FAULT_KINDS = (
    "insufficient_funds",
    "server_error",
    "server_error_after_accept",
    "timeout",
    "unauthorized",
)

router = APIRouter()


async def after_accept(state: PaymentsState, provider: str, response: Response) -> Response:
    """The create is stored; a fault may still lose the answer (500, or too slow)."""
    fault = state.take_fault(provider, ("server_error_after_accept", "timeout"))
    if fault is None:
        return response
    if fault["kind"] == "timeout":
        await asyncio.sleep(fault["delay_s"])
        return response
    return paypal_server_error() if provider == "paypal" else payoneer_server_error()


@router.get("/_sandbox/payments/faults")
async def list_faults(state: PaymentsDep):
    return {"faults": state.faults}


@router.post("/_sandbox/payments/faults")
async def add_fault(request: Request, state: PaymentsDep):
    body = await json_body(request)
    if not isinstance(body, dict):
        return JSONResponse({"detail": "JSON object expected"}, status_code=400)
    provider, kind = body.get("provider"), body.get("kind")
    if provider not in ("paypal", "payoneer") or kind not in FAULT_KINDS:
        return JSONResponse(
            {"detail": f"provider must be paypal or payoneer, kind one of {FAULT_KINDS}"},
            status_code=400,
        )
    state.faults.append(
        {
            "provider": provider,
            "kind": kind,
            "count": int(body.get("count", 1)),
            "delay_s": float(body.get("delay_s", 30.0)),
        }
    )
    return {"faults": state.faults}


@router.delete("/_sandbox/payments/faults")
@router.post("/_sandbox/payments/faults/clear")
async def clear_faults(state: PaymentsDep):
    state.faults.clear()
    return {"faults": state.faults}
