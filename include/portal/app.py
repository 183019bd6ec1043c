"""The portal as one FastAPI app: ``create_app`` makes the shared state (templates, cookie
signer, warehouse pool, Dropbox app) and mounts one router per page group, plus ``/healthz``.
Server-rendered (Jinja2), no script needed; every form carries a CSRF token; sessions are signed
cookies naming a server-side session (so logout really ends it).

Authorization is by the session only: a collector's pages and profile are always their own,
whatever id a URL or form names; ops (a role) may read any collector's dashboard, never change
it, and no page shows a password or a whole payment identifier.

Pages by module: ``login`` (``/``, log in and out, set password, reset), ``dashboard``,
``collectors`` (ops' list), ``payout_reports`` (ops); the Profile page, its Dropbox link and
the digest's unsubscribe page are still here, below; what they share is in ``deps``.
"""

from __future__ import annotations

import hmac
import logging
from pathlib import Path

import psycopg2.pool
from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from itsdangerous import URLSafeSerializer

from collector import accounts, dropbox_links, settings
from collector.payouts import ProfileError
from collector.vault import TokenVault
from portal import collectors, dashboard, login, payout_reports
from portal.deps import (
    PortalState,
    Who,
    collector_form,
    current,
    db,
    now,
    portal_state,
    refuse,
    render,
)

log = logging.getLogger("portal")
router = APIRouter()  # the pages not yet in a module of their own


def create_app(
    database_url: str | None = None,
    secret: str | None = None,
    sheets_web_url: str | None = None,
) -> FastAPI:
    """The portal over the warehouse at ``database_url`` (default: ``settings``), cookies signed
    with ``secret`` (default: ``settings.portal_secret()``), dashboards linking to spreadsheets
    under ``sheets_web_url`` (default: ``settings.sheets_web_url()``)."""
    app = FastAPI(title="Collector portal", docs_url=None, redoc_url=None, openapi_url=None)
    secret_key = secret or settings.portal_secret()
    app.state.portal = PortalState(
        templates=Jinja2Templates(directory=str(Path(__file__).with_name("templates"))),
        signer=URLSafeSerializer(secret_key, salt="collector-portal"),
        secret_key=secret_key,
        pool=psycopg2.pool.ThreadedConnectionPool(
            1, 32, database_url or settings.database_url(), application_name="portal"
        ),
        sheets_base=sheets_web_url or settings.sheets_web_url(),
        dropbox_app=settings.dropbox_app(),
        dropbox_callback=f"{settings.portal_url()}/dropbox/callback",
        vault_keys=settings.token_keys(),
    )
    app.add_api_route("/healthz", healthz, methods=["GET"])
    for pages in (login, dashboard, collectors, payout_reports):
        app.include_router(pages.router)
    app.include_router(router)
    return app


def healthz(conn=Depends(db)) -> dict:
    """``{"status": "ok"}`` once the warehouse answers a query."""
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
    return {"status": "ok"}


def profile_page(request: Request, conn, who: Who, status: int = 200, **context) -> HTMLResponse:
    """``profile.html`` for the session's collector, with ``context`` (a saved change, an error,
    the form as posted) on top of what is on file."""
    from collector import notifications  # noqa: PLC0415

    on_file = accounts.payment_profile(conn, who[0].collector_id)
    return render(
        request,
        "profile.html",
        status,
        account=who[0],
        csrf=who[1],
        on_file=on_file,
        digest=notifications.digest_subscribed(conn, who[0].collector_id),
        dropbox=dropbox_links.link_of(conn, who[0].collector_id),
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
    method: str = Form(""),
    receiver: str = Form(""),
    csrf_token: str = Form(""),
    who=Depends(current),
    conn=Depends(db),
):
    """Changes the payment details: the page with the saved change, or 400 with the form as
    posted and why it was refused (nothing changed)."""
    if stop := collector_form(request, who, csrf_token, "have payment details"):
        return stop
    try:
        change = accounts.change_payment_profile(conn, who[0], method, receiver, now())
    except ProfileError as exc:
        conn.rollback()
        return profile_page(
            request, conn, who, 400, error=str(exc), method=method, receiver=receiver
        )
    log.info("payment details changed: account %s, %s", who[0].account_id, change.method)
    return profile_page(request, conn, who, saved=change)


