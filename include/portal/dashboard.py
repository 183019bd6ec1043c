"""The Dashboard pages: a collector's own (``/dashboard``) and any collector's, read-only, for ops
(``/collectors/{collector_id}/dashboard``). Both show the videos (``PER_PAGE`` a page, ``?page=``),
payments, summary and weekly chart that the collector's dashboard spreadsheet shows.
"""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from collector.core.identity import normalize_email
from collector.dashboards.content import (
    PAYMENTS_HEADER,
    SUMMARY_HEADER,
    VIDEOS_HEADER,
    Dashboard,
    build_dashboards,
)
from collector.dashboards.html import cell_text, weekly_chart
from collector.dashboards.sheets import dashboard_sheet_id
from collector.scoring.accepted import Accepted
from portal.deps import (
    EMAIL_MAX,
    Who,
    current,
    db,
    now,
    page_number,
    path_field,
    portal_state,
    refuse,
    render,
)

PER_PAGE = 50
router = APIRouter()


def dashboard_page(
    request: Request, conn, who: Who, collector_id: str, page_no: int, read_only: bool
) -> HTMLResponse:
    """``dashboard.html`` for ``collector_id`` at page ``page_no`` (clamped to the pages there
    are); an unknown collector gets an empty dashboard."""
    page_no = max(1, page_no)
    sheet_id = dashboard_sheet_id(conn, collector_id)
    sheet_url = (portal_state(request).sheets_base + quote(sheet_id)) if sheet_id else None
    boards = build_dashboards(
        conn,
        [collector_id],
        now(),
        dashboard_urls={collector_id: sheet_url} if sheet_url else None,
        videos_page=((page_no - 1) * PER_PAGE, PER_PAGE),
    )
    board = boards.get(collector_id) or Dashboard(collector_id)
    pages = max(1, -(-board.video_count // PER_PAGE))
    videos = [
        [
            {
                "text": cell_text(v),
                "formula": (v.formula or "") if isinstance(v, Accepted) else "",
                "answer": v.answer.lower() if isinstance(v, Accepted) else "",
            }
            for v in row
        ]
        for row in board.videos
    ]
    return render(
        request,
        "dashboard.html",
        account=who[0],
        csrf=who[1],
        collector_id=collector_id,
        read_only=read_only,
        videos_header=VIDEOS_HEADER,
        videos=videos,
        payments_header=PAYMENTS_HEADER,
        payments=board.payments,
        summary_header=SUMMARY_HEADER,
        summary=board.summary,
        chart=weekly_chart(weekly_earnings(board.payments)),
        sheet_url=sheet_url,
        page_no=min(page_no, pages),
        pages=pages,
        video_count=board.video_count,
    )


@router.get("/dashboard")
def own_dashboard(
    request: Request, page: int = page_number(), who=Depends(current), conn=Depends(db)
):
    """The collector's own dashboard; no session goes to /login, ops to /ops."""
    if who is None:
        return RedirectResponse("/login", 303)
    if who[0].role != "collector":
        return RedirectResponse("/ops", 303)
    return dashboard_page(request, conn, who, who[0].collector_id, page, read_only=False)


@router.get("/collectors/{collector_id}/dashboard")
def any_dashboard(
    request: Request,
    collector_id: str = path_field(EMAIL_MAX),
    page: int = page_number(),
    who=Depends(current),
    conn=Depends(db),
):
    """Ops: that collector's dashboard, read-only. A collector: their own is a 303 to
    /dashboard, anyone else's a 404 (never confirming that others exist)."""
    if who is None:
        return RedirectResponse("/login", 303)
    collector_id = normalize_email(collector_id)
    if who[0].role == "collector":
        if collector_id == who[0].collector_id:
            return RedirectResponse(f"/dashboard?page={max(1, page)}", 303)
        return refuse(request, 404, "There is no such page.")  # never confirm others exist
    return dashboard_page(request, conn, who, collector_id, page, read_only=True)


def weekly_earnings(payments: list[list]) -> list[list]:
    """One bar per week: expected plus sent, leaving out failed and returned money."""
    by_week: dict[str, Decimal] = {}
    for week, _, amount, _, status, _ in payments:
        if str(status).startswith(("failed", "returned")):
            continue
        by_week[week] = by_week.get(week, Decimal(0)) + Decimal(str(amount).lstrip("$"))
    return [[w, "", f"${a:.2f}"] for w, a in sorted(by_week.items(), reverse=True)]
