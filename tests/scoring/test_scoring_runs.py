"""Which videos a score_aggregation run re-scores: the collected_between form field, parsed
as people type it (invariant: any START/END the parser accepts is an aware [start, end) with
start < end; anything else is a BadInterval naming the field, never another exception)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from collector_airflow.tasks.scoring import BadInterval, parse_collected_between

NY = ZoneInfo("America/New_York")


def test_dates_are_new_york_days_end_exclusive():
    start, end = parse_collected_between("2026-11-16/2026-11-23")
    assert start == datetime(2026, 11, 16, 5, tzinfo=UTC)  # midnight EST
    assert end == datetime(2026, 11, 23, 5, tzinfo=UTC)
    # Across the DST change (Nov 1 2026): midnight EDT is 04:00 UTC.
    assert parse_collected_between("2026-10-26/2026-11-02")[0] == datetime(
        2026, 10, 26, 4, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "text", ["", "2026-11-16", "2026-11-23/2026-11-16", "2026-11-16/2026-11-16", "a/b", "1/2/3"]
)
def test_bad_entries_say_what_to_enter(text):
    with pytest.raises(BadInterval, match=r"collected_between .*expected START/END"):
        parse_collected_between(text)


moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


@given(moments, st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=400)))
def test_aware_bounds_round_trip(start, length):
    end = start + length
    assert parse_collected_between(f"{start.isoformat()}/{end.isoformat()}") == (start, end)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.integers(1, 400))
def test_date_bounds_are_midnight_in_new_york(first, days):
    last = first + timedelta(days=days)
    start, end = parse_collected_between(f"{first}/{last}")
    assert start.astimezone(NY).date() == first and start.astimezone(NY).hour == 0
    assert end.astimezone(NY).date() == last and start < end


@given(st.text(max_size=60))
def test_anything_typed_is_accepted_or_refused_with_bad_interval(text):
    try:
        start, end = parse_collected_between(text)
    except BadInterval as refused:
        assert "collected_between" in str(refused)
    else:
        assert start.tzinfo is not None and start < end


def test_the_ends_of_the_calendar_are_refused_not_crashed():
    with pytest.raises(BadInterval, match="out of range"):
        parse_collected_between("2026-01-01/9999-12-31T23:59")
