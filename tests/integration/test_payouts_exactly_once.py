"""Fault injection against the sandbox through the real clients (paypalrestsdk, requests).

Every scenario ends with the same check: every accepted video is claimed by at most one live
payment, the provider holds each payment key at most once, and what the provider sent equals
what the ledger says was paid, to the cent.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import date, timedelta
from decimal import Decimal

import pytest
from scoring_world import T0, World

from collector.payouts import approve_batches, freeze_week, set_payment_profile
from collector.scoring import score_videos
from collector_airflow.hooks.payouts import PayoutProviderError
from collector_airflow.payouts import reconcile_batches, refresh_outstanding, submit_batch
from collector_airflow.triggers.payouts import PayoutBatchTrigger

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


def _admin(url: str, path: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{url}/_sandbox/{path}", data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def _wait_until_final(batch_ids: list[int], timeout: float = 20) -> None:
    trigger = PayoutBatchTrigger(batch_ids, poll_interval=0.1)
    deadline = time.monotonic() + timeout
    while trigger.waiting():
        assert time.monotonic() < deadline, "providers never finished"
        time.sleep(0.1)


def _rows(conn, sql: str, args=()) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        rows = cur.fetchall()
    conn.commit()
    return rows


def assert_paid_exactly_once(conn, sandbox_url: str) -> None:
    """The invariant every scenario ends with."""
    [(live, distinct)] = _rows(
        conn,
        """SELECT count(*), count(DISTINCT video_id) FROM payout_item_videos
           WHERE released_at IS NULL""",
    )
    assert live == distinct, "a video has two live claims"
    held = _admin(sandbox_url, "payments/batches")
    sent: dict[str, tuple[str, int]] = {}  # key -> (provider status, cents)
    for batch in held["paypal"]:
        for item in batch["items"]:
            key = item["payout_item"]["sender_item_id"]
            assert key not in sent, f"PayPal holds {key} twice"
            cents = int(Decimal(item["payout_item"]["amount"]["value"]) * 100)
            sent[key] = (item["transaction_status"], cents)
    for payment in held["payoneer"]:
        key = payment["client_reference_id"]
        assert key not in sent, f"Payoneer holds {key} twice"
        sent[key] = (payment["status"], int(Decimal(str(payment["amount"])) * 100))
    ledger = {
        key: (status, int(cents))
        for key, status, cents in _rows(
            conn, "SELECT idempotency_key, status, amount_cents FROM payout_items"
        )
    }
    for key, (_, cents) in sent.items():
        assert key in ledger, f"the provider holds {key}, the ledger does not"
        assert ledger[key][1] == cents, f"{key}: provider {cents} cents, ledger {ledger[key][1]}"
    paid_by_provider = sum(
        c for s, c in sent.values() if s in ("SUCCESS", "Transferred", "UNCLAIMED")
    )
    paid_in_ledger = sum(c for s, c in ledger.values() if s in ("paid", "unclaimed"))
    assert paid_by_provider == paid_in_ledger
    # Paid items pay exactly their live videos.
    for key, item_cents, video_cents in _rows(
        conn,
        """SELECT i.idempotency_key, i.amount_cents, sum(v.pay_cents + v.bonus_cents)
           FROM payout_items i JOIN payout_item_videos v USING (item_id)
           WHERE i.status IN ('paid', 'unclaimed', 'pending') AND v.released_at IS NULL
           GROUP BY 1, 2""",
    ):
        assert item_cents == video_cents, key


def test_happy_path_pays_each_collector_once_and_rolls_failures_over(warehouse, week, sandbox_url):
    batches = _freeze_and_approve(warehouse)
    for batch_id in batches.values():
        assert submit_batch(batch_id) == "submitted"
    _wait_until_final(list(batches.values()))
    summary = reconcile_batches(list(batches.values()))
    assert summary["items"] == {"paid": 2, "unclaimed": 1, "failed": 2}
    statuses = dict(_rows(warehouse, "SELECT receiver, status FROM payout_items"))
    assert statuses == {
        "ann@x.org": "paid",
        "bob+unclaimed@x.org": "unclaimed",
        "cy+unregistered@x.org": "failed",
        "DEE-1": "paid",
        "eve-unregistered": "failed",
    }
    assert {s for (s,) in _rows(warehouse, "SELECT state FROM payout_batches")} == {"reconciled"}
    assert_paid_exactly_once(warehouse, sandbox_url)
    # Submitting or reconciling again changes nothing and sends nothing.
    stats = _admin(sandbox_url, "payments/stats")
    for batch_id in batches.values():
        assert submit_batch(batch_id) == "reconciled"
    assert _admin(sandbox_url, "payments/stats")["paypal"]["create"] == stats["paypal"]["create"]
    # A month later PayPal returns bob's money; the next week's payout takes his videos again.
    _admin(sandbox_url, "payments/paypal/return-unclaimed", {})
    assert refresh_outstanding(["paypal", "payoneer"]) == {"returned": 1}
    next_week = freeze_week(warehouse, WEEK + timedelta(days=7), ["paypal", "payoneer"], "t")
    warehouse.commit()
    again = {b.provider: b.total_cents for b in next_week.batches}
    assert again == {"paypal": 650 + 650, "payoneer": 650}  # bob and cy; eve
    assert_paid_exactly_once(warehouse, sandbox_url)


def test_provider_500_after_accepting_then_a_retry_resumes_by_key(warehouse, week, sandbox_url):
    batches = _freeze_and_approve(warehouse, ["paypal"])
    _admin(
        sandbox_url, "payments/faults", {"provider": "paypal", "kind": "server_error_after_accept"}
    )
    with pytest.raises(PayoutProviderError, match="HTTP 500"):
        submit_batch(batches["paypal"])
    assert _rows(warehouse, "SELECT state FROM payout_batches") == [("approved",)]
    assert submit_batch(batches["paypal"]) == "submitted"  # the task's retry
    assert len(_admin(sandbox_url, "payments/batches")["paypal"]) == 1
    _wait_until_final([batches["paypal"]])
    reconcile_batches([batches["paypal"]])
    assert_paid_exactly_once(warehouse, sandbox_url)


def test_provider_500_before_accepting_and_timeouts(warehouse, week, sandbox_url):
    batches = _freeze_and_approve(warehouse)
    _admin(sandbox_url, "payments/faults", {"provider": "paypal", "kind": "server_error"})
    with pytest.raises(PayoutProviderError):
        submit_batch(batches["paypal"])
    _admin(
        sandbox_url, "payments/faults", {"provider": "payoneer", "kind": "timeout", "delay_s": 8}
    )
    with pytest.raises(PayoutProviderError, match="Timeout"):
        submit_batch(batches["payoneer"])  # accepted by Payoneer, but we never heard back
    for batch_id in batches.values():
        assert submit_batch(batch_id) == "submitted"
    held = _admin(sandbox_url, "payments/batches")
    assert len(held["paypal"]) == 1 and len(held["payoneer"]) == 2
    _wait_until_final(list(batches.values()))
    reconcile_batches(list(batches.values()))
    assert_paid_exactly_once(warehouse, sandbox_url)


def test_submit_killed_after_the_provider_accepted(warehouse, week, sandbox_url, warehouse_url):
    """SIGKILL the submitting process while PayPal holds the batch but before our ledger write;
    the retry finds the batch by its sender_batch_id."""
    batches = _freeze_and_approve(warehouse, ["paypal"])
    _admin(sandbox_url, "payments/faults", {"provider": "paypal", "kind": "timeout", "delay_s": 10})
    before = _admin(sandbox_url, "payments/stats")["paypal"]["create"]
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from collector_airflow.payouts import submit_batch; "
            "submit_batch(int(sys.argv[1]))",
            str(batches["paypal"]),
        ],
        env={**os.environ, "COLLECTOR_DB_URL": warehouse_url},
    )
    deadline = time.monotonic() + 30
    while not _admin(sandbox_url, "payments/batches")["paypal"]:
        assert worker.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)
    assert _admin(sandbox_url, "payments/stats")["paypal"]["create"] == before + 1
    [(attempted, accepted)] = _rows(
        warehouse,
        "SELECT attempted_at IS NOT NULL, accepted_at IS NOT NULL FROM payout_submissions",
    )
    assert (attempted, accepted) == (True, False)  # the crash window
    assert submit_batch(batches["paypal"]) == "submitted"
    assert len(_admin(sandbox_url, "payments/batches")["paypal"]) == 1
    _wait_until_final([batches["paypal"]])
    reconcile_batches([batches["paypal"]])
    assert_paid_exactly_once(warehouse, sandbox_url)


def test_concurrent_submits_take_turns_on_the_batch_row(warehouse, week, sandbox_url):
    batches = _freeze_and_approve(warehouse, ["paypal"])
    # The provider answers slowly (1.5 s, under the 5 s client timeout): both submits overlap.
    _admin(
        sandbox_url, "payments/faults", {"provider": "paypal", "kind": "timeout", "delay_s": 1.5}
    )
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
    assert _admin(sandbox_url, "payments/stats")["paypal"]["create"] == 1
    _wait_until_final([batches["paypal"]])
    reconcile_batches([batches["paypal"]])
    assert_paid_exactly_once(warehouse, sandbox_url)


def test_insufficient_funds_pays_nothing_and_finance_sees_why(warehouse, week, sandbox_url):
    batches = _freeze_and_approve(warehouse)
    _admin(sandbox_url, "payments/faults", {"provider": "paypal", "kind": "insufficient_funds"})
    _admin(sandbox_url, "payments/faults", {"provider": "payoneer", "kind": "insufficient_funds"})
    assert submit_batch(batches["paypal"]) == "submitted"  # PayPal denies it later
    assert submit_batch(batches["payoneer"]) == "denied"  # Payoneer refuses at once
    _wait_until_final([batches["paypal"]])
    reconcile_batches([batches["paypal"]])
    rows = dict(
        (provider, (state, reason))
        for provider, state, reason in _rows(
            warehouse, "SELECT provider, state, state_reason FROM payout_batches"
        )
    )
    assert rows["paypal"][0] == "denied" and "INSUFFICIENT_FUNDS" in rows["paypal"][1]
    assert rows["payoneer"][0] == "denied" and "Insufficient funds" in rows["payoneer"][1]
    assert _rows(warehouse, "SELECT DISTINCT status FROM payout_items") == [("failed",)]
    assert _rows(
        warehouse, "SELECT count(*) FROM payout_item_videos WHERE released_at IS NULL"
    ) == [(0,)]
    assert_paid_exactly_once(warehouse, sandbox_url)
    # Funds topped up: the same week can be paid again, under new keys (attempt 2).
    retry = _freeze_and_approve(warehouse)
    assert set(retry.values()).isdisjoint(batches.values())
    for batch_id in retry.values():
        assert submit_batch(batch_id) == "submitted"
    _wait_until_final(list(retry.values()))
    reconcile_batches(list(retry.values()))
    assert_paid_exactly_once(warehouse, sandbox_url)
