"""Task-side glue for score aggregation."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from collector_airflow.hooks.warehouse import CollectorWarehouseHook
from collector_airflow.runs import BACKFILL, SCHEDULED, run_type_value

log = logging.getLogger(__name__)
OVERLAP = timedelta(hours=1)  # also rescan the previous hour: commits that landed late
UNSCHEDULED_LOOKBACK = timedelta(hours=2)


def scoring_window(
    start: datetime | None, end: datetime | None, run_type: object
) -> tuple[datetime, datetime]:
    """The changes a run scores. Scheduled and backfill runs: their data interval, plus the
    hour before it (commits that landed late). Manual and asset-triggered runs: from the start
    of their interval (or two hours ago, whichever is earlier) up to now."""
    if run_type_value(run_type) in (SCHEDULED, BACKFILL) and start is not None and end is not None:
        return start - OVERLAP, end
    now = datetime.now(UTC)
    since = now - UNSCHEDULED_LOOKBACK
    return (min(start - OVERLAP, since) if start is not None else since), now


def run_scoring(
    params: dict[str, Any], start: datetime | None, end: datetime | None, run_type: object
) -> dict:
    from collector.scoring import score_interval, score_videos  # noqa: PLC0415

    rules_version = params.get("rules_version")
    conn = CollectorWarehouseHook().get_conn()
    try:
        if params.get("rescore_all"):
            log.info("re-scoring every video (rules version %s)", rules_version or "latest")
            run = score_videos(conn, None, rules_version=rules_version)
        else:
            window = scoring_window(start, end, run_type)
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
