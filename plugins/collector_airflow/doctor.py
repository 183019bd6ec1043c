"""Preflight before switching from the sandbox to production (issue 20, item 4).

``python -m collector_airflow.doctor`` (also ``collector doctor``) makes one harmless real call
per connection, in the order ops fill them (docs/production.md), and prints one line each::

    OK  <connection>: <what was proven>
    FAIL <connection>: <what is wrong>; set <which setting>

and exits 1 when any line is FAIL. Each check is the hook's own ``test_connection()`` (the same
code behind the Connections form's Test button), so the doctor copies no check; the only one
that is the doctor's own is the master sheet, a setting (``COLLECTOR_MASTER_SHEET_ID``) rather
than a connection. No line carries a secret: the hooks mask what they know, and every line is
masked again with each connection's password and service-account key.

It lives in the provider because it needs the hooks; ``collector_tools`` (the CLI) may import
``collector_airflow`` (no rule in .importlinter forbids that arrow, and the CLI imports this
module lazily, inside the ``doctor`` command), while the provider never imports the tools.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass

from collector_airflow.hooks.service_errors import ExternalServiceError, one_line, scrub

MASTER_TAB = "Collections"


@dataclass(frozen=True)
class Check:
    """One line of the doctor: ``run`` answers ``(ok, message)`` like ``test_connection()``;
    ``fixes`` picks the setting to name from the message (first matching fragment wins, the
    last entry's fragment is ``""``). A message that already says ``; set ...`` (or
    ``; run ...``, ``; restore ...``) is kept as it is."""

    name: str
    conn_id: str | None
    run: Callable[[], tuple[bool, str]]
    fixes: tuple[tuple[str, str], ...]
    needs: str | None = None  # a check whose failure makes this one pointless (skipped)

    def fix_for(self, message: str) -> str:
        return next(fix for fragment, fix in self.fixes if fragment in message)


@dataclass(frozen=True)
class Result:
    name: str
    ok: bool
    message: str

    def line(self) -> str:
        return f"{'OK ' if self.ok else 'FAIL'} {self.name}: {self.message}"


def _hook_test(module: str, cls: str) -> Callable[[], tuple[bool, str]]:
    def run() -> tuple[bool, str]:
        import importlib  # noqa: PLC0415

        hook = getattr(importlib.import_module(f"collector_airflow.hooks.{module}"), cls)()
        return hook.test_connection()

    return run


def _google_credentials() -> tuple[bool, str]:
    """Google credentials, through ``GoogleSheetsHook.test_connection()``.

    HOOK POINT (shared-drive folder): the check that the target folder is on a shared drive and
    writable (a probe file created and deleted) belongs in that ``test_connection()`` and is
    run here by this same call; the doctor adds no Drive call of its own."""
    return _hook_test("sheets", "GoogleSheetsHook")()


def _master_sheet() -> tuple[bool, str]:
    """``COLLECTOR_MASTER_SHEET_ID`` opened and its Collections tab's header row read."""
    from gspread.exceptions import SpreadsheetNotFound, WorksheetNotFound  # noqa: PLC0415

    from collector.core import settings  # noqa: PLC0415
    from collector_airflow.hooks.sheets import GoogleSheetsHook  # noqa: PLC0415

    try:
        sheet_id = settings.master_sheet_id()
    except settings.ConfigurationError:
        return False, "no master sheet id is set; set COLLECTOR_MASTER_SHEET_ID"
    hook = GoogleSheetsHook()
    account = _service_account_email(hook.gcp_conn_id) or "the service account"
    try:
        book = hook.open(sheet_id)
        header = hook.worksheet(book, MASTER_TAB).row_values(1)
    except SpreadsheetNotFound:
        return False, (
            f"spreadsheet {sheet_id!r} not found, or not shared with {account}; set "
            f"COLLECTOR_MASTER_SHEET_ID to the id in the sheet's URL and share it with {account}"
        )
    except WorksheetNotFound:
        return False, (
            f"spreadsheet {sheet_id!r} has no tab {MASTER_TAB!r}; set the tab's name to "
            f"{MASTER_TAB!r} (or COLLECTOR_MASTER_SHEET_ID to the right sheet)"
        )
    except ExternalServiceError as err:
        return False, str(err)
    return True, (
        f"spreadsheet {book.title!r} ({sheet_id}) read: tab {MASTER_TAB!r}, "
        f"{len(header)} header columns"
    )


def _service_account_email(conn_id: str) -> str | None:
    try:
        keyfile = _extras(conn_id).get("keyfile_dict")
        info = json.loads(keyfile) if isinstance(keyfile, str) else (keyfile or {})
        return info.get("client_email")
    except Exception:
        return None


def _extras(conn_id: str) -> dict:
    from airflow.sdk import BaseHook  # noqa: PLC0415

    return BaseHook.get_connection(conn_id).extra_dejson or {}


