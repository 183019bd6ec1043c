"""Google's JSON error body, ``{"error": {"code", "message", "status"}}``, for every route.

Follows the Google API error model (https://cloud.google.com/apis/design/errors): the HTTP
status, a human message and the canonical status name (``INVALID_ARGUMENT``, ``NOT_FOUND``...).
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

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code, self.message = code, message

    def response(self) -> JSONResponse:
        body = {
            "error": {
                "code": self.code,
                "message": self.message,
                "status": self.STATUS.get(self.code, "UNKNOWN"),
            }
        }
        return JSONResponse(body, status_code=self.code)


async def api_error(_: Request, exc: ApiError):
    """The app's exception handler: a raised :class:`ApiError` becomes its JSON answer."""
    return exc.response()
