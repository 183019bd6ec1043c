"""Each DAG runs on the clock the README and the UI say (issue 17, item 7), and what unpausing
does is pinned: the latest missed tick is created at once (a missed payout must still happen).

The UI shows a cron DAG's ``timetable_summary`` (the cron) and ``timetable_description`` (its
words, read on the timetable's own clock), the DAG's ``description``, and, on the details tab,
its Timezone (from the start date). All are checked here on the DAG as the API server holds it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

ROOT = Path(__file__).resolve().parents[2]
NY = "America/New_York"

# dag_id: (timetable zone, timetable description, the DAG's start-date zone, README time)
CLOCKS = {
    "collection_updates": (NY, "At 08:00", NY, "08:00"),
    "ops_digest": (NY, "At 07:00", NY, "07:00"),
    "weekly_payout": (NY, "At 12:00, only on Tuesday", None, "12:00"),
    "submission_ingest": ("UTC", "Every 15 minutes", "UTC", "15 min"),
    "review_queue": ("UTC", "Triggered by assets or Every 30 minutes", "UTC", "30 min"),
    "collector_emails": ("UTC", "Triggered by assets or Every 30 minutes", "UTC", "30 min"),
    "dashboard_refresh": (
        "UTC",
        "Triggered by assets or At 15 minutes past the hour",
        "UTC",
        ":15",
    ),
    "dropbox_delivery": (
        "UTC",
        "Triggered by assets or At 40 minutes past the hour",
        "UTC",
        ":40",
    ),
    "score_aggregation": ("UTC", "Triggered by assets or Every hour", None, "hourly"),
    "quicklook_generation": (None, "Triggered by assets", "UTC", "collector.submissions"),
    "dataset_release": (None, "Never, external triggers only", "UTC", "by hand"),
}
# Not ours to change here (another branch owns them): their start date stays naive, so their
# Timezone in the UI is [core] default_timezone.
NAIVE_START = {"weekly_payout", "score_aggregation"}


@pytest.fixture(scope="module")
def served_dags():
    from airflow.dag_processing.dagbag import DagBag
    from airflow.serialization.serialized_objects import DagSerialization

    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    return {
        dag_id: DagSerialization.from_dict(DagSerialization.to_dict(dag))
        for dag_id, dag in bag.dags.items()
    }


def _cron_zone(timetable) -> str | None:
    inner = getattr(timetable, "_timetable", None) or getattr(timetable, "timetable", None)
    zone = getattr(inner or timetable, "_timezone", None)
    return None if zone is None else str(getattr(zone, "name", zone))


def _readme_schedules() -> dict[str, str]:
    """The Pipelines table of the README (rows "`dag_id` (stage)"): dag_id -> its schedule cell."""
    cells = {}
    for line in (ROOT / "README.md").read_text().splitlines():
        match = re.match(r"^\| `([a-z_]+)` \([a-z]+\) \| ([^|]+) \|", line)
        if match:
            cells[match.group(1)] = match.group(2)
    return cells


def test_every_dag_is_listed(served_dags):
    assert set(served_dags) == set(CLOCKS)


@pytest.mark.parametrize("dag_id", sorted(CLOCKS))
def test_timetable_zone_and_description(served_dags, dag_id):
    zone, description, start_zone, _ = CLOCKS[dag_id]
    served = served_dags[dag_id]
    assert _cron_zone(served.timetable) == zone
    assert served.timetable.description == description
    if dag_id not in NAIVE_START:
        assert str(served.timezone.name) == start_zone, "the UI's Timezone for this DAG"


@pytest.mark.parametrize("dag_id", sorted(set(CLOCKS) - NAIVE_START))
def test_the_dag_description_names_its_clock(served_dags, dag_id):
    """The DAG's description is what the UI lists beside it: a time says which clock."""
    zone, _, _, when = CLOCKS[dag_id]
    text = served_dags[dag_id].description
    assert text, f"{dag_id} has no description"
    if zone == NY:
        assert f"{when} New York time" in text
    elif zone == "UTC":
        assert "(UTC cron)" in text


@pytest.mark.parametrize("dag_id", sorted(CLOCKS))
def test_the_readme_says_the_same(dag_id):
    zone, _, _, when = CLOCKS[dag_id]
    cell = _readme_schedules()[dag_id]
    assert when in cell, f"README row {dag_id}: {cell!r} should say {when}"
    if zone == NY:
        assert NY in cell and "UTC" not in cell, cell
    if NY in cell:
        assert zone == NY, cell
    if "UTC" in cell:
        assert zone == "UTC", cell


def _last_tuesday_noon_ny(now: datetime) -> datetime:
    local = now.astimezone(ZoneInfo(NY))
    days_back = (local.weekday() - 1) % 7
    tuesday = (local - timedelta(days=days_back)).replace(
        hour=12, minute=0, second=0, microsecond=0
    )
    if tuesday > local:
        tuesday -= timedelta(days=7)
    return tuesday


@pytest.mark.parametrize(
    "dag_id", sorted(dag_id for dag_id, clock in CLOCKS.items() if clock[0] is not None)
)
def test_unpausing_creates_the_latest_missed_tick_at_once(served_dags, dag_id):
    """catchup=False still schedules the newest tick at or before now (timetables/trigger.py:
    ``_align_to_prev(utcnow())`` is always a candidate): a Tuesday payout missed while paused
    or while the scheduler was down runs as soon as it is unpaused. Another engineer's
    real-scheduler payout test relies on it: do not change weekly_payout's schedule."""
    from airflow.timetables.base import TimeRestriction

    served = served_dags[dag_id]
    restriction = TimeRestriction(earliest=served.start_date, latest=None, catchup=False)
    before = datetime.now(UTC)
    info = served.timetable.next_dagrun_info(
        last_automated_data_interval=None, restriction=restriction
    )
    assert info.run_after <= datetime.now(UTC), "due at once, not at the next tick"
    if dag_id == "weekly_payout":
        assert info.logical_date == _last_tuesday_noon_ny(before)
    # After a run a week (or an hour) old, the same: the newest missed tick, never older ones.
    old = served.timetable.next_dagrun_info(
        last_automated_data_interval=type(info.data_interval)(
            info.data_interval.start - timedelta(days=21),
            info.data_interval.end - timedelta(days=21),
        ),
        restriction=restriction,
    )
    assert old.logical_date == info.logical_date


@pytest.mark.parametrize("dag_id", sorted(CLOCKS))
def test_one_run_at_a_time_where_runs_share_state(served_dags, dag_id):
    """A manual run waits for the run before it (documented in docs/decisions.md): these DAGs
    write the same sheets, landing area, outbox or release folders."""
    if dag_id == "ops_digest":
        return  # one email, nothing shared: a manual digest may run beside the scheduled one
    assert served_dags[dag_id].max_active_runs == 1
