"""Task-side glue for score aggregation: which videos a run scores, from what Airflow gives it.

Three kinds of run (README, *Backfills*):

- **hourly** (scheduled, and manual or asset-triggered runs): the videos whose *inputs changed*
  in the run's data interval (ratings, edits, collection versions, consents), incrementally;
- **backfill** runs: the videos *collected* in the run's data interval, re-scored under the
  chosen rules (``rules_version``, default the latest), whatever changed when;
- a run with ``collected_between`` (any run type): the videos collected in that interval.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from collector.core.clock import BUSINESS_TZ
from collector_airflow.hooks.warehouse import CollectorWarehouseHook
from collector_airflow.runs import BACKFILL, SCHEDULED, run_type_value

log = logging.getLogger(__name__)
OVERLAP = timedelta(hours=1)  # also rescan the previous hour: commits that landed late
UNSCHEDULED_LOOKBACK = timedelta(hours=2)


class BadInterval(ValueError):
    """``collected_between`` is not ``START/END`` with START before END; says what to enter."""


def parse_collected_between(text: str) -> tuple[datetime, datetime]:
    """``"2026-11-16/2026-11-23"`` -> the aware datetimes [start, end).

    ISO 8601 dates or date-times joined by ``/``; a date means midnight New York time, a
    date-time without an offset is New York time too; END is exclusive. Raises BadInterval.
    """
    expected = (
        "expected START/END as ISO dates or date-times, END exclusive, "
        "e.g. 2026-11-16/2026-11-23 (New York days)"
    )
    parts = (text or "").strip().split("/")
    if len(parts) != 2:
        raise BadInterval(f"collected_between {text!r}: {expected}")
    bounds = []
    for part in parts:
        try:
            moment = datetime.fromisoformat(part.strip())
        except ValueError:
            raise BadInterval(
                f"collected_between {text!r}: {part!r} is not ISO; {expected}"
            ) from None
        if len(part.strip()) == 10:  # a bare date
            moment = datetime.combine(date.fromisoformat(part.strip()), time())
        bounds.append(moment if moment.tzinfo else moment.replace(tzinfo=BUSINESS_TZ))
    try:
        start, end = (bound.astimezone(UTC) for bound in bounds)
    except OverflowError:  # year 1 or 9999 moved across a time zone
        raise BadInterval(f"collected_between {text!r}: out of range; {expected}") from None
    if not start < end:
        raise BadInterval(f"collected_between {text!r}: START must be before END; {expected}")
    return start, end


def scoring_window(
    start: datetime | None, end: datetime | None, run_type: object
) -> tuple[datetime, datetime]:
    """The changes an hourly run scores. Scheduled and backfill runs: their data interval, plus
    the hour before it (commits that landed late). Manual and asset-triggered runs: from the
    start of their interval (or two hours ago, whichever is earlier) up to now."""
    if run_type_value(run_type) in (SCHEDULED, BACKFILL) and start is not None and end is not None:
        return start - OVERLAP, end
    now = datetime.now(UTC)
    since = now - UNSCHEDULED_LOOKBACK
    return (min(start - OVERLAP, since) if start is not None else since), now


def run_scoring(
    params: dict[str, Any], start: datetime | None, end: datetime | None, run_type: object
) -> dict:
    """Score what this run is for (module docstring); returns counts for the log and the Asset.

    Raises BadInterval (the run fails at once: a retry cannot fix a form entry).
    """
    from collector.scoring.scores import (  # noqa: PLC0415
        score_interval,
        score_videos,
        videos_collected_between,
    )

    rules_version = params.get("rules_version")
    rules = f"rules v{rules_version}" if rules_version else "the latest rules"
    between = params.get("collected_between")
    backfill = run_type_value(run_type) == BACKFILL and start is not None and end is not None
    if between:
        from airflow.sdk.exceptions import AirflowFailException  # noqa: PLC0415

        try:
            interval = parse_collected_between(str(between))
        except BadInterval as bad:
            raise AirflowFailException(str(bad)) from None
    with CollectorWarehouseHook().connection() as conn:
        if params.get("rescore_all"):
            log.info("re-scoring every video under %s", rules)
            run = score_videos(conn, None, rules_version=rules_version)
        elif between or backfill:
            since, until = interval if between else (start, end)
            ids = videos_collected_between(conn, since, until)
            log.info(
                "re-scoring the %d videos collected in [%s, %s) under %s (%s)",
                len(ids),
                since,
                until,
                rules,
                "collected_between" if between else "backfill run",
            )
            run = score_videos(conn, ids, rules_version=rules_version)
        else:
            window = scoring_window(start, end, run_type)
            log.info("scoring videos whose inputs changed in [%s, %s)", *window)
            run = score_interval(conn, *window, rules_version=rules_version)
    log.info(
        "%d videos scored, %d rows written, %d scores changed (rules v%d)",
        run.videos_scored,
        run.videos_written,
        run.scores_changed,
        run.rules_version,
    )
    return {
        "videos_scored": run.videos_scored,
        "videos_written": run.videos_written,
        "scores_changed": run.scores_changed,
        "rules_version": run.rules_version,
    }
