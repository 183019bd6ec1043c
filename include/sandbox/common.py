"""Pieces every emulator here shares: state files, timestamps, routing, the read-only pages."""

from __future__ import annotations

import html
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from starlette.types import ASGIApp, Receive, Scope, Send


def write_json(path: Path, data: Any) -> None:
    """Replace a state file atomically, so a crash never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, separators=(",", ":")))
    tmp.replace(path)


def iso(epoch: float) -> str:
    """A UTC moment as the payment and Dropbox APIs write it: ``2026-11-26T12:00:00Z``."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PathDispatch:
    """Sends the paths ``owns`` claims to ``inner`` before the other emulators' middleware sees
    them (the Google app's gate claims every ``/v4/`` path, for instance)."""

    def __init__(self, app: ASGIApp, inner: ASGIApp, owns: Callable[[str], bool]):
        self.app, self.inner, self.owns = app, inner, owns

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.owns(scope["path"]):
            await self.inner(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def page(title: str, body: str, status: int = 200, *, footer: str) -> HTMLResponse:
    """A page of an emulator's own (read-only views, the Dropbox authorize page)."""
    return HTMLResponse(
        f"""<!doctype html><html><head><meta charset="utf-8">
<title>{html.escape(title)}</title><style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; }}
table {{ border-collapse: collapse; font-size: 13px; }}
td, th {{ border: 1px solid #ccc; padding: 3px 6px; vertical-align: top; }}
th {{ background: #f1f3f4; }} .error {{ color: #b00020; }}
</style></head><body><h1>{html.escape(title)}</h1>{body}
<p><small>{html.escape(footer)}</small></p></body></html>""",
        status_code=status,
    )
