"""PayPal Payouts v1 exchanges checked against PayPal's own OpenAPI document, with openapi-core.

The document is ``contracts/paypal/payments_payouts_batch_v1.json`` (PayPal's public REST API
specifications, Apache-2.0). Both halves of an exchange are validated: the request the client
sent and the emulator's answer, with ``forbid_unspecified_additional_properties`` so a property
the document does not define fails ("a field the contract does not have"), and the document's
enums (``batch_status``, ``transaction_status``...) so an invented status fails.

Stricter than OpenAPI itself on HTTP statuses: an answer's status must be one the operation
lists; the ``default`` response only covers 401, which every PayPal REST API answers to a bad
token (https://developer.paypal.com/api/rest/authentication/) and which this document lists
nowhere. The token call (``/v1/oauth2/token``) is not in this document and is not checked.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from http_recording import Exchange
from openapi_core import OpenAPI, V30RequestValidator, V30ResponseValidator
from openapi_core.templating.paths.exceptions import PathNotFound
from openapi_core.testing import MockRequest, MockResponse

DOCUMENT = (
    Path(__file__).resolve().parents[2] / "contracts" / "paypal" / "payments_payouts_batch_v1.json"
)
STATUS_VIA_DEFAULT = {401}
# The emulator stands in for this server of the document's ``servers``.
SERVER = "https://api-m.sandbox.paypal.com"


@cache
def _document() -> dict:
    return json.loads(DOCUMENT.read_text())


@cache
def _openapi() -> OpenAPI:
    return OpenAPI.from_dict(_document())


@cache
def _validators():
    spec = _openapi().spec
    strict = {"forbid_unspecified_additional_properties": True}
    return V30RequestValidator(spec, **strict), V30ResponseValidator(spec, **strict)


def _request(exchange: Exchange) -> MockRequest:
    return MockRequest(
        SERVER,
        exchange.method,
        _path(exchange),
        args=dict(exchange.query),
        headers=exchange.request_headers,
        data=exchange.request_body or None,
        content_type=exchange.request_headers.get("Content-Type", "application/json"),
    )


def _response(exchange: Exchange) -> MockResponse:
    return MockResponse(
        exchange.response_body,
        status_code=exchange.status,
        headers=exchange.response_headers,
        content_type=exchange.response_headers.get("content-type", ""),
    )


def _path(exchange: Exchange) -> str:
    """paypalrestsdk posts batches to ``/v1/payments/payouts/``; PayPal routes it as without."""
    return exchange.path.rstrip("/")


def _operation(exchange: Exchange) -> dict | None:
    """The document's operation for this path and method (its ``responses`` are needed)."""
    for template, item in _document()["paths"].items():
        parts, actual = template.strip("/").split("/"), _path(exchange).strip("/").split("/")
        if len(parts) == len(actual) and all(
            p.startswith("{") or p == a for p, a in zip(parts, actual, strict=True)
        ):
            return item.get(exchange.method.lower())
    return None


def _errors(error: Exception) -> str:
    causes = getattr(error, "schema_errors", None) or [error.__cause__ or error]
    inner = [getattr(c, "schema_errors", None) or [c] for c in causes]
    return "; ".join(
        f"{type(error).__name__}: {getattr(e, 'message', e)}" for group in inner for e in group
    )


def check(exchange: Exchange) -> list[str]:
    """What in this exchange the document does not allow (empty when it conforms)."""
    operation = _operation(exchange)
    if operation is None:
        return [f"{exchange}: no operation in the PayPal document"]
    problems = []
    declared = set(operation["responses"]) - {"default"}
    if str(exchange.status) not in declared and exchange.status not in STATUS_VIA_DEFAULT:
        problems.append(
            f"{exchange}: status {exchange.status} is not one the operation lists "
            f"({', '.join(sorted(declared))})"
        )
    requests_, responses = _validators()
    request = _request(exchange)
    for label, validate in (
        ("request", lambda: requests_.validate(request)),
        ("response", lambda: responses.validate(request, _response(exchange))),
    ):
        try:
            validate()
        except PathNotFound:
            problems.append(f"{exchange}: path not in the PayPal document")
        except Exception as error:  # openapi-core's validation errors share no base class
            problems.append(f"{exchange}: {label}: {_errors(error)}")
    return problems
