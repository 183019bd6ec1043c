"""PayPal Payouts v1 and Payoneer mass payouts, the subset our hooks use, on the sandbox's port.

Contract points kept (docs/service-facts.md): OAuth client-credentials tokens; PayPal batch
create (1–15,000 items, ``sender_batch_id`` as the dedupe guard, 400 ``USER_BUSINESS_ERROR`` with a
link to the original batch), paged batch reads, item reads and cancel of UNCLAIMED items; Payoneer
``masspayouts`` (≤1,000 payments) and per-reference status. Statuses move with time, computed on
read from timestamps, so there is no background thread. Outcomes are chosen by the receiver or
payee id (case-insensitive): ``unclaimed`` (PayPal: UNCLAIMED, RETURNED later), ``unregistered``
(FAILED / Cancelled), ``blocked`` (PayPal: BLOCKED), anything else succeeds. ``/_sandbox/payments``
holds the admin switches (faults, timings, stats, reset); ``/payouts/`` is a read-only HTML view.

Assumptions where no public source settles the answer:

- Cancelling a PayPal item that is not UNCLAIMED: 400 ``ITEM_ALREADY_CANCELLED`` if it is
  already RETURNED, else 400 ``ITEM_INCORRECT_STATUS``.
- ``transaction_id`` is shown for SUCCESS, UNCLAIMED and RETURNED items (PayPal's own cancel
  example shows one on a RETURNED item); ``errors`` only on FAILED items.
- A batch's processing time and unclaimed-return time are fixed when it is created, so changing
  the settings never moves an existing batch backwards.
- Payoneer: a request containing any ``client_reference_id`` that already exists (or repeats one
  within the request) is rejected as a whole and nothing is created: 400 ``Duplicate client
  reference id`` with ``error_details.client_reference_ids``. Only ``sub_code`` 2306 (payout not
  found) is from a public source; 2300 (invalid request), 2307 (duplicate), 2309 (insufficient
  funds) and 2305 (program not found) are the sandbox's own.
- The ``insufficient_funds``, ``server_error_after_accept`` and ``timeout`` faults are consumed
  only by a create request that would otherwise be accepted.
"""

from __future__ import annotations

import asyncio
import base64
import html
import json
import math
import os
import re
import secrets
import time
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from sandbox.common import PathDispatch, iso, page, write_json

_page = partial(page, footer="PayPal / Payoneer sandbox, read-only view")

