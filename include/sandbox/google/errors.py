"""Google's JSON error body, ``{"error": {"code", "message", "status"}}``, for every route.

Follows the Google API error model (https://cloud.google.com/apis/design/errors): the HTTP
status, a human message and the canonical status name (``INVALID_ARGUMENT``, ``NOT_FOUND``...).
Drive v3 errors also carry the older ``errors: [{"domain", "reason", "message"...}]`` list
(https://developers.google.com/drive/api/guides/handle-errors), which clients read to tell
``storageQuotaExceeded`` from a rate limit: an error given a ``reason`` has it.
"""

from __future__ import annotations

from typing import ClassVar

from fastapi import Request
from fastapi.responses import JSONResponse


class ApiError(Exception):
    STATUS: ClassVar[dict[int, str]] = {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        429: "RESOURCE_EXHAUSTED",
        500: "INTERNAL",
    }

    def __init__(
        self,
        code: int,
        message: str,
        *,
        reason: str | None = None,
        domain: str = "global",
        location: str | None = None,
    ):
        super().__init__(message)
        self.code, self.message = code, message
        self.reason, self.domain, self.location = reason, domain, location

    def response(self) -> JSONResponse:
        body = {
            "error": {
                "code": self.code,
                "message": self.message,
                "status": self.STATUS.get(self.code, "UNKNOWN"),
            }
        }
        if self.reason:
            detail = {"message": self.message, "domain": self.domain, "reason": self.reason}
            if self.location:
                detail.update(locationType="parameter", location=self.location)
            body["error"]["errors"] = [detail]
        return JSONResponse(body, status_code=self.code)


async def api_error(_: Request, exc: ApiError):
    """The app's exception handler: a raised :class:`ApiError` becomes its JSON answer."""
    return exc.response()
