"""The portal as one FastAPI app: ``create_app`` makes the shared state (templates, cookie
signer, warehouse pool, Dropbox app) and mounts one router per page group, plus ``/healthz``.
Server-rendered (Jinja2), no script needed; every form carries a CSRF token; sessions are signed
cookies naming a server-side session (so logout really ends it).

Authorization is by the session only: a collector's pages and profile are always their own,
whatever id a URL or form names; ops (a role) may read any collector's dashboard, never change
it, and no page shows a password or a whole payment identifier.

Every answer passes through ``security`` (client address from trusted proxies only, a bound on
request bodies, security headers, error pages in words); a route that writes commits before it
answers (``deps.commit``). Pages by module: ``login`` (``/``, log in and out, set password, reset), ``dashboard``,
``collectors`` (ops' list), ``payout_reports`` (ops), ``profile`` (payment details, digest),
``dropbox_link``, ``unsubscribe``; what they share is in ``deps``.
"""

from __future__ import annotations

from pathlib import Path

import psycopg2.pool
from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from itsdangerous import URLSafeSerializer

from collector.core import settings
from collector.core.db import ping
from portal import (
    collectors,
    dashboard,
    dropbox_link,
    login,
    payout_reports,
    profile,
    security,
    unsubscribe,
)
from portal.deps import PortalState, db

HERE = Path(__file__).parent


def create_app(
    database_url: str | None = None,
    secret: str | None = None,
    sheets_web_url: str | None = None,
) -> FastAPI:
    """The portal over the warehouse at ``database_url`` (default: ``settings``), cookies signed
    with ``secret`` (default: ``settings.portal_secret()``), dashboards linking to spreadsheets
    under ``sheets_web_url`` (default: ``settings.sheets_web_url()``)."""
    app = FastAPI(title="Collector portal", docs_url=None, redoc_url=None, openapi_url=None)
    secret_key = secret or settings.portal_secret()
    dropbox_app = settings.dropbox_app()
    app.state.portal = PortalState(
        templates=Jinja2Templates(directory=str(HERE / "templates")),
        signer=URLSafeSerializer(secret_key, salt="collector-portal"),
        secret_key=secret_key,
        pool=psycopg2.pool.ThreadedConnectionPool(
            1, 32, database_url or settings.database_url(), application_name="portal"
        ),
        sheets_base=sheets_web_url or settings.sheets_web_url(),
        dropbox_app=dropbox_app,
        dropbox_callback=f"{settings.portal_url()}/dropbox/callback",
        vault_keys=settings.token_keys(),
    )
    app.add_api_route("/healthz", healthz, methods=["GET"])
    for pages in (login, dashboard, collectors, payout_reports, profile, unsubscribe, dropbox_link):
        app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    security.install(
        app,
        trusted_proxies=settings.portal_trusted_proxies(),
        form_targets=[dropbox_app["authorize_url"]] if dropbox_app.get("app_key") else [],
    )
    return app


def healthz(conn=Depends(db)) -> dict:
    """``{"status": "ok"}`` once the warehouse answers a query."""
    ping(conn)
    return {"status": "ok"}
