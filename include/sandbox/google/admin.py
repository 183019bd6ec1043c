"""``/_sandbox/...`` switches of the Google emulator, for tests and the demo (no Google API).

``faults`` queues failures that the gate (:mod:`sandbox.google.gate`) answers instead of the
next matching calls: a status (429, 500...) or a delay long enough for the client to time out.
``quota`` changes the per-minute limits of :mod:`sandbox.google.quota`; ``stats`` and
``reset-stats`` count requests; ``spreadsheets/{id}`` shows everything stored for one book.
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
