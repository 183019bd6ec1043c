"""Dropbox API v2 ``check/app``: app authentication (HTTP Basic app key:secret), echoing
``query``; the connection's Test button in Airflow calls it.

Follows https://www.dropbox.com/developers/documentation/http/documentation#check-app.

Assumption: a wrong key or secret is 401 ``invalid_access_token`` (Dropbox documents only the
success).
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.dropbox.errors import request_id
from sandbox.dropbox.oauth import client_credentials
from sandbox.dropbox.state import DropboxDep

router = APIRouter()


@router.post("/2/check/app")
async def check_app(request: Request, state: DropboxDep):
    """App authentication (HTTP Basic app key:secret) echoing ``query``; changes nothing.
    A wrong key or secret: 401 ``invalid_access_token`` (assumed; Dropbox documents only
    the success)."""
    client_id, secret = client_credentials(request, {})
    if client_id != state.app["app_key"] or secret != state.app["app_secret"]:
        body = {
            "error_summary": "invalid_access_token/",
            "error": {".tag": "invalid_access_token"},
        }
        response = JSONResponse(body, status_code=401)
    else:
        try:
            query = json.loads(await request.body() or b"{}").get("query", "")
        except (ValueError, AttributeError):
            query = ""
        response = JSONResponse({"result": str(query)})
    response.headers["X-Dropbox-Request-Id"] = request_id()
    return response