@router.post("/profile/emails")
def email_settings(
    request: Request,
    digest: str = Form(""),
    csrf_token: str = Form(""),
    who=Depends(current),
    conn=Depends(db),
):
    """Turns the weekly digest on (``digest=on``) or off; the Profile page again."""
    from collector import notifications  # noqa: PLC0415

    if stop := collector_form(request, who, csrf_token, "get collector emails"):
        return stop
    notifications.set_digest_subscription(conn, who[0].collector_id, digest == "on")
    return profile_page(request, conn, who)


@router.get("/unsubscribe")
def unsubscribe_page(request: Request, c: str = "", t: str = "") -> HTMLResponse:
    return render(request, "unsubscribe.html", collector=c, token=t)


@router.post("/unsubscribe")
def unsubscribe(request: Request, c: str = "", t: str = "", conn=Depends(db)) -> HTMLResponse:
    """One click from the digest (RFC 8058 POSTs to the List-Unsubscribe URL); the token in
    the link is the proof, no login needed. Digests only: account and payment mail stays.
    403 for a wrong token or an unknown collector."""
    from collector import notifications  # noqa: PLC0415

    collector = accounts.normalize_email(c)
    expected = notifications.unsubscribe_token(collector, portal_state(request).secret_key)
    if not collector or not hmac.compare_digest(expected, t or ""):
        return refuse(request, 403, "This unsubscribe link is not valid.")
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM collectors WHERE collector_id = %s", (collector,))
        if cur.fetchone() is None:
            return refuse(request, 403, "This unsubscribe link is not valid.")
    notifications.set_digest_subscription(conn, collector, False)
    return render(request, "message.html", title="Unsubscribed", message=(
        "You will no longer get the weekly digest. Emails about your account and your "
        "payments still come."
    ))  # fmt: skip


@router.post("/dropbox/link")
def link_dropbox(
    request: Request, csrf_token: str = Form(""), who=Depends(current), conn=Depends(db)
) -> Response:
    """Off to Dropbox's page (OAuth 2 code flow, PKCE, offline access): a 303 there, or 400
    with the Profile page when the link cannot start."""
    if stop := collector_form(request, who, csrf_token, "link a Dropbox"):
        return stop
    portal = portal_state(request)
    try:
        target = dropbox_links.start_link(
            conn, TokenVault(portal.vault_keys), who[0].collector_id, portal.dropbox_app,
            portal.dropbox_callback, now(),
        )  # fmt: skip
    except dropbox_links.LinkError as exc:
        return profile_page(request, conn, who, 400, dropbox_error=str(exc))
    return RedirectResponse(target, 303)


@router.get("/dropbox/callback")
def dropbox_callback_page(
    request: Request,
    code: str = "",
    state: str = "",
    error: str = "",
    who=Depends(current),
    conn=Depends(db),
) -> Response:
    """Dropbox sends the collector back here with a code (or ``error=access_denied``): the
    Profile page with the new link, or 400 with why there is none; never sends a Referer."""
    if who is None:
        return RedirectResponse("/login", 303)
    if who[0].role != "collector":
        return refuse(request, 403, "Only collectors link a Dropbox.")
    if error or not code:
        dropbox_links.abandon_link(conn, who[0].collector_id, state, now())
        message = (
            "You did not allow the link on Dropbox, so nothing changed."
            if error == "access_denied"
            else "Dropbox did not complete the link; please start again."
        )
        response = profile_page(request, conn, who, 400, dropbox_error=message)
    else:
        portal = portal_state(request)
        try:
            link = dropbox_links.finish_link(
                conn, TokenVault(portal.vault_keys), who[0].collector_id, code, state,
                portal.dropbox_app, portal.dropbox_callback, now(),
            )  # fmt: skip
        except dropbox_links.LinkError as exc:
            response = profile_page(request, conn, who, 400, dropbox_error=str(exc))
        else:
            log.info("Dropbox linked: account %s", who[0].account_id)
            response = profile_page(request, conn, who, dropbox_saved=link)
    response.headers["Referrer-Policy"] = "no-referrer"  # the code and state are in this URL
    return response


@router.post("/dropbox/unlink")
def unlink_dropbox(
    request: Request, csrf_token: str = Form(""), who=Depends(current), conn=Depends(db)
) -> Response:
    """Removes the link (asking Dropbox to revoke its token first, best effort); the Profile
    page again."""
    if stop := collector_form(request, who, csrf_token, "link a Dropbox"):
        return stop
    portal = portal_state(request)
    removed = dropbox_links.unlink(
        conn, TokenVault(portal.vault_keys), who[0].collector_id, portal.dropbox_app
    )
    log.info("Dropbox unlinked: account %s (%s)", who[0].account_id, removed)
    return profile_page(request, conn, who, dropbox_unlinked=removed)
