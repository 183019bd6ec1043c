"""The ops' Payout reports pages: the list of every recorded weekly finance report
(``/ops/payout-reports``) and one report's HTML (``/ops/payout-reports/{report_id}``), the page
the weekly payout's approval links to. Read-only, ops accounts only.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from collector.core.money import usd
from collector.payouts import report
from portal.deps import Who, current, db, path_field, refuse, render

log = logging.getLogger("portal")
router = APIRouter()


def ops_only(request: Request, who: Who | None) -> Response | None:
    """Why a finance page may not be shown (a response to return), or None for ops."""
    if who is None:
        return RedirectResponse("/login", 303)
    if who[0].role != "ops":
        return refuse(request, 403, "Only ops accounts read payout reports.")
    return None


@router.get("/ops/payout-reports")
def payout_reports(request: Request, who=Depends(current), conn=Depends(db)) -> Response:
    """Every recorded weekly payout report, newest first (read-only, ops only)."""
    if stop := ops_only(request, who):
        return stop
    return render(
        request,
        "payout_reports.html",
        account=who[0],
        csrf=who[1],
        reports=report.stored_reports(conn),
        usd=usd,
    )


@router.get("/ops/payout-reports/{report_id}")
def payout_report_page(
    request: Request, report_id: str = path_field(40), who=Depends(current), conn=Depends(db)
) -> Response:
    """The report's HTML exactly as written, found by id in ``payout_reports`` (never by a
    path from the request), and only while it matches its recorded SHA-256. The CSV is not
    served: it holds whole receivers, which no portal page shows. 404 for an unknown id, 409
    when the file is missing or changed."""
    if stop := ops_only(request, who):
        return stop
    stored = (
        report.stored_report(conn, int(report_id))
        if report_id.isdigit() and len(report_id) < 19
        else None
    )
    if stored is None:
        return refuse(request, 404, "There is no such payout report.")
    try:
        data = report.read_recorded(stored.html_path, stored.html_sha256)
    except report.ReportFileError as exc:
        log.error("payout report %s not served: %s", stored.report_id, exc)
        return render(
            request, "message.html", 409, account=who[0], csrf=who[1],
            title="Report unavailable", message=str(exc),
        )  # fmt: skip
    return Response(
        data,
        media_type="text/html; charset=utf-8",
        headers={
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            # The page is ours, but served as a record: no script, nothing loaded, no form,
            # never framed (its own styles are inline, so this page keeps its own policy).
            "Content-Security-Policy": (
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
                "form-action 'none'; base-uri 'none'"
            ),
        },
    )
