"""The collector's Profile page (``/profile``): payment details (shown masked, changed by
``POST /profile``, audited by ``collector.accounts.logins``) and the weekly digest setting
(``POST /profile/emails``). The page also shows the Dropbox link, whose forms ``dropbox_link``
serves. Collectors only; each sees and changes only their own.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from collector.accounts import logins
from collector.delivery import links
from collector.payouts.profiles import ProfileError
from portal.deps import (
    RECEIVER_MAX,
    SECRET_MAX,
    Who,
    collector_form,
    commit,
    current,
    db,
    form_field,
    now,
    portal_state,
    refuse,
    render,
)

log = logging.getLogger("portal")
router = APIRouter()


def profile_page(request: Request, conn, who: Who, status: int = 200, **context) -> HTMLResponse:
    """``profile.html`` for the session's collector, with ``context`` (a saved change, an error,
    the form as posted) on top of what is on file."""
    from collector.notify import emails  # noqa: PLC0415

    on_file = logins.payment_profile(conn, who[0].collector_id)
    return render(
        request,
        "profile.html",
        status,
        account=who[0],
        csrf=who[1],
        on_file=on_file,
        digest=emails.digest_subscribed(conn, who[0].collector_id),
        dropbox=links.link_of(conn, who[0].collector_id),
        dropbox_ready=bool(portal_state(request).dropbox_app.get("app_key")),
        **context,
    )


@router.get("/profile")
def profile(request: Request, who=Depends(current), conn=Depends(db)):
    if who is None:
        return RedirectResponse("/login", 303)
    if who[0].role != "collector":
        return refuse(request, 403, "Only collectors have payment details.")
    return profile_page(request, conn, who)


@router.post("/profile")
def change_profile(
    request: Request,
    method: str = form_field(20),
    receiver: str = form_field(RECEIVER_MAX),
    csrf_token: str = form_field(SECRET_MAX),
    who=Depends(current),
    conn=Depends(db),
):
    """Changes the payment details: the page with the saved change, or 400 with the form as
    posted and why it was refused (nothing changed)."""
    if stop := collector_form(request, who, csrf_token, "have payment details"):
        return stop
    try:
        change = logins.change_payment_profile(conn, who[0], method, receiver, now())
    except ProfileError as exc:
        conn.rollback()
        return profile_page(
            request, conn, who, 400, error=str(exc), method=method, receiver=receiver
        )
    commit(conn)  # "Saved" is said only of what the warehouse kept
    log.info("payment details changed: account %s, %s", who[0].account_id, change.method)
    return profile_page(request, conn, who, saved=change)


@router.post("/profile/emails")
def email_settings(
    request: Request,
    digest: str = form_field(10),
    csrf_token: str = form_field(SECRET_MAX),
    who=Depends(current),
    conn=Depends(db),
):
    """Turns the weekly digest on (``digest=on``) or off; the Profile page again."""
    from collector.notify import emails  # noqa: PLC0415

    if stop := collector_form(request, who, csrf_token, "get collector emails"):
        return stop
    emails.set_digest_subscription(conn, who[0].collector_id, digest == "on")
    commit(conn)
    return profile_page(request, conn, who)
