"""A local SMTP server (aiosmtpd) that keeps every message on disk, and an inbox page.

Started by ``python -m sandbox serve --smtp-port 8025`` next to the HTTP emulators; Airflow's
SMTP provider talks to it with ``disable_ssl`` and ``disable_tls`` (docs/airflow-facts.md). Each
accepted message is written as ``<n>.eml`` under ``state_dir/mail``; ``/inbox/`` lists them,
``/inbox/<n>`` shows one (its HTML part as the recipient's mail client would), and
``/_sandbox/mail/...`` serves tests: the messages as JSON, a reset, a fault switch that
answers the next messages with a temporary failure (451), as a busy relay does, and a switch
that turns SMTPUTF8 (RFC 6531) off for new sessions, as a relay without it is.

Internationalized mail is held to RFC 6531/6532 as strictly as a real server: SMTPUTF8 is
offered (EHLO) unless switched off; a non-ASCII envelope address in a transaction that did not
declare ``SMTPUTF8`` on ``MAIL FROM`` is refused with ``553 5.6.7`` (Postfix's answer; aiosmtpd
alone would accept it), and so is a message whose header section holds non-ASCII bytes
(``554 5.6.7``). With SMTPUTF8 off, aiosmtpd reads commands and data as strict ASCII: any
non-ASCII byte is answered ``500`` and ``MAIL FROM ... SMTPUTF8`` with ``501``.

AUTH (PLAIN, LOGIN) is offered without TLS and not required, as a relay that lets a local
network send unauthenticated: a session that logs in must use :data:`SMTP_LOGIN` and
:data:`SMTP_PASSWORD` (``python -m sandbox connections`` puts them in ``smtp_default``), any
other pair is refused ``535 5.7.8``, so a wrong login can be tested (``collector doctor``).

Assumptions: the exact wording of those refusals differs between servers; the codes follow
RFC 6531 (X.6.7, "Non-ASCII addresses not permitted for that sender/recipient"), and our code reacts to
the class of the answer (refused), not to its text.
"""

from __future__ import annotations

import email
import email.policy
import html
import json
import threading
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse

SMTP_LOGIN = "collector@visym.com"
SMTP_PASSWORD = "sandbox-smtp-password"  # a sandbox value, not a secret of any real account


class MailStore:
    """Messages on disk, numbered in arrival order; thread-safe (SMTP runs in its own thread)."""

    def __init__(self, state_dir: Path) -> None:
        self.folder = state_dir / "mail"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self.failures_left = 0
        self.connections = 0
        self.smtputf8 = True  # offered to new sessions (switch: /_sandbox/mail/smtputf8)
        self.last = max(self._numbers(), default=0)

    def _numbers(self) -> list[int]:
        return sorted(int(p.stem) for p in self.folder.glob("*.eml"))

    def add(self, raw: bytes) -> int:
        with self.lock:
            self.last += 1
            (self.folder / f"{self.last}.eml").write_bytes(raw)
            return self.last

    def message(self, number: int) -> dict:
        path = self.folder / f"{number}.eml"
        if not path.exists():
            raise KeyError(number)
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        parts = {"text/plain": "", "text/html": ""}
        for part in parsed.walk():
            if part.get_content_type() in parts and not part.is_multipart():
                parts[part.get_content_type()] = part.get_content()
        return {
            "id": number,
            "from": parsed["From"],
            "to": parsed["To"],
            "subject": parsed["Subject"],
            "date": parsed["Date"],
            "headers": {k: str(v) for k, v in parsed.items()},
            "text": parts["text/plain"],
            "html": parts["text/html"],
        }

    def all(self) -> list[dict]:
        return [self.message(n) for n in self._numbers()]

    def reset(self) -> None:
        with self.lock:
            for path in self.folder.glob("*.eml"):
                path.unlink()
            self.last = 0
            self.failures_left = 0
            self.connections = 0
            self.smtputf8 = True


_NOT_DECLARED = "553 5.6.7 Must declare SMTPUTF8 to send unicode address (RFC 6531)"


class _Handler:
    def __init__(self, store: MailStore) -> None:
        self.store = store

    async def handle_MAIL(self, server, session, envelope, address, options) -> str:
        if not address.isascii() and not envelope.smtp_utf8:
            return _NOT_DECLARED
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options) -> str:
        if not address.isascii() and not envelope.smtp_utf8:
            return _NOT_DECLARED
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd calls it so
        raw = envelope.original_content or envelope.content
        header = raw.split(b"\r\n\r\n", 1)[0] if isinstance(raw, bytes) else b""
        if not envelope.smtp_utf8 and not header.isascii():
            return "554 5.6.7 Non-ASCII header without SMTPUTF8 (RFC 6532)"
        with self.store.lock:
            if self.store.failures_left > 0:
                self.store.failures_left -= 1
                return "451 4.3.0 Temporary local problem, try again later (injected fault)"
        self.store.add(raw)
        return "250 2.0.0 OK: queued"


