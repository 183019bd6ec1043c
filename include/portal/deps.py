"""What every page of the portal shares, as FastAPI dependencies and small helpers: the portal's
state (templates, cookie signer, secrets, Dropbox app, warehouse pool) kept on ``app.state``,
the request-scoped warehouse connection, ``commit`` (which every write route calls before it
builds its answer), the current session, the CSRF checks of forms posted with and without a
session, and the common refusals.

Throttling of logins is the domain's (``collector.accounts.authenticate``); the login page only
turns its answer into a 429 with ``Retry-After``.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg2
import psycopg2.pool
from fastapi import Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer

from collector.accounts import logins

SESSION_COOKIE = "collector_session"
LOGIN_CSRF_COOKIE = "collector_login_csrf"
DEVICE_COOKIE = (
    "collector_device"  # accounts this browser logged in to (collector.accounts.throttle)
)
DEVICE_TTL = timedelta(days=180)
DEVICE_ACCOUNTS = 5  # the most accounts one browser is remembered for
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")

log = logging.getLogger("portal")

# Every value a page takes is bounded, and refused with a sentence (``portal.security``) when
# longer or holding a control character: nothing unbounded reaches the warehouse or Argon2.
PLAIN_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"  # no control character but tab, newlines
EMAIL_MAX = 254  # RFC 5321's longest forward path
SECRET_MAX = 200  # tokens and CSRF tokens we issue are 32-64 characters
RECEIVER_MAX = 254  # the payout providers' own limits are checked by the domain, with a sentence
PAGE_MAX = 100_000


def form_field(max_length: int):
    """A form field of at most ``max_length`` characters without control characters
    (missing: empty)."""
    return Form("", max_length=max_length, pattern=PLAIN_TEXT)


def query_field(max_length: int):
    """The same for a query parameter."""
    return Query("", max_length=max_length, pattern=PLAIN_TEXT)


def path_field(max_length: int):
    """The same for a path parameter."""
    return Path(max_length=max_length, pattern=PLAIN_TEXT)


def page_number():
    """``?page=``: 1 to ``PAGE_MAX``."""
    return Query(1, ge=1, le=PAGE_MAX)


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


class NotSaved(Exception):
    """The warehouse refused to commit a request's writes: nothing of it was kept. The app
    answers 503 with a page that says so (``app.not_saved``), never the route's success page."""


def db(request: Request) -> Iterator:
    """The request's warehouse connection (one per request: FastAPI caches the dependency, so
    ``current`` and the route share it). Nothing is committed here: FastAPI closes this
    dependency after the answer is sent, too late to tell anyone a write failed, so a route
    that writes calls ``commit`` before it builds its answer. What is left open when the
    dependency closes (reads, or writes of a route that did not commit) is rolled back."""
    pool = portal_state(request).pool
    conn = pool.getconn()
    try:
        yield conn
    finally:
        try:
            conn.rollback()
        finally:
            pool.putconn(conn)


def commit(conn) -> None:
    """Make the request's writes durable now, before the answer is built (the next request,
    maybe on another connection or process, sees them). Raises ``NotSaved`` when the
    warehouse refuses (a deferred constraint, a lost connection, a serialization failure):
    the route's success page is then never sent. Logs the error's SQLSTATE, never its text
    (which can quote the values written)."""
    try:
        conn.commit()
    except psycopg2.Error as exc:
        log.error("commit refused (%s %s): nothing saved", type(exc).__name__, exc.pgcode)
        with_rollback(conn)
        raise NotSaved from exc


def with_rollback(conn) -> None:
    """Roll back what is left of a failed transaction, if the connection still can."""
    try:
        conn.rollback()
    except psycopg2.Error:
        pass


def current(request: Request, conn=Depends(db)) -> Who | None:
    """The live session's (account, CSRF token) from the signed session cookie, or None when
    there is no cookie, its signature is wrong, or the session ended or expired."""
    cookie = read_cookie(request, SESSION_COOKIE)
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
    """Whether cookies get ``Secure``: over HTTPS (directly or from a trusted proxy), and
    everywhere but on a local address."""
    return request.url.scheme == "https" or request.url.hostname not in LOCAL_HOSTS


