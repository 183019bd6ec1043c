"""Google Sheets API v4 and Drive API v3, the subset gspread 6 uses, on 127.0.0.1.

Contract points kept: paths, JSON shapes, error bodies ``{"error": {code, message, status}}``,
OAuth token exchange for service accounts (JWT bearer, with domain-wide delegation), no Drive
storage for service accounts outside shared drives, per-user and per-project per-minute
quotas for read and write requests answered with 429 RESOURCE_EXHAUSTED, grid limits on
writes, formulas stored as written, a spreadsheet locale that decides how USER_ENTERED text is
parsed and how FORMATTED_VALUE shows values, and the three value render options and two
date-time render options (any other refused with a 400). Admin switches under ``/_sandbox`` inject faults (429,
500, slow answers for client timeouts) and change quotas; ``/sheets/`` is a read-only HTML view.

Public contracts followed (what gspread and google-auth call is in docs/service-facts.md):

- Sheets API v4 reference: https://developers.google.com/sheets/api/reference/rest
- Sheets usage limits: https://developers.google.com/sheets/api/limits
- Drive API v3 reference: https://developers.google.com/drive/api/reference/rest/v3
- OAuth 2.0 for service accounts:
  https://developers.google.com/identity/protocols/oauth2/service-account

One module per API resource; each says what it follows and lists its "Assumptions":

- :mod:`~sandbox.google.oauth`: ``POST /token``, the service-account JWT bearer grant.
- :mod:`~sandbox.google.drive`: Drive ``files`` and ``permissions``;
  :mod:`~sandbox.google.drives` decides who may own and be shared what (shared drives, Google
  accounts, domain-wide delegation) and lists those "Assumptions".
- :mod:`~sandbox.google.spreadsheets`: ``spreadsheets`` create, get, batchUpdate;
  :mod:`~sandbox.google.batch_update` holds the batchUpdate request kinds.
- :mod:`~sandbox.google.values`: ``spreadsheets.values`` get, update, append, clear, batch*.
- :mod:`~sandbox.google.quota`: per-minute read and write quotas.
- :mod:`~sandbox.google.gate`: faults, Bearer token and quota, checked before every call.
- :mod:`~sandbox.google.admin`: the ``/_sandbox`` switches; :mod:`~sandbox.google.views`: the
  ``/sheets/`` pages.
- :mod:`~sandbox.google.store` (spreadsheets on disk), :mod:`~sandbox.google.cells` (what a
  cell stores and shows), :mod:`~sandbox.google.locales` (the emulated locales and their
  "Assumptions"), :mod:`~sandbox.google.errors`, :mod:`~sandbox.google.state` (what
  the routes share), :mod:`~sandbox.google.app` (:func:`create_app`).
"""

from sandbox.google.app import create_app
from sandbox.google.batch_update import KNOWN_REQUESTS
from sandbox.google.cells import evaluate, formatted, parse_user_entered, rendered
from sandbox.google.errors import ApiError
from sandbox.google.quota import Quota
from sandbox.google.state import GoogleState
from sandbox.google.store import DEFAULT_COLUMNS, DEFAULT_ROWS, Sheet, Spreadsheet, Store

__all__ = [
    "DEFAULT_COLUMNS",
    "DEFAULT_ROWS",
    "KNOWN_REQUESTS",
    "ApiError",
    "GoogleState",
    "Quota",
    "Sheet",
    "Spreadsheet",
    "Store",
    "create_app",
    "evaluate",
    "formatted",
    "parse_user_entered",
    "rendered",
]