class _CountingSMTP:
    """aiosmtpd factory that counts connections (a benchmark compares reuse with one each)."""

    def __init__(self, store: MailStore, handler: _Handler) -> None:
        self.store, self.handler = store, handler

    def __call__(self):
        from aiosmtpd.smtp import SMTP  # noqa: PLC0415

        with self.store.lock:
            self.store.connections += 1
        return SMTP(
            self.handler,
            enable_SMTPUTF8=self.store.smtputf8,
            data_size_limit=10 << 20,
            authenticator=_authenticate,
            auth_require_tls=False,  # a local test server: no certificate to offer
        )


def _authenticate(server, session, envelope, mechanism, auth_data):
    """aiosmtpd authenticator: the sandbox's one mail account (PLAIN and LOGIN)."""
    from aiosmtpd.smtp import AuthResult, LoginPassword  # noqa: PLC0415

    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        SMTP_LOGIN.encode(),
        SMTP_PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


def start_smtp(store: MailStore, host: str, port: int):
    """Run the SMTP server in its own thread; returns the aiosmtpd Controller (``.stop()``)."""
    from aiosmtpd.controller import Controller  # noqa: PLC0415

    handler = _Handler(store)

    class Counting(Controller):
        def factory(self):
            return _CountingSMTP(store, handler)()

    controller = Counting(handler, hostname=host, port=port)
    controller.start()
    return controller


def mail_store(request: Request) -> MailStore:
    return request.app.state.mail


MailDep = Annotated[MailStore, Depends(mail_store)]

# The inbox page and the test switches (the routes get the MailStore through MailDep).
router = APIRouter()


@router.get("/inbox/", response_class=HTMLResponse)
async def inbox(store: MailDep) -> str:
    rows = "".join(
        f"<tr><td>{m['id']}</td><td>{html.escape(m['to'] or '')}</td>"
        f'<td><a href="/inbox/{m["id"]}">{html.escape(m["subject"] or "")}</a></td>'
        f"<td>{html.escape(m['date'] or '')}</td></tr>"
        for m in reversed(store.all())
    )
    return (
        "<!doctype html><meta charset=utf-8><title>Sandbox inbox</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:1.5rem}td,th{border:1px solid "
        "#ccc;padding:3px 8px}table{border-collapse:collapse}</style>"
        "<h1>Sandbox inbox</h1><p>Every message sent to the local SMTP server.</p>"
        f"<table><tr><th>#</th><th>To</th><th>Subject</th><th>Date</th></tr>{rows}</table>"
    )


@router.get("/inbox/{number}", response_class=HTMLResponse)
async def one(number: int, store: MailDep) -> str:
    try:
        message = store.message(number)
    except KeyError:
        raise HTTPException(404, "no such message") from None
    headers = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
        for k, v in message["headers"].items()
        if k in ("From", "To", "Subject", "Date", "List-Unsubscribe")
    )
    body = message["html"] or f"<pre>{html.escape(message['text'])}</pre>"
    return (
        "<!doctype html><meta charset=utf-8><title>"
        f"{html.escape(message['subject'] or '')}</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:1.5rem}th{text-align:left;"
        "padding-right:1rem}.mail{border:1px solid #ccc;padding:1rem;margin-top:1rem}</style>"
        f'<p><a href="/inbox/">Inbox</a></p><table>{headers}</table>'
        f'<div class="mail">{body}</div>'
        f"<details><summary>Plain-text part</summary><pre>"
        f"{html.escape(message['text'])}</pre></details>"
    )


@router.get("/_sandbox/mail/messages")
async def messages(store: MailDep, summary: bool = False) -> dict:
    if summary:  # counts only (benchmarks send tens of thousands)
        return {"count": len(store._numbers()), "connections": store.connections}
    return {"messages": store.all(), "connections": store.connections}


@router.post("/_sandbox/mail/reset")
async def reset(store: MailDep) -> dict:
    store.reset()
    return {"messages": 0}


@router.post("/_sandbox/mail/faults")
async def faults(request: Request, store: MailDep) -> dict:
    body = json.loads(await request.body() or b"{}")
    with store.lock:
        store.failures_left = int(body.get("count", 1))
    return {"failures_left": store.failures_left}


@router.post("/_sandbox/mail/smtputf8")
async def smtputf8(request: Request, store: MailDep) -> dict:
    """``{"enabled": false}``: sessions opened from now on are not offered SMTPUTF8 (until
    ``{"enabled": true}`` or a reset)."""
    body = json.loads(await request.body() or b"{}")
    enabled = body.get("enabled")
    if not isinstance(enabled, bool):
        raise HTTPException(422, 'expected {"enabled": true} or {"enabled": false}')
    with store.lock:
        store.smtputf8 = enabled
    return {"smtputf8": store.smtputf8}


def register_inbox(app: FastAPI, store: MailStore) -> None:
    """The inbox page and the test switches, on the sandbox's HTTP app."""
    app.state.mail = store
    app.include_router(router)
