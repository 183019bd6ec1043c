"""Shared by the payout tests: a scored payout week, the sandbox's admin API and the
exactly-once invariant."""

from __future__ import annotations

import json
import time
import urllib.request
from decimal import Decimal


def admin(url: str, path: str, body: dict | None = None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{url}/_sandbox/{path}", data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def wait_until_final(batch_ids: list[int], timeout: float = 20) -> None:
    from collector_airflow.triggers.payouts import PayoutBatchTrigger

    trigger = PayoutBatchTrigger(batch_ids, poll_interval=0.1)
    deadline = time.monotonic() + timeout
    while trigger.waiting():
        assert time.monotonic() < deadline, "providers never finished"
        time.sleep(0.1)


def rows(conn, sql: str, args=()) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        rows = cur.fetchall()
    conn.commit()
    return rows


def assert_paid_exactly_once(conn, sandbox_url: str) -> None:
    """The invariant every scenario ends with."""
    [(live, distinct)] = rows(
        conn,
        """SELECT count(*), count(DISTINCT video_id) FROM payout_item_videos
           WHERE released_at IS NULL""",
    )
    assert live == distinct, "a video has two live claims"
    held = admin(sandbox_url, "payments/batches")
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
        for key, status, cents in rows(
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
    for key, item_cents, video_cents in rows(
        conn,
        """SELECT i.idempotency_key, i.amount_cents, sum(v.pay_cents + v.bonus_cents)
           FROM payout_items i JOIN payout_item_videos v USING (item_id)
           WHERE i.status IN ('paid', 'unclaimed', 'pending') AND v.released_at IS NULL
           GROUP BY 1, 2""",
    ):
        assert item_cents == video_cents, key


def payout_week(conn, payees: dict[str, tuple[str, str] | None]):
    """Two accepted videos per collector in the week of T0 (one perfect: $3.00 + $3.50), with
    payment details where ``payees`` gives (provider, receiver), none where it gives None;
    scored and committed. Returns the scoring World."""
    from datetime import timedelta

    from scoring_world import T0, World

    from collector.payouts.profiles import set_payment_profile
    from collector.scoring.scores import score_videos

    world = World(conn, pay_per_video_cents=300, perfect_bonus_cents=50)
    for n, (collector, profile) in enumerate(payees.items()):
        world.video(collector=collector, at=T0 + timedelta(minutes=n), labels=("good", "perfect"))
        world.video(collector=collector, at=T0 + timedelta(days=1, minutes=n))
        if profile:
            set_payment_profile(conn, collector, *profile, "test")
    score_videos(conn)
    conn.commit()
    return world
