"""Every HTTP exchange the real client libraries make during a test, as they saw it.

``record_exchanges(monkeypatch)`` wraps ``requests``' transport (``HTTPAdapter.send``), which
gspread (through google-auth's ``AuthorizedSession``), google-auth's token request and
paypalrestsdk all go through, and returns the list it appends to: the request as sent and the
answer as received, bytes unchanged. The contract checks (:mod:`google_contract`,
:mod:`paypal_contract`) validate these exchanges, so what is checked is exactly what the
emulators answered to the real clients.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from requests.adapters import HTTPAdapter


@dataclass(frozen=True)
class Exchange:
    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes
    notes: tuple[str, ...] = field(default=())

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.url).query, keep_blank_values=True)

    def request_json(self):
        return json.loads(self.request_body) if self.request_body else None

    def response_json(self):
        return json.loads(self.response_body) if self.response_body else None

    def with_response(self, body: object, status: int | None = None) -> Exchange:
        """The same exchange with another answer (the validators' own tests mutate answers)."""
        return replace(
            self,
            response_body=json.dumps(body).encode(),
            status=self.status if status is None else status,
        )

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"


def record_exchanges(monkeypatch: pytest.MonkeyPatch) -> list[Exchange]:
    """Record every exchange made through ``requests`` until the test ends."""
    recorded: list[Exchange] = []
    send = HTTPAdapter.send

    def recording_send(self, request: requests.PreparedRequest, *args, **kwargs):
        response = send(self, request, *args, **kwargs)
        body = request.body or b""
        recorded.append(
            Exchange(
                method=request.method or "GET",
                url=request.url or "",
                request_headers=dict(request.headers),
                request_body=body.encode() if isinstance(body, str) else body,
                status=response.status_code,
                response_headers=dict(response.headers),
                response_body=response.content,  # read now; the client reads the cached copy
            )
        )
        return response

    monkeypatch.setattr(HTTPAdapter, "send", recording_send)
    return recorded
