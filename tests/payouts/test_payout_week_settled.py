"""The scheduled payout's last check (issue 17, item 1): a Tuesday run that ends with accepted,
unpaid videos of collectors who have payment details fails with one sentence for ops; a settled
week passes. Run types are the Task SDK's own enum, as a task receives them at run time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from airflow.sdk.api.datamodels._generated import DagRunType
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
from payout_checks import payout_week, rows, wait_until_final
from scoring_world import T0

from collector.payouts.ledger import (
    approve_batches,
    close_unsubmitted,
    freeze_week,
    unsettled_week,
)
from collector.scoring.scores import score_videos
from collector_airflow.tasks.payouts import check_week_settled, reconcile_batches, submit_batch

WEEK = date(2026, 11, 16)
RUN = {"week": WEEK.isoformat(), "providers": ["paypal", "payoneer"], "dry_run": False}
PAYEES = {
    "ann@x.org": ("paypal", "ann@x.org"),
    "dee@x.org": ("payoneer", "DEE-1"),
    "nop@x.org": None,  # no payment details: held, never "left" (ops digest reports holds)
}


@pytest.fixture
def week(warehouse, payment_connections):
    """Two accepted videos per collector ($3.00 + $3.50); returns the run's start: now."""
    return payout_week(warehouse, PAYEES)


def _started() -> datetime:
    return datetime.now(UTC)


def test_a_scheduled_run_that_paid_nothing_fails_with_one_sentence(warehouse, week):
    since = _started()  # e.g. the freeze failed: nothing was frozen, let alone paid
    with pytest.raises(AirflowFailException) as failed:
        check_week_settled(RUN, DagRunType.SCHEDULED, since)
    message = str(failed.value)
    assert message == (
        "The scheduled payout for the week of 2026-11-16 ended with 4 accepted videos of "
        "2 collectors with payment details unpaid ($13.00): read this run's failed or refused "
        "payments in the reconcile log, then re-trigger weekly_payout for that week with dry "
        "run off and approve it (nothing is paid twice), or they roll into next Tuesday's "
        "payout."
    )
    assert message.count(". ") == 0 and message.endswith(".")  # one sentence


def test_a_settled_week_passes_and_late_acceptances_do_not_alarm(warehouse, week):
    since = _started()
    frozen = freeze_week(warehouse, WEEK, RUN["providers"], "scheduled__x")
    approve_batches(warehouse, frozen.fingerprint(), "finance@x.org")
    warehouse.commit()
    batch_ids = [b.batch_id for b in frozen.batches]
    for batch_id in batch_ids:
        assert submit_batch(batch_id) == "submitted"
    wait_until_final(batch_ids)
    reconcile_batches(batch_ids)
    assert {s for (s,) in rows(warehouse, "SELECT status FROM payout_items")} == {"paid"}
    # Accepted while the run waited for finance: next Tuesday's freeze takes it by itself.
    week.video(collector="ann@x.org", at=T0 + timedelta(days=2))
    score_videos(warehouse)
    warehouse.commit()
    counts = check_week_settled(RUN, DagRunType.SCHEDULED, since)
    assert counts == {
        "week": "2026-11-16",
        "videos": 0,
        "collectors": 0,
        "cents": 0,
        "unsent_videos": 0,
        "rejected_batches": [],
    }
    # ...but it is what a run started after it would have to pay.
    assert unsettled_week(warehouse, WEEK, _started()).videos == 1
    warehouse.rollback()


def test_a_batch_nobody_approved_says_approve_it(warehouse, week):
    since = _started()
    freeze_week(warehouse, WEEK, RUN["providers"], "scheduled__x")
    warehouse.commit()
    with pytest.raises(AirflowFailException, match="frozen in a batch nobody approved or sent"):
        check_week_settled(RUN, DagRunType.SCHEDULED, since)
    left = unsettled_week(warehouse, WEEK, since)
    warehouse.rollback()
    assert (left.videos, left.unsent_videos, left.collectors, left.cents) == (4, 4, 2, 1300)


def test_a_rejection_by_finance_is_reported_as_deliberate(warehouse, week):
    since = _started()
    frozen = freeze_week(warehouse, WEEK, RUN["providers"], "scheduled__x")
    close_unsubmitted(
        warehouse, [b.batch_id for b in frozen.batches], "rejected", "finance", "no budget"
    )
    warehouse.commit()
    with pytest.raises(AirflowFailException) as failed:
        check_week_settled(RUN, DagRunType.SCHEDULED, since)
    message = str(failed.value)
    assert "4 accepted videos of 2 collectors with payment details unpaid ($13.00)" in message
    assert "because finance rejected batch(es)" in message and "deliberate" in message
    assert "trigger weekly_payout for that week with dry run off and approve it" in message


@pytest.mark.parametrize("run_type", [DagRunType.MANUAL, DagRunType.BACKFILL, "manual"])
def test_runs_triggered_by_hand_are_not_checked(warehouse, week, run_type):
    with pytest.raises(AirflowSkipException, match="Not a scheduled run"):
        check_week_settled(RUN, run_type, _started())


def test_the_scheduled_enum_is_recognised_whatever_its_str():
    assert str(DagRunType.SCHEDULED) != "scheduled"  # the trap: never compare str() of it
    from collector_airflow.runs import SCHEDULED, run_type_value

    assert run_type_value(DagRunType.SCHEDULED) == SCHEDULED


def test_a_run_whose_week_was_never_resolved_is_not_checked():
    """resolve_run failed (and alerted): the check has no week, says so, and skips."""
    with pytest.raises(AirflowSkipException, match="No payout week was resolved"):
        check_week_settled(None, DagRunType.SCHEDULED, _started())
