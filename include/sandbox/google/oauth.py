"""``POST /token``: OAuth 2.0 for service accounts, the JWT bearer grant google-auth uses.

Follows https://developers.google.com/identity/protocols/oauth2/service-account (the
``urn:ietf:params:oauth:grant-type:jwt-bearer`` grant, an ``assertion`` JWT whose ``iss`` is the
service account's email) and answers ``access_token``, ``expires_in`` and ``token_type``.

Not emulated: the JWT's signature and expiry are not checked (the keys come from
:mod:`sandbox.credentials`); only its ``iss`` claim is read, to know whose token it is.
"""

from __future__ import annotations

import base64
import json
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.google.state import GoogleDep

router = APIRouter()


@router.post("/token")
async def token(request: Request, state: GoogleDep):
    form = await request.form()
    if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
    try:
        payload = str(form["assertion"]).split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        subject = claims["iss"]
    except (KeyError, IndexError, ValueError):
        return JSONResponse(
            {"error": "invalid_grant", "error_description": "Invalid JWT"}, status_code=400
        )
    access = "ya29.sandbox-" + secrets.token_urlsafe(24)
    state.tokens[access] = subject
    return {"access_token": access, "expires_in": 3599, "token_type": "Bearer"}
