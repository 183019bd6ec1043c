"""``/_sandbox/...`` switches of the Google emulator, for tests and the demo (no Google API).

``faults`` queues failures that the gate (:mod:`sandbox.google.gate`) answers instead of the
next matching calls: a status (429, 500...) or a delay long enough for the client to time out.
``quota`` changes the per-minute limits of :mod:`sandbox.google.quota`; ``stats`` and
``reset-stats`` count requests; ``spreadsheets/{id}`` shows everything stored for one book.
``shared-drives``, ``google-accounts`` and ``delegation`` set who may own and be shared what
(:mod:`sandbox.google.drives`); ``invitations`` lists the shares made with a notification.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from sandbox.google.state import GoogleDep

router = APIRouter()


@router.post("/_sandbox/faults")
async def add_fault(request: Request, state: GoogleDep):
    body = await request.json()
    state.faults.append(
        {
            "status": int(body.get("status", 429)),
            "count": int(body.get("count", 1)),
            "path_contains": body.get("path_contains", "/v4/"),
            "method": body.get("method", "*"),
            "delay_s": body.get("delay_s"),
            "message": body.get("message"),
        }
    )
    return {"faults": state.faults}


@router.post("/_sandbox/quota")
async def set_quota(request: Request, state: GoogleDep):
    body = await request.json()
    quota = state.quota
    quota.per_user = int(body.get("per_user", quota.per_user))
    quota.per_project = int(body.get("per_project", quota.per_project))
    quota.window_s = float(body.get("window_s", quota.window_s))
    quota.events.clear()
    return {
        "per_user": quota.per_user,
        "per_project": quota.per_project,
        "window_s": quota.window_s,
    }


@router.get("/_sandbox/stats")
async def get_stats(state: GoogleDep):
    return {
        **state.stats,
        "quota_rejections": state.quota.rejected,
        "pending_faults": len(state.faults),
    }


@router.post("/_sandbox/reset-stats")
async def reset_stats(state: GoogleDep):
    for key in state.stats:
        state.stats[key] = 0
    state.quota.rejected = 0
    state.faults.clear()
    return state.stats


@router.get("/_sandbox/spreadsheets/{book_id}")
async def raw_state(book_id: str, state: GoogleDep):
    """Everything stored for a spreadsheet, validations and protections included."""
    book = state.store.get(book_id)
    return dict(book.__dict__, sheets=[s.__dict__ for s in book.sheets])


@router.post("/_sandbox/shared-drives")
async def shared_drive(request: Request, state: GoogleDep):
    """``{"name", "writers": [...]}``: that shared drive (made if new) with one folder; answers
    its ``drive_id`` and ``folder_id``."""
    body = await request.json()
    drive = state.directory.ensure_drive(str(body["name"]), list(body.get("writers", [])))
    return drive.__dict__


@router.post("/_sandbox/google-accounts")
async def google_accounts(request: Request, state: GoogleDep):
    """``{"emails": [...], "replace": false}``: these addresses are Google accounts."""
    body = await request.json()
    directory = state.directory
    if body.get("replace"):
        directory.accounts.clear()
    directory.accounts.update(str(e).lower() for e in body.get("emails", []))
    directory.save()
    return {"emails": sorted(directory.accounts)}


@router.post("/_sandbox/delegation")
async def delegation(request: Request, state: GoogleDep):
    """``{"domains": [...]}``: the service accounts may act as these domains' Google accounts
    (domain-wide delegation); replaces the earlier list."""
    body = await request.json()
    state.directory.delegated_domains = {str(d).lower() for d in body.get("domains", [])}
    state.directory.save()
    return {"domains": sorted(state.directory.delegated_domains)}


@router.get("/_sandbox/invitations")
async def invitations(state: GoogleDep):
    return {"invitations": state.directory.invitations}
