"""Where things live, read from the environment so every process (CLI, tasks, tests) agrees.

Defaults are for a developer's machine: everything under ``.local/`` of the working directory.
Production sets the ``COLLECTOR_*`` variables (or Airflow connections) instead.
"""

from __future__ import annotations

import ipaddress
import os
from datetime import timedelta
from pathlib import Path

from collector.core.cells import parse_money_cents


class ConfigurationError(RuntimeError):
    """A setting is missing or malformed; the message says which and how to fix it."""


def state_dir() -> Path:
    """Local state (embedded warehouse, demo landing area, Airflow home) for development."""
    return Path(os.environ.get("COLLECTOR_STATE_DIR", Path.cwd() / ".local")).resolve()


def warehouse_url_file() -> Path:
    return state_dir() / "warehouse.url"


def database_url() -> str:
    """The warehouse's libpq URL: ``COLLECTOR_DB_URL``, else the embedded server's."""
    url = os.environ.get("COLLECTOR_DB_URL", "").strip()
    if url:
        return url
    recorded = warehouse_url_file()
    if recorded.exists():
        return recorded.read_text().strip()
    raise ConfigurationError(
        "No warehouse configured: set COLLECTOR_DB_URL=postgresql://user:pass@host:port/db "
        f"or start the embedded one with `collector db start` (it records its URL in {recorded})."
    )


def landing_url() -> str:
    """Landing area of uploads (a folder, or s3:// / gs:// when run under Airflow)."""
    return os.environ.get("COLLECTOR_LANDING_URL") or str(state_dir() / "landing")


def quarantine_url() -> str:
    """Where rejected files are copied, each with a note saying why."""
    return os.environ.get("COLLECTOR_QUARANTINE_URL") or str(state_dir() / "quarantine")


def quicklook_url() -> str:
    """Where quicklook montages and the daily contact sheets are written."""
    return os.environ.get("COLLECTOR_QUICKLOOK_URL") or str(state_dir() / "quicklooks")


def releases_url() -> str:
    """Where public dataset releases are written (a folder, or a bucket URL under Airflow)."""
    return os.environ.get("COLLECTOR_RELEASES_URL") or str(state_dir() / "releases")


def catalog_url() -> str:
    """Where the app's catalog of enabled collections is published."""
    return os.environ.get("COLLECTOR_CATALOG_URL") or str(
        state_dir() / "catalog" / "collections.json"
    )


def master_sheet_id() -> str:
    """The Collections master sheet (owned by ops, not created by the pipelines)."""
    value = os.environ.get("COLLECTOR_MASTER_SHEET_ID", "").strip()
    if not value:
        raise ConfigurationError(
            "No Collections master sheet: set COLLECTOR_MASTER_SHEET_ID (the id in the sheet's "
            "URL) or pass spreadsheet_id when triggering collection_updates"
        )
    return value


def max_pay_per_video_cents() -> int:
    """The money sanity bound of a collection version, in integer cents (issue 19): the most one
    video may earn (pay per video plus the perfect bonus). ``COLLECTOR_MAX_PAY_PER_VIDEO_USD``,
    dollars like ``50`` or ``50.00`` (default 50); a master-sheet row above it is reported by
    cell and its collection keeps its current version. Raises :class:`ConfigurationError` for
    anything but a positive amount with at most 2 decimals.
    """
    raw = os.environ.get("COLLECTOR_MAX_PAY_PER_VIDEO_USD", "").strip() or "50"
    try:
        cents = parse_money_cents(raw)
    except ValueError as exc:
        cents, why = 0, str(exc)
    else:
        why = "it must be more than 0"
    if cents <= 0:
        raise ConfigurationError(
            f"COLLECTOR_MAX_PAY_PER_VIDEO_USD must be dollars like 50.00, got {raw!r}: {why}"
        )
    return cents


def review_sheet_writers() -> list[str]:
    """Who gets write access to the review queue sheet when the pipeline creates it."""
    raw = os.environ.get("COLLECTOR_REVIEW_SHEET_WRITERS", "")
    return [e.strip() for e in raw.split(",") if e.strip()]


def quicklook_public_url() -> str | None:
    """Base URL under which reviewers' browsers reach the quicklook folder (for =IMAGE)."""
    return os.environ.get("COLLECTOR_QUICKLOOK_PUBLIC_URL") or None


def dashboard_html_url() -> str:
    """Where each collector's static HTML dashboard is written."""
    return os.environ.get("COLLECTOR_DASHBOARD_HTML_URL") or str(state_dir() / "dashboards")


