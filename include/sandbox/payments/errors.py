"""The error bodies of both payment APIs, and the small pieces of their answers (details, links).

PayPal (the Payouts reference, https://developer.paypal.com/docs/api/payments.payouts-batch/v1/#errors,
and docs/service-facts.md): ``name``,
``message``, ``debug_id`` (also as the ``PayPal-Debug-Id`` header), ``information_link``,
``details`` and ``links``; 401 ``AUTHENTICATION_FAILURE`` has its own shorter body.
Payoneer (docs/service-facts.md): ``error``, ``error_description`` and ``error_details`` with
``code`` and a ``sub_code``.

Assumption: only ``sub_code`` 2306 (payout not found) is from a public source; 2300 (invalid
request), 2307 (duplicate), 2309 (insufficient funds) and 2305 (program not found) are the
sandbox's own.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi.responses import JSONResponse

INFO_LINK = "https://developer.paypal.com/docs/api/payments.payouts-batch/v1/#errors"


def _debug_id() -> str:
    return secrets.token_hex(7)[:13]


# --- PayPal ------------------------------------------------------------------------------------
def paypal_error(
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


def paypal_unauthorized() -> JSONResponse:
    debug_id = _debug_id()  # the OpenAPI ``error`` (its ``default`` answer) requires debug_id
    body = {
        "name": "AUTHENTICATION_FAILURE",
        "debug_id": debug_id,
        "message": "Authentication failed due to invalid authentication credentials or a "
        "missing Authorization header.",
        "links": [
            {
                "href": "https://developer.paypal.com/docs/api/overview/#error",
                "rel": "information_link",
            }
        ],
    }
    return JSONResponse(body, status_code=401, headers={"PayPal-Debug-Id": debug_id})


def paypal_server_error() -> JSONResponse:
    return paypal_error(500, "INTERNAL_SERVICE_ERROR", "An internal service error has occurred.")


def paypal_not_found() -> JSONResponse:
    return paypal_error(404, "INVALID_RESOURCE_ID", "The requested resource ID was not found")


def paypal_invalid(details: list[dict]) -> JSONResponse:
    return paypal_error(400, "VALIDATION_ERROR", "Invalid request - see details", details)


def detail(field: str, issue: str, location: str = "body") -> dict:
    return {"field": field, "location": location, "issue": issue}


def link(href: str, rel: str) -> dict:
    # PayPal's OpenAPI ``link_description`` has href, rel and method only (no ``encType``).
    return {"href": href, "rel": rel, "method": "GET"}


# --- Payoneer ----------------------------------------------------------------------------------
def payoneer_error(
    status: int, error: str, description: str, sub_code: int | None = None, **details: Any
) -> JSONResponse:
    error_details: dict[str, Any] = {"code": status}
    if sub_code is not None:
        error_details["sub_code"] = sub_code
    error_details.update(details)
    body = {"error": error, "error_description": description, "error_details": error_details}
    return JSONResponse(body, status_code=status)


def payoneer_unauthorized() -> JSONResponse:
    return payoneer_error(401, "Unauthorized", "The access token is missing, invalid or expired")


def payoneer_server_error() -> JSONResponse:
    return payoneer_error(500, "Internal Server Error", "An internal error has occurred")


def payoneer_invalid(description: str, target: str) -> JSONResponse:
    return payoneer_error(400, "Invalid request", description, 2300, target=target)
