"""The Dropbox link on the Profile page: ``POST /dropbox/link`` (off to Dropbox to allow it),
``GET /dropbox/callback`` (where Dropbox sends the collector back) and ``POST /dropbox/unlink``.
Each answers with the Profile page (or a redirect); collectors only.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from collector.delivery import links
from collector.delivery.vault import TokenVault
from portal.deps import (
    SECRET_MAX,
    collector_form,
    commit,
    current,
    db,
    form_field,
    now,
    portal_state,
    query_field,
    refuse,
)
from portal.profile import profile_page

log = logging.getLogger("portal")
router = APIRouter()


@router.post("/dropbox/link")
def link_dropbox(
    request: Request,
    csrf_token: str = form_field(SECRET_MAX),
    who=Depends(current),
    conn=Depends(db),
) -> Response:
    """Off to Dropbox's page (OAuth 2 code flow, PKCE, offline access): a 303 there, or 400
    with the Profile page when the link cannot start."""
    if stop := collector_form(request, who, csrf_token, "link a Dropbox"):
        return stop
    portal = portal_state(request)
    try:
        target = links.start_link(
            conn, TokenVault(portal.vault_keys), who[0].collector_id, portal.dropbox_app,
            portal.dropbox_callback, now(),
        )  # fmt: skip
    except links.LinkError as exc:
        commit(conn)  # what the domain recorded about the refusal
        return profile_page(request, conn, who, 400, dropbox_error=str(exc))
    commit(conn)  # the pending link (PKCE verifier, state) exists before Dropbox sends back
    return RedirectResponse(target, 303)


@router.get("/dropbox/callback")
def dropbox_callback_page(
    request: Request,
    code: str = query_field(1024),
    state: str = query_field(SECRET_MAX),
    error: str = query_field(1024),
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
        links.abandon_link(conn, who[0].collector_id, state, now())
        commit(conn)
        message = (
            "You did not allow the link on Dropbox, so nothing changed."
            if error == "access_denied"
            else "Dropbox did not complete the link; please start again."
        )
        response = profile_page(request, conn, who, 400, dropbox_error=message)
    else:
        portal = portal_state(request)
        try:
            link = links.finish_link(
                conn, TokenVault(portal.vault_keys), who[0].collector_id, code, state,
                portal.dropbox_app, portal.dropbox_callback, now(),
            )  # fmt: skip
        except links.LinkError as exc:
            commit(conn)  # what the domain recorded about the refusal
            response = profile_page(request, conn, who, 400, dropbox_error=str(exc))
        else:
            commit(conn)
            log.info("Dropbox linked: account %s", who[0].account_id)
            response = profile_page(request, conn, who, dropbox_saved=link)
    response.headers["Referrer-Policy"] = "no-referrer"  # the code and state are in this URL
    return response


@router.post("/dropbox/unlink")
def unlink_dropbox(
    request: Request,
    csrf_token: str = form_field(SECRET_MAX),
    who=Depends(current),
    conn=Depends(db),
) -> Response:
    """Removes the link (asking Dropbox to revoke its token first, best effort); the Profile
    page again."""
    if stop := collector_form(request, who, csrf_token, "link a Dropbox"):
        return stop
    portal = portal_state(request)
    removed = links.unlink(
        conn, TokenVault(portal.vault_keys), who[0].collector_id, portal.dropbox_app
    )
    commit(conn)
    log.info("Dropbox unlinked: account %s (%s)", who[0].account_id, removed)
    return profile_page(request, conn, who, dropbox_unlinked=removed)
