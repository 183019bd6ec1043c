"""What every answer of the portal gets, whichever route made it (docs/security.md): the client
address only from trusted proxies, a bound on request bodies, the security headers, and error
pages that say in words what happened (never a traceback, a JSON ``detail`` or "Saved").

All of it is installed by ``install`` from ``create_app``, so the portal is the same however it
is served (``python -m portal serve``, compose, tests).
"""

from __future__ import annotations

import logging
import traceback
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from portal.deps import NotSaved, render

log = logging.getLogger("portal")

MAX_BODY_BYTES = 64 * 1024  # the largest form (set-password: 2 x 1,024 characters) is far below
# What a field is called on the page, for the "too long" and "not allowed" messages.
FIELD_NAMES = {
    "email": "email",
    "password": "password",
    "confirm": "second password",
    "receiver": "PayPal email or Payoneer payee id",
    "method": "payment method",
    "token": "link",
    "csrf_token": "form",
    "digest": "digest choice",
    "q": "search",
    "page": "page number",
    "c": "unsubscribe link",
    "t": "unsubscribe link",
    "code": "Dropbox answer",
    "state": "Dropbox answer",
    "error": "Dropbox answer",
    "collector_id": "collector",
    "report_id": "report",
}


def content_security_policy(form_targets: list[str]) -> str:
    """No script at all, styles only from our own stylesheet, no framing by anyone; forms post
    to the portal and to ``form_targets`` (the Dropbox authorize page: browsers check a form's
    redirect against ``form-action`` too)."""
    origins = sorted({_origin(url) for url in form_targets if url and _origin(url)})
    return "; ".join(
        (
            "default-src 'none'",
            "style-src 'self'",
            "img-src 'self'",
            "form-action " + " ".join(["'self'", *origins]),
            "frame-ancestors 'none'",
            "base-uri 'none'",
        )
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def security_headers(csp: str) -> list[tuple[str, str]]:
    """The headers every page gets unless its route set its own (the payout report page keeps
    its stricter record CSP)."""
    return [
        ("Content-Security-Policy", csp),
        ("X-Frame-Options", "DENY"),  # frame-ancestors for browsers without CSP 2
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),  # link tokens and collector ids are in URLs
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"),
    ]


class SecurityHeaders:
    """ASGI middleware: ``security_headers`` on every HTTP answer; ``Cache-Control: no-store`` on
    all but the stylesheet (every other page is personal, payment data or carries a CSRF token);
    HSTS when the request came over HTTPS (directly, or from a trusted proxy)."""

    def __init__(self, app, headers: list[tuple[str, str]]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_secured(message) -> None:
            if message["type"] == "http.response.start":
                add_security_headers(
                    MutableHeaders(scope=message),
                    self.headers,
                    static=scope["path"].startswith("/static/"),
                    https=scope.get("scheme") == "https",
                )
            await send(message)

        await self.app(scope, receive, send_secured)


def add_security_headers(
    headers: MutableHeaders, defaults: list[tuple[str, str]], static: bool, https: bool
) -> None:
    for name, value in defaults:
        if name not in headers:
            headers[name] = value
    if not static:
        headers["Cache-Control"] = "no-store"
    if https:
        headers["Strict-Transport-Security"] = "max-age=31536000"


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes is answered 413 with a sentence,
    before any of it is parsed (Starlette reads a form whole into memory). A declared length
    is judged at once; a streamed body when it passes the limit: the app then sees the client
    gone, and whatever it answers is dropped."""

    def __init__(self, app, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.limit:
            await too_large(self.limit)(scope, receive, send)
            return
        seen = 0
        started = refused = False

        async def counted():
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                refused = True
                if not started:
                    await too_large(self.limit)(scope, receive, send)
                return {"type": "http.disconnect"}
            return message

        async def tracked(message) -> None:
            nonlocal started
            if refused:
                return  # the 413 was the answer
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted, tracked)


def too_large(limit: int) -> HTMLResponse:
    return HTMLResponse(
        "<!doctype html><title>Too long</title><h1>That was too long</h1><p>What you sent is "
        f"larger than any form of this portal takes ({limit // 1024} KB). Please go back and "
        "shorten it.</p>",
        status_code=413,
    )


def not_saved(request: Request, exc: NotSaved) -> Response:
    """503 for a write the warehouse did not keep: says nothing was saved, never "Saved"."""
    response = render(request, "message.html", 503, title="Not saved", message=(
        "We could not save that, so nothing changed. It was a problem on our side, not with "
        "what you entered. Please try again in a minute."
    ))  # fmt: skip
    response.headers["Retry-After"] = "60"
    return response


def invalid_input(request: Request, exc: RequestValidationError) -> Response:
    """400 naming the field and what is wrong with it (too long, a character not allowed, not
    a number), instead of FastAPI's JSON."""
    sentences = []
    for error in exc.errors():
        field = FIELD_NAMES.get(str(error["loc"][-1]), "value")
        kind, ctx = error.get("type", ""), error.get("ctx") or {}
        if kind == "string_too_long":
            sentence = f"The {field} is too long: at most {ctx.get('max_length')} characters."
        elif kind == "string_pattern_mismatch":
            sentence = (
                f"The {field} contains a character that is not allowed (a control character)."
            )
        else:
            sentence = f"The {field} is not valid."
        if sentence not in sentences:
            sentences.append(sentence)
    return render(
        request, "message.html", 400, title="Please check what you entered",
        message=" ".join(sentences) + " Nothing was changed; go back and try again.",
    )  # fmt: skip


def http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """Starlette's own refusals (no such page, method not allowed) as pages."""
    title, message = {
        404: ("Not found", "There is no such page."),
        405: ("Not allowed", "This page does not take that kind of request."),
    }.get(exc.status_code, ("Not possible", "This request cannot be answered."))
    response = render(request, "message.html", exc.status_code, title=title, message=message)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    return response


def install(app: FastAPI, trusted_proxies: list[str], form_targets: list[str]) -> None:
    """Everything above on ``app``; the outermost layer first takes the client address from
    ``X-Forwarded-For``/``-Proto`` only when the TCP peer is one of ``trusted_proxies``
    (uvicorn's ``ProxyHeadersMiddleware``; an empty list trusts nobody)."""
    headers = security_headers(content_security_policy(form_targets))

    def server_error(request: Request, exc: Exception) -> Response:
        """500 in words, with the same headers (Starlette answers it outside the middleware)."""
        route = getattr(request.scope.get("route"), "path", "?")
        frames = "".join(traceback.format_tb(exc.__traceback__))
        # The type and where, never the exception's text: it can quote what was submitted.
        log.error("unhandled %s in %s %s\n%s", type(exc).__name__, request.method, route, frames)
        response = render(request, "message.html", 500, title="Something went wrong", message=(
            "Something went wrong on our side, and nothing you entered caused it. Nothing was "
            "changed. Please try again in a minute."
        ))  # fmt: skip
        add_security_headers(
            response.headers, headers, static=False, https=request.url.scheme == "https"
        )
        return response

    app.add_exception_handler(NotSaved, not_saved)
    app.add_exception_handler(RequestValidationError, invalid_input)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, server_error)
    app.add_middleware(BodyLimit)
    app.add_middleware(SecurityHeaders, headers=headers)
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=trusted_proxies)
