"""Task-side glue for collector dashboards: at most two write requests per changed collector,
none for an unchanged one."""

from __future__ import annotations

import json
import logging
import math
from datetime import UTC, datetime

from collector_airflow.hooks.sheets import GoogleSheetsHook
from collector_airflow.hooks.warehouse import CollectorWarehouseHook

log = logging.getLogger(__name__)
TABS = ("Videos", "Payments", "Summary")
ROW_BLOCK = 100  # rows are reserved in blocks, so most refreshes need no layout change
OPS_SUMMARY = "ops_summary"  # its purpose in managed_spreadsheets


def collectors_with_videos(conn_id: str = "collector_warehouse") -> list[str]:
    """Every collector with videos on a dashboard (self-serve ones are not): whether a
    dashboard changed is decided by its content hash."""
    from collector.dashboards import sheets  # noqa: PLC0415

    with CollectorWarehouseHook(conn_id).connection() as conn:
        return sheets.collectors_with_videos(conn)


def _layout(dashboard) -> dict[str, int]:
    return {
        tab: max(ROW_BLOCK, math.ceil((len(rows) + 1) / ROW_BLOCK) * ROW_BLOCK)
        for tab, (_, rows) in dashboard.tabs().items()
    }


def _layout_requests(sheet_ids: dict[str, int], layout: dict[str, int]) -> list[dict]:
    requests = []
    for tab, rows in layout.items():
        sheet_id = sheet_ids[tab]
        requests += [
            {
                "updateSheetProperties": {
                    "properties": {
                        "sheetId": sheet_id,
                        "gridProperties": {
                            "rowCount": rows,
                            "columnCount": 10,
                            "frozenRowCount": 1,
                        },
                    },
                    "fields": "gridProperties(rowCount,columnCount,frozenRowCount)",
                }
            },
            {
                "repeatCell": {
                    "range": {"sheetId": sheet_id, "endRowIndex": 1},
                    "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}},
                    "fields": "userEnteredFormat.textFormat.bold",
                }
            },
        ]
    return requests


def _write_html_page(board) -> None:
    """The same frames as a static page (the web login's dashboard), through ObjectStoragePath."""
    from collector.core import settings  # noqa: PLC0415
    from collector.dashboards.html import page_name, render_html  # noqa: PLC0415
    from collector_airflow.storage import storage_path  # noqa: PLC0415

    folder = storage_path(settings.dashboard_html_url())
    folder.mkdir(parents=True, exist_ok=True)
    (folder / page_name(board.collector_id)).write_text(render_html(board))


def refresh_ops_summary(conn_id: str = "collector_warehouse") -> str:
    """The ops summary spreadsheet (created on first use), rewritten only when it changed."""
    import hashlib  # noqa: PLC0415

    from collector.core.managed_sheets import (  # noqa: PLC0415
        ManagedSheet,
        managed_sheet,
        record_managed_sheet,
        set_content_hash,
    )
    from collector.dashboards.content import OPS_HEADER, ops_summary  # noqa: PLC0415

    hook = GoogleSheetsHook()
    with CollectorWarehouseHook(conn_id).connection() as conn:
        rows, lag = ops_summary(conn, datetime.now(UTC))
        found = managed_sheet(conn, OPS_SUMMARY)
        conn.commit()
        if found is None:
            sheet_id = hook.create_and_share("Ops summary", worksheets=["By day", "Lag"])
            record_managed_sheet(conn, OPS_SUMMARY, sheet_id, "Ops summary")
            conn.commit()
            found = ManagedSheet(sheet_id, None)
        sheet_id, old_hash = found
        digest = hashlib.sha256(json.dumps([rows, lag], default=str).encode()).hexdigest()
        if digest != old_hash:
            hook.write_table(sheet_id, "By day", OPS_HEADER, rows)
            hook.write_table(sheet_id, "Lag", ["What", "When"], lag)
            set_content_hash(conn, OPS_SUMMARY, digest)
            conn.commit()
        return sheet_id


