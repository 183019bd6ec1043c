"""The ``apache_airflow_provider`` entry point: what Airflow learns about this package without
importing a hook (pyproject.toml registers :func:`get_provider_info`).

Airflow 3.3 builds the Connections form from ``connection-types``: ``conn-fields`` (the extras,
as JSON-schema fields the form renders; ``format: password`` is masked) and
``ui-field-behaviour`` (standard fields hidden, relabelled, with placeholders). Hook methods
``get_connection_form_widgets`` / ``get_ui_field_behaviour`` are deprecated there (warned since
3.2) and ignored once these keys exist, so the form lives here, once. Each extra's name is the
key the hook reads from ``Connection.extra``; the tests check both sides agree.

The collector warehouse uses Airflow's own ``postgres`` type and is not declared here.
Keep this module free of imports beyond the standard library: every Airflow process (scheduler,
workers, API server, the CLI) calls it when it discovers providers.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

DISTRIBUTION = "collector"  # must equal the installed distribution's name (Airflow checks)
HOOKS = "collector_airflow.hooks"


def _text(label: str, description: str | None = None, **schema: Any) -> dict[str, Any]:
    field: dict[str, Any] = {"label": label, "schema": {"type": ["string", "null"], **schema}}
    if description:
        field["description"] = description
    return field


def _number(label: str, default: float, description: str, kind: str = "number") -> dict:
    return {
        "label": label,
        "schema": {"type": [kind, "null"], "default": default},
        "description": description,
    }


def _timeout(default: int) -> dict:
    return _number("Timeout (s)", default, "Seconds to wait for one HTTP answer.")


CONNECTION_TYPES: list[dict[str, Any]] = [
    {
        "connection-type": "google_sheets",
        "hook-class-name": f"{HOOKS}.sheets.GoogleSheetsHook",
        "hook-name": "Google Sheets (gspread)",
        "conn-fields": {
            "keyfile_dict": _text(
                "Service account key (JSON)",
                "The whole JSON key file of the service account (IAM → Service accounts → Keys); "
                "never shown again once saved.",
                format="password",
            ),
            "api_base_url": _text(
                "API base URL",
                "Only for an emulator: every *.googleapis.com call goes there. Leave empty for "
                "Google.",
            ),
            "drive_folder_id": _text(
                "Shared drive folder id",
                "Where new spreadsheets are created: a folder of a shared drive where the service "
                "account is a Contributor (the id in the folder's URL). Service accounts have no "
                "Drive storage of their own: without this (or a delegated user) creating fails.",
            ),
            "subject": _text(
                "Act as user (domain-wide delegation)",
                "Optional: a Workspace user the service account acts as; files made without a "
                "shared drive folder go to that user's My Drive. Leave empty otherwise.",
            ),
            "reads_per_minute": _number(
                "Reads per minute",
                55,
                "Client-side limit under Google's 60 per user per minute.",
                "integer",
            ),
            "writes_per_minute": _number(
                "Writes per minute",
                55,
                "Client-side limit under Google's 60 per user per minute.",
                "integer",
            ),
            "quota_window_s": _number("Quota window (s)", 60, "The limits' sliding window."),
            "max_attempts": _number(
                "Max attempts", 6, "Tries per call on 429, 408, 5xx and timeouts.", "integer"
            ),
            "timeout_s": _timeout(60),
        },
        "ui-field-behaviour": {
            "hidden-fields": ["host", "schema", "port", "login", "password", "extra"],
            "relabeling": {},
            "placeholders": {
                "keyfile_dict": '{"type": "service_account", "client_email": ..., ...}',
                "api_base_url": "http://127.0.0.1:8799 (sandbox only)",
            },
        },
    },
    {
        "connection-type": "paypal",
        "hook-class-name": f"{HOOKS}.payouts.PayPalPayoutsHook",
        "hook-name": "PayPal Payouts",
        "conn-fields": {
            "mode": {
                "label": "Mode",
                "schema": {
                    "type": ["string", "null"],
                    "enum": ["sandbox", "live"],
                    "default": "sandbox",
                },
                "description": "live pays real money (api-m.paypal.com); sandbox is PayPal's test "
                "system.",
            },
            "endpoint": _text(
                "Endpoint",
                "Only for an emulator (API and token URL base). Leave empty: the mode decides.",
            ),
            "timeout_s": _timeout(60),
        },
        "ui-field-behaviour": {
            "hidden-fields": ["host", "schema", "port", "extra"],
            "relabeling": {"login": "Client ID", "password": "Client secret"},
            "placeholders": {
                "login": "REST app client ID (developer.paypal.com → Apps & Credentials)",
                "password": "REST app secret",
                "endpoint": "http://127.0.0.1:8799 (sandbox only)",
            },
        },
    },
    {
        "connection-type": "payoneer",
        "hook-class-name": f"{HOOKS}.payouts.PayoneerPayoutsHook",
        "hook-name": "Payoneer mass payouts",
        "conn-fields": {
            "program_id": _text("Program ID", "The payer program the payouts come from."),
            "api_base_url": _text(
                "API base URL", "Leave empty for https://api.payoneer.com (production)."
            ),
            "token_url": _text(
                "Token URL",
                "Leave empty for https://login.payoneer.com/api/v2/oauth2/token (production).",
            ),
            "timeout_s": _timeout(60),
        },
        "ui-field-behaviour": {
            "hidden-fields": ["host", "schema", "port", "extra"],
            "relabeling": {"login": "Client ID", "password": "Client secret"},
            "placeholders": {
                "login": "OAuth client ID from Payoneer",
                "password": "OAuth client secret",
                "program_id": "100xxxxx",
                "api_base_url": "https://api.sandbox.payoneer.com",
                "token_url": "https://login.sandbox.payoneer.com/api/v2/oauth2/token",
            },
        },
    },
    {
        "connection-type": "dropbox",
        "hook-class-name": f"{HOOKS}.dropbox_api.DropboxHook",
        "hook-name": "Dropbox",
        "conn-fields": {
            "api_base_url": _text(
                "API base URL",
                "Only for an emulator: every Dropbox host goes there. Leave empty for Dropbox.",
            ),
            "timeout_s": _timeout(300),
        },
        "ui-field-behaviour": {
            "hidden-fields": ["host", "schema", "port", "extra"],
            "relabeling": {"login": "App key", "password": "App secret"},
            "placeholders": {
                "login": "App key (Dropbox App Console → Settings)",
                "password": "App secret",
                "api_base_url": "http://127.0.0.1:8799 (sandbox only)",
            },
        },
    },
]


def _version() -> str:
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # imported from a source tree that is not installed
        return "0.0.0"


def get_provider_info() -> dict[str, Any]:
    """Provider metadata in the form of Airflow's own providers' ``get_provider_info()``."""
    return {
        "package-name": DISTRIBUTION,
        "name": "Collector",
        "description": "Hooks, operators, sensors and triggers of the collector data operations: "
        "Google Sheets, PayPal Payouts, Payoneer mass payouts and Dropbox connections.",
        "versions": [_version()],
        "integrations": [
            {"integration-name": name, "tags": ["service"]}
            for name in ("Google Sheets", "PayPal", "Payoneer", "Dropbox")
        ],
        "hooks": [
            {"integration-name": "Google Sheets", "python-modules": [f"{HOOKS}.sheets"]},
            {"integration-name": "PayPal", "python-modules": [f"{HOOKS}.payouts"]},
            {"integration-name": "Payoneer", "python-modules": [f"{HOOKS}.payouts"]},
            {"integration-name": "Dropbox", "python-modules": [f"{HOOKS}.dropbox_api"]},
        ],
        "connection-types": CONNECTION_TYPES,
        # s3:// for ObjectStoragePath without the Amazon provider (collector_airflow.fs.s3).
        "filesystems": ["collector_airflow.fs.s3"],
    }
