"""Run types as the Task SDK hands them to a task: Enum members, not the strings we expect."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest


def test_the_runtime_enum_is_what_str_gets_wrong():
    from airflow.sdk.api.datamodels._generated import DagRunType

    # The trap itself, kept as a test so that an Airflow upgrade that changes it is noticed.
    assert str(DagRunType.SCHEDULED) != "scheduled"


@pytest.mark.parametrize("name", ["SCHEDULED", "BACKFILL", "MANUAL", "ASSET_TRIGGERED"])
def test_run_type_value_reads_the_enum_and_its_string(name):
    from airflow.sdk.api.datamodels._generated import DagRunType

    from collector_airflow.runs import run_type_value

    member = DagRunType[name]
    assert run_type_value(member) == member.value == name.lower()
    assert run_type_value(member.value) == name.lower()


def test_run_type_value_refuses_the_str_of_an_enum():
    from collector_airflow.runs import run_type_value

    with pytest.raises(ValueError, match=r"DagRunType\.SCHEDULED"):
        run_type_value("DagRunType.SCHEDULED")
    assert run_type_value(None) is None


def test_a_scheduled_payout_pays_and_a_manual_one_defaults_to_a_dry_run():
    from airflow.sdk.api.datamodels._generated import DagRunType

    from collector_airflow.tasks.payouts import resolve_run

    tuesday = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)  # 12:00 ET
    scheduled = resolve_run({"dry_run": True}, DagRunType.SCHEDULED, tuesday, tuesday)
    assert scheduled == {
        "week": "2026-11-16",
        "providers": ["paypal", "payoneer"],
        "dry_run": False,
    }
    manual = resolve_run({"dry_run": True}, DagRunType.MANUAL, None, tuesday)
    assert manual["dry_run"] is True and manual["week"] == "2026-11-16"