PAYPAL_MAX_ITEMS = 15_000
PAYPAL_MAX_PAGE_SIZE = 1000
PAYONEER_MAX_PAYMENTS = 1000
INFO_LINK = "https://developer.paypal.com/docs/api/payments.payouts-batch/v1/#errors"
FAULT_KINDS = (
    "insufficient_funds",
    "server_error",
    "server_error_after_accept",
    "timeout",
    "unauthorized",
)
PAYPAL_TOKEN_SECONDS = 32400
PAYONEER_TOKEN_SECONDS = 2592000
_PAYPAL_VALUE = re.compile(r"^\d{1,12}(\.\d{1,2})?$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_RECIPIENT_TYPES = ("EMAIL", "PHONE", "PAYPAL_ID")
_MALFORMED = object()  # a request body that is not JSON


def load_clients(state_dir: Path) -> dict:
    """The sandbox's client credentials, created on first use so the server and
    ``python -m sandbox connections`` agree without being told."""
    path = state_dir / "payments" / "clients.json"
    if path.exists():
        return json.loads(path.read_text())
    clients = {
        "paypal": {
            "client_id": "sb-" + secrets.token_urlsafe(24),
            "client_secret": secrets.token_urlsafe(32),
        },
        "payoneer": {
            "client_id": secrets.token_urlsafe(18),
            "client_secret": secrets.token_urlsafe(32),
            "program_id": str(100_000_000 + secrets.randbelow(900_000_000)),
        },
    }
    write_json(path, clients)
    return clients


def _code(chars: int) -> str:
    """Uppercase alphanumeric id, from C-level randomness (15,000 of them must be cheap)."""
    return base64.b32encode(os.urandom(chars)).decode()[:chars]


def _debug_id() -> str:
    return secrets.token_hex(7)[:13]


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else ""


@dataclass
class Settings:
    processing_seconds: float = 1.0
    unclaimed_return_seconds: float = 2_592_000.0


# --- PayPal responses ------------------------------------------------------------------------
def _paypal_error(
    status: int,
    name: str,
    message: str,
    details: list[dict] | None = None,
    links: list[dict] | None = None,
) -> JSONResponse:
    debug_id = _debug_id()
    body = {
        "name": name,
        "message": message,
        "debug_id": debug_id,
        "information_link": INFO_LINK,
        "details": details or [],
        "links": links or [],
    }
    return JSONResponse(body, status_code=status, headers={"PayPal-Debug-Id": debug_id})


def _paypal_unauthorized() -> JSONResponse:
    body = {
        "name": "AUTHENTICATION_FAILURE",
        "message": "Authentication failed due to invalid authentication credentials or a "
        "missing Authorization header.",
        "links": [
            {
                "href": "https://developer.paypal.com/docs/api/overview/#error",
                "rel": "information_link",
            }
        ],
    }
    return JSONResponse(body, status_code=401)


def _paypal_server_error() -> JSONResponse:
    return _paypal_error(500, "INTERNAL_SERVICE_ERROR", "An internal service error has occurred.")


def _paypal_not_found() -> JSONResponse:
    return _paypal_error(404, "INVALID_RESOURCE_ID", "The requested resource ID was not found")


def _paypal_invalid(details: list[dict]) -> JSONResponse:
    return _paypal_error(400, "VALIDATION_ERROR", "Invalid request - see details", details)


def _detail(field: str, issue: str, location: str = "body") -> dict:
    return {"field": field, "location": location, "issue": issue}


def _link(href: str, rel: str) -> dict:
    return {"href": href, "rel": rel, "method": "GET", "encType": "application/json"}


# --- Payoneer responses ----------------------------------------------------------------------
def _payoneer_error(
    status: int, error: str, description: str, sub_code: int | None = None, **details: Any
) -> JSONResponse:
    error_details: dict[str, Any] = {"code": status}
    if sub_code is not None:
        error_details["sub_code"] = sub_code
    error_details.update(details)
    body = {"error": error, "error_description": description, "error_details": error_details}
    return JSONResponse(body, status_code=status)


def _payoneer_unauthorized() -> JSONResponse:
    return _payoneer_error(401, "Unauthorized", "The access token is missing, invalid or expired")


def _payoneer_server_error() -> JSONResponse:
    return _payoneer_error(500, "Internal Server Error", "An internal error has occurred")


def _payoneer_invalid(description: str, target: str) -> JSONResponse:
    return _payoneer_error(400, "Invalid request", description, 2300, target=target)


class PaymentsState:
    """Every batch, payment, token, fault and counter; JSON files under ``state_dir/payments``."""

    def __init__(self, state_dir: Path):
        self.folder = state_dir / "payments"
        (self.folder / "paypal").mkdir(parents=True, exist_ok=True)
        self.clients = load_clients(state_dir)
        self.settings = Settings()
        if (self.folder / "settings.json").exists():
            self.settings = Settings(**json.loads((self.folder / "settings.json").read_text()))
        self.tokens: dict[str, dict[str, float]] = {"paypal": {}, "payoneer": {}}
        if (self.folder / "tokens.json").exists():
            self.tokens.update(json.loads((self.folder / "tokens.json").read_text()))
        self.batches: dict[str, dict] = {}
        self.by_sender_batch_id: dict[str, str] = {}
        self.items: dict[str, tuple[str, int]] = {}
        for path in self.folder.glob("paypal/*.json"):
            self.index_batch(json.loads(path.read_text()))
        self.payments: dict[str, dict] = {}
        if (self.folder / "payoneer.json").exists():
            for payment in json.loads((self.folder / "payoneer.json").read_text()):
                self.payments[payment["client_reference_id"]] = payment
        self.faults: list[dict] = []
        self.stats = self.zero_stats()

    @staticmethod
    def zero_stats() -> dict[str, dict[str, int]]:
        return {
            "paypal": {"token": 0, "create": 0, "get_batch": 0, "get_item": 0, "cancel": 0},
            "payoneer": {"token": 0, "create": 0, "status": 0},
        }

    def index_batch(self, batch: dict) -> None:
        batch_id = batch["payout_batch_id"]
        self.batches[batch_id] = batch
        self.by_sender_batch_id[batch["sender_batch_header"]["sender_batch_id"]] = batch_id
        for index, item in enumerate(batch["items"]):
            self.items[item["payout_item_id"]] = (batch_id, index)

    # persistence: one file per PayPal batch (a mutation rewrites only its batch), one for Payoneer
    def save_batch(self, batch: dict) -> None:
        write_json(self.folder / "paypal" / f"{batch['payout_batch_id']}.json", batch)

    def save_payments(self) -> None:
        write_json(self.folder / "payoneer.json", list(self.payments.values()))

    def save_tokens(self) -> None:
        now = time.time()
        for tokens in self.tokens.values():
            for token in [t for t, expiry in tokens.items() if expiry <= now]:
                del tokens[token]
        write_json(self.folder / "tokens.json", self.tokens)

    def save_settings(self) -> None:
        write_json(self.folder / "settings.json", asdict(self.settings))

    def reset(self) -> None:
        for path in self.folder.glob("paypal/*.json"):
            path.unlink()
        self.batches.clear()
        self.by_sender_batch_id.clear()
        self.items.clear()
        self.payments.clear()
        self.save_payments()

    # faults
    def take_fault(self, provider: str, kinds: tuple[str, ...]) -> dict | None:
        for fault in self.faults:
            if fault["provider"] == provider and fault["kind"] in kinds:
                fault["count"] -= 1
                if fault["count"] <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def issue_token(self, provider: str, seconds: int) -> str:
        token = secrets.token_urlsafe(32)
        self.tokens[provider][token] = time.time() + seconds
        self.save_tokens()
        return token

    def token_valid(self, provider: str, token: str) -> bool:
        expiry = self.tokens[provider].get(token)
        return expiry is not None and expiry > time.time()

    # --- PayPal views ---------------------------------------------------------------------
    def item_status(self, batch: dict, item: dict, now: float) -> str:
        if now < batch["ready_at"]:
            return "PENDING"
        if batch["denied"]:
            return "FAILED"
        outcome = item["outcome"]
        if outcome == "UNCLAIMED":
            returned = item.get("returned_at")
            if (returned is not None and returned <= now) or now >= batch["return_at"]:
                return "RETURNED"
        return outcome

    def batch_status(self, batch: dict, now: float) -> str:
        if now < batch["ready_at"]:
            return "PENDING"
        return "DENIED" if batch["denied"] else "SUCCESS"

    def item_view(self, base: str, batch: dict, item: dict, now: float, rel: str) -> dict:
        status = self.item_status(batch, item, now)
        payout_item = item["payout_item"]
        view: dict[str, Any] = {"payout_item_id": item["payout_item_id"]}
        if item["transaction_id"] and status in ("SUCCESS", "UNCLAIMED", "RETURNED"):
            view["transaction_id"] = item["transaction_id"]
        view.update(
            {
                "transaction_status": status,
                "payout_item_fee": {"currency": payout_item["amount"]["currency"], "value": "0.00"},
                "payout_batch_id": batch["payout_batch_id"],
                "sender_batch_id": batch["sender_batch_header"]["sender_batch_id"],
                "payout_item": payout_item,
            }
        )
        if status != "PENDING":
            view["time_processed"] = iso(batch["ready_at"])
        if status == "FAILED":
            view["errors"] = (
                {
                    "name": "INSUFFICIENT_FUNDS",
                    "message": "Sender does not have sufficient funds. Please add funds and retry.",
                }
                if batch["denied"]
                else {"name": "RECEIVER_UNREGISTERED", "message": "Receiver is unregistered"}
            )
        item_url = f"{base}/v1/payments/payouts-item/{item['payout_item_id']}"
        links = [_link(item_url, rel)]
        if rel == "self":
            links.append(_link(f"{base}/v1/payments/payouts/{batch['payout_batch_id']}", "batch"))
        view["links"] = links
        return view

    def batch_header(self, batch: dict, now: float) -> dict:
        status = self.batch_status(batch, now)
        header: dict[str, Any] = {
            "payout_batch_id": batch["payout_batch_id"],
            "batch_status": status,
            "time_created": iso(batch["created"]),
        }
        if status != "PENDING":
            header["time_completed"] = iso(batch["ready_at"])
        header.update(
            {
                "sender_batch_header": batch["sender_batch_header"],
                "amount": {"currency": batch["currency"], "value": batch["total"]},
                "fees": {"currency": batch["currency"], "value": "0.00"},
            }
        )
        if status == "DENIED":
            header["errors"] = {
                "name": "INSUFFICIENT_FUNDS",
                "message": "Sender does not have sufficient funds. Please add funds and retry.",
            }
        return header

    def payment_view(self, payment: dict, now: float) -> dict:
        view = {
            "status": "Pending",
            "payout_id": payment["payout_id"],
            "client_reference_id": payment["client_reference_id"],
            "amount": payment["amount"],
            "currency": payment["currency"],
            "payee_id": payment["payee_id"],
        }
        if now >= payment["ready_at"]:
            if payment["outcome"] == "Cancelled":
                view.update(
                    status="Cancelled",
                    reason_code="PayeeNotRegistered",
                    reason_description="Payee is not registered or not active",
                )
            else:
                view["status"] = "Transferred"
        return view


def _validate_payout(body: Any) -> list[dict]:
    """PayPal-style ``details`` for everything wrong with a create request (first 100)."""
    if not isinstance(body, dict):
        return [_detail("body", "Request body must be a JSON object")]
    details = []
    header = body.get("sender_batch_header")
    if not isinstance(header, dict):
        details.append(_detail("sender_batch_header", "Required field is missing."))
    else:
        batch_id = header.get("sender_batch_id")
        if not isinstance(batch_id, str) or not batch_id:
            details.append(
                _detail("sender_batch_header.sender_batch_id", "Required field is missing.")
            )
        elif len(batch_id) > 256:
            details.append(
                _detail(
                    "sender_batch_header.sender_batch_id",
                    "Length of sender_batch_id exceeds the maximum of 256 characters.",
                )
            )
        if header.get("recipient_type", "EMAIL") not in _RECIPIENT_TYPES:
            details.append(
                _detail(
                    "sender_batch_header.recipient_type", "Value is not a valid recipient type."
                )
            )
    items = body.get("items")
    if not isinstance(items, list) or not items:
        details.append(_detail("items", "Batch must contain at least 1 item."))
        return details
    if len(items) > PAYPAL_MAX_ITEMS:
        details.append(
            _detail("items", f"Batch size exceeds the maximum of {PAYPAL_MAX_ITEMS} items.")
        )
        return details
    for index, item in enumerate(items):
        if len(details) >= 100:
            break
        where = f"items[{index}]"
        if not isinstance(item, dict):
            details.append(_detail(where, "Item must be a JSON object."))
            continue
        amount = item.get("amount")
        if not isinstance(amount, dict):
            details.append(_detail(f"{where}.amount", "Required field is missing."))
        else:
            value = amount.get("value")
            if not isinstance(value, str) or not _PAYPAL_VALUE.match(value):
                details.append(
                    _detail(
                        f"{where}.amount.value",
                        "Value must be a string with at most 2 decimal places.",
                    )
                )
            elif Decimal(value) <= 0:
                details.append(_detail(f"{where}.amount.value", "Value must be greater than 0."))
            if not isinstance(amount.get("currency"), str) or not _CURRENCY.match(
                amount["currency"]
            ):
                details.append(
                    _detail(
                        f"{where}.amount.currency", "Currency code should be a three-letter code."
                    )
                )
        receiver = item.get("receiver")
        if not isinstance(receiver, str) or not receiver.strip():
            details.append(_detail(f"{where}.receiver", "Required field is missing."))
        sender_item_id = item.get("sender_item_id")
        if sender_item_id is not None and (
            not isinstance(sender_item_id, str) or len(sender_item_id) > 63
        ):
            details.append(
                _detail(
                    f"{where}.sender_item_id", "Length of sender_item_id exceeds 63 characters."
                )
            )
        if item.get("recipient_type", "EMAIL") not in _RECIPIENT_TYPES:
            details.append(
                _detail(f"{where}.recipient_type", "Value is not a valid recipient type.")
            )
    return details


def _paypal_outcome(receiver: str) -> str:
    lowered = receiver.lower()
    if "unclaimed" in lowered:
        return "UNCLAIMED"
    if "unregistered" in lowered:
        return "FAILED"
    if "blocked" in lowered:
        return "BLOCKED"
    return "SUCCESS"


def _validate_payments(body: Any) -> JSONResponse | list[dict]:
    """The payments of a masspayouts request, or the 400 that Payoneer-style validation gives."""
    payments = body.get("payments") if isinstance(body, dict) else None
    if not isinstance(payments, list) or not payments:
        return _payoneer_invalid("payments must be a non-empty list", "payments")
    if len(payments) > PAYONEER_MAX_PAYMENTS:
        return _payoneer_invalid(
            f"A request may contain at most {PAYONEER_MAX_PAYMENTS} payments", "payments"
        )
    for index, payment in enumerate(payments):
        where = f"payments[{index}]"
        if not isinstance(payment, dict):
            return _payoneer_invalid(f"{where} must be an object", where)
        for key in ("client_reference_id", "payee_id", "currency"):
            value = payment.get(key)
            if not isinstance(value, str) or not value.strip():
                return _payoneer_invalid(f"{where}.{key} is required", f"{where}.{key}")
        if not _CURRENCY.match(payment["currency"]):
            return _payoneer_invalid(
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
            return _payoneer_invalid(
                f"{where}.amount must be a positive number with at most 2 decimals",
                f"{where}.amount",
            )
        description = payment.get("description")
        if description is not None and not isinstance(description, str):
            return _payoneer_invalid(
                f"{where}.description must be a string", f"{where}.description"
            )
    return payments


def _is_payments_path(path: str) -> bool:
    return path in (
        "/v1/oauth2/token",
        "/api/v2/oauth2/token",
        "/payouts",
        "/_sandbox/payments",
    ) or (path.startswith(("/v1/payments/", "/v4/programs/", "/_sandbox/payments/", "/payouts/")))


def register_payments(app: FastAPI, state_dir: Path, base_url: str) -> None:
    """Serve the PayPal and Payoneer emulators from ``app``'s process and port."""
    base = base_url.rstrip("/")
    state = PaymentsState(state_dir)
    pay = FastAPI(
        title="Sandbox: PayPal Payouts v1 / Payoneer mass payouts",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        redirect_slashes=False,
    )
    pay.state.payments = app.state.payments = state
    app.add_middleware(PathDispatch, owns=_is_payments_path, inner=pay)
    stats = state.stats

    @pay.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        """Unrouted paths (e.g. paypalrestsdk's doubled ``/payouts/X/X``) answer in the
        provider's JSON error shape, as the real APIs do."""
        path = request.url.path
        if exc.status_code == 404 and path.startswith("/v1/"):
            return _paypal_not_found()
        if exc.status_code == 404 and path.startswith(("/v4/", "/api/")):
            return _payoneer_error(404, "Not found", "Resource not found")
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    async def json_body(request: Request) -> Any:
        try:
            return json.loads(await request.body() or b"null")
        except ValueError:
            return _MALFORMED

    def paypal_gate(request: Request) -> Response | None:
        """Injected faults, then the Bearer token, for every non-token PayPal call."""
        if state.take_fault("paypal", ("server_error",)):
            return _paypal_server_error()
        if state.take_fault("paypal", ("unauthorized",)):
            return _paypal_unauthorized()
        if not state.token_valid("paypal", _bearer(request)):
            return _paypal_unauthorized()
        return None

    def payoneer_gate(request: Request, program_id: str) -> Response | None:
        if state.take_fault("payoneer", ("server_error",)):
            return _payoneer_server_error()
        if state.take_fault("payoneer", ("unauthorized",)):
            return _payoneer_unauthorized()
        if not state.token_valid("payoneer", _bearer(request)):
            return _payoneer_unauthorized()
        if program_id != state.clients["payoneer"]["program_id"]:
            return _payoneer_error(404, "Not found", "Program not found", 2305)
        return None

    async def after_accept(provider: str, response: Response) -> Response:
        """The create is stored; a fault may still lose the answer (500, or too slow)."""
        fault = state.take_fault(provider, ("server_error_after_accept", "timeout"))
        if fault is None:
            return response
        if fault["kind"] == "timeout":
            await asyncio.sleep(fault["delay_s"])
            return response
        return _paypal_server_error() if provider == "paypal" else _payoneer_server_error()

    # --- PayPal ---------------------------------------------------------------------------
    @pay.post("/v1/oauth2/token")
    async def paypal_token(request: Request):
        stats["paypal"]["token"] += 1
        client = state.clients["paypal"]
        form = await request.form()
        if _basic_credentials(request) != (client["client_id"], client["client_secret"]):
            return JSONResponse(
                {"error": "invalid_client", "error_description": "Client Authentication failed"},
                status_code=401,
            )
        if form.get("grant_type") != "client_credentials":
            return JSONResponse(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "Grant Type is NULL or not supported",
                },
                status_code=400,
            )
        return {
            "scope": "https://uri.paypal.com/services/payouts",
            "access_token": state.issue_token("paypal", PAYPAL_TOKEN_SECONDS),
            "token_type": "Bearer",
            "app_id": "APP-SANDBOX",
            "expires_in": PAYPAL_TOKEN_SECONDS,
            "nonce": iso(time.time()) + secrets.token_urlsafe(32),
        }

    @pay.post("/v1/payments/payouts")
    @pay.post("/v1/payments/payouts/")
    async def paypal_create(request: Request):
        stats["paypal"]["create"] += 1
        refusal = paypal_gate(request)
        if refusal is not None:
            return refusal
        body = await json_body(request)
        if body is _MALFORMED:
            return _paypal_error(
                400, "MALFORMED_REQUEST", "The request JSON is not well formed.", []
            )
        details = _validate_payout(body)
        if details:
            return _paypal_invalid(details)
        header = dict(body["sender_batch_header"])
        original = state.by_sender_batch_id.get(header["sender_batch_id"])
        if original is not None:
            return _paypal_error(
                400,
                "USER_BUSINESS_ERROR",
                "User business error.",
                [_detail("SENDER_BATCH_ID", "Batch with given sender_batch_id already exists")],
                [
                    {
                        "href": f"{base}/v1/payments/payouts/{original}",
                        "rel": "self",
                        "method": "GET",
                        "encType": "application/json",
                    }
                ],
            )
        denied = state.take_fault("paypal", ("insufficient_funds",)) is not None
        now = time.time()
        batch_id = _code(13)
        while batch_id in state.batches:
            batch_id = _code(13)
        default_type = header.get("recipient_type", "EMAIL")
        items, total = [], Decimal(0)
        for raw in body["items"]:
            payout_item = dict(raw)
            payout_item.setdefault("recipient_type", default_type)
            outcome = _paypal_outcome(payout_item["receiver"])
            total += Decimal(payout_item["amount"]["value"])
            items.append(
                {
                    "payout_item_id": _code(13),
                    "transaction_id": _code(17) if outcome in ("SUCCESS", "UNCLAIMED") else None,
                    "outcome": outcome,
                    "returned_at": None,
                    "payout_item": payout_item,
                }
            )
        ready = now + state.settings.processing_seconds
        batch = {
            "payout_batch_id": batch_id,
            "sender_batch_header": header,
            "created": now,
            "ready_at": ready,
            "return_at": ready + state.settings.unclaimed_return_seconds,
            "denied": denied,
            "currency": items[0]["payout_item"]["amount"]["currency"],
            "total": f"{total:.2f}",
            "items": items,
        }
        state.index_batch(batch)
        state.save_batch(batch)
        created = JSONResponse(
            {
                "batch_header": {
                    "payout_batch_id": batch_id,
                    "batch_status": "PENDING",
                    "time_created": iso(now),
                    "sender_batch_header": header,
                },
                "links": [_link(f"{base}/v1/payments/payouts/{batch_id}", "self")],
            },
            status_code=201,
        )
        return await after_accept("paypal", created)

    @pay.get("/v1/payments/payouts/{payout_batch_id}")
    async def paypal_batch(payout_batch_id: str, request: Request):
        stats["paypal"]["get_batch"] += 1
        refusal = paypal_gate(request)
        if refusal is not None:
            return refusal
        query = request.query_params
        details = []
        numbers = {}
        for name, default, ceiling in (
            ("page", 1, None),
            ("page_size", PAYPAL_MAX_PAGE_SIZE, PAYPAL_MAX_PAGE_SIZE),
        ):
            raw = query.get(name, str(default))
            if not raw.isdigit() or int(raw) < 1:
                details.append(_detail(name, "Value must be a positive integer.", "query"))
            elif ceiling is not None and int(raw) > ceiling:
                details.append(_detail(name, f"Value must not exceed {ceiling}.", "query"))
            else:
                numbers[name] = int(raw)
        total_required = query.get("total_required", "false").lower() == "true"
        if details:
            return _paypal_invalid(details)
        batch = state.batches.get(payout_batch_id)
        if batch is None:
            return _paypal_not_found()
        now = time.time()
        page, size = numbers["page"], numbers["page_size"]
        items = batch["items"]
        window = items[(page - 1) * size : page * size]
        pages = max(1, math.ceil(len(items) / size))
        url = f"{base}/v1/payments/payouts/{payout_batch_id}"

        def page_link(number: int, rel: str) -> dict:
            flag = "&total_required=true" if total_required else ""
            return _link(f"{url}?page_size={size}&page={number}{flag}", rel)

        links = [page_link(page, "self")]
        if total_required:
            links += [page_link(1, "first"), page_link(pages, "last")]
        if page < pages:
            links.append(page_link(page + 1, "next"))
        if 1 < page <= pages + 1:
            links.append(page_link(page - 1, "previous"))
        result: dict[str, Any] = {
            "batch_header": state.batch_header(batch, now),
            "items": [state.item_view(base, batch, item, now, "item") for item in window],
            "total_items": len(items),
        }
        if total_required:
            result["total_pages"] = pages
        result["links"] = links
        return result

    def find_item(payout_item_id: str) -> tuple[dict, dict] | None:
        where = state.items.get(payout_item_id)
        if where is None:
            return None
        batch = state.batches[where[0]]
        return batch, batch["items"][where[1]]

    @pay.get("/v1/payments/payouts-item/{payout_item_id}")
    async def paypal_item(payout_item_id: str, request: Request):
        stats["paypal"]["get_item"] += 1
        refusal = paypal_gate(request)
        if refusal is not None:
            return refusal
        found = find_item(payout_item_id)
        if found is None:
            return _paypal_not_found()
        return state.item_view(base, *found, time.time(), "self")

    @pay.post("/v1/payments/payouts-item/{payout_item_id}/cancel")
    async def paypal_cancel(payout_item_id: str, request: Request):
        stats["paypal"]["cancel"] += 1
        refusal = paypal_gate(request)
        if refusal is not None:
            return refusal
        found = find_item(payout_item_id)
        if found is None:
            return _paypal_not_found()
        batch, item = found
        now = time.time()
        status = state.item_status(batch, item, now)
        if status == "RETURNED":
            return _paypal_error(
                400, "ITEM_ALREADY_CANCELLED", "The payout item has already been cancelled."
            )
        if status != "UNCLAIMED":
            return _paypal_error(
                400,
                "ITEM_INCORRECT_STATUS",
                f"Only UNCLAIMED items can be cancelled; this item is {status}.",
            )
        item["returned_at"] = now
        state.save_batch(batch)
        return state.item_view(base, batch, item, now, "self")

    # --- Payoneer -------------------------------------------------------------------------
    @pay.post("/api/v2/oauth2/token")
    async def payoneer_token(request: Request):
        stats["payoneer"]["token"] += 1
        client = state.clients["payoneer"]
        form = await request.form()
        if _basic_credentials(request) != (client["client_id"], client["client_secret"]):
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

    @pay.post("/v4/programs/{program_id}/masspayouts")
    async def payoneer_create(program_id: str, request: Request):
        stats["payoneer"]["create"] += 1
        refusal = payoneer_gate(request, program_id)
        if refusal is not None:
            return refusal
        body = await json_body(request)
        if body is _MALFORMED:
            return _payoneer_invalid("The request body is not valid JSON", "body")
        payments = _validate_payments(body)
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
            return _payoneer_error(
                400,
                "Duplicate client reference id",
                "Payments with these client_reference_id values already exist; nothing was created",
                2307,
                target="client_reference_id",
                client_reference_ids=duplicates,
            )
        if state.take_fault("payoneer", ("insufficient_funds",)):
            return _payoneer_error(
                400,
                "Insufficient funds",
                "The program balance is too low for these payments; nothing was created",
                2309,
            )
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
        return await after_accept(
            "payoneer", JSONResponse({"result": "Payments Created"}, status_code=201)
        )

    @pay.get("/v4/programs/{program_id}/payouts/{client_reference_id}/status")
    async def payoneer_status(program_id: str, client_reference_id: str, request: Request):
        stats["payoneer"]["status"] += 1
        refusal = payoneer_gate(request, program_id)
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

    # --- admin switches and the HTML view --------------------------------------------------
    @pay.get("/_sandbox/payments/clients")
    async def get_clients():
        return state.clients

    @pay.get("/_sandbox/payments/state-dir")
    async def get_state_dir():
        """Where tokens and batches are kept (tests scan logs for every token issued)."""
        return {"path": str(state.folder)}

    @pay.get("/_sandbox/payments/faults")
    async def list_faults():
        return {"faults": state.faults}

    @pay.post("/_sandbox/payments/faults")
    async def add_fault(request: Request):
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

    @pay.delete("/_sandbox/payments/faults")
    @pay.post("/_sandbox/payments/faults/clear")
    async def clear_faults():
        state.faults.clear()
        return {"faults": state.faults}

    @pay.get("/_sandbox/payments/settings")
    async def get_settings():
        return asdict(state.settings)

    @pay.post("/_sandbox/payments/settings")
    async def set_settings(request: Request):
        body = await json_body(request)
        if not isinstance(body, dict):
            return JSONResponse({"detail": "JSON object expected"}, status_code=400)
        for key in ("processing_seconds", "unclaimed_return_seconds"):
            if key in body:
                value = float(body[key])
                if value < 0:
                    return JSONResponse({"detail": f"{key} must be ≥ 0"}, status_code=400)
                setattr(state.settings, key, value)
        state.save_settings()
        return asdict(state.settings)

    @pay.get("/_sandbox/payments/stats")
    async def get_stats():
        return stats

    @pay.post("/_sandbox/payments/reset-stats")
    async def reset_stats():
        for provider, counters in state.zero_stats().items():
            stats[provider].update(counters)
        return stats

    @pay.get("/_sandbox/payments/batches")
    async def all_batches():
        """Everything stored, with statuses as the APIs would answer now."""
        now = time.time()
        return {
            "paypal": [
                {
                    "batch_header": state.batch_header(batch, now),
                    "items": [state.item_view(base, batch, i, now, "item") for i in batch["items"]],
                }
                for batch in sorted(state.batches.values(), key=lambda b: b["created"])
            ],
            "payoneer": [
                dict(state.payment_view(p, now), description=p["description"])
                for p in state.payments.values()
            ],
        }

    @pay.post("/_sandbox/payments/reset")
    async def reset():
        state.reset()
        return {"paypal": 0, "payoneer": 0}

    @pay.post("/_sandbox/payments/paypal/return-unclaimed")
    async def return_unclaimed():
        """Jump the 30 days: every item UNCLAIMED now becomes RETURNED."""
        now = time.time()
        returned = 0
        for batch in state.batches.values():
            changed = False
            for item in batch["items"]:
                if state.item_status(batch, item, now) == "UNCLAIMED":
                    item["returned_at"] = now
                    changed = True
                    returned += 1
            if changed:
                state.save_batch(batch)
        return {"returned": returned}

    @pay.get("/payouts", response_class=HTMLResponse)
    @pay.get("/payouts/", response_class=HTMLResponse)
    async def html_payouts():
        return _page("Sandbox payouts", _payouts_html(state, time.time()))


def _payouts_html(state: PaymentsState, now: float, shown: int = 200) -> str:
    parts = ["<h2>PayPal batches</h2>"]
    batches = sorted(state.batches.values(), key=lambda b: b["created"], reverse=True)
    for batch in batches:
        header = state.batch_header(batch, now)
        rows = []
        for item in batch["items"][:shown]:
            payout_item = item["payout_item"]
            rows.append(
                "<tr>"
                + "".join(
                    f"<td>{html.escape(str(v))}</td>"
                    for v in (
                        item["payout_item_id"],
                        payout_item.get("sender_item_id", ""),
                        payout_item["receiver"],
                        f"{payout_item['amount']['value']} {payout_item['amount']['currency']}",
                        state.item_status(batch, item, now),
                    )
                )
                + "</tr>"
            )
        more = len(batch["items"]) - shown
        parts.append(
            f"<h3>{html.escape(batch['payout_batch_id'])} · "
            f"{html.escape(header['sender_batch_header']['sender_batch_id'])} · "
            f"{header['batch_status']}</h3><p><small>created {header['time_created']}, "
            f"{len(batch['items'])} items, {header['amount']['value']} "
            f"{html.escape(header['amount']['currency'])}</small></p>"
            "<table><tr><th>item</th><th>sender_item_id</th><th>receiver</th><th>amount</th>"
            f"<th>status</th></tr>{''.join(rows)}</table>"
            + (f"<p><small>… and {more} more items</small></p>" if more > 0 else "")
        )
    if not batches:
        parts.append("<p>none yet</p>")
    parts.append("<h2>Payoneer payments</h2>")
    if state.payments:
        rows = []
        for payment in state.payments.values():
            view = state.payment_view(payment, now)
            rows.append(
                "<tr>"
                + "".join(
                    f"<td>{html.escape(str(v))}</td>"
                    for v in (
                        view["client_reference_id"],
                        view["payee_id"],
                        f"{view['amount']} {view['currency']}",
                        view["status"],
                        view.get("reason_code", ""),
                    )
                )
                + "</tr>"
            )
        parts.append(
            "<table><tr><th>client_reference_id</th><th>payee_id</th><th>amount</th>"
            f"<th>status</th><th>reason</th></tr>{''.join(rows)}</table>"
        )
    else:
        parts.append("<p>none yet</p>")
    return "".join(parts)
