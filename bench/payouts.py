"""Benchmark: the weekly payout for 50,000 collectors (freeze + finance report + submit to the
PayPal sandbox through paypalrestsdk), counting API calls, against the naive way measured in
the same run: one ``Payout.create`` per collector.

    make bench     # or: .venv/bin/python bench/payouts.py [--collectors 50000] [--naive 1000]

Seeding 100,000 accepted videos (and scoring them) is not timed. The naive loop is measured on
``--naive`` collectors and extrapolated to all of them (it makes one request per collector, so
it scales linearly). Target: <= 4 PayPal create calls for 50,000 collectors (15,000 a request).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import date

from _common import CONSENTS_SQL, admin, sandbox, scratch_database

from collector.core import db
from collector.core.money import dollars
from collector.scoring.scores import score_videos

WEEK = date(2026, 11, 16)
SEED = """
INSERT INTO collections (collection_id, project_id) VALUES ('P901C001', 'P901');
INSERT INTO collection_versions (collection_id, version, name, activity_shortnames,
        activity_categories, required_activity_count, min_duration_s, rate_limit_hours,
        score_threshold, pay_per_video_cents, perfect_bonus_cents, valid_from)
    VALUES ('P901C001', 1, 'Bench collection', '{A,B}', '{a,b}', 2, 10, 12, 0.75, 300, 50, '2026-01-01');
INSERT INTO reviewers (email) VALUES ('r1@x.org');
INSERT INTO collectors (collector_id) SELECT 'c' || g || '@example.com' FROM generate_series(1, %(n)s) g;
INSERT INTO payment_profiles (collector_id, method, receiver)
    SELECT collector_id, 'paypal', collector_id FROM collectors;
INSERT INTO videos (video_id, collector_id, collection_id, collection_version, collected_at,
        frame_rate, duration_s, frame_width, frame_height, app_version, mp4_uri, current_annotation,
        subject_ids)
    SELECT 'v' || g || '-' || k, 'c' || g || '@example.com', 'P901C001', 1,
           timestamptz '2026-11-17' + k * interval '1 day' + g * interval '1 second', 30, 30,
           1920, 1080, '2.3.1', '-', '-', ARRAY['s' || g || '@example.com']
    FROM generate_series(1, %(n)s) g, generate_series(0, 1) k;
INSERT INTO activities (video_id, activity_index, shortname, start_frame, end_frame)
    SELECT video_id, i, (ARRAY['A', 'B'])[i + 1], 0, 10 FROM videos, generate_series(0, 1) i;
INSERT INTO review_queue_rows SELECT 'Q-' || video_id || '-' || activity_index, video_id,
    activity_index FROM activities;
INSERT INTO activity_ratings (video_id, activity_index, reviewer_email, labels, queue_id, sheet_row)
    SELECT video_id, activity_index, 'r1@x.org',
           CASE WHEN activity_index = 1 AND video_id LIKE '%%-0' THEN '{perfect}'::text[] ELSE '{good}'::text[] END,
           'Q-' || video_id || '-' || activity_index, 2
    FROM activities;
"""


@dataclass
class Ours:
    """Our weekly payout: seconds per step, PayPal calls counted, and the total paid."""

    freeze_s: float
    report_s: float
    submit_s: float
    calls: dict
    total_usd: str


def parse_args() -> argparse.Namespace:
    """The command line: ``--collectors`` paid, ``--naive`` of them paid the naive way."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--collectors", type=int, default=50_000)
    parser.add_argument("--naive", type=int, default=1_000)
    return parser.parse_args()


def configure(url: str, database: str) -> dict:
    """Point the Airflow connections at the scratch warehouse and the PayPal sandbox; its client."""
    clients = admin(url, "payments/clients")["paypal"]
    os.environ["AIRFLOW_CONN_COLLECTOR_WAREHOUSE"] = database
    os.environ["AIRFLOW_CONN_PAYPAL_DEFAULT"] = json.dumps(
        {
            "conn_type": "paypal",
            "login": clients["client_id"],
            "password": clients["client_secret"],
            "extra": {"mode": "sandbox", "endpoint": url, "timeout_s": 120},
        }
    )
    os.environ["COLLECTOR_PAYOUT_REPORTS_URL"] = tempfile.mkdtemp(prefix="bench-reports-")
    return clients


