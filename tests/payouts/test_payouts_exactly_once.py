"""Fault injection against the sandbox through the real clients (paypalrestsdk, requests).

Every scenario ends with the same check: every accepted video is claimed by at most one live
payment, the provider holds each payment key at most once, and what the provider sent equals
what the ledger says was paid, to the cent.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from unittest.mock import ANY

import pytest
from payout_checks import admin, assert_paid_exactly_once, rows, wait_until_final
from scoring_world import T0, World

from collector.dashboards.content import build_dashboards
from collector.payouts.ledger import approve_batches, freeze_week
from collector.payouts.profiles import set_payment_profile
from collector.scoring.scores import score_videos
from collector_airflow.hooks.payouts import PayoutProviderError, PayPalPayoutsHook
from collector_airflow.tasks.payouts import reconcile_batches, refresh_outstanding, submit_batch

WEEK = date(2026, 11, 16)
PAYEES = {
    "ann@x.org": ("paypal", "ann@x.org"),
    "bob@x.org": ("paypal", "bob+unclaimed@x.org"),
    "cy@x.org": ("paypal", "cy+unregistered@x.org"),
    "dee@x.org": ("payoneer", "DEE-1"),
    "eve@x.org": ("payoneer", "eve-unregistered"),
}


@pytest.fixture
def week(warehouse, payment_connections):
    """Two accepted videos per collector (one perfect), everyone with payment details."""
    world = World(warehouse, pay_per_video_cents=300, perfect_bonus_cents=50)
    for n, (collector, (method, receiver)) in enumerate(PAYEES.items()):
        world.video(collector=collector, at=T0 + timedelta(minutes=n), labels=("good", "perfect"))
        world.video(collector=collector, at=T0 + timedelta(days=1, minutes=n))
        set_payment_profile(warehouse, collector, method, receiver, "test")
    score_videos(warehouse)
    warehouse.commit()
    return world


def _freeze_and_approve(conn, providers=("paypal", "payoneer")) -> dict[str, int]:
    frozen = freeze_week(conn, WEEK, list(providers), "test")
    approve_batches(conn, frozen.fingerprint(), "finance@x.org")
    conn.commit()
    return {b.provider: b.batch_id for b in frozen.batches}


def test_happy_path_pays_each_collector_once_and_rolls_failures_over(warehouse, week, sandbox_url):
    batches = _freeze_and_approve(warehouse)
    for batch_id in batches.values():
        assert submit_batch(batch_id) == "submitted"
    wait_until_final(list(batches.values()))
    summary = reconcile_batches(list(batches.values()))
    assert summary["items"] == {"paid": 2, "unclaimed": 1, "failed": 2}
    statuses = dict(rows(warehouse, "SELECT receiver, status FROM payout_items"))
    assert statuses == {
        "ann@x.org": "paid",
        "bob+unclaimed@x.org": "unclaimed",
        "cy+unregistered@x.org": "failed",
        "DEE-1": "paid",
        "eve-unregistered": "failed",
    }
    assert {s for (s,) in rows(warehouse, "SELECT state FROM payout_batches")} == {"reconciled"}
    assert_paid_exactly_once(warehouse, sandbox_url)
    [(ann_item,)] = rows(
        warehouse, "SELECT provider_item_id FROM payout_items WHERE collector_id = 'ann@x.org'"
    )
    item = PayPalPayoutsHook().find_item(ann_item)
    assert (item["transaction_status"], item["payout_item"]["amount"]["value"]) == (
        "SUCCESS",
        "6.50",
    )
    # What the collectors' dashboards now say (FAQ 13: payments on the dashboard).
    boards = build_dashboards(warehouse, None, T0 + timedelta(days=9))
    payments = {c: board.payments for c, board in boards.items()}
    assert payments["ann@x.org"] == [["2026-11-16", 2, "$6.50", "PayPal", "paid via PayPal", ANY]]
    assert payments["bob@x.org"][0][4] == "unclaimed: accept the payment in your PayPal account"
    # A failed payment: its videos are expected again, and the failure says what to fix.
    assert payments["cy@x.org"][0][4] == "expected"
    assert payments["cy@x.org"][1][4].startswith("failed: no PayPal account uses the address")
    assert "rolls into the next payout" in payments["eve@x.org"][1][4]
    assert boards["ann@x.org"].videos[0][8] == "$3.00 paid via PayPal"
    # Submitting or reconciling again changes nothing and sends nothing.
    stats = admin(sandbox_url, "payments/stats")
    for batch_id in batches.values():
        assert submit_batch(batch_id) == "reconciled"
    assert admin(sandbox_url, "payments/stats")["paypal"]["create"] == stats["paypal"]["create"]
    # A month later PayPal returns bob's money; the next week's payout takes his videos again.
    admin(sandbox_url, "payments/paypal/return-unclaimed", {})
    assert refresh_outstanding(["paypal", "payoneer"]) == {"returned": 1}
    next_week = freeze_week(warehouse, WEEK + timedelta(days=7), ["paypal", "payoneer"], "t")
    warehouse.commit()
    again = {b.provider: b.total_cents for b in next_week.batches}
    assert again == {"paypal": 650 + 650, "payoneer": 650}  # bob and cy; eve
    assert_paid_exactly_once(warehouse, sandbox_url)


def test_provider_500_after_accepting_then_a_retry_resumes_by_key(warehouse, week, sandbox_url):
    batches = _freeze_and_approve(warehouse, ["paypal"])
    admin(
        sandbox_url, "payments/faults", {"provider": "paypal", "kind": "server_error_after_accept"}
    )
    with pytest.raises(PayoutProviderError, match="HTTP 500"):
        submit_batch(batches["paypal"])
    assert rows(warehouse, "SELECT state FROM payout_batches") == [("approved",)]
    assert submit_batch(batches["paypal"]) == "submitted"  # the task's retry
    assert len(admin(sandbox_url, "payments/batches")["paypal"]) == 1
    wait_until_final([batches["paypal"]])
    reconcile_batches([batches["paypal"]])
    assert_paid_exactly_once(warehouse, sandbox_url)


@pytest.mark.slow  # 4-8 s: the fast lane skips it
def test_provider_500_before_accepting_and_timeouts(warehouse, week, sandbox_url):
    batches = _freeze_and_approve(warehouse)
    admin(sandbox_url, "payments/faults", {"provider": "paypal", "kind": "server_error"})
    with pytest.raises(PayoutProviderError):
        submit_batch(batches["paypal"])
    admin(sandbox_url, "payments/faults", {"provider": "payoneer", "kind": "timeout", "delay_s": 8})
    with pytest.raises(PayoutProviderError, match="Timeout"):
        submit_batch(batches["payoneer"])  # accepted by Payoneer, but we never heard back
    for batch_id in batches.values():
        assert submit_batch(batch_id) == "submitted"
    held = admin(sandbox_url, "payments/batches")
    assert len(held["paypal"]) == 1 and len(held["payoneer"]) == 2
    wait_until_final(list(batches.values()))
    reconcile_batches(list(batches.values()))
    assert_paid_exactly_once(warehouse, sandbox_url)


def test_submit_killed_after_the_provider_accepted(warehouse, week, sandbox_url, warehouse_url):
    """SIGKILL the submitting process while PayPal holds the batch but before our ledger write;
    the retry finds the batch by its sender_batch_id."""
    batches = _freeze_and_approve(warehouse, ["paypal"])
    admin(sandbox_url, "payments/faults", {"provider": "paypal", "kind": "timeout", "delay_s": 10})
    before = admin(sandbox_url, "payments/stats")["paypal"]["create"]
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from collector_airflow.tasks.payouts import submit_batch; "
            "submit_batch(int(sys.argv[1]))",
            str(batches["paypal"]),
        ],
        env={**os.environ, "COLLECTOR_DB_URL": warehouse_url},
    )
    deadline = time.monotonic() + 30
    while not admin(sandbox_url, "payments/batches")["paypal"]:
        assert worker.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    assert admin(sandbox_url, "payments/stats")["paypal"]["create"] == before + 1
    [(attempted, accepted)] = rows(
        warehouse,
        "SELECT attempted_at IS NOT NULL, accepted_at IS NOT NULL FROM payout_submissions",
    )
    assert (attempted, accepted) == (True, False)  # the crash window
    assert submit_batch(batches["paypal"]) == "submitted"
    assert len(admin(sandbox_url, "payments/batches")["paypal"]) == 1
    wait_until_final([batches["paypal"]])
    reconcile_batches([batches["paypal"]])
    assert_paid_exactly_once(warehouse, sandbox_url)


def test_concurrent_submits_take_turns_on_the_batch_row(warehouse, week, sandbox_url):
    batches = _freeze_and_approve(warehouse, ["paypal"])
    # The provider answers slowly (1.5 s, under the 5 s client timeout): both submits overlap.
    admin(sandbox_url, "payments/faults", {"provider": "paypal", "kind": "timeout", "delay_s": 1.5})
    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(submit_batch(batches["paypal"])))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
        time.sleep(0.3)
    for thread in threads:
        thread.join(30)
    assert sorted(results) == ["submitted", "submitted"]
    assert admin(sandbox_url, "payments/stats")["paypal"]["create"] == 1
    wait_until_final([batches["paypal"]])
    reconcile_batches([batches["paypal"]])
    assert_paid_exactly_once(warehouse, sandbox_url)


def test_insufficient_funds_pays_nothing_and_finance_sees_why(warehouse, week, sandbox_url):
    batches = _freeze_and_approve(warehouse)
    admin(sandbox_url, "payments/faults", {"provider": "paypal", "kind": "insufficient_funds"})
    admin(sandbox_url, "payments/faults", {"provider": "payoneer", "kind": "insufficient_funds"})
    assert submit_batch(batches["paypal"]) == "submitted"  # PayPal denies it later
    assert submit_batch(batches["payoneer"]) == "denied"  # Payoneer refuses at once
    wait_until_final([batches["paypal"]])
    reconcile_batches([batches["paypal"]])
    batch_states = dict(
        (provider, (state, reason))
        for provider, state, reason in rows(
            warehouse, "SELECT provider, state, state_reason FROM payout_batches"
        )
    )
    assert batch_states["paypal"][0] == "denied"
    assert "INSUFFICIENT_FUNDS" in batch_states["paypal"][1]
    assert batch_states["payoneer"][0] == "denied"
    assert "Insufficient funds" in batch_states["payoneer"][1]
    assert rows(warehouse, "SELECT DISTINCT status FROM payout_items") == [("failed",)]
    assert rows(warehouse, "SELECT count(*) FROM payout_item_videos WHERE released_at IS NULL") == [
        (0,)
    ]
    assert_paid_exactly_once(warehouse, sandbox_url)
    # Funds topped up: the same week can be paid again, under new keys (attempt 2).
    retry = _freeze_and_approve(warehouse)
    assert set(retry.values()).isdisjoint(batches.values())
    for batch_id in retry.values():
        assert submit_batch(batch_id) == "submitted"
    wait_until_final(list(retry.values()))
    reconcile_batches(list(retry.values()))
    assert_paid_exactly_once(warehouse, sandbox_url)


def test_the_same_week_triggered_twice_freezes_once_and_pays_once(warehouse, week, sandbox_url):
    """Two runs for one week, at the same time: the freeze lock and the batch row lock make
    the second find the first's batches; every step after that is a no-op for it."""
    from collector_airflow.tasks.payouts import freeze

    frozen: list[list[dict]] = []
    runs = [
        threading.Thread(target=lambda r=r: frozen.append(freeze(WEEK, ["paypal"], r)))
        for r in ("run-1", "run-2")
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join(30)
    assert sorted(b["resumed"] for f in frozen for b in f) == [False, True]
    assert rows(warehouse, "SELECT count(*) FROM payout_batches") == [(1,)]
    batch_id = frozen[0][0]["batch_id"]
    approve_batches(warehouse, {str(batch_id): [3, 1950]}, "finance@x.org")
    warehouse.commit()
    results: list[str] = []
    submits = [
        threading.Thread(target=lambda: results.append(submit_batch(batch_id))) for _ in range(2)
    ]
    for run in submits:
        run.start()
    for run in submits:
        run.join(30)
    assert results == ["submitted", "submitted"]
    assert admin(sandbox_url, "payments/stats")["paypal"]["create"] == 1
    wait_until_final([batch_id])
    reconcile_batches([batch_id])
    reconcile_batches([batch_id])
    assert_paid_exactly_once(warehouse, sandbox_url)


def test_large_batches_go_in_chunks_each_with_its_own_key(
    warehouse, week, sandbox_url, monkeypatch
):
    from collector.payouts import ledger

    monkeypatch.setitem(ledger.MAX_ITEMS_PER_REQUEST, "paypal", 2)
    monkeypatch.setitem(ledger.MAX_ITEMS_PER_REQUEST, "payoneer", 1)
    batches = _freeze_and_approve(warehouse)
    keys = rows(warehouse, "SELECT idempotency_key FROM payout_submissions ORDER BY 1")
    assert [k for (k,) in keys] == [
        "collector-20261116-payoneer-a1-c1",
        "collector-20261116-payoneer-a1-c2",
        "collector-20261116-paypal-a1-c1",
        "collector-20261116-paypal-a1-c2",
    ]
    for batch_id in batches.values():
        assert submit_batch(batch_id) == "submitted"
    assert len(admin(sandbox_url, "payments/batches")["paypal"]) == 2
    wait_until_final(list(batches.values()))
    reconcile_batches(list(batches.values()))
    assert_paid_exactly_once(warehouse, sandbox_url)


def test_payoneer_refusing_a_chunk_it_partly_holds_releases_nothing(
    warehouse, week, sandbox_url, payment_connections
):
    """An earlier attempt left Payoneer holding one payment of the chunk; the resend of the rest
    is refused (no funds). Releasing the held one would pay its videos twice: fail closed."""
    import requests

    batches = _freeze_and_approve(warehouse, ["payoneer"])
    batch_id = batches["payoneer"]
    [(key, receiver, cents)] = rows(
        warehouse,
        "SELECT idempotency_key, receiver, amount_cents FROM payout_items WHERE receiver = 'DEE-1'",
    )
    clients = payment_connections["payoneer"]
    token = requests.post(
        f"{sandbox_url}/api/v2/oauth2/token",
        data={"grant_type": "client_credentials", "scope": "read write"},
        auth=(clients["client_id"], clients["client_secret"]),
        timeout=10,
    ).json()["access_token"]
    held = requests.post(
        f"{sandbox_url}/v4/programs/{clients['program_id']}/masspayouts",
        json={"payments": [{"client_reference_id": key, "payee_id": receiver,
                            "amount": cents / 100, "currency": "USD", "description": "x"}]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )  # fmt: skip
    assert held.status_code == 201
    with warehouse.cursor() as cur:  # the earlier attempt's trace in the ledger
        cur.execute(
            "UPDATE payout_submissions SET attempted_at = now() WHERE batch_id = %s", (batch_id,)
        )
    warehouse.commit()
    admin(sandbox_url, "payments/faults", {"provider": "payoneer", "kind": "insufficient_funds"})
    with pytest.raises(PayoutProviderError, match="holds 1 of its 2 payments"):
        submit_batch(batch_id)
    assert rows(warehouse, "SELECT DISTINCT status FROM payout_items") == [("frozen",)]
    assert rows(
        warehouse, "SELECT count(*) FROM payout_item_videos WHERE released_at IS NOT NULL"
    ) == [(0,)]
    assert submit_batch(batch_id) == "submitted"  # funds back: the rest goes, once
    wait_until_final([batch_id])
    reconcile_batches([batch_id])
    assert_paid_exactly_once(warehouse, sandbox_url)


def test_paypal_statuses_later_moves_and_an_unknown_status_pays_nobody(
    warehouse, sandbox_url, payment_connections
):
    """Issue 20: ONHOLD waits, a claim or a release from hold pays, a reversal returns the
    money (the videos roll over), and a status outside PayPal's list is refused, not guessed."""
    from payout_checks import payout_week

    from collector.payouts.ledger import ItemOutcome, LedgerError, record_outcomes

    payees = {
        "ann@x.org": ("paypal", "ann@x.org"),
        "bob@x.org": ("paypal", "bob+onhold@x.org"),
        "cy@x.org": ("paypal", "cy+unclaimed@x.org"),
    }
    payout_week(warehouse, payees)
    batch = _freeze_and_approve(warehouse, ["paypal"])["paypal"]
    assert submit_batch(batch) == "submitted"
    wait_until_final([batch])
    reconcile_batches([batch])
    status = "SELECT collector_id, status FROM payout_items ORDER BY 1"
    assert rows(warehouse, status) == [
        ("ann@x.org", "paid"), ("bob@x.org", "pending"), ("cy@x.org", "unclaimed")
    ]  # fmt: skip
    assert rows(warehouse, "SELECT state FROM payout_batches") == [("submitted",)]
    ids = dict(rows(warehouse, "SELECT collector_id, provider_item_id FROM payout_items"))
    for collector, moved in (("bob@x.org", "SUCCESS"), ("cy@x.org", "SUCCESS")):
        admin(sandbox_url, f"payments/paypal/items/{ids[collector]}/status", {"status": moved})
    assert refresh_outstanding(["paypal"]) == {"paid": 2}  # released from hold; claimed
    admin(sandbox_url, f"payments/paypal/items/{ids['ann@x.org']}/status", {"status": "REVERSED"})
    reconcile_batches([batch])
    assert rows(warehouse, status) == [
        ("ann@x.org", "returned"), ("bob@x.org", "paid"), ("cy@x.org", "paid")
    ]  # fmt: skip
    assert rows(
        warehouse,
        """SELECT count(*) FROM payout_item_videos v JOIN payout_items i USING (item_id)
           WHERE i.collector_id = 'ann@x.org' AND v.released_at IS NULL""",
    ) == [(0,)]  # ann's videos roll into the next payout
    assert_paid_exactly_once(warehouse, sandbox_url)

    [(key,)] = rows(warehouse, "SELECT idempotency_key FROM payout_items WHERE status = 'paid' "
                    "AND collector_id = 'bob@x.org'")  # fmt: skip
    for unknown in ("CANCELED", "DENIED", "NEW"):  # not in PayPal's transaction_enum
        with pytest.raises(LedgerError, match=r"not known .* no payment is counted as paid"):
            record_outcomes(warehouse, "paypal", [ItemOutcome(key, unknown)], "test")
        warehouse.rollback()
    assert rows(warehouse, status)[1] == ("bob@x.org", "paid")
