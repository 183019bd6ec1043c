"""The checks every Sheets and Drive call passes first (HTTP middleware on ``/v4/`` and
``/drive/v3/``): injected faults, then the Bearer token, then the per-minute quota.

Answers as Google does (https://developers.google.com/sheets/api/limits and the API error
model): 401 ``UNAUTHENTICATED`` without a token this sandbox issued, 429 ``RESOURCE_EXHAUSTED``
past a quota. Faults come from ``/_sandbox/faults`` (see :mod:`sandbox.google.admin`).
"""

from __future__ import annotations

import asyncio

from fastapi import Request

from sandbox.google.errors import ApiError
from sandbox.google.state import GoogleState


async def gate(request: Request, call_next):
    path = request.url.path
    api = path.startswith(("/v4/", "/drive/v3/"))
    if not api:
        return await call_next(request)
    state: GoogleState = request.app.state.google
    state.stats["requests"] += 1
    for fault in list(state.faults):
        if fault["path_contains"] in path and fault["method"] in ("*", request.method):
            fault["count"] -= 1
            if fault["count"] <= 0:
                state.faults.remove(fault)
            state.stats["faults_injected"] += 1
            if fault.get("delay_s"):
                await asyncio.sleep(fault["delay_s"])  # the client times out first
                break
            return ApiError(
                fault["status"],
                fault.get("message")
                or (
                    "Quota exceeded (injected fault)."
                    if fault["status"] == 429
                    else "Internal error encountered."
                ),
            ).response()
    auth = request.headers.get("authorization", "")
    user = state.tokens.get(auth.removeprefix("Bearer ").strip())
    if user is None:
        return ApiError(
            401,
            "Request had invalid authentication credentials. Expected OAuth 2 access token.",
        ).response()
    request.state.user = user
    if path.startswith("/v4/"):
        kind = "read" if request.method == "GET" else "write"
        state.stats["reads" if kind == "read" else "writes"] += 1
        refusal = state.quota.admit(user, kind)
        if refusal:
            return ApiError(429, refusal).response()
    # One event loop, and handlers mutate state without awaiting in between: no lock needed.
    return await call_next(request)