def seed(database: str, collectors: int):
    """Set-up (not timed): the collectors' accepted videos, scored; an open connection."""
    conn = db.connect(database)
    with conn.cursor() as cur:
        cur.execute(SEED, {"n": collectors})
        cur.execute(CONSENTS_SQL)
    conn.commit()
    score_videos(conn)
    return conn


def pay_ours(url: str, conn) -> Ours:
    """Ours: freeze, the finance report, approval (not timed) and one submitted batch."""
    from collector.payouts.ledger import approve_batches
    from collector_airflow.tasks.payouts import freeze, freeze_and_report, submit_batch

    admin(url, "payments/reset-stats", {})
    started = time.perf_counter()
    frozen = freeze(WEEK, ["paypal"], "bench")
    freeze_s = time.perf_counter() - started
    started = time.perf_counter()
    report = freeze_and_report(WEEK, ["paypal"], False, "bench")
    report_s = time.perf_counter() - started
    approve_batches(conn, report["fingerprint"], "bench")
    conn.commit()
    started = time.perf_counter()
    state_after = submit_batch(frozen[0]["batch_id"])
    submit_s = time.perf_counter() - started
    calls = admin(url, "payments/stats")["paypal"]
    assert state_after == "submitted", state_after
    return Ours(freeze_s, report_s, submit_s, calls, report["summary"]["total_usd"])


def pay_naive(url: str, clients: dict, conn, size: int) -> tuple[int, float, dict]:
    """The naive way: one single-item Payout.create per collector for the first ``size`` items."""
    import paypalrestsdk

    api = paypalrestsdk.Api(
        {
            "mode": "sandbox",
            "client_id": clients["client_id"],
            "client_secret": clients["client_secret"],
            "endpoint": url,
            "token_endpoint": url,
        }
    )
    with conn.cursor() as cur:
        cur.execute(
            "SELECT receiver, amount_cents FROM payout_items ORDER BY item_id LIMIT %s",
            (size,),
        )
        sample = cur.fetchall()
    conn.commit()
    admin(url, "payments/reset-stats", {})
    started = time.perf_counter()
    for n, (receiver, cents) in enumerate(sample):
        body = {
            "sender_batch_header": {"sender_batch_id": f"naive-{n}"},
            "items": [
                {
                    "recipient_type": "EMAIL",
                    "amount": {"value": dollars(cents), "currency": "USD"},
                    "receiver": receiver,
                    "sender_item_id": f"naive-{n}",
                }
            ],
        }
        assert paypalrestsdk.Payout(body, api=api).create(sync_mode=False)
    naive_s = time.perf_counter() - started
    return len(sample), naive_s, admin(url, "payments/stats")["paypal"]


def report(n: int, ours: Ours, sampled: int, naive_s: float, naive_calls: dict) -> None:
    """Print ours against the naive way extrapolated to all ``n`` collectors."""
    calls = ours.calls
    ours_s = ours.freeze_s + ours.report_s + ours.submit_s
    naive_total_s = naive_s / sampled * n
    print(
        f"ours     : {n:,} collectors, ${ours.total_usd}: freeze {ours.freeze_s:.1f} s, report "
        f"{ours.report_s:.1f} s, submit {ours.submit_s:.1f} s = {ours_s:.1f} s; PayPal calls: "
        f"{calls['create']} create + {calls['token']} token"
    )
    print(
        f"naive    : one Payout.create per collector: {naive_s / sampled * 1000:.1f} ms each "
        f"(measured on {sampled:,}), {naive_calls['create'] / sampled:.0f} create call "
        f"per collector; for {n:,}: {n:,} create calls, ~{naive_total_s:.0f} s"
    )
    print(
        f"ratio    : {n / max(calls['create'], 1):,.0f}x fewer create calls; submit "
        f"{naive_total_s / ours.submit_s:.0f}x faster; whole run {naive_total_s / ours_s:.1f}x"
    )


def main() -> None:
    """Seed, pay ours and the naive way in the same run, and print the figures."""
    args = parse_args()
    with sandbox() as url, scratch_database("bench_pay") as database:
        clients = configure(url, database)
        conn = seed(database, args.collectors)
        ours = pay_ours(url, conn)
        sampled, naive_s, naive_calls = pay_naive(url, clients, conn, args.naive)
        conn.close()
    report(args.collectors, ours, sampled, naive_s, naive_calls)


if __name__ == "__main__":
    main()
