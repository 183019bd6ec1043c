"""Benchmark: the weekly digest to 50,000 collectors through the local SMTP server (the
sandbox's aiosmtpd, writing every message to disk), messages per second and peak memory, against
one SMTP connection per message (what a notifier per email does), measured in the same run.

    make bench     # or: .venv/bin/python bench/notifications.py [--collectors 50000]

Seeding is not timed. Ours: the outbox, rendered from templates with the warehouse, sent 500 per
SMTP session by collector_airflow.tasks.notify.send_outbox. The reference renders the same way
and sends through Airflow's SmtpHook opened per message (``send_email_smtp``), on ``--naive`` of
them, and is extrapolated. Peak memory is Python's (tracemalloc) during each send.

The limit is the SMTP sink's throughput: the same messages rendered beforehand and sent with
smtplib, 500 per connection as ours does, nothing read or rendered while timed (``--naive`` of
them). Ours cannot deliver faster than the server takes messages.
"""

from __future__ import annotations

import argparse
import os
import smtplib
import time
import tracemalloc
from datetime import UTC, date, datetime
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

from _common import admin, free_port, sandbox, scratch_database
from _results import Row, times, write

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


def send_ours(url: str, conn, collectors: int) -> dict:
    """Seed, queue the digests and send them ours: seconds, sent, connections, peak bytes."""
    from collector.notify import emails
    from collector_airflow.tasks.notify import send_outbox

    with conn.cursor() as cur:
        cur.execute(SEED, {"n": collectors})
    conn.commit()
    queued = emails.enqueue_digests(conn, WEEK)
    conn.commit()
    print(f"set-up: {queued:,} digests queued for the week of {WEEK}", flush=True)
    tracemalloc.start()
    started = time.perf_counter()
    result = send_outbox()
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    sent = sum(result["sent"].values())
    assert sent == queued, result
    connections = admin(url, "mail/messages?summary=true")["connections"]
    return {"s": seconds, "sent": sent, "connections": connections, "peak": peak}


def sample_rows(conn, size: int) -> list:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT outbox_id, kind, collector_id, recipient, payload FROM email_outbox "
            "ORDER BY outbox_id LIMIT %s",
            (size,),
        )
        rows = cur.fetchall()
    conn.commit()
    return rows


def send_naive(url: str, conn, size: int) -> dict:
    """The reference: the same messages, one SMTP connection (SmtpHook) per message."""
    from airflow.providers.smtp.hooks.smtp import SmtpHook

    from collector.notify import emails

    rows = sample_rows(conn, size)
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
    seconds = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    connections = admin(url, "mail/messages?summary=true")["connections"] - before
    return {"s": seconds, "sent": len(rows), "connections": connections, "peak": peak}


def send_limit(smtp_port: int, conn, size: int) -> dict:
    """The limit: the same messages rendered beforehand, sent 500 per SMTP connection."""
    from collector.notify import emails

    messages = []
    for email in emails.render_batch(conn, sample_rows(conn, size), datetime.now(UTC)):
        message = MIMEMultipart("alternative")  # as the mail hook builds it
        message["From"], message["To"], message["Subject"] = (
            "collector@visym.com", email.recipient, email.subject,
        )  # fmt: skip
        for name, value in email.headers.items():
            message[name] = value
        message.attach(MIMEText(email.text, "plain", "utf-8"))
        message.attach(MIMEText(email.html, "html", "utf-8"))
        messages.append((email.recipient, message.as_string()))
    conn.commit()
    started = time.perf_counter()
    for start in range(0, len(messages), 500):
        with smtplib.SMTP("127.0.0.1", smtp_port) as smtp:
            for recipient, raw in messages[start : start + 500]:
                smtp.sendmail("collector@visym.com", [recipient], raw)
    return {"s": time.perf_counter() - started, "sent": len(messages)}


def record(collectors: int, ours: dict, naive: dict, limit: dict) -> None:
    ours_rate, naive_rate = ours["sent"] / ours["s"], naive["sent"] / naive["s"]
    limit_rate = limit["sent"] / limit["s"]
    row = Row(
        f"weekly digest to {collectors:,} collectors through the local SMTP server (the "
        "sandbox's aiosmtpd writing every message to disk), rendered from the outbox and "
        "templates",
        f"{ours_rate:,.0f} messages/s ({ours['sent']:,} in {ours['s']:.0f} s) over "
        f"{ours['connections']:,} SMTP connections; peak {ours['peak'] / 1e6:.1f} MB",
        f"same rendering, Airflow's `SmtpHook` opened per message: {naive_rate:,.0f} "
        f"messages/s (measured on {naive['sent']:,} with {naive['connections']:,} connections), "
        f"~{collectors / naive_rate:.0f} s for all; peak {naive['peak'] / 1e6:.1f} MB",
        f"the SMTP sink's throughput, messages rendered beforehand, 500 per connection: "
        f"{limit_rate:,.0f} messages/s (measured on {limit['sent']:,})",
        times(ours_rate / naive_rate),
        times(limit_rate / ours_rate),
    )
    write("notifications", [row], {"ours": ours, "naive": naive, "limit": limit})


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
        ours = send_ours(url, conn, args.collectors)
        naive = send_naive(url, conn, args.naive)
        limit = send_limit(smtp_port, conn, args.naive)
        conn.close()
    record(args.collectors, ours, naive, limit)


if __name__ == "__main__":
    main()
