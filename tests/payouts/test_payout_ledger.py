"""The payout ledger on a real PostgreSQL: amounts, holds, paid-once, resume, roll-over."""

from __future__ import annotations

from datetime import date, timedelta

import psycopg2
import pytest
from scoring_world import T0, World

from collector.core.clock import previous_week
from collector.core.money import dollars
from collector.payouts.ledger import (
    ItemOutcome,
    LedgerError,
    approve_batches,
    close_unsubmitted,
    freeze_week,
    record_outcomes,
)
from collector.payouts.profiles import ProfileError, normalize_payment_profile, set_payment_profile
from collector.payouts.report import build_report
from collector.scoring.scores import score_videos

WEEK = date(2026, 11, 16)  # T0 is Monday 2026-11-16 18:00 ET


def test_profiles_are_validated_and_normalized():
    assert normalize_payment_profile("PayPal", "  Ann.Lee@Example.COM ") == (
        "paypal",
        "ann.lee@example.com",
    )
    assert normalize_payment_profile("payoneer", " PAYEE-17 ") == ("payoneer", "PAYEE-17")
    with pytest.raises(ProfileError, match=r"PayPal email: 'ann@example' is not an email"):
        normalize_payment_profile("paypal", "ann@example")
    with pytest.raises(ProfileError, match="payee id"):
        normalize_payment_profile("payoneer", "two words")
    with pytest.raises(ProfileError, match="'paypal' or 'payoneer'"):
        normalize_payment_profile("venmo", "x")


def test_dollars_never_goes_through_float():
    assert [dollars(c) for c in (0, 5, 350, 123456789, -7)] == [
        "0.00",
        "0.05",
        "3.50",
        "1234567.89",
        "-0.07",
    ]


def test_previous_week_is_monday_to_monday_eastern():
    from datetime import UTC, datetime

    # Tuesday 12:00 ET, the schedule: the week that ended on Monday 00:00 ET.
    assert previous_week(datetime(2026, 11, 24, 17, 0, tzinfo=UTC)) == WEEK
    # Monday 03:00 UTC is still Sunday in New York: the week before that.
    assert previous_week(datetime(2026, 11, 23, 3, 0, tzinfo=UTC)) == WEEK - timedelta(days=7)


def _world(conn) -> World:
    world = World(conn, pay_per_video_cents=300, perfect_bonus_cents=50)
    return world


def _ledger(conn, sql: str, args=()) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        rows = cur.fetchall()
    conn.commit()
    return rows


def test_freeze_pays_accepted_videos_with_the_perfect_bonus_and_holds_the_rest(warehouse):
    world = _world(warehouse)
    world.video(collector="ann@x.org", labels=("good", "perfect"))
    world.video(collector="ann@x.org", at=T0 + timedelta(days=1), labels=("good", "good"))
    world.video(collector="ann@x.org", at=T0 + timedelta(days=2), labels=("incorrect_label",) * 2)
    world.video(collector="bob@x.org", at=T0 + timedelta(days=3))
    world.video(collector="cy@x.org", at=T0 + timedelta(days=3))
    world.video(collector="cy@x.org", at=T0 + timedelta(days=8))  # next week: not yet
    score_videos(warehouse)
    set_payment_profile(warehouse, "ann@x.org", "paypal", "Ann@X.org", "test")
    set_payment_profile(warehouse, "bob@x.org", "payoneer", "BOB-1", "test")
    warehouse.commit()

    frozen = freeze_week(warehouse, WEEK, ["paypal", "payoneer"], "test")
    warehouse.commit()
    by_provider = {b.provider: b for b in frozen.batches}
    assert by_provider["paypal"].total_cents == 300 + 50 + 300
    assert by_provider["payoneer"].total_cents == 300
    assert (frozen.held_collectors, frozen.held_cents) == (1, 300)
    holds = _ledger(warehouse, "SELECT collector_id, reason FROM payout_holds")
    assert holds == [("cy@x.org", "no payment details: enter PayPal or Payoneer under Profile")]
    items = _ledger(
        warehouse, "SELECT receiver, amount_cents, status FROM payout_items ORDER BY receiver"
    )
    assert items == [("BOB-1", 300, "frozen"), ("ann@x.org", 650, "frozen")]

    report = build_report(warehouse, WEEK, [b.batch_id for b in frozen.batches])
    assert report.total_cents == 950
    assert report.held[0]["collector_id"] == "cy@x.org"
    assert "ann@x.org,650" not in report.csv_text()  # dollars and cents columns, not a float
    assert ",6.50,650,USD,2," in report.csv_text()
    assert "$9.50" in report.markdown()