def payout_reports_url() -> str:
    """Where the weekly payout's finance reports (CSV + HTML) are written."""
    return os.environ.get("COLLECTOR_PAYOUT_REPORTS_URL") or str(state_dir() / "payout_reports")


def portal_url() -> str:
    """Where collectors reach the portal (links in emails and CLI output)."""
    return (os.environ.get("COLLECTOR_PORTAL_URL") or "http://127.0.0.1:8790").rstrip("/")


def portal_secret() -> str:
    """Key that signs portal cookies: COLLECTOR_PORTAL_SECRET, else one made once for this
    machine under the state dir (fine for one portal process; set it when there are several)."""
    if os.environ.get("COLLECTOR_PORTAL_SECRET"):
        return os.environ["COLLECTOR_PORTAL_SECRET"]
    path = state_dir() / "portal-secret"
    if not path.exists():
        import secrets  # noqa: PLC0415

        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


def portal_trusted_proxies() -> list[str]:
    """The proxies whose ``X-Forwarded-For`` / ``X-Forwarded-Proto`` the portal believes:
    ``COLLECTOR_PORTAL_TRUSTED_PROXIES``, comma-separated addresses or networks
    (``10.0.0.5, 10.1.0.0/16``). Default: none, the TCP peer is the client (login throttling
    counts per client address, so a forged header must not choose it). Raises
    :class:`ConfigurationError` for anything but addresses and networks (``*`` included:
    trusting everyone is what the setting exists to avoid)."""
    raw = os.environ.get("COLLECTOR_PORTAL_TRUSTED_PROXIES", "")
    proxies = [p.strip() for p in raw.split(",") if p.strip()]
    for proxy in proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise ConfigurationError(
                "COLLECTOR_PORTAL_TRUSTED_PROXIES must list the proxies' addresses or networks "
                f"(like 10.0.0.5,10.1.0.0/16), got {proxy!r}"
            ) from None
    return proxies


def token_keys() -> list[str]:
    """Keys that encrypt stored tokens, newest first (collector.delivery.vault): COLLECTOR_TOKEN_KEYS,
    comma-separated, else one key made once for this machine under the state dir."""
    configured = os.environ.get("COLLECTOR_TOKEN_KEYS", "").strip()
    if configured:
        return [k.strip() for k in configured.split(",") if k.strip()]
    path = state_dir() / "token-key"
    if not path.exists():
        from cryptography.fernet import Fernet  # noqa: PLC0415

        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(Fernet.generate_key().decode())
    return [path.read_text().strip()]


def dropbox_app() -> dict[str, str]:
    """The portal's Dropbox app: key, secret, where users authorize and where tokens are made.

    ``COLLECTOR_DROPBOX_APP_KEY`` / ``_APP_SECRET``; ``COLLECTOR_DROPBOX_API_URL`` is the API
    host (https://api.dropboxapi.com, the sandbox in the demo) and
    ``COLLECTOR_DROPBOX_AUTHORIZE_URL`` the page users allow the link on.
    """
    api = os.environ.get("COLLECTOR_DROPBOX_API_URL", "https://api.dropboxapi.com").rstrip("/")
    return {
        "app_key": os.environ.get("COLLECTOR_DROPBOX_APP_KEY", ""),
        "app_secret": os.environ.get("COLLECTOR_DROPBOX_APP_SECRET", ""),
        "api_url": api,
        "authorize_url": os.environ.get(
            "COLLECTOR_DROPBOX_AUTHORIZE_URL", "https://www.dropbox.com/oauth2/authorize"
        ),
    }


def sheets_web_url() -> str:
    """Base of a spreadsheet's web address: Google's, or the sandbox's /sheets/ in the demo."""
    return os.environ.get("COLLECTOR_SHEETS_WEB_URL") or "https://docs.google.com/spreadsheets/d/"


def mp4_wait() -> timedelta:
    """How long an annotation JSON may wait for its MP4 before it is quarantined."""
    raw = os.environ.get("COLLECTOR_MP4_WAIT_MINUTES", "1440")
    try:
        minutes = float(raw)
    except ValueError as exc:
        raise ConfigurationError(
            f"COLLECTOR_MP4_WAIT_MINUTES must be a number of minutes, got {raw!r}"
        ) from exc
    return timedelta(minutes=minutes)


def sql_dir() -> Path:
    """The numbered migrations (``sql/`` at the project root); a stage's own queries are
    packaged beside it (``collector.core.db.packaged_sql``)."""
    configured = os.environ.get("COLLECTOR_SQL_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "sql"
