"""Task-side glue for ingest: resolve storage paths and connections, then call ``collector``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from collector_airflow.param_values import given, text_or_setting
from collector_airflow.storage import storage_path


def run_ingest(params: dict[str, Any], warehouse_conn_id: str = "collector_warehouse") -> dict:
    """Ingest the landing area once and return the run's summary (counts only, no secrets)."""
    from collector.core import settings  # noqa: PLC0415
    from collector.intake.ingest import ingest_landing_area  # noqa: PLC0415
    from collector_airflow.hooks.warehouse import CollectorWarehouseHook  # noqa: PLC0415

    landing = storage_path(text_or_setting(params, "landing_url", settings.landing_url))
    quarantine = storage_path(text_or_setting(params, "quarantine_url", settings.quarantine_url))
    wait_minutes = given(params, "mp4_wait_minutes")
    mp4_wait = settings.mp4_wait() if wait_minutes is None else timedelta(minutes=wait_minutes)
    with CollectorWarehouseHook(warehouse_conn_id).connection() as conn:
        report = ingest_landing_area(conn, landing, quarantine, mp4_wait=mp4_wait)
    return report.summary()
