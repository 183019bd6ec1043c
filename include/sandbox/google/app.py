"""The sandbox's HTTP app, with the Google emulator's routes, gate and error handler on it.

The other emulators (:mod:`sandbox.payments`, :mod:`sandbox.dropbox`, :mod:`sandbox.mail`) are
added to the app this returns.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from sandbox.google import admin, drive, oauth, spreadsheets, values, views
from sandbox.google.errors import ApiError, api_error
from sandbox.google.gate import gate
from sandbox.google.state import GoogleState


def create_app(state_dir: Path, base_url: str = "") -> FastAPI:
    app = FastAPI(title="Sandbox: Google Sheets v4 / Drive v3", docs_url=None, redoc_url=None)
    state = GoogleState.open(state_dir, base_url)
    app.state.google = state
    app.state.store, app.state.quota, app.state.stats = state.store, state.quota, state.stats
    app.middleware("http")(gate)
    app.add_exception_handler(ApiError, api_error)
    # Registration order is matching order: keep it as the routes were first written.
    for module in (oauth, drive, spreadsheets, values, admin, views):
        app.include_router(module.router)
    return app
