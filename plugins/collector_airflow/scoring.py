"""Task-side glue for score aggregation."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from collector_airflow.hooks.warehouse import CollectorWarehouseHook

log = logging.getLogger(__name__)
OVERLAP = timedelta(hours=1)  # also rescan the previous hour: commits that landed late
UNSCHEDULED_LOOKBACK = timedelta(hours=2)


def scoring_window(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    """The changes a run scores: its data interval (plus one hour before it), or for runs with
    no interval of their own (asset-triggered, manual) the last two hours up to now."""
    if start is None or end is None or end - start < timedelta(minutes=1):
        now = datetime.now(UTC)
        return now - UNSCHEDULED_LOOKBACK, now
    return start - OVERLAP, end


def run_scoring(params: dict[str, Any], start: datetime | None, end: datetime | None) -> dict:
    from collector.scoring import score_interval, score_videos  # noqa: PLC0415

    rules_version = params.get("rules_version")
    conn = CollectorWarehouseHook().get_conn()
    try:
        if params.get("rescore_all"):
            log.info("re-scoring every video (rules version %s)", rules_version or "latest")
            run = score_videos(conn, None, rules_version=rules_version)
        else:
            window = scoring_window(start, end)
            log.info("scoring videos whose inputs changed in [%s, %s)", *window)
            run = score_interval(conn, *window, rules_version=rules_version)
    finally:
        conn.close()
    return {
        "videos_scored": run.videos_scored,
        "videos_written": run.videos_written,
        "scores_changed": run.scores_changed,
        "rules_version": run.rules_version,
    }
