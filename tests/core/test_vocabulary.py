"""The shared vocabulary of every stage (collector.core): the business clock, money and the
matching key of an email address.

Invariants (Hypothesis): a payout week starts on a New York Monday and holds the moment it was
asked about, whatever the UTC offset and daylight saving; money formatting is exact for every
integer amount of cents and round-trips through Decimal; the email matching key is idempotent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from collector.core.clock import BUSINESS_TZ, business_day, previous_week, week_start
from collector.core.identity import mask_receiver, normalize_email
from collector.core.money import dollars, sheet_money, usd

NY = ZoneInfo("America/New_York")
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


def test_the_business_clock_is_new_york():
    assert BUSINESS_TZ == NY
    # Sunday 23:30 New York is already Monday in UTC: still the week before.
    sunday_night = datetime(2026, 11, 30, 4, 30, tzinfo=UTC)
    assert business_day(sunday_night).isoformat() == "2026-11-29"
    assert week_start(sunday_night).isoformat() == "2026-11-23"
    assert previous_week(datetime(2026, 11, 24, 17, tzinfo=UTC)).isoformat() == "2026-11-16"


@given(moments)
def test_a_week_starts_on_a_new_york_monday_and_holds_the_moment(moment):
    monday = week_start(moment)
    assert monday.weekday() == 0
    start = datetime(monday.year, monday.month, monday.day, tzinfo=NY)
    end = datetime.combine(monday + timedelta(days=7), datetime.min.time(), tzinfo=NY)
    assert start <= moment < end
    assert previous_week(moment) == monday - timedelta(days=7)


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_money_is_exact_for_every_amount_of_cents(cents):
    assert Decimal(dollars(cents)) * 100 == cents
    assert Decimal(usd(cents).replace("$", "").replace(",", "")) * 100 == cents
    assert usd(cents).startswith("-$" if cents < 0 else "$")


def test_money_formats():
    assert [dollars(c) for c in (0, 5, 350, -7)] == ["0.00", "0.05", "3.50", "-0.07"]
    assert usd(123456) == "$1,234.56"
    assert sheet_money(350) == "$3.50"


@given(st.text())
def test_the_email_matching_key_is_idempotent(value):
    assert normalize_email(normalize_email(value)) == normalize_email(value)


def test_masks_recognise_without_revealing():
    assert mask_receiver("paypal", "ann@example.com") == "a…@ex…com"
    assert mask_receiver("payoneer", "AB") == "****B"
    assert mask_receiver("payoneer", "PAYEE-991234") == "****1234"
    assert mask_receiver("paypal", None) is None
