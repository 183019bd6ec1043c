"""Task-side glue for quicklooks: plan batches, render one batch, render consent quicklooks,
write contact sheets."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

from collector_airflow.hooks.warehouse import CollectorWarehouseHook
from collector_airflow.param_values import text_or_setting
from collector_airflow.storage import local_file, storage_path

log = logging.getLogger(__name__)
MAX_MAPPED_BATCHES = 512  # keep well under Airflow's max_map_length (1024)


def output_url(params: dict[str, Any]) -> str:
    from collector.core import settings  # noqa: PLC0415

    return text_or_setting(params, "output_url", settings.quicklook_url)


def plan_batches(params: dict[str, Any], conn_id: str = "collector_warehouse") -> list[list]:
    """Stale activities, as batches of [video_id, activity_index] keys (small XComs)."""
    from collector.review.quicklook_jobs import find_stale_activities  # noqa: PLC0415

    def as_date(value: str | None) -> date | None:
        return date.fromisoformat(value) if value else None

    conn = CollectorWarehouseHook(conn_id).get_conn()
    try:
        keys = find_stale_activities(
            conn,
            video_ids=params.get("video_ids") or None,
            collected_from=as_date(params.get("collected_from")),
            collected_to=as_date(params.get("collected_to")),
            force=bool(params.get("force")),
        )
    finally:
        conn.close()
    size = max(int(params.get("batch_size") or 16), -(-len(keys) // MAX_MAPPED_BATCHES))
    batches = [[list(k) for k in keys[i : i + size]] for i in range(0, len(keys), size)]
    log.info(
        "%d activities need a quicklook, in %d batches of up to %d", len(keys), len(batches), size
    )
    return batches


def render_batch(
    batch: list[list], params: dict[str, Any], conn_id: str = "collector_warehouse"
) -> dict[str, int]:
    """Render and record one batch; per-activity failures are recorded, not raised."""
    from collector.review.quicklook_jobs import load_jobs, record_results, render_and_store  # noqa: PLC0415

    now = datetime.now(UTC)
    conn = CollectorWarehouseHook(conn_id).get_conn()
    try:
        jobs = load_jobs(conn, [(k[0], int(k[1])) for k in batch])
        results = render_and_store(
            jobs,
            storage_path(output_url(params)),
            now=now,
            local_video=local_file,
            tiles=int(params.get("tiles") or 9),
        )
        record_results(conn, results, now)
    finally:
        conn.close()
    failed = [r for r in results if r["status"] == "failed"]
    rendered = len(results) - len(failed)
    times = sorted(r["render_ms"] for r in results if r["status"] == "ok")
    median = times[len(times) // 2] if times else 0
    log.info("rendered %d quicklooks (median %d ms), %d failed", rendered, median, len(failed))
    return {"rendered": rendered, "failed": len(failed)}


def render_consent_quicklooks(
    params: dict[str, Any], conn_id: str = "collector_warehouse"
) -> dict[str, int]:
    """Render and record the quicklook of each subject's newest consent not rendered yet."""
    from collector.review.quicklook_jobs import (  # noqa: PLC0415
        find_unrendered_consents,
        record_consent_results,
        render_consent_quicklooks,
    )

    now = datetime.now(UTC)
    conn = CollectorWarehouseHook(conn_id).get_conn()
    try:
        jobs = find_unrendered_consents(conn)
        results = render_consent_quicklooks(
            jobs, storage_path(output_url(params)), local_video=local_file
        )
        record_consent_results(conn, results, now)
    finally:
        conn.close()
    failed = sum(1 for r in results if r["status"] == "failed")
    log.info("rendered %d consent quicklooks, %d failed", len(results) - failed, failed)
    return {"rendered": len(results) - failed, "failed": failed}


def write_contact_sheets(
    summaries: list[dict],
    params: dict[str, Any],
    since: datetime,
    conn_id: str = "collector_warehouse",
) -> list[str]:
    """Rewrite the contact sheet of every review day this run touched; return their URLs."""
    from collector.review.quicklook_jobs import contact_sheet_days, contact_sheet_html  # noqa: PLC0415

    root_url = output_url(params)
    root = storage_path(root_url)
    conn = CollectorWarehouseHook(conn_id).get_conn()
    written = []
    try:
        for day in contact_sheet_days(conn, since):
            page = root / f"contact-sheet-{day}.html"
            root.mkdir(parents=True, exist_ok=True)
            page.write_text(contact_sheet_html(conn, day, str(root)))
            written.append(str(page))
            log.info("contact sheet for %s: %s", day, page)
    finally:
        conn.close()
    return written
