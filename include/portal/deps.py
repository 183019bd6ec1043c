"""What every page of the portal shares, as FastAPI dependencies and small helpers: the portal's
state (templates, cookie signer, secrets, Dropbox app, warehouse pool) kept on ``app.state``,
the request-scoped warehouse connection and where it is committed, the current session, the
CSRF checks of forms posted with and without a session, and the common refusals.

Throttling of logins is the domain's (``collector.accounts.authenticate``); the login page only
turns its answer into a 429 with ``Retry-After``.
"""

from __future__ import annotations

import contextlib
import hmac
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg2.pool
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeSerializer

from collector.accounts import logins

SESSION_COOKIE = "collector_session"
LOGIN_CSRF_COOKIE = "collector_login_csrf"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")

# (account, the session's CSRF token) for a live session, as ``current`` returns it.
Who = tuple[logins.Account, str]


def now() -> datetime:
    """The current time (UTC), as sessions, links and throttling are judged."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class PortalState:
    """Everything the routes share, made once by ``create_app`` and kept as
    ``app.state.portal``: nothing is captured in closures."""

    templates: Jinja2Templates
    signer: URLSafeSerializer  # signs the session and sessionless-CSRF cookies
    secret_key: str  # also keys the digest's unsubscribe tokens
    pool: psycopg2.pool.ThreadedConnectionPool
    sheets_base: str  # a dashboard's spreadsheet id is appended to it
    dropbox_app: dict[str, str]  # ``settings.dropbox_app()``: no ``app_key`` means no Dropbox link
    dropbox_callback: str  # the OAuth redirect URI, ``<portal url>/dropbox/callback``
    vault_keys: list[str]  # ``settings.token_keys()``, newest first, for ``TokenVault``


def portal_state(request: Request) -> PortalState:
    """The app's ``PortalState`` (a dependency, or called with any request)."""
    return request.app.state.portal


@contextlib.contextmanager
def connection(pool: psycopg2.pool.ThreadedConnectionPool) -> Iterator:
    """A pooled warehouse connection: committed when the block ends normally, rolled back on
    any exception (the exception goes on), always returned to the pool. The one place where a
    request's work is committed."""
    conn = pool.getconn()
    try:
        yield conn
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        pool.putconn(conn)


def db(request: Request) -> Iterator:
    """The request's warehouse connection (one per request: FastAPI caches the dependency, so
    ``current`` and the route share it), committed by ``connection`` when the dependency is
    closed after the route returns."""
    with connection(portal_state(request).pool) as conn:
        yield conn


def current(request: Request, conn=Depends(db)) -> Who | None:
    """The live session's (account, CSRF token) from the signed session cookie, or None when
    there is no cookie, its signature is wrong, or the session ended or expired."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    try:
        raw = portal_state(request).signer.loads(cookie)
    except BadSignature:
        return None
    return logins.session_account(conn, raw, now())


def render(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
    """Template ``name`` rendered with ``context``, with status ``status``."""
    templates = portal_state(request).templates
    return templates.TemplateResponse(request, name, context, status_code=status)


def secure(request: Request) -> bool:
    """Whether cookies get ``Secure``: everywhere but on a local address."""
    return request.url.hostname not in LOCAL_HOSTS


def sessionless_form(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
    """A form posted without a session (login, set password, reset): its CSRF token goes
    in the page and, signed, in a cookie; ``login_csrf_ok`` compares the two."""
    token = secrets.token_urlsafe(24)
    response = render(request, name, status, csrf=token, **context)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        portal_state(request).signer.dumps(token),
        httponly=True,
        secure=secure(request),
        samesite="lax",
    )
    return response


def login_form(request: Request, status: int = 200, **context) -> HTMLResponse:
    """The login page (``login.html``) with a fresh sessionless CSRF token."""
    return sessionless_form(request, "login.html", status, **context)


def login_csrf_ok(request: Request, submitted: str) -> bool:
    """Whether a sessionless form's token matches its signed cookie (False for a missing or
    badly signed cookie, or an empty token)."""
    try:
        expected = portal_state(request).signer.loads(request.cookies.get(LOGIN_CSRF_COOKIE, ""))
    except BadSignature:
        return False
    return bool(submitted) and hmac.compare_digest(str(expected), submitted)


def session_csrf_ok(who: Who, submitted: str) -> bool:
    """Whether a form's token is the session's CSRF token."""
    return hmac.compare_digest(who[1], submitted or "")


def refuse(request: Request, status: int, message: str) -> HTMLResponse:
    """The "Not allowed" message page with ``status``."""
    return render(request, "message.html", status, title="Not allowed", message=message)


def collector_form(
    request: Request, who: Who | None, csrf_token: str, what: str
) -> Response | None:
    """Why a collector's own form may not be taken (a response to return), or None: no session
    redirects to /login, another role gets 403 "Only collectors <what>.", a wrong CSRF token 403.
    """
    if who is None:
        return RedirectResponse("/login", 303)
    if who[0].role != "collector":
        return refuse(request, 403, f"Only collectors {what}.")
    if not session_csrf_ok(who, csrf_token):
        return refuse(request, 403, "The form expired. Please go back and try again.")
    return None
