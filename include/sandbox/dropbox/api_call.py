"""The frame every ``/2/`` API call runs in: Bearer auth, injected faults, argument decoding,
the route's handler, then counters, the request log and ``X-Dropbox-Request-Id``.

Follows "Request and response formats" in
https://www.dropbox.com/developers/documentation/http/documentation: RPC endpoints take a JSON
body (``Content-Type: application/json``); content-upload endpoints take the argument as JSON in
the ``Dropbox-API-Arg`` header (or ``?arg=``) and the data as an ``application/octet-stream``
body, at most 150 MiB per request; successes are ``Content-Type: application/json``.

Assumptions: a request without ``Authorization`` is 400 plain text (as other bad input); an
unknown ``/2/`` route is 400 plain text (see :mod:`sandbox.dropbox.app`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from sandbox.dropbox.content_hash import ContentHasher
from sandbox.dropbox.errors import DropboxFailure, auth_error, bad_input, rate_limited, request_id
from sandbox.dropbox.state import DropboxDep, DropboxState

UPLOAD_LIMIT = 150 * 1024 * 1024  # one request's payload, files/upload and each session call

# (state, request, account, arg) -> the JSON result
Handler = Callable[[DropboxState, Request, dict, Any], Awaitable[Any]]


async def drain(request: Request) -> None:
    with contextlib.suppress(RuntimeError, OSError):
        async for _ in request.stream():
            pass


async def receive(request: Request, tmp_dir: Path) -> tuple[Path | None, int, str]:
    """Stream the request body to a temp file, hashing as it comes. Past the single-request
    limit the rest is read and dropped, and the path is None (payload_too_large)."""
    path = tmp_dir / secrets.token_hex(12)
    hasher, size = ContentHasher(), 0
    out = path.open("wb")
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if out is None:
                continue
            if size > UPLOAD_LIMIT:
                out.close()
                path.unlink(missing_ok=True)
                out = None
                continue
            out.write(chunk)
            hasher.update(chunk)
    except BaseException:  # the client went away: keep no half body
        if out is not None:
            out.close()
        path.unlink(missing_ok=True)
        raise
    if out is not None:
        out.close()
    if size > UPLOAD_LIMIT:
        return None, size, ""
    return path, size, hasher.hexdigest()


def json_arg(route: str, raw: str | bytes | None, where: str) -> Any:
    if raw in (None, b"", ""):
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise bad_input(route, f"{where}: could not decode input as JSON") from None


def require(route: str, arg: Any, key: str, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(arg, dict) or not isinstance(arg.get(key), kind):
        raise bad_input(route, f"request body: {key}: missing or of the wrong type")
    return arg[key]


def authenticate(state: DropboxState, request: Request, route: str) -> dict:
    header = request.headers.get("authorization", "")
    if not header:
        raise bad_input(route, 'Must provide HTTP header "Authorization".')
    if not header.lower().startswith("bearer "):
        raise bad_input(route, 'Invalid authorization value in HTTP header "Authorization".')
    record = state.access.get(header[7:].strip())
    if record is None:
        raise auth_error("invalid_access_token")
    account = state.account_by_id(record["account_id"])
    if account is None:
        raise auth_error("invalid_access_token")
    request.state.account = account
    if record["expires_at"] <= time.time():
        raise auth_error("expired_access_token")
    return account


async def call(
    state: DropboxState, request: Request, route: str, handler: Handler, *, content: bool = False
) -> Response:
    """Auth, injected faults, argument decoding, the handler, then counters and the log.
    Content routes take their argument from ``Dropbox-API-Arg`` (or ``?arg=``) and stream the
    body; an early refusal drains it so the client reads the answer, not a reset."""
    request.state.account = None
    delay = 0.0
    try:
        account = authenticate(state, request, route)
        fault = state.take_fault(route, account)
        if fault is not None:
            if fault["kind"] == "server_error":
                raise DropboxFailure(
                    Response("Internal Server Error", status_code=500), "server_error"
                )
            if fault["kind"] == "timeout":
                delay = fault["delay_s"]
            else:
                raise rate_limited(fault["kind"], fault["retry_after"])
        if content:
            media = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if media not in ("application/octet-stream", "text/plain"):
                raise bad_input(
                    route,
                    'Bad HTTP "Content-Type" header. Expecting one of '
                    '"application/octet-stream", "text/plain; '
                    'charset=dropbox-cors-hack".',
                )
            raw = request.headers.get("dropbox-api-arg") or request.query_params.get("arg")
            arg = json_arg(route, raw, 'HTTP header "Dropbox-API-Arg"')
        else:
            media = request.headers.get("content-type", "").split(";")[0].strip().lower()
            body = await request.body()
            if body and media != "application/json":
                raise bad_input(
                    route, 'Bad HTTP "Content-Type" header: expecting "application/json".'
                )
            arg = json_arg(route, body, "request body")
        result = await handler(state, request, account, arg)
        response: Response = JSONResponse(result)
        error = None
    except DropboxFailure as failure:
        if content:
            await drain(request)
        response, error = failure.response, failure.summary
    account = request.state.account
    with state.lock:
        state.record(route, account, response.status_code, error)
    response.headers["X-Dropbox-Request-Id"] = request_id()
    if delay:
        await asyncio.sleep(delay)  # done, but the answer comes too late for the client
    return response


def add_rpc_route(router: APIRouter, route: str, handler: Handler, *, content: bool) -> None:
    """``POST /2/{route}`` on ``router``, answered by ``handler`` inside :func:`call`."""

    async def endpoint(request: Request, state: DropboxDep):
        return await call(state, request, route, handler, content=content)

    endpoint.__name__ = "dropbox_" + route.replace("/", "_")
    router.add_api_route(f"/2/{route}", endpoint, methods=["POST"])
