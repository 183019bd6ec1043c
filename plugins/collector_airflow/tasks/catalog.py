"""Task-side glue for the daily collection update."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from collector.core.clock import BUSINESS_TZ
from collector_airflow.hooks.sheets import GoogleSheetsHook
from collector_airflow.hooks.warehouse import CollectorWarehouseHook
from collector_airflow.param_values import given, text_or_setting
from collector_airflow.storage import storage_path

log = logging.getLogger(__name__)
PROBLEMS_TAB = "Problems"


def spreadsheet_id(params: dict[str, Any]) -> str:
    from collector.core import settings  # noqa: PLC0415

    return text_or_setting(params, "spreadsheet_id", settings.master_sheet_id)


def effective_moment(dag_run) -> datetime:
    """When the run's changes take effect: its scheduled time (08:00 ET), or now if manual."""
    moment = getattr(dag_run, "logical_date", None) or getattr(dag_run, "run_after", None)
    return moment or datetime.now(UTC)


def read_master_sheet(params: dict[str, Any]) -> list[list[Any]]:
    """The Collections tab read unformatted (numbers, booleans, dates as serial numbers, text),
    so the spreadsheet's locale cannot change what a cell means (issue 19)."""
    from airflow.sdk.exceptions import AirflowFailException  # noqa: PLC0415
    from gspread.exceptions import SpreadsheetNotFound, WorksheetNotFound  # noqa: PLC0415

    sheet, tab = spreadsheet_id(params), given(params, "worksheet") or "Collections"
    try:
        rows = GoogleSheetsHook().get_rows(sheet, tab, render="UNFORMATTED_VALUE")
    except (SpreadsheetNotFound, WorksheetNotFound) as exc:
        # A wrong id or a missing share does not heal by retrying: fail now, say what to check.
        raise AirflowFailException(
            f"Collections master sheet {sheet!r} (tab {tab!r}) not found "
            f"({exc.__class__.__name__}): check COLLECTOR_MASTER_SHEET_ID and that the sheet "
            "is shared with the service account"
        ) from exc
    log.info("read %d rows (header included) from the master sheet", len(rows))
    return rows


def apply_updates(rows: list[list[Any]], moment: datetime) -> dict[str, Any]:
    """Versions from the rows; a row paying more than COLLECTOR_MAX_PAY_PER_VIDEO_USD a video
    is one of the problems, and its collection keeps its version (issue 19)."""
    from collector.catalog.updates import apply_master_sheet  # noqa: PLC0415
    from collector.core import settings  # noqa: PLC0415

    bound = settings.max_pay_per_video_cents()  # a malformed bound fails before any write
    with CollectorWarehouseHook().connection() as conn:
        report = apply_master_sheet(
            conn,
            rows,
            effective_at=moment,
            today=moment.astimezone(BUSINESS_TZ).date(),
            max_pay_per_video_cents=bound,
        )
    return report.summary()


def publish_catalog(params: dict[str, Any], moment: datetime) -> str:
    """The public catalog, and beside it ``users/<hash>.json`` for each self-serve owner."""
    from collector.catalog.updates import (  # noqa: PLC0415
        build_catalogs,
        catalog_json,
        owner_catalog_name,
    )
    from collector.core import settings  # noqa: PLC0415

    with CollectorWarehouseHook().connection() as conn:
        public, owners = build_catalogs(conn, moment.astimezone(BUSINESS_TZ))
    target = storage_path(text_or_setting(params, "catalog_url", settings.catalog_url))
    target.parent.mkdir(parents=True, exist_ok=True)
    if owners:
        (target.parent / "users").mkdir(parents=True, exist_ok=True)
    for owner, catalog in owners.items():
        (target.parent / owner_catalog_name(owner)).write_text(catalog_json(catalog))
    target.write_text(catalog_json(public))
    log.info(
        "published %d enabled collections to %s, and %d self-serve owners' catalogs",
        len(public["collections"]),
        target,
        len(owners),
    )
    return str(target)


def report_problems(params: dict[str, Any], summary: dict[str, Any], moment: datetime) -> int:
    """Show this run's problems in the master sheet itself, where ops fix them."""
    problems = summary["problems"]
    rows = [[moment.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M %Z"), p] for p in problems]
    if not rows:
        rows = [[moment.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M %Z"), "no problems"]]
    GoogleSheetsHook().write_table(
        spreadsheet_id(params),
        PROBLEMS_TAB,
        ["checked at", "problem (cell column: what to fix)"],
        rows,
    )
    for problem in problems:
        log.warning("master sheet problem: %s", problem)
    return len(problems)