def test_a_paypal_email_is_paid_as_typed_never_case_folded_into_another(warehouse):
    """Issue 19: ``casefold`` made ``Maria.Weiß@`` into ``maria.weiss@``, another PayPal
    account; the frozen item pays the address typed (ASCII case aside). Issue 21: a pasted
    invisible character is refused with where it is, not silently removed."""
    world = _world(warehouse)
    world.video(collector="maria.weiß@example.de", labels=("good", "good"))
    score_videos(warehouse)
    with pytest.raises(ProfileError, match="U\\+200B ZERO WIDTH SPACE at position 22"):
        set_payment_profile(
            warehouse, "maria.weiß@example.de", "paypal", " Maria.Weiß@Example.de\u200b", "test"
        )
    warehouse.rollback()
    profile = set_payment_profile(
        warehouse, "maria.weiß@example.de", "paypal", " Maria.Weiß@Example.de ", "test"
    )
    assert profile == ("paypal", "maria.weiß@example.de")
    freeze_week(warehouse, WEEK, ["paypal"], "test")
    warehouse.commit()
    items = _ledger(warehouse, "SELECT collector_id, receiver FROM payout_items")
    assert items == [("maria.weiß@example.de", "maria.weiß@example.de")]


def test_a_second_freeze_resumes_and_a_video_is_never_claimed_twice(warehouse):
    world = _world(warehouse)
    video = world.video(collector="ann@x.org")
    score_videos(warehouse)
    set_payment_profile(warehouse, "ann@x.org", "paypal", "ann@x.org", "test")
    first = freeze_week(warehouse, WEEK, ["paypal"], "run-1")
    warehouse.commit()
    again = freeze_week(warehouse, WEEK, ["paypal"], "run-2")
    warehouse.commit()
    assert [b.batch_id for b in again.batches] == [first.batches[0].batch_id]
    assert again.batches[0].resumed
    # Even a later week cannot take it while the claim is live...
    later = freeze_week(warehouse, WEEK + timedelta(days=7), ["paypal"], "run-3")
    warehouse.commit()
    assert later.batches == []
    # ...and the database itself refuses a second live claim.
    with pytest.raises(psycopg2.errors.UniqueViolation), warehouse.cursor() as cur:
        cur.execute(
            """INSERT INTO payout_item_videos (item_id, video_id, collection_id,
                   collection_version, video_week, pay_cents, bonus_cents)
               SELECT item_id, %s, 'P004C009', 1, %s, 300, 0 FROM payout_items""",
            (video, WEEK),
        )
    warehouse.rollback()


def test_rejection_releases_the_videos_for_the_next_freeze(warehouse):
    world = _world(warehouse)
    world.video(collector="ann@x.org")
    score_videos(warehouse)
    set_payment_profile(warehouse, "ann@x.org", "paypal", "ann@x.org", "test")
    first = freeze_week(warehouse, WEEK, ["paypal"], "run-1").batches[0]
    close_unsubmitted(warehouse, [first.batch_id], "rejected", "finance@x.org", "wrong week")
    warehouse.commit()
    second = freeze_week(warehouse, WEEK, ["paypal"], "run-2").batches[0]
    warehouse.commit()
    assert (second.attempt, second.total_cents, second.resumed) == (2, 300, False)
    assert second.batch_id != first.batch_id
    keys = _ledger(warehouse, "SELECT idempotency_key FROM payout_submissions ORDER BY batch_id")
    assert keys == [("collector-20261116-paypal-a1-c1",), ("collector-20261116-paypal-a2-c1",)]


def test_approval_is_for_what_finance_saw(warehouse):
    world = _world(warehouse)
    world.video(collector="ann@x.org")
    score_videos(warehouse)
    set_payment_profile(warehouse, "ann@x.org", "paypal", "ann@x.org", "test")
    frozen = freeze_week(warehouse, WEEK, ["paypal"], "run-1")
    warehouse.commit()
    tampered = {k: [items, cents + 1] for k, (items, cents) in frozen.fingerprint().items()}
    with pytest.raises(LedgerError, match="changed since the report"):
        approve_batches(warehouse, tampered, "finance@x.org")
    warehouse.rollback()
    assert approve_batches(warehouse, frozen.fingerprint(), "finance@x.org") == [
        frozen.batches[0].batch_id
    ]
    warehouse.commit()
    assert approve_batches(warehouse, frozen.fingerprint(), "finance@x.org") == []


def _submit_all(conn, batch_id: int) -> None:
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE payout_submissions SET accepted_at = now(), provider_batch_id = 'PB1' "
            "WHERE batch_id = %s",
            (batch_id,),
        )
        cur.execute("UPDATE payout_items SET status = 'pending' WHERE batch_id = %s", (batch_id,))
        cur.execute(
            "UPDATE payout_batches SET state = 'submitted' WHERE batch_id = %s", (batch_id,)
        )
    conn.commit()


