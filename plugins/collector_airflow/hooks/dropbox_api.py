"""Dropbox (API v2) through the official ``dropbox`` SDK, one client per linked user.

(Not named ``dropbox.py``: Airflow imports every file under plugins/ as a top-level module
of its file name, which would shadow the SDK itself.)

Connection ``dropbox_default`` (type ``dropbox``, docs/connections.md): login = app key, password =
app secret, extras ``api_base_url`` (optional: a local emulator; production leaves it out),
``timeout_s``. The SDK has no host argument and hard-codes ``https://`` (docs/service-facts.md), so
for an emulator the client gets a ``requests.Session`` whose ``https://`` adapter sends every
call to ``api_base_url`` instead; the SDK's own code runs unchanged.

Refresh tokens are stored encrypted; the keys come from the ``collector_token_keys`` connection
(password: comma-separated Fernet keys, newest first) when it exists, else from the settings
the portal uses (``COLLECTOR_TOKEN_KEYS``). Tokens never reach a log line or an XCom.

Failures read as one sentence (service_errors.py): the client raises :class:`DropboxUnavailable`
when Dropbox cannot be reached or refuses the app's own key and secret at the token endpoint,
and :class:`DropboxServerError` for a 5xx, which is still the SDK's ``InternalServerError`` so
``collector.delivery.uploads`` keeps retrying and deferring it. A user's ``AuthError`` (revoked,
expired link) and route errors (``ApiError``) pass unchanged: delivery handles them per user.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import requests
from airflow.sdk import BaseHook
from requests.adapters import HTTPAdapter

from collector_airflow.hooks.service_errors import (
    ExternalServiceError,
    connection_test_crash,
    connection_test_failure,
    endpoint,
    transport_status,
)

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


DROPBOX_STATUS = "Dropbox's status page https://status.dropbox.com"


class DropboxUnavailable(ExternalServiceError):
    """Dropbox could not be reached, or refused the app's key and secret: one sentence."""

    def __init__(self, **fields: Any) -> None:
        super().__init__(service="Dropbox", **fields)


@cache
def _server_error_class():
    from dropbox.exceptions import InternalServerError  # noqa: PLC0415

    class DropboxServerError(DropboxUnavailable, InternalServerError):
        """Dropbox answered 5xx: the sentence, and still the SDK's ``InternalServerError``
        (``request_id``, ``status_code``, ``body``) for the callers that retry it."""

        def __init__(self, original: InternalServerError, **fields: Any) -> None:
            InternalServerError.__init__(
                self, original.request_id, original.status_code, original.body
            )
            DropboxUnavailable.__init__(self, **fields)

    return DropboxServerError


class _SentenceParts:
    """The parts of a failure's sentence that need no SDK: URL, secrets, fields, next step."""

    conn_id = "dropbox_default"
    api_base_url: str | None = None

    def _url(self, host: str, path: str) -> str:
        """The URL a call to ``host`` really goes to (the emulator's, when one is set)."""
        if self.api_base_url:
            return self.api_base_url.rstrip("/") + path
        return f"https://{host}{path}"

    def _secrets(self) -> list[str | None]:
        """The client's tokens and app secret, to be kept out of every sentence."""
        return [self._oauth2_refresh_token, self._oauth2_access_token, self._app_secret]

    def _fields(self, method: str, url: str, status: str, step: str) -> dict[str, Any]:
        """The keyword arguments of a :class:`DropboxUnavailable` for this call."""
        return {
            "conn_id": self.conn_id,
            "endpoint": endpoint(method, url),
            "status": status,
            "next_step": step,
            "secrets": self._secrets(),
        }

    def _reach_step(self) -> str:
        """The next step when Dropbox cannot be reached or answers 5xx."""
        where = "extra `api_base_url`, " if self.api_base_url else ""
        return (
            f"check {DROPBOX_STATUS} and the connection `{self.conn_id}` ({where}"
            "Admin → Connections); delivery resumes where it stopped, nothing is uploaded "
            "twice"
        )


