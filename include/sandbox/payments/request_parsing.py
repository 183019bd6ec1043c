"""Reading a payment API request: HTTP Basic client credentials, the Bearer token, a JSON body
(and the currency code format both APIs check)."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from fastapi import Request

MALFORMED = object()  # a request body that is not JSON
CURRENCY = re.compile(r"^[A-Z]{3}$")  # ISO 4217 alphabetic code


def basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return user, password


def bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else ""


async def json_body(request: Request) -> Any:
    """The parsed body (``None`` when empty), or :data:`MALFORMED`."""
    try:
        return json.loads(await request.body() or b"null")
    except ValueError:
        return MALFORMED
