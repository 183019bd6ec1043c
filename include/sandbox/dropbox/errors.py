"""The answers of Dropbox API v2 other than success, as the SDK parses them.

Follows the "Errors" section of https://www.dropbox.com/developers/documentation/http/documentation:
route errors are 409 ``{"error_summary": "tag/tag/..", "error": {".tag": ...}}``; bad input is
400 plain text; auth errors are 401 with ``expired_access_token`` or ``invalid_access_token``;
rate limits are 429 with ``Retry-After`` and ``{"error": {"reason": {".tag": ...},
"retry_after": S}}``. OAuth errors (https://developers.dropbox.com/oauth-guide) are
``{"error", "error_description"}``.

Assumption: a request without ``Authorization`` is 400 plain text, as other bad input.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi.responses import JSONResponse, Response


def request_id() -> str:
    """An ``X-Dropbox-Request-Id`` value."""
    return secrets.token_hex(16)


class DropboxFailure(Exception):
    """An answer other than success; ``summary`` is what the request log shows."""

    def __init__(self, response: Response, summary: str):
        super().__init__(summary)
        self.response, self.summary = response, summary


def _tags(error: Any) -> list[str]:
    """The tag path of a Dropbox error value, for ``error_summary`` (``path/conflict/file``)."""
    if isinstance(error, str):
        return [error]
    if not isinstance(error, dict) or ".tag" not in error:
        return []
    tag = error[".tag"]
    inner = error.get(tag)
    if inner is None and tag == "path" and "reason" in error:
        inner = error["reason"]
    return [tag, *_tags(inner)]


def route_error(error: dict, **extra: Any) -> DropboxFailure:
    """409 with ``{"error_summary": "a/b/..", "error": {...}}``, as Dropbox's route errors."""
    summary = "/".join(_tags(error))
    body = {"error_summary": f"{summary}/..", "error": error, **extra}
    return DropboxFailure(JSONResponse(body, status_code=409), summary)


def bad_input(route: str, message: str) -> DropboxFailure:
    text = f'Error in call to API function "{route}": {message}'
    return DropboxFailure(Response(text, status_code=400, media_type="text/plain"), "bad_input")


def auth_error(tag: str) -> DropboxFailure:
    body = {"error_summary": f"{tag}/..", "error": {".tag": tag}}
    return DropboxFailure(JSONResponse(body, status_code=401), tag)


def rate_limited(reason: str, retry_after: int) -> DropboxFailure:
    body = {
        "error_summary": f"{reason}/..",
        "error": {"reason": {".tag": reason}, "retry_after": retry_after},
    }
    response = JSONResponse(body, status_code=429, headers={"Retry-After": str(retry_after)})
    return DropboxFailure(response, reason)


def oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def not_found() -> DropboxFailure:
    return route_error({".tag": "path", "path": {".tag": "not_found"}})


def write_conflict(kind: str) -> dict:
    return {".tag": "conflict", "conflict": {".tag": kind}}


class WriteFailure(Exception):
    """A WriteError value (``{".tag": "conflict", ...}``), wrapped per route by the caller."""

    def __init__(self, error: dict):
        super().__init__(error[".tag"])
        self.error = error
