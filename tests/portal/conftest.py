"""The portal as collectors reach it: its own uvicorn process (``python -m portal serve``) over
this test's warehouse, for the tests that need real HTTP (races with the next request, client
addresses, headers as sent)."""

from __future__ import annotations

import contextlib

import pytest
from portal_client import running_portal


@pytest.fixture
def serve(warehouse_url, tmp_path):
    """``serve(**env)``: the portal's base URL, started with those extra settings (stopped
    when the test ends); call it again for another portal with other settings."""
    with contextlib.ExitStack() as stack:
        logs = iter(range(100))

        def start(**env: str) -> str:
            log = tmp_path / f"portal-{next(logs)}.log"
            return stack.enter_context(running_portal(warehouse_url, log, **env))

        yield start


@pytest.fixture
def live_portal(serve) -> str:
    """The portal with default settings (no trusted proxy)."""
    return serve()