def test_failed_and_returned_items_roll_into_the_next_week(warehouse):
    world = _world(warehouse)
    world.video(collector="ann@x.org")
    world.video(collector="bob@x.org")
    world.video(collector="cy@x.org")
    score_videos(warehouse)
    for who in ("ann", "bob", "cy"):
        set_payment_profile(warehouse, f"{who}@x.org", "paypal", f"{who}@x.org", "test")
    frozen = freeze_week(warehouse, WEEK, ["paypal"], "run-1")
    approve_batches(warehouse, frozen.fingerprint(), "finance@x.org")
    warehouse.commit()
    batch = frozen.batches[0].batch_id
    _submit_all(warehouse, batch)
    keys = dict(_ledger(warehouse, "SELECT collector_id, idempotency_key FROM payout_items"))
    record_outcomes(
        warehouse,
        "paypal",
        [
            ItemOutcome(keys["ann@x.org"], "SUCCESS", "I1"),
            ItemOutcome(keys["bob@x.org"], "FAILED", "I2", "RECEIVER_UNREGISTERED"),
            ItemOutcome(keys["cy@x.org"], "UNCLAIMED", "I3"),
        ],
        "test",
    )
    warehouse.commit()
    assert _ledger(warehouse, "SELECT state FROM payout_batches") == [("reconciled",)]
    # A paid item cannot quietly become failed.
    with pytest.raises(LedgerError, match="was paid"):
        record_outcomes(warehouse, "paypal", [ItemOutcome(keys["ann@x.org"], "FAILED")], "t")
    warehouse.rollback()
    # 30 days later PayPal returns cy's money.
    record_outcomes(warehouse, "paypal", [ItemOutcome(keys["cy@x.org"], "RETURNED")], "test")
    warehouse.commit()

    next_week = freeze_week(warehouse, WEEK + timedelta(days=7), ["paypal"], "run-2")
    warehouse.commit()
    report = build_report(warehouse, next_week.week, [b.batch_id for b in next_week.batches])
    assert sorted(r["collector_id"] for r in report.rolled_over) == ["bob@x.org", "cy@x.org"]
    assert any("RECEIVER_UNREGISTERED" in r["why"] for r in report.rolled_over)
    assert next_week.batches[0].total_cents == 600
    paid_once = _ledger(
        warehouse,
        """SELECT count(*) FILTER (WHERE released_at IS NULL), count(DISTINCT video_id)
           FROM payout_item_videos""",
    )
    assert paid_once == [(3, 3)]


def test_anomaly_when_a_week_is_far_above_the_collectors_median(warehouse):
    world = _world(warehouse)
    set_payment_profile(warehouse, "ann@x.org", "paypal", "ann@x.org", "test")
    for weeks_back in (4, 3, 2, 1):
        monday = WEEK - timedelta(weeks=weeks_back)
        world.video(collector="ann@x.org", at=T0 - timedelta(weeks=weeks_back))
        score_videos(warehouse)
        frozen = freeze_week(warehouse, monday, ["paypal"], "past")
        approve_batches(warehouse, frozen.fingerprint(), "finance@x.org")
        warehouse.commit()
        _submit_all(warehouse, frozen.batches[0].batch_id)
    for hours in range(0, 13 * 4, 13):  # four videos outside each other's rate limit
        world.video(collector="ann@x.org", at=T0 + timedelta(hours=hours))
    score_videos(warehouse)
    frozen = freeze_week(warehouse, WEEK, ["paypal"], "now")
    report = build_report(warehouse, WEEK, [frozen.batches[0].batch_id])
    assert report.anomalies == [
        {"collector_id": "ann@x.org", "cents": 1200, "median_cents": 300, "weeks": 4}
    ]
    warehouse.rollback()


def test_a_stored_receiver_failing_the_rules_is_held_with_a_reason_the_collector_sees(warehouse):
    """Issue 21: a receiver stored before the entry rules (here with a zero-width space and a
    script tag) is checked again at freeze: held like missing details, the reason masked, the
    others paid; the collector's dashboard says why until the details are entered again."""
    from collector.dashboards.content import build_dashboards

    world = _world(warehouse)
    world.video(collector="ann@x.org")
    world.video(collector="bob@x.org")
    score_videos(warehouse)
    set_payment_profile(warehouse, "ann@x.org", "paypal", "ann@x.org", "test")
    set_payment_profile(warehouse, "bob@x.org", "paypal", "bob@x.org", "test")
    with warehouse.cursor() as cur:
        cur.execute(
            "UPDATE payment_profiles SET receiver = %s, updated_at = now() - interval '1 day' "
            "WHERE collector_id = 'bob@x.org'",
            ("<script>bob@x.org",),
        )
    frozen = freeze_week(warehouse, WEEK, ["paypal"], "test")
    warehouse.commit()
    assert frozen.held_collectors == 1
    assert _ledger(warehouse, "SELECT collector_id FROM payout_items") == [("ann@x.org",)]
    [(reason,)] = _ledger(warehouse, "SELECT reason FROM payout_holds")
    assert reason.startswith("payment details on file cannot be paid: PayPal email: '<'")
    assert "enter them again under Profile" in reason and "bob@x.org" not in reason
    summary = dict(build_dashboards(warehouse, ["bob@x.org"], T0).get("bob@x.org").summary)
    assert summary["Payment details"] == reason
    set_payment_profile(warehouse, "bob@x.org", "paypal", "bob@x.org", "bob@x.org")
    warehouse.commit()
    summary = dict(build_dashboards(warehouse, ["bob@x.org"], T0).get("bob@x.org").summary)
    assert summary["Payment details"] == "on file (change them under Profile)"
