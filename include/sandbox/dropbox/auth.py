"""Dropbox API v2 ``auth/token/revoke``: the access token of the call stops working, and with
it the refresh token it came from (and that refresh token's other access tokens).

Follows https://www.dropbox.com/developers/documentation/http/documentation#auth-token-revoke.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from sandbox.dropbox.api_call import add_rpc_route
from sandbox.dropbox.state import DropboxState

router = APIRouter()


async def token_revoke(state: DropboxState, request: Request, account: dict, arg: Any) -> None:
    token = request.headers["authorization"][7:].strip()
    record = state.access[token]
    if record["refresh"] is not None:
        state.revoke(refresh=record["refresh"])
    with state.lock:
        state.access.pop(token, None)
        state.save_tokens()
    return None


add_rpc_route(router, "auth/token/revoke", token_revoke, content=False)
