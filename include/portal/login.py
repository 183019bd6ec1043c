"""The pages around an account's session: ``/`` (to the login page, or to the start page of the
account's role), the login page (``GET``/``POST /login``), ``POST /logout``, the set-password
page of a welcome or reset link (``/set-password``) and "Forgot your password?" (``/reset``).

Forms posted here without a session carry the sessionless CSRF token (``deps.sessionless_form``);
failed logins are counted and throttled by ``collector.accounts.authenticate``.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from collector.accounts import logins, passwords
from portal.deps import (
    EMAIL_MAX,
    LOGIN_CSRF_COOKIE,
    SECRET_MAX,
    SESSION_COOKIE,
    client_address,
    commit,
    current,
    db,
    drop_portal_cookie,
    form_field,
    known_accounts,
    login_csrf_ok,
    login_form,
    now,
    portal_state,
    query_field,
    read_cookie,
    refuse,
    remember_device,
    render,
    session_csrf_ok,
    sessionless_form,
    set_portal_cookie,
)

log = logging.getLogger("portal")
router = APIRouter()


def start_page(role: str) -> str:
    """Where an account lands after logging in: ``/ops`` for ops, else ``/dashboard``."""
    return "/ops" if role == "ops" else "/dashboard"


@router.get("/")
def home(who=Depends(current)) -> Response:
    if who is None:
        return RedirectResponse("/login", 303)
    return RedirectResponse(start_page(who[0].role), 303)


@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    return login_form(request)


@router.post("/login")
def login(
    request: Request,
    email: str = form_field(EMAIL_MAX),
    password: str = form_field(passwords.MAX_LENGTH),
    csrf_token: str = form_field(SECRET_MAX),
    conn=Depends(db),
) -> Response:
    """303 to the start page with the session cookie; 403 for an expired form, 401 for wrong
    credentials, 429 with ``Retry-After`` while throttled (the login page again, each time)."""
    if not login_csrf_ok(request, csrf_token):
        return login_form(request, 403, error="The form expired. Please try again.")
    known = known_accounts(request)
    result = logins.authenticate(conn, email, password, client_address(request), now(), known)
    if result.account is None:
        commit(conn)  # the failed attempt counts, whatever happens next
        status = 429 if result.retry_after_s else 401
        response = login_form(request, status, error=result.message, email=email)
        if result.retry_after_s:
            response.headers["Retry-After"] = str(result.retry_after_s)
        return response
    raw, _ = logins.open_session(conn, result.account, now())
    if result.account.account_id not in known:
        logins.record_new_browser(conn, result.account, now())  # the owner is told by email
    commit(conn)  # the session exists before the browser is told to use it
    response = RedirectResponse(start_page(result.account.role), 303)
    set_portal_cookie(
        request,
        response,
        SESSION_COOKIE,
        portal_state(request).signer.dumps(raw),
        max_age=int(logins.SESSION_TTL.total_seconds()),
    )
    drop_portal_cookie(request, response, LOGIN_CSRF_COOKIE)
    remember_device(request, response, result.account.account_id)
    log.info("login: account %s (%s)", result.account.account_id, result.account.role)
    return response


@router.post("/logout")
def logout(
    request: Request,
    csrf_token: str = form_field(SECRET_MAX),
    who=Depends(current),
    conn=Depends(db),
):
    """Ends the server-side session and drops its cookie (303 to ``/login?bye=1``)."""
    if who is None:
        return RedirectResponse("/login", 303)
    if not session_csrf_ok(who, csrf_token):
        return refuse(request, 403, "The form expired. Please go back and try again.")
    raw = portal_state(request).signer.loads(read_cookie(request, SESSION_COOKIE))
    logins.close_session(conn, raw, now())
    commit(conn)
    response = RedirectResponse("/login?bye=1", 303)
    drop_portal_cookie(request, response, SESSION_COOKIE)
    return response


@router.get("/set-password")
def set_password_page(request: Request, token: str = query_field(SECRET_MAX)) -> HTMLResponse:
    response = sessionless_form(request, "set_password.html", token=token)
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in this URL
    return response


@router.post("/set-password")
def set_password(
    request: Request,
    token: str = form_field(SECRET_MAX),
    password: str = form_field(passwords.MAX_LENGTH),
    confirm: str = form_field(passwords.MAX_LENGTH),
    csrf_token: str = form_field(SECRET_MAX),
    conn=Depends(db),
) -> Response:
    """Uses the single-use link: the login page on success; 400 with the form again for
    different passwords or a refused link or password, 403 for an expired form."""
    if not login_csrf_ok(request, csrf_token):
        return refuse(request, 403, "The form expired. Open the link again.")
    if password != confirm:
        return render(
            request, "set_password.html", 400, token=token, csrf=csrf_token,
            error="The two passwords are not the same.",
        )  # fmt: skip
    try:
        account = logins.use_link(conn, token, password, now())
    except logins.AccountError as exc:
        conn.rollback()
        return render(
            request, "set_password.html", 400, token=token, csrf=csrf_token, error=str(exc)
        )
    commit(conn)  # the old sessions and links end before the page says the password is set
    response = login_form(request, info="Your password is set. You can log in now.")
    remember_device(request, response, account.account_id)  # it proved the mailbox
    return response


@router.get("/reset")
def reset_page(request: Request) -> HTMLResponse:
    return sessionless_form(request, "reset.html")


@router.post("/reset")
def request_reset(
    request: Request,
    email: str = form_field(EMAIL_MAX),
    csrf_token: str = form_field(SECRET_MAX),
    conn=Depends(db),
) -> HTMLResponse:
    """The same answer whether or not the email has an account; the link itself is made and
    mailed by the notifications pipeline (only its hash is ever stored)."""
    if not login_csrf_ok(request, csrf_token):
        return refuse(request, 403, "The form expired. Please try again.")
    logins.request_reset(conn, email, now())
    commit(conn)
    return render(request, "message.html", title="Check your email", message=(
        "If an account exists for that address, a link to choose a new password is on its "
        "way. It works once, for two hours."
    ))  # fmt: skip