def checks() -> list[Check]:
    """Every check, in the order docs/production.md fills the connections."""
    keys = "login and password"
    return [
        Check(
            "collector_warehouse",
            "collector_warehouse",
            _hook_test("warehouse", "CollectorWarehouseHook"),
            (("", "host, port, login, password and schema of collector_warehouse"),),
        ),
        Check(
            "google_sheets_default",
            "google_sheets_default",
            _google_credentials,
            (
                (
                    "enable the Sheets and Drive APIs",
                    "the Sheets and Drive APIs of the key's project",
                ),
                ("folder", "the shared-drive folder of google_sheets_default"),
                ("", "the keyfile_dict extra of google_sheets_default (a new JSON key)"),
            ),
        ),
        Check(
            "master sheet",
            "google_sheets_default",
            _master_sheet,
            (("", "COLLECTOR_MASTER_SHEET_ID"),),
            needs="google_sheets_default",
        ),
        Check(
            "paypal_default",
            "paypal_default",
            _hook_test("payouts", "PayPalPayoutsHook"),
            (
                ("refused the client ID", f"the {keys} (Client ID, secret) of paypal_default"),
                ("", "the mode and endpoint extras of paypal_default"),
            ),
        ),
        Check(
            "payoneer_default",
            "payoneer_default",
            _hook_test("payouts", "PayoneerPayoutsHook"),
            (
                ("Program ID", "the program_id extra of payoneer_default"),
                ("refused the client ID", f"the {keys} (client ID, secret) of payoneer_default"),
                ("", "the token_url and api_base_url extras of payoneer_default"),
            ),
        ),
        Check(
            "dropbox_default",
            "dropbox_default",
            _hook_test("dropbox_api", "DropboxHook"),
            (
                ("refused", f"the {keys} (App key, App secret) of dropbox_default"),
                ("", "the api_base_url extra of dropbox_default (production: none)"),
            ),
        ),
        Check(
            "smtp_default",
            "smtp_default",
            _hook_test("mail", "CollectorMailHook"),
            (("", "host, port, login, password and SSL/TLS extras of smtp_default"),),
        ),
    ]


def _secrets(conn_ids: set[str]) -> list[str]:
    """Every connection's password and service-account key, to mask in any line."""
    from airflow.sdk import BaseHook  # noqa: PLC0415

    found: list[str] = []
    for conn_id in conn_ids:
        try:
            conn = BaseHook.get_connection(conn_id)
        except Exception:
            continue
        keyfile = (conn.extra_dejson or {}).get("keyfile_dict")
        found += [conn.password or "", str(keyfile or "")]
        try:
            info = json.loads(keyfile) if isinstance(keyfile, str) else (keyfile or {})
            key = str(info.get("private_key") or "")
        except (ValueError, AttributeError):  # a corrupt key: its check says so
            continue
        found += [key, *(line for line in key.splitlines() if line)]
    return [s for s in found if len(s) >= 8]


def _run_one(check: Check, failed: set[str]) -> Result:
    from airflow.sdk import BaseHook  # noqa: PLC0415

    if check.needs in failed:
        return Result(check.name, False, f"not checked; set {check.needs} first (above)")
    if check.conn_id:
        try:
            BaseHook.get_connection(check.conn_id)
        except Exception:
            env = f"AIRFLOW_CONN_{check.conn_id.upper()}"
            return Result(check.name, False, f"not defined; set {env} or Admin → Connections")
    try:
        ok, message = check.run()
    except Exception as exc:  # a hook that raised instead of answering
        ok, message = False, f"{type(exc).__name__}: {exc}"
    message = one_line(message, 400).rstrip(".")
    if not ok and not any(f"; {verb} " in message for verb in ("set", "run", "restore")):
        message = f"{message}; set {check.fix_for(message)}"
    return Result(check.name, ok, message)


def run_checks(selected: list[Check] | None = None) -> list[Result]:
    """Each check's result, in order; a check whose ``needs`` failed is skipped (FAIL)."""
    selected = checks() if selected is None else selected
    secrets = _secrets({c.conn_id for c in selected if c.conn_id})
    results: list[Result] = []
    failed: set[str] = set()
    for check in selected:
        result = _run_one(check, failed)
        if not result.ok:
            failed.add(check.name)
        results.append(Result(result.name, result.ok, scrub(result.message, secrets)))
    return results


def main(argv: list[str] | None = None) -> int:
    """Print one line per check; 0 when all are OK, else 1."""
    del argv  # no options yet
    for name in ("airflow", "collector_airflow", "gspread", "paypalrestsdk", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)
    with contextlib.redirect_stdout(sys.stderr):  # Airflow's log lines, not the report
        results = run_checks()
    for result in results:
        print(result.line(), flush=True)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
