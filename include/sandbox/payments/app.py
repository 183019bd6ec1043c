"""The payment emulators' own FastAPI app, mounted on the sandbox's app and port.

:class:`~sandbox.common.PathDispatch` hands it the paths it owns before the other emulators'
middleware sees them; an unrouted path answers in the provider's JSON error shape.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sandbox.common import PathDispatch
from sandbox.payments import admin, faults, payoneer, paypal, views
from sandbox.payments.errors import payoneer_error, paypal_not_found
from sandbox.payments.state import PaymentsState


def is_payments_path(path: str) -> bool:
    return path in (
        "/v1/oauth2/token",
        "/api/v2/oauth2/token",
        "/payouts",
        "/_sandbox/payments",
    ) or (path.startswith(("/v1/payments/", "/v4/programs/", "/_sandbox/payments/", "/payouts/")))


async def http_error(request: Request, exc: StarletteHTTPException):
    """Unrouted paths (e.g. paypalrestsdk's doubled ``/payouts/X/X``) answer in the
    provider's JSON error shape, as the real APIs do."""
    path = request.url.path
    if exc.status_code == 404 and path.startswith("/v1/"):
        return paypal_not_found()
    if exc.status_code == 404 and path.startswith(("/v4/", "/api/")):
        return payoneer_error(404, "Not found", "Resource not found")
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)


def register_payments(app: FastAPI, state_dir: Path, base_url: str) -> None:
    """Serve the PayPal and Payoneer emulators from ``app``'s process and port."""
    state = PaymentsState(state_dir, base_url)
    pay = FastAPI(
        title="Sandbox: PayPal Payouts v1 / Payoneer mass payouts",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        redirect_slashes=False,
    )
    pay.state.payments = app.state.payments = state
    app.add_middleware(PathDispatch, owns=is_payments_path, inner=pay)
    pay.add_exception_handler(StarletteHTTPException, http_error)
    for module in (paypal, payoneer, admin, faults, views):
        pay.include_router(module.router)
