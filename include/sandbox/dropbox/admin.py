"""``/_sandbox/dropbox/...`` switches for tests and the demo (no Dropbox API).

The app's key and secret, the state folder, ``reset``; every account with its files, tokens and
open sessions; faults (``too_many_requests`` and ``too_many_write_operations`` storms with
``Retry-After``, ``server_error``, ``timeout``), each for ``count`` calls, optionally only for
one account or route prefix; token expiry and revocation per account; counters and the request
log.
"""

from __future__ import annotations

import json
import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from sandbox.dropbox.errors import DropboxFailure
from sandbox.dropbox.state import DropboxDep, DropboxState, public

FAULT_KINDS = ("too_many_requests", "too_many_write_operations", "server_error", "timeout")

router = APIRouter()


async def admin_body(request: Request) -> dict:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise DropboxFailure(
            JSONResponse({"detail": "JSON object expected"}, status_code=400), "admin"
        )
    return body


def admin_account(state: DropboxState, body: dict) -> dict:
    account = state.find_account(body.get("account"))
    if account is None:
        raise DropboxFailure(
            JSONResponse({"detail": "unknown account (email or account_id)"}, 404), "admin"
        )
    return account


def admin(handler):
    """The route answers a :class:`DropboxFailure` raised by ``handler`` (a bad admin body)."""

    async def endpoint(request: Request, state: DropboxDep):
        try:
            return await handler(request, state)
        except DropboxFailure as failure:
            return failure.response

    endpoint.__name__ = handler.__name__
    return endpoint


@router.get("/_sandbox/dropbox/app")
async def get_app(state: DropboxDep):
    return dict(state.app, app_folder=f"/Apps/{state.app['app_name']}")


@router.get("/_sandbox/dropbox/state-dir")
async def get_state_dir(state: DropboxDep):
    return {"path": str(state.folder)}


@router.post("/_sandbox/dropbox/reset")
async def reset(state: DropboxDep):
    state.reset()
    return {"accounts": 0}


@router.get("/_sandbox/dropbox/accounts")
async def list_accounts(state: DropboxDep):
    now = time.time()
    result = []
    for account in state.accounts.values():
        store = state.stores[account["account_id"]]
        result.append(
            dict(
                account,
                files=len(store.files),
                bytes=sum(f["size"] for f in store.files.values()),
                live_access_tokens=sum(
                    1
                    for r in state.access.values()
                    if r["account_id"] == account["account_id"] and r["expires_at"] > now
                ),
                refresh_tokens=sum(
                    1 for r in state.refresh.values() if r["account_id"] == account["account_id"]
                ),
                open_sessions=sum(
                    1 for s in state.sessions.values() if s["account_id"] == account["account_id"]
                ),
            )
        )
    return {"accounts": result}


@router.get("/_sandbox/dropbox/files")
async def list_files(account: str, state: DropboxDep):
    found = state.find_account(account)
    if found is None:
        return JSONResponse({"detail": "unknown account (email or account_id)"}, 404)
    store = state.stores[found["account_id"]]
    files = sorted(store.files.values(), key=lambda f: f["path_lower"])
    return {"account": found["email"], "entries": [public(f) for f in files]}


@router.get("/_sandbox/dropbox/faults")
async def get_faults(state: DropboxDep):
    return {"faults": state.faults}


@router.post("/_sandbox/dropbox/faults")
@admin
async def add_fault(request: Request, state: DropboxState):
    body = await admin_body(request)
    kind = body.get("kind", "too_many_requests")
    if kind not in FAULT_KINDS:
        return JSONResponse({"detail": f"kind must be one of {FAULT_KINDS}"}, 400)
    account_id = admin_account(state, body)["account_id"] if body.get("account") else None
    route = body.get("route")
    if route is not None and not isinstance(route, str):
        return JSONResponse({"detail": "route must be a string"}, 400)
    with state.lock:
        state.faults.append(
            {
                "kind": kind,
                "count": max(1, int(body.get("count", 1))),
                "retry_after": max(0, int(body.get("retry_after", 1))),
                "delay_s": float(body.get("delay_s", 30.0)),
                "account_id": account_id,
                "route": (route or "").removeprefix("/2/").lstrip("/") or None,
            }
        )
    return {"faults": state.faults}


@router.post("/_sandbox/dropbox/faults/clear")
async def clear_faults(state: DropboxDep):
    with state.lock:
        state.faults.clear()
    return {"faults": state.faults}


@router.post("/_sandbox/dropbox/expire-tokens")
@admin
async def expire_tokens(request: Request, state: DropboxState):
    account = admin_account(state, await admin_body(request))
    return {"expired": state.expire_tokens(account["account_id"])}


@router.post("/_sandbox/dropbox/revoke")
@admin
async def revoke(request: Request, state: DropboxState):
    account = admin_account(state, await admin_body(request))
    access, refresh = state.revoke(account_id=account["account_id"])
    return {"revoked_access": access, "revoked_refresh": refresh}


@router.get("/_sandbox/dropbox/stats")
async def get_stats(state: DropboxDep):
    return state.stats


@router.post("/_sandbox/dropbox/reset-stats")
async def reset_stats(state: DropboxDep):
    with state.lock:
        state.stats = state.zero_stats()
        state.log.clear()
    return state.stats


@router.get("/_sandbox/dropbox/log")
async def get_log(state: DropboxDep, limit: int = 200):
    entries = list(state.log)
    return {"requests": entries[-limit:] if limit > 0 else []}