def _create_dashboard(hook: GoogleSheetsHook, conn, collector: str):
    """Create, lay out and share a collector's spreadsheet; remember it (sheet ids included)
    and how it was shared: directly to her Google account, or by Google's invitation email
    when her address has none (the portal's page stays her dashboard either way)."""
    from collector.core.identity import normalize_email  # noqa: PLC0415
    from collector.dashboards.sheets import record_dashboard  # noqa: PLC0415

    email = normalize_email(collector) if "@" in collector else None
    book = hook.create_spreadsheet(f"Collector dashboard: {collector}", worksheets=list(TABS))
    share_mode = hook.share(book, email, "reader") if email else None
    ids = {ws.title: ws.id for ws in hook.open(book.id).worksheets()}
    return record_dashboard(conn, collector, book.id, ids, share_mode)


def _write_dashboard(
    hook: GoogleSheetsHook, sheet_id: str, sheet_ids: dict, layout: dict, board
) -> dict:
    """At most two requests: the layout when a tab outgrew its rows, then every tab's values."""
    new_layout = _layout(board)
    if new_layout != layout:
        hook.http.batch_update(sheet_id, {"requests": _layout_requests(sheet_ids, new_layout)})
    data = []
    for tab, (header, rows) in board.tabs().items():
        blank_rows = [[""] * len(header)] * (new_layout[tab] - len(rows) - 1)
        data.append({"range": f"'{tab}'!A1", "values": [header, *rows, *blank_rows]})
    hook.write_ranges(sheet_id, data)
    return new_layout


def refresh_collectors(collector_ids: list[str], conn_id: str = "collector_warehouse") -> dict:
    """Refresh each collector's sheet if its content changed; one failure does not stop others
    (it is recorded, reported, and retried next run because its hash is left as it was)."""
    from collector.dashboards.content import build_dashboards  # noqa: PLC0415
    from collector.dashboards.sheets import known_dashboards  # noqa: PLC0415

    hook = GoogleSheetsHook()
    counts = {"written": 0, "unchanged": 0, "created": 0, "failed": 0}
    failures: list[str] = []
    with CollectorWarehouseHook(conn_id).connection() as conn:
        known = known_dashboards(conn, collector_ids)
        conn.commit()
        for collector in (c for c in collector_ids if c not in known):
            try:
                known[collector] = _create_dashboard(hook, conn, collector)
                counts["created"] += 1
            except Exception as exc:
                counts["failed"] += 1
                failures.append(f"{collector}: could not create the dashboard: {exc}")
        urls = {c: f"https://docs.google.com/spreadsheets/d/{v[0]}" for c, v in known.items()}
        boards = build_dashboards(
            conn, [c for c in collector_ids if c in known], datetime.now(UTC), urls
        )
        for collector, board in boards.items():
            outcome, error = _refresh_one(hook, conn, known[collector], board)
            counts[outcome] += 1
            if error:
                failures.append(f"{collector}: {error}")
    for failure in failures:
        log.warning("dashboard not refreshed (retried next run): %s", failure)
    log.info("dashboards: %s", counts)
    return {**counts, "failures": failures}


def _refresh_one(hook: GoogleSheetsHook, conn, known, board) -> tuple[str, str | None]:
    """Write one collector's dashboard when its content changed and record the outcome:
    (``"unchanged"`` | ``"written"``, None) or (``"failed"``, the error: recorded, retried next
    run)."""
    from collector.dashboards.sheets import record_failure, record_written  # noqa: PLC0415

    sheet_id, sheet_ids, layout, old_hash = known
    new_hash = board.content_hash()
    if new_hash == old_hash:
        return "unchanged", None
    try:
        new_layout = _write_dashboard(hook, sheet_id, sheet_ids, layout, board)
    except Exception as exc:
        record_failure(conn, board.collector_id, str(exc))
        return "failed", str(exc)
    _write_html_page(board)
    record_written(conn, board.collector_id, new_hash, new_layout)
    return "written", None