def cookie_name(request: Request, name: str) -> str:
    """``name`` with the ``__Host-`` prefix wherever cookies are ``Secure`` (ASVS 4.0.3
    V3.4.4): the browser then takes the cookie only over HTTPS, for this exact host and
    ``Path=/``, so no sibling subdomain or plain-HTTP page can plant or shadow it. A local
    address over plain HTTP (the demo, tests) keeps the bare name: the prefix needs Secure."""
    return f"__Host-{name}" if secure(request) else name


def read_cookie(request: Request, name: str) -> str:
    """The cookie ``name`` as this request's scheme names it (:func:`cookie_name`); ``""`` when
    absent."""
    return request.cookies.get(cookie_name(request, name), "")


def set_portal_cookie(
    request: Request, response: Response, name: str, value: str, max_age: int | None = None
) -> None:
    """Every portal cookie: HttpOnly, SameSite=Lax, Path=/, no Domain, Secure and ``__Host-``
    off localhost; a browser-session cookie unless ``max_age`` (seconds)."""
    response.set_cookie(
        cookie_name(request, name),
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        secure=secure(request),
        samesite="lax",
    )


def drop_portal_cookie(request: Request, response: Response, name: str) -> None:
    """Expire the cookie ``name`` (with the attributes it was set with: a ``__Host-`` cookie
    is only replaced by a Secure one)."""
    response.delete_cookie(
        cookie_name(request, name), path="/", httponly=True, secure=secure(request), samesite="lax"
    )


def client_address(request: Request) -> str:
    """The client's address as throttling counts it: the TCP peer, or what a trusted proxy
    forwarded (``portal.security`` decides, before any route runs)."""
    return request.client.host if request.client else "unknown"


def _device_signer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(portal_state(request).secret_key, salt="collector-device")


def known_accounts(request: Request) -> frozenset[int]:
    """The accounts this browser logged in to or set a password of, from its signed device
    cookie (none when missing, forged or older than ``DEVICE_TTL``)."""
    try:
        ids = _device_signer(request).loads(
            # The bare name too: browsers known before cookies took the __Host- prefix stay
            # known (no "new sign-in" email for everyone on the day it is deployed). Signed,
            # so it cannot be made up; it only eases throttling and that email.
            read_cookie(request, DEVICE_COOKIE) or request.cookies.get(DEVICE_COOKIE, ""),
            max_age=int(DEVICE_TTL.total_seconds()),
        )
    except BadSignature:
        return frozenset()
    return frozenset(i for i in ids if isinstance(i, int)) if isinstance(ids, list) else frozenset()


def remember_device(request: Request, response: Response, account_id: int) -> None:
    """Mark this browser as known to ``account_id`` (it proved the password or the emailed
    link): login throttling for distributed guessing no longer holds it for that account."""
    ids = [account_id, *sorted(known_accounts(request) - {account_id})][:DEVICE_ACCOUNTS]
    set_portal_cookie(
        request,
        response,
        DEVICE_COOKIE,
        _device_signer(request).dumps(ids),
        max_age=int(DEVICE_TTL.total_seconds()),
    )


def sessionless_form(request: Request, name: str, status: int = 200, **context) -> HTMLResponse:
    """A form posted without a session (login, set password, reset): its CSRF token goes
    in the page and, signed, in a cookie; ``login_csrf_ok`` compares the two."""
    token = secrets.token_urlsafe(24)
    response = render(request, name, status, csrf=token, **context)
    set_portal_cookie(
        request, response, LOGIN_CSRF_COOKIE, portal_state(request).signer.dumps(token)
    )
    return response


def login_form(request: Request, status: int = 200, **context) -> HTMLResponse:
    """The login page (``login.html``) with a fresh sessionless CSRF token."""
    return sessionless_form(request, "login.html", status, **context)


def login_csrf_ok(request: Request, submitted: str) -> bool:
    """Whether a sessionless form's token matches its signed cookie (False for a missing or
    badly signed cookie, or an empty token)."""
    try:
        expected = portal_state(request).signer.loads(read_cookie(request, LOGIN_CSRF_COOKIE))
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
