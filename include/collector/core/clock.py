"""The business clock: which day and which payout week a moment belongs to.

Business times are New York wall-clock times, daylight saving included (docs/business-clock.md):
a payout week runs Monday 00:00 to the next Monday 00:00 America/New_York (FAQ 6), collection
days and review days are New York days. Every stage asks this module instead of naming the
time zone itself.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

BUSINESS_TZ_NAME = "America/New_York"
BUSINESS_TZ = ZoneInfo(BUSINESS_TZ_NAME)


def business_day(moment: datetime) -> date:
    """The New York calendar day of an aware ``moment``."""
    return moment.astimezone(BUSINESS_TZ).date()


def week_start(moment: datetime) -> date:
    """Monday (America/New_York) of the payout week holding the aware ``moment``."""
    local = business_day(moment)
    return local - timedelta(days=local.weekday())


def previous_week(moment: datetime) -> date:
    """Monday of the last complete payout week before ``moment`` (Monday to Monday, ET)."""
    return week_start(moment) - timedelta(days=7)
