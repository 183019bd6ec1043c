"""Dropbox (API v2) through the official ``dropbox`` SDK, one client per linked user.

(Not named ``dropbox.py``: Airflow imports every file under plugins/ as a top-level module
of its file name, which would shadow the SDK itself.)

Connection ``dropbox_default`` (type ``dropbox``, design.md §6): login = app key, password =
app secret, extras ``api_base_url`` (optional: a local emulator; production leaves it out),
``timeout_s``. The SDK has no host argument and hard-codes ``https://`` (dropbox-notes.md), so
for an emulator the client gets a ``requests.Session`` whose ``https://`` adapter sends every
call to ``api_base_url`` instead; the SDK's own code runs unchanged.

Refresh tokens are stored encrypted; the keys come from the ``collector_token_keys`` connection
(password: comma-separated Fernet keys, newest first) when it exists, else from the settings
the portal uses (``COLLECTOR_TOKEN_KEYS``). Tokens never reach a log line or an XCom.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import requests
from airflow.sdk import BaseHook
from requests.adapters import HTTPAdapter

log = logging.getLogger(__name__)
# The SDK logs request details at DEBUG; keep tokens out of task logs.
logging.getLogger("dropbox").setLevel(logging.INFO)


class _RedirectAdapter(HTTPAdapter):
    """Sends ``https://<any Dropbox host>/<path>`` to ``<base>/<path>`` (an emulator)."""

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def send(self, request, **kwargs):
        parts = urlsplit(request.url)
        request.url = self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        return super().send(request, **kwargs)


def sdk_session(api_base_url: str | None) -> requests.Session:
    """The session the SDK uses: plain for Dropbox itself, redirected for an emulator."""
    session = requests.Session()
    if api_base_url:
        session.mount("https://", _RedirectAdapter(api_base_url, pool_maxsize=16))
    return session


class DropboxHook(BaseHook):
    """Dropbox clients for linked users, from the app's Airflow connection."""

    conn_name_attr = "dropbox_conn_id"
    default_conn_name = "dropbox_default"
    conn_type = "dropbox"
    hook_name = "Dropbox"

    def __init__(self, dropbox_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dropbox_conn_id = dropbox_conn_id
        self._conn = None

    def _connection(self):
        if self._conn is None:
            self._conn = self.get_connection(self.dropbox_conn_id)
        return self._conn

    @property
    def api_base_url(self) -> str | None:
        return (self._connection().extra_dejson or {}).get("api_base_url") or None

    def client_for(self, refresh_token: str):
        """A ``dropbox.Dropbox`` for one user; it refreshes its access token by itself."""
        import dropbox  # noqa: PLC0415

        conn = self._connection()
        extra = conn.extra_dejson or {}
        return dropbox.Dropbox(
            oauth2_refresh_token=refresh_token,
            app_key=conn.login,
            app_secret=conn.password,
            session=sdk_session(self.api_base_url),
            timeout=float(extra.get("timeout_s", 300)),
            max_retries_on_rate_limit=0,  # collector.dropbox_delivery waits out 429s itself
            max_retries_on_error=0,
        )

    @staticmethod
    def token_vault():
        """The vault that opens stored refresh tokens (keys: see the module docstring)."""
        from airflow.sdk.exceptions import AirflowNotFoundException  # noqa: PLC0415

        from collector import settings  # noqa: PLC0415
        from collector.vault import TokenVault  # noqa: PLC0415

        try:
            keys = BaseHook.get_connection("collector_token_keys").password or ""
        except AirflowNotFoundException:  # no such connection: the settings' keys
            keys = ""
        return TokenVault(keys.split(",") if keys.strip() else settings.token_keys())