@cache
def _client_class():
    """``dropbox.Dropbox`` whose failures read as sentences (built lazily: the SDK is imported
    only by tasks that use it)."""
    import dropbox  # noqa: PLC0415
    from dropbox.exceptions import BadInputError, InternalServerError  # noqa: PLC0415

    server_error = _server_error_class()

    class SentenceDropbox(_SentenceParts, dropbox.Dropbox):
        def refresh_access_token(self, host=None, scope=None):
            from dropbox.session import API_HOST  # noqa: PLC0415

            host = host or API_HOST
            url = self._url(host, "/oauth2/token")
            try:
                return super().refresh_access_token(host=host, scope=scope)
            except requests.RequestException as exc:
                raise DropboxUnavailable(
                    **self._fields("POST", url, transport_status(exc), self._reach_step())
                ) from exc
            except InternalServerError as exc:
                raise server_error(
                    exc,
                    **self._fields("POST", url, f"HTTP {exc.status_code}", self._reach_step()),
                ) from exc
            except BadInputError as exc:  # 400 invalid_client: the app's own key or secret
                raise DropboxUnavailable(
                    **self._fields(
                        "POST",
                        url,
                        "HTTP 400 (the app key or secret was refused)",
                        f"update the app key (login) and secret (password) of the connection "
                        f"`{self.conn_id}` in Admin → Connections from the Dropbox App Console, "
                        "then clear the task",
                    )
                ) from exc

        def request(self, route, namespace, request_arg, request_binary, *args, **kwargs):
            from dropbox.session import API_CONTENT_HOST, API_HOST  # noqa: PLC0415

            name = f"{namespace}/{route.name}" + (f"_v{route.version}" if route.version > 1 else "")
            host = API_CONTENT_HOST if route.attrs.get("host") == "content" else API_HOST
            url = self._url(host, f"/2/{name}")
            try:
                return super().request(
                    route, namespace, request_arg, request_binary, *args, **kwargs
                )
            except ExternalServiceError:
                raise  # the token refresh's own sentence
            except requests.RequestException as exc:
                raise DropboxUnavailable(
                    **self._fields("POST", url, transport_status(exc), self._reach_step())
                ) from exc
            except InternalServerError as exc:
                raise server_error(
                    exc,
                    **self._fields("POST", url, f"HTTP {exc.status_code}", self._reach_step()),
                ) from exc

    return SentenceDropbox


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

    def test_connection(self) -> tuple[bool, str]:
        """The Connections form's Test: Dropbox's app authentication check (``POST /2/check/app``
        with the app key and secret, which echoes a query). No user, no file, nothing changed."""
        url = "https://api.dropboxapi.com/2/check/app"
        secrets: list[str | None] = []
        try:
            conn = self._connection()
            secrets = [conn.password]
            extra = conn.extra_dejson or {}
            shown = f"{self.api_base_url.rstrip('/')}/2/check/app" if self.api_base_url else url
            try:
                answer = sdk_session(self.api_base_url).post(
                    url,
                    json={"query": "collector"},
                    auth=(conn.login or "", conn.password or ""),
                    timeout=min(float(extra.get("timeout_s") or 300), 30.0),
                )
            except requests.RequestException as exc:
                raise DropboxUnavailable(
                    conn_id=self.dropbox_conn_id,
                    endpoint=endpoint("POST", shown),
                    status=transport_status(exc),
                    next_step="check the API base URL and the network",
                    secrets=secrets,
                ) from exc
            if answer.status_code != 200 or answer.json().get("result") != "collector":
                refused = answer.status_code in (400, 401)
                raise DropboxUnavailable(
                    conn_id=self.dropbox_conn_id,
                    endpoint=endpoint("POST", shown),
                    status=f"HTTP {answer.status_code}"
                    + (" (the app key or secret was refused)" if refused else ""),
                    next_step="",
                    secrets=secrets,
                )
        except DropboxUnavailable as err:
            if "refused" in err.status:
                hint = "copy the app key and secret from the Dropbox App Console (Settings)"
            else:
                hint = f"check {DROPBOX_STATUS}, the API base URL and the network"
            return connection_test_failure(err, hint)
        except Exception as exc:
            return False, connection_test_crash("Dropbox", exc, secrets)
        return True, "Dropbox accepted the app key and secret (check/app); nothing was changed"

    def client_for(self, refresh_token: str):
        """A ``dropbox.Dropbox`` for one user; it refreshes its access token by itself. Its
        failures read as sentences (module docstring)."""
        conn = self._connection()
        extra = conn.extra_dejson or {}
        client_class = type(
            "DropboxClient",
            (_client_class(),),
            {"conn_id": self.dropbox_conn_id, "api_base_url": self.api_base_url},
        )
        return client_class(
            oauth2_refresh_token=refresh_token,
            app_key=conn.login,
            app_secret=conn.password,
            session=sdk_session(self.api_base_url),
            timeout=float(extra.get("timeout_s") or 300),
            max_retries_on_rate_limit=0,  # collector.delivery.uploads waits out 429s itself
            max_retries_on_error=0,
        )

    @staticmethod
    def token_vault():
        """The vault that opens stored refresh tokens (keys: see the module docstring)."""
        from airflow.sdk.exceptions import AirflowNotFoundException  # noqa: PLC0415

        from collector.core import settings  # noqa: PLC0415
        from collector.delivery.vault import TokenVault  # noqa: PLC0415

        try:
            keys = BaseHook.get_connection("collector_token_keys").password or ""
        except AirflowNotFoundException:  # no such connection: the settings' keys
            keys = ""
        return TokenVault(keys.split(",") if keys.strip() else settings.token_keys())
