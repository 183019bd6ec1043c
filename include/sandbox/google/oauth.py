"""``POST /token``: OAuth 2.0 for service accounts, the JWT bearer grant google-auth uses.

Follows https://developers.google.com/identity/protocols/oauth2/service-account (the
``urn:ietf:params:oauth:grant-type:jwt-bearer`` grant, an ``assertion`` JWT whose ``iss`` is the
service account's email) and answers ``access_token``, ``expires_in`` and ``token_type``.

A ``sub`` claim (google-auth's ``subject``, domain-wide delegation) makes the token act as
that user, if :mod:`sandbox.google.drives` allows it (a registered Google account of a
delegated domain); otherwise 401 ``unauthorized_client`` as Google answers a client the
domain's admin has not authorised.

Not emulated: the JWT's signature and expiry are not checked (the keys come from
:mod:`sandbox.credentials`); only its ``iss`` and ``sub`` claims are read, to know whose token
it is.
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
    if claims.get("sub") and claims["sub"] != subject:
        if not state.directory.may_act_as(str(claims["sub"])):
            return JSONResponse(
                {
                    "error": "unauthorized_client",
                    "error_description": "Client is unauthorized to retrieve access tokens "
                    "using this method, or client not authorized for any of the scopes "
                    "requested.",
                },
                status_code=401,
            )
        subject = str(claims["sub"]).lower()
    access = "ya29.sandbox-" + secrets.token_urlsafe(24)
    state.tokens[access] = subject
    return {"access_token": access, "expires_in": 3599, "token_type": "Bearer"}
