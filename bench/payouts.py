"""Benchmark: the weekly payout for 50,000 collectors (freeze + finance report + submit to the
PayPal sandbox through paypalrestsdk), counting API calls, against the naive way measured in
the same run: one ``Payout.create`` per collector.

    make bench     # or: .venv/bin/python bench/payouts.py [--collectors 50000] [--naive 1000]

Seeding 100,000 accepted videos (and scoring them) is not timed. The naive loop is measured on
``--naive`` collectors and extrapolated to all of them (it makes one request per collector, so
it scales linearly). Target: <= 4 PayPal create calls for 50,000 collectors (15,000 a request).

The limit, in the same run: the frozen items written by one bare ``INSERT ... SELECT`` (the
ledger rows cannot be written faster) plus the sandbox's fastest possible answer, the same items
POSTed raw in 15,000-item bodies built beforehand (one token, no SDK, no bookkeeping).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import requests
from _common import CONSENTS_SQL, admin, sandbox, scratch_database
from _results import Row, times, write

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


def bare_limit(url: str, clients: dict, conn) -> tuple[float, float]:
    """(seconds for one INSERT ... SELECT of the frozen items, seconds to POST them raw)."""
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE bare_items (LIKE payout_items INCLUDING ALL)")
        conn.commit()
        started = time.perf_counter()
        cur.execute("INSERT INTO bare_items SELECT * FROM payout_items")
        conn.commit()
        insert_s = time.perf_counter() - started
        cur.execute("SELECT receiver, amount_cents, idempotency_key FROM payout_items ORDER BY 3")
        items = cur.fetchall()
    conn.commit()
    bodies = [
        {
            "sender_batch_header": {"sender_batch_id": f"limit-{n}"},
            "items": [
                {
                    "recipient_type": "EMAIL",
                    "amount": {"value": dollars(cents), "currency": "USD"},
                    "receiver": receiver,
                    "sender_item_id": f"limit-{key}",
                }
                for receiver, cents, key in items[start : start + 15_000]
            ],
        }
        for n, start in enumerate(range(0, len(items), 15_000))
    ]
    session = requests.Session()
    started = time.perf_counter()
    token = session.post(
        f"{url}/v1/oauth2/token",
        auth=(clients["client_id"], clients["client_secret"]),
        data={"grant_type": "client_credentials"},
    ).json()["access_token"]
    for body in bodies:
        answer = session.post(
            f"{url}/v1/payments/payouts", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code < 300, answer.text[:500]
    return insert_s, time.perf_counter() - started


def report(n: int, ours: Ours, naive: tuple[int, float, dict], limit: tuple[float, float]) -> None:
    """Ours against the naive way extrapolated to all ``n`` collectors, and the limit."""
    (sampled, naive_s, naive_calls), (insert_s, post_s) = naive, limit
    calls = ours.calls
    ours_s = ours.freeze_s + ours.report_s + ours.submit_s
    naive_total_s = naive_s / sampled * n
    row = Row(
        f"weekly payout for {n:,} collectors ({2 * n:,} accepted videos, "
        f"${Decimal(ours.total_usd):,.2f}): "
        "freeze + finance report + submit to the PayPal sandbox through paypalrestsdk",
        f"{ours_s:.1f} s (freeze {ours.freeze_s:.1f} s, report {ours.report_s:.1f} s, submit "
        f"{ours.submit_s:.1f} s); {calls['create']} create calls + {calls['token']} token",
        f"one `Payout.create` per collector: {naive_s / sampled * 1000:.1f} ms each (measured on "
        f"{sampled:,}, {naive_calls['create'] / sampled:.0f} call each), {n:,} create calls, "
        f"~{naive_total_s:.0f} s",
        f"the items written by one bare INSERT ... SELECT ({insert_s:.1f} s) and POSTed raw to the "
        f"sandbox in 15,000-item bodies ({post_s:.1f} s): {insert_s + post_s:.1f} s",
        f"{times(n / max(calls['create'], 1))} fewer create calls; submit "
        f"{times(naive_total_s / ours.submit_s)} faster, whole run "
        f"{times(naive_total_s / ours_s)}",
        f"{times(ours_s / (insert_s + post_s))} (submit {times(ours.submit_s / post_s)} the raw "
        "POSTs)",
        f"<= 4 create calls: {'met' if calls['create'] <= 4 else 'not met'}",
    )
    figures = {"collectors": n, "freeze_s": ours.freeze_s, "report_s": ours.report_s}
    figures |= {"submit_s": ours.submit_s, "calls": calls, "naive_sampled": sampled}
    figures |= {"naive_s": naive_s, "limit_insert_s": insert_s, "limit_post_s": post_s}
    write("payouts", [row], figures)


def main() -> None:
    """Seed, pay ours, the naive way and the limit in the same run; record the figures."""
    args = parse_args()
    with sandbox() as url, scratch_database("bench_pay") as database:
        clients = configure(url, database)
        conn = seed(database, args.collectors)
        ours = pay_ours(url, conn)
        naive = pay_naive(url, clients, conn, args.naive)
        limit = bare_limit(url, clients, conn)
        conn.close()
    report(args.collectors, ours, naive, limit)


if __name__ == "__main__":
    main()
