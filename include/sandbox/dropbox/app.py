"""The Dropbox emulator's own FastAPI app, mounted on the sandbox's app and port.

:class:`~sandbox.common.PathDispatch` hands it the paths it owns before the other emulators'
middleware sees them.

Assumption: an unknown ``/2/`` route (or a wrong method on one) is 400 plain text
``Unknown API function``, as other bad input.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from sandbox.common import PathDispatch
from sandbox.dropbox import admin, auth, check, files, oauth, upload_sessions, users, views
from sandbox.dropbox.api_call import drain
from sandbox.dropbox.state import DropboxState


def is_dropbox_path(path: str) -> bool:
    return path in ("/dropbox", "/_sandbox/dropbox") or path.startswith(
        ("/oauth2/", "/2/", "/dropbox/", "/_sandbox/dropbox/")
    )


async def http_error(request: Request, exc: StarletteHTTPException):
    path = request.url.path
    if path.startswith("/2/") and exc.status_code in (404, 405):
        await drain(request)
        return Response(
            f'Unknown API function: "{path[3:]}"', status_code=400, media_type="text/plain"
        )
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)


def register_dropbox(app: FastAPI, state_dir: Path, base_url: str) -> None:
    """Serve the Dropbox emulator from ``app``'s process and port."""
    state = DropboxState(state_dir)
    dbx = FastAPI(
        title="Sandbox: Dropbox API v2",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        redirect_slashes=False,
    )
    dbx.state.dropbox = app.state.dropbox = state
    app.add_middleware(PathDispatch, owns=is_dropbox_path, inner=dbx)
    dbx.add_exception_handler(StarletteHTTPException, http_error)
    for module in (files, upload_sessions, users, auth, oauth, check, admin, views):
        dbx.include_router(module.router)
