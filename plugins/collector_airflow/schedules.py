"""The clocks the pipelines run on, so the UI shows each DAG on its own clock.

Business times (the 08:00 collection update, the 07:00 ops digest, the Tuesday payout) are
New York wall-clock times, DST handled by the timetable. Frequent pipelines (every 15/30
minutes, hourly) are UTC crons: they read the same in any zone except for the minute.

A DAG's start date carries the zone of its schedule: Airflow shows it as the DAG's
**Timezone** (details tab) and otherwise interprets a naive start date in
``[core] default_timezone``.
"""

from __future__ import annotations

from datetime import datetime

import pendulum
from airflow.sdk import CronTriggerTimetable

from collector.core.clock import BUSINESS_TZ_NAME
from collector_airflow.defaults import START_DATE

UTC = "UTC"


def start_date(tz: str) -> datetime:
    """The project's start date as a wall-clock moment in ``tz``."""
    return pendulum.instance(START_DATE, tz=tz)


def business_cron(expression: str) -> CronTriggerTimetable:
    """A cron read on New York's wall clock (08:00 stays 08:00 across DST changes)."""
    return CronTriggerTimetable(expression, timezone=BUSINESS_TZ_NAME)


def utc_cron(expression: str) -> CronTriggerTimetable:
    return CronTriggerTimetable(expression, timezone=UTC)
