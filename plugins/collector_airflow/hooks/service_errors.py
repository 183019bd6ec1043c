"""One sentence for an outside service that failed: which connection, which call, what it
answered, and what to do next.

Hooks raise :class:`ExternalServiceError` (or a subclass that also keeps the type their callers
catch, e.g. gspread's ``APIError``) ``from`` the original exception, only at their boundary and
only after their own retries: the traceback keeps the original above it, and the last line of
the task log (the exception's message) is the sentence. ``OpsFailureNotifier`` puts the same
sentence at the top of the ops email.

A sentence never carries a secret: URLs lose their user info, query and fragment, messages are
collapsed to one line, and every secret the hook knows (client secret, token, password) is
replaced by ``***`` before the exception exists.

(Not named ``errors.py``: Airflow imports each plugins file as a top-level module of its name.)
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

CONNECTIONS_PAGE = "Admin → Connections"


def safe_url(url: str) -> str:
    """``url`` without user info, query or fragment (tokens and keys live there)."""
    parts = urlsplit(str(url))
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def endpoint(method: str, url: str) -> str:
    """``"GET https://host/path"``: the call as ops would search for it, without secrets."""
    return f"{str(method).upper()} {safe_url(url)}"


def one_line(text: Any, limit: int = 300) -> str:
    """``text`` on one line (whitespace collapsed), at most ``limit`` characters."""
    flat = re.sub(r"\s+", " ", str(text)).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every non-trivial secret replaced by ``***``."""
    for secret in secrets:
        if secret and len(str(secret)) >= 4:
            text = text.replace(str(secret), "***")
    return text


def transport_status(error: BaseException) -> str:
    """What a transport failure was, in words: ``connection refused``, ``timed out`` (read or
    connect), ``name not resolved``, else the exception's class name."""
    seen: set[int] = set()
    current: BaseException | None = error
    names: list[str] = []
    while current is not None and id(current) not in seen:  # walk causes: urllib3 wraps them
        seen.add(id(current))
        names.append(type(current).__name__)
        if isinstance(current, ConnectionRefusedError):
            return "connection refused"
        if isinstance(current, socket.gaierror):
            return "host name not resolved"
        text = str(current)
        if "Connection refused" in text or "[Errno 111]" in text:
            return "connection refused"
        if "Name or service not known" in text or "nodename nor servname" in text:
            return "host name not resolved"
        current = current.__cause__ or current.__context__ or _first_arg_exception(current)
    if isinstance(error, requests.ConnectTimeout):
        return "connect timed out (ConnectTimeout)"
    if isinstance(error, requests.Timeout | socket.timeout | TimeoutError):
        return f"timed out ({type(error).__name__})"
    if isinstance(error, requests.ConnectionError):
        return f"connection failed ({type(error).__name__})"
    return f"failed ({names[0]})"


def _first_arg_exception(error: BaseException) -> BaseException | None:
    for arg in getattr(error, "args", ()):
        if isinstance(arg, BaseException):
            return arg
        reason = getattr(arg, "reason", None)  # urllib3 MaxRetryError(pool, url, reason)
        if isinstance(reason, BaseException):
            return reason
    reason = getattr(error, "reason", None)
    return reason if isinstance(reason, BaseException) else None


def is_transport(error: BaseException) -> bool:
    """The call never got an HTTP answer (refused, timed out, reset, unresolved)."""
    return isinstance(error, requests.ConnectionError | requests.Timeout | OSError)


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 3600 == 0 and seconds >= 3600:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def retry_hint() -> str:
    """What Airflow does next with the running task: ``"Airflow retries the task in 2 min
    (this was try 1 of 3)"`` or ``"this was the task's last try: clear it once fixed"``;
    empty outside a task (a CLI, a test)."""
    try:
        from airflow.sdk import get_current_context  # noqa: PLC0415

        context = get_current_context()
        ti = context["ti"]
        try_number, max_tries = int(ti.try_number), int(ti.max_tries)
    except Exception:  # no running task: nothing to say
        return ""
    if try_number <= max_tries:
        delay = getattr(getattr(ti, "task", None), "retry_delay", None)
        when = f" in {_duration(delay)}" if isinstance(delay, timedelta) else ""
        return f"Airflow retries the task{when} (this was try {try_number} of {max_tries + 1})"
    return "this was the task's last try: clear it in the Airflow UI once fixed"


class ExternalServiceError(Exception):
    """An outside API failed after the hook's own retries; ``str()`` is one sentence.

    Fields: ``service`` ("Google Sheets"), ``conn_id`` (the Airflow connection),
    ``endpoint`` ("GET https://host/path", no query), ``status`` ("HTTP 503", "connection
    refused", "timed out (ReadTimeout)"), ``next_step`` (what a person does now). The task's
    retry plan is appended when raised inside a task. Raise it ``from`` the original error.
    """

    def __init__(
        self,
        *,
        service: str,
        conn_id: str,
        endpoint: str,
        status: str,
        next_step: str,
        secrets: Iterable[str | None] = (),
    ) -> None:
        secrets = list(secrets)
        self.service = service
        self.conn_id = conn_id
        self.endpoint = one_line(scrub(endpoint, secrets), 200)
        self.status = one_line(scrub(status, secrets), 300)
        self.next_step = one_line(scrub(next_step, secrets), 400)
        self.retry = retry_hint()
        Exception.__init__(self, self.sentence())

    def sentence(self) -> str:
        """The one line the task log ends with and the ops email starts with."""
        retry = f"; {self.retry}" if self.retry else ""
        return (
            f"{self.service} call {self.endpoint} (connection `{self.conn_id}`) failed: "
            f"{self.status}. Next step: {self.next_step}{retry}."
        )

    def __str__(self) -> str:
        return self.sentence()

    def __reduce__(self):  # picklable whatever the other bases' __init__ wants
        return (_rebuild, (type(self), self.__dict__))


def _rebuild(cls: type, state: dict) -> ExternalServiceError:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, error.sentence())
    return error


def find_service_error(error: BaseException | None) -> ExternalServiceError | None:
    """The first :class:`ExternalServiceError` in ``error`` or its causes (a caller may have
    wrapped it again)."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, ExternalServiceError):
            return error
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def check_connection(conn_id: str, what: str = "") -> str:
    """``"check the connection `X` (Admin → Connections)"`` + an optional detail."""
    detail = f": {what}" if what else ""
    return f"check the connection `{conn_id}` ({CONNECTIONS_PAGE}){detail}"


def connection_test_failure(error: ExternalServiceError, hint: str) -> tuple[bool, str]:
    """The answer of a connection's Test button when the call failed: the call, what came back
    and what to fix, no secret. No connection id: the form tests a transient copy of it."""
    return False, f"{error.service} call {error.endpoint} failed: {error.status}. {hint}"


def connection_test_crash(service: str, exc: BaseException, secrets: Iterable[str | None]) -> str:
    """One line for an unexpected error during a Test (a malformed field), secrets masked."""
    return one_line(scrub(f"{service}: {type(exc).__name__}: {exc}", list(secrets)), 300)
