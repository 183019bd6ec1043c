"""Benchmark: the weekly digest to 50,000 collectors through the local SMTP server (the
sandbox's aiosmtpd, writing every message to disk), messages per second and peak memory, against
one SMTP connection per message (what a notifier per email does), measured in the same run.

    make bench     # or: .venv/bin/python bench/notifications.py [--collectors 50000]

Seeding is not timed. Ours: the outbox, rendered from templates with the warehouse, sent 500 per
SMTP session by collector_airflow.tasks.notify.send_outbox. The reference renders the same way
and sends through Airflow's SmtpHook opened per message (``send_email_smtp``), on ``--naive`` of
them, and is extrapolated. Peak memory is Python's (tracemalloc) during each send.
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc
from datetime import UTC, date, datetime

from _common import admin, free_port, sandbox, scratch_database

from collector.core import db

WEEK = date(2026, 11, 16)
SEED = """
INSERT INTO collections (collection_id, project_id) VALUES ('P901C001', 'P901');
INSERT INTO collection_versions (collection_id, version, name, activity_shortnames,
        activity_categories, required_activity_count, min_duration_s, rate_limit_hours,
        score_threshold, pay_per_video_cents, perfect_bonus_cents, valid_from)
    VALUES ('P901C001', 1, 'Bench collection', '{A}', '{a}', 1, 10, 12, 0.75, 300, 50, '2026-01-01');
INSERT INTO collectors (collector_id, email)
    SELECT 'c' || g || '@example.com', 'c' || g || '@example.com' FROM generate_series(1, %(n)s) g;
INSERT INTO videos (video_id, collector_id, collection_id, collection_version, collected_at,
        frame_rate, duration_s, frame_width, frame_height, app_version, mp4_uri, current_annotation)
    SELECT 'v' || g || '-' || k, 'c' || g || '@example.com', 'P901C001', 1,
           timestamptz '2026-11-17 15:00Z' + k * interval '1 day', 30, 30, 1920, 1080, '2.3.1',
           '-', '-'
    FROM generate_series(1, %(n)s) g, generate_series(0, 1) k;
INSERT INTO video_scores (video_id, collector_id, collection_id, collection_version,
        rules_version, score, threshold, status, accepted, flags, reasons, perfect)
    SELECT video_id, collector_id, collection_id, 1, 1,
           CASE WHEN video_id LIKE '%%-1' THEN 0.5 ELSE 1 END, 0.75,
           CASE WHEN video_id LIKE '%%-1' THEN 'rejected' ELSE 'accepted' END,
           video_id NOT LIKE '%%-1', '{}',
           CASE WHEN video_id LIKE '%%-1' THEN '{"Box too big"}'::text[] ELSE '{}' END, false
    FROM videos;
ANALYZE;
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--collectors", type=int, default=50_000)
    parser.add_argument("--naive", type=int, default=2_000)
    args = parser.parse_args()
    smtp_port = free_port()
    with sandbox(smtp_port) as url, scratch_database("bench_mail") as database:
        os.environ["AIRFLOW_CONN_COLLECTOR_WAREHOUSE"] = database
        os.environ["AIRFLOW_CONN_SMTP_DEFAULT"] = (
            f"smtp://127.0.0.1:{smtp_port}?disable_ssl=true&disable_tls=true"
            "&from_email=collector%40visym.com"
        )
        os.environ.setdefault("COLLECTOR_PORTAL_SECRET", "bench")
        conn = db.connect(database)
        with conn.cursor() as cur:
            cur.execute(SEED, {"n": args.collectors})
        conn.commit()

        from collector.notify import emails
        from collector_airflow.tasks.notify import send_outbox

        queued = emails.enqueue_digests(conn, WEEK)
        conn.commit()
        print(f"set-up: {queued:,} digests queued for the week of {WEEK}", flush=True)

        tracemalloc.start()
        started = time.perf_counter()
        result = send_outbox()
        ours_s = time.perf_counter() - started
        _, ours_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        ours_sent = sum(result["sent"].values())
        ours_connections = admin(url, "mail/messages?summary=true")["connections"]
        assert ours_sent == queued, result

        # Reference: the same messages, one SMTP connection (SmtpHook) per message.
        from airflow.providers.smtp.hooks.smtp import SmtpHook

        with conn.cursor() as cur:
            cur.execute(
                "SELECT outbox_id, kind, collector_id, recipient, payload FROM email_outbox "
                "ORDER BY outbox_id LIMIT %s",
                (args.naive,),
            )
            rows = cur.fetchall()
        conn.commit()
        before = admin(url, "mail/messages?summary=true")["connections"]
        tracemalloc.start()
        started = time.perf_counter()
        for email in emails.render_batch(conn, rows, datetime.now(UTC)):
            conn.commit()
            with SmtpHook() as smtp:
                smtp.send_email_smtp(
                    to=email.recipient, subject=email.subject, html_content=email.html,
                    custom_headers=email.headers,
                )  # fmt: skip
        naive_s = time.perf_counter() - started
        _, naive_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        naive_connections = admin(url, "mail/messages?summary=true")["connections"] - before
        conn.close()
    ours_rate = ours_sent / ours_s
    naive_rate = len(rows) / naive_s
    print(
        f"ours     : {ours_sent:,} digests in {ours_s:.1f} s = {ours_rate:,.0f} messages/s over "
        f"{ours_connections} SMTP connections; peak {ours_peak / 1e6:.1f} MB"
    )
    print(
        f"reference: one connection per message: {naive_rate:,.0f} messages/s (measured on "
        f"{len(rows):,}, {naive_connections:,} connections), {args.collectors / naive_rate:.0f} s "
        f"for all; peak {naive_peak / 1e6:.1f} MB"
    )
    print(f"ratio    : {ours_rate / naive_rate:.1f}x messages per second")


if __name__ == "__main__":
    main()
