"""The ops' Collectors page (``/ops``): collectors whose email contains ``?q=``, with their video
count and whether payment details are on file, each linking to its read-only dashboard.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from collector.core.identity import normalize_email
from portal.deps import current, db, refuse, render

router = APIRouter()


@router.get("/ops")
def ops_home(request: Request, q: str = "", who=Depends(current), conn=Depends(db)):
    """At most 200 collectors, by id; no session goes to /login, a collector gets a 404."""
    if who is None:
        return RedirectResponse("/login", 303)
    if who[0].role != "ops":
        return refuse(request, 404, "There is no such page.")
    with conn.cursor() as cur:
        cur.execute(
            """SELECT c.collector_id, count(v.video_id), p.method IS NOT NULL
               FROM collectors c LEFT JOIN videos v USING (collector_id)
               LEFT JOIN payment_profiles p USING (collector_id)
               WHERE c.collector_id LIKE %s
               GROUP BY c.collector_id, p.method ORDER BY c.collector_id LIMIT 200""",
            (f"%{normalize_email(q)}%",),
        )
        collectors = cur.fetchall()
    return render(request, "ops.html", account=who[0], csrf=who[1], collectors=collectors, q=q)
