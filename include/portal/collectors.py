"""The ops' Collectors page (``/ops``): collectors whose email contains ``?q=``, with their video
count and whether payment details are on file, each linking to its read-only dashboard.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from collector.accounts.directory import find_collectors
from portal.deps import EMAIL_MAX, current, db, query_field, refuse, render

router = APIRouter()


@router.get("/ops")
def ops_home(
    request: Request, q: str = query_field(EMAIL_MAX), who=Depends(current), conn=Depends(db)
):
    """At most 200 collectors, by id; no session goes to /login, a collector gets a 404."""
    if who is None:
        return RedirectResponse("/login", 303)
    if who[0].role != "ops":
        return refuse(request, 404, "There is no such page.")
    collectors = find_collectors(conn, q)
    return render(request, "ops.html", account=who[0], csrf=who[1], collectors=collectors, q=q)
