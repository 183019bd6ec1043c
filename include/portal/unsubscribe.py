"""The digest's unsubscribe page (``/unsubscribe?c=<collector>&t=<token>``): a confirm button on
``GET``, and the one-click ``POST`` of ``List-Unsubscribe``. No login: the signed token is the
proof.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from collector.accounts.directory import is_collector
from collector.core.identity import normalize_email
from portal.deps import EMAIL_MAX, SECRET_MAX, commit, db, portal_state, query_field, refuse, render

router = APIRouter()


@router.get("/unsubscribe")
def unsubscribe_page(
    request: Request, c: str = query_field(EMAIL_MAX), t: str = query_field(SECRET_MAX)
) -> HTMLResponse:
    return render(request, "unsubscribe.html", collector=c, token=t)


@router.post("/unsubscribe")
def unsubscribe(
    request: Request,
    c: str = query_field(EMAIL_MAX),
    t: str = query_field(SECRET_MAX),
    conn=Depends(db),
) -> HTMLResponse:
    """One click from the digest (RFC 8058 POSTs to the List-Unsubscribe URL); the token in
    the link is the proof, no login needed. Digests only: account and payment mail stays.
    403 for a wrong token or an unknown collector."""
    from collector.notify import emails  # noqa: PLC0415

    collector = normalize_email(c)
    expected = emails.unsubscribe_token(collector, portal_state(request).secret_key)
    if not collector or not hmac.compare_digest(expected, t or ""):
        return refuse(request, 403, "This unsubscribe link is not valid.")
    if not is_collector(conn, collector):
        return refuse(request, 403, "This unsubscribe link is not valid.")
    emails.set_digest_subscription(conn, collector, False)
    commit(conn)
    return render(request, "message.html", title="Unsubscribed", message=(
        "You will no longer get the weekly digest. Emails about your account and your "
        "payments still come."
    ))  # fmt: skip
