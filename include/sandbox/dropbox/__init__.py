"""Dropbox API v2, the subset the collector delivery uses, on the sandbox's port.

One registered app ("Collector Delivery", app-folder access), whose key and secret are made once
and kept in the state dir (:func:`load_dropbox_app`). Any number of "Dropbox users" link it
through the OAuth 2 code flow (PKCE or client secret; ``token_access_type=offline`` for a refresh
token) on ``/oauth2/authorize``, an HTML page where the user types an email and clicks Allow. Each
account sees only its app folder; paths are case-insensitive (``path_lower``).

Public contracts followed (the SDK's side is in docs/service-facts.md; the module's tests are
tests/integration/test_dropbox_sandbox.py):

- HTTP API v2 reference: https://www.dropbox.com/developers/documentation/http/documentation
- OAuth guide: https://developers.dropbox.com/oauth-guide
- Content hash: https://www.dropbox.com/developers/reference/content-hash

Contract points kept:

- ``/oauth2/token``: ``authorization_code`` → ``access_token``, ``token_type: bearer``,
  ``expires_in`` (14,400 s), ``refresh_token`` (offline only), ``scope``, ``uid``,
  ``account_id``; ``refresh_token`` → ``access_token``, ``token_type``, ``expires_in``. Errors are
  400 ``{"error": "invalid_grant", "error_description": ...}`` ("code doesn't exist or has
  expired", "refresh token is invalid or revoked").
- API calls: ``Authorization: Bearer``; 401 ``{"error_summary", "error": {".tag":
  "expired_access_token" | "invalid_access_token"}}``; route errors are 409 ``{"error_summary",
  "error"}``; 429 carries ``Retry-After`` and ``{"error": {"reason": {".tag":
  "too_many_requests"}, "retry_after": S}}``; bad input is 400 plain text. Successes are
  ``Content-Type: application/json`` (the SDK checks the exact value) with
  ``X-Dropbox-Request-Id``.
- ``files/upload`` (≤ 150 MiB, else 409 ``payload_too_large``), ``upload_session/start``,
  ``append_v2``, ``finish`` (``incorrect_offset`` with ``correct_offset``), ``content_hash``
  checked for the data of each call (``content_hash_mismatch``), write modes add / overwrite /
  update with autorename and strict_conflict; a file with identical content at the target path is
  "no conflict, nothing written" (the existing metadata comes back, same rev).
- ``files/get_metadata``, ``files/list_folder`` (+ ``/continue``), ``users/get_current_account``,
  ``auth/token/revoke``; ``check/app`` (app key and secret only, for the connection's Test).

``/_sandbox/dropbox/...`` holds the admin switches (faults such as 429 storms, token expiry and
revocation per account, counters and a request log, reset); ``/dropbox/`` is a read-only view.

Assumptions where no public source settles the answer:

- A request without ``Authorization`` is 400 plain text (as other bad input); an unknown
  ``/2/`` route is 400 plain text.
- Token endpoint client errors are 400 ``invalid_client`` / ``invalid_request`` /
  ``unsupported_grant_type``; a wrong PKCE verifier or a redirect_uri differing from the
  authorize request is ``invalid_grant``. A code is burnt by its first exchange attempt.
- ``redirect_uri`` may be any absolute http(s) URI (no registration list). ``login_hint`` (not a
  Dropbox parameter) pre-fills the email box.
- Autorename appends `` (1)``, `` (2)``… before the extension; an update conflict becomes
  ``name (conflicted copy).ext``.
- A failed ``finish`` (path conflict, hash mismatch) leaves the session as it was, so the same
  call can be retried with another path; a finished session is gone (``lookup_failed/not_found``).
  ``session_type: concurrent`` is accepted but behaves as sequential.
- Scopes are reported but not enforced; folders exist only as parents of uploaded files.

Modules, by API namespace as the reference groups them (each repeats its assumptions):

- :mod:`~sandbox.dropbox.oauth`: ``/oauth2/authorize`` (the page) and ``/oauth2/token``.
- :mod:`~sandbox.dropbox.files`: ``files/upload``, ``get_metadata``, ``list_folder[/continue]``;
  :mod:`~sandbox.dropbox.upload_sessions`: ``files/upload_session/start``, ``append_v2``,
  ``finish``.
- :mod:`~sandbox.dropbox.users`: ``users/get_current_account``; :mod:`~sandbox.dropbox.auth`:
  ``auth/token/revoke``; :mod:`~sandbox.dropbox.check`: ``check/app``.
- :mod:`~sandbox.dropbox.api_call`: the frame of every ``/2/`` call (auth, faults, arguments,
  counters); :mod:`~sandbox.dropbox.errors`: the error shapes.
- :mod:`~sandbox.dropbox.admin`: ``/_sandbox/dropbox``; :mod:`~sandbox.dropbox.views`:
  ``/dropbox/``.
- :mod:`~sandbox.dropbox.state` (accounts, tokens, files, sessions on disk),
  :mod:`~sandbox.dropbox.paths`, :mod:`~sandbox.dropbox.content_hash`,
  :mod:`~sandbox.dropbox.app` (:func:`register_dropbox`).
"""

from sandbox.dropbox.admin import FAULT_KINDS
from sandbox.dropbox.api_call import UPLOAD_LIMIT
from sandbox.dropbox.app import register_dropbox
from sandbox.dropbox.content_hash import BLOCK_SIZE, ContentHasher
from sandbox.dropbox.errors import DropboxFailure
from sandbox.dropbox.files import LIST_LIMIT
from sandbox.dropbox.oauth import CODE_SECONDS, SCOPE
from sandbox.dropbox.state import (
    ACCESS_TOKEN_SECONDS,
    LOG_LENGTH,
    AccountFiles,
    DropboxState,
    load_dropbox_app,
)
from sandbox.dropbox.upload_sessions import SESSION_SECONDS

__all__ = [
    "ACCESS_TOKEN_SECONDS",
    "BLOCK_SIZE",
    "CODE_SECONDS",
    "FAULT_KINDS",
    "LIST_LIMIT",
    "LOG_LENGTH",
    "SCOPE",
    "SESSION_SECONDS",
    "UPLOAD_LIMIT",
    "AccountFiles",
    "ContentHasher",
    "DropboxFailure",
    "DropboxState",
    "load_dropbox_app",
    "register_dropbox",
]
