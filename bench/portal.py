"""Benchmark: the portal's dashboard page under 50 concurrent sessions, with 10,000 collectors
and 1,000,000 videos in the warehouse, against reading the same rows with one plain query at
the same concurrency, in the same run.

    make bench     # or: .venv/bin/python bench/portal.py [--sessions 50] [--seconds 30]

The portal runs as its own service (`python -m portal serve --workers 2`) on this machine, as
does the load generator (threads, one keep-alive HTTP session per collector, a think time of
0.5-1.5 s between page loads, as a person reading a page). Ten collectors have 5,000 videos
each, the others about 95; a fifth of the sessions are the heavy ones. Seeding and scoring the
million videos takes a few minutes and is not timed. Targets: p95 <= 150 ms, and within 10x of
the limit: the bare rows (the plain query) at p95.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime

import requests
from _common import CONSENTS_SQL, free_port, scratch_database
from _results import Row, times, write

from collector.accounts import logins
from collector.core import db
from collector.scoring.scores import score_videos

HEAVY = 10
PASSWORD = "bench password 1"
SEED = """
INSERT INTO collections (collection_id, project_id) VALUES ('P901C001', 'P901');
INSERT INTO collection_versions (collection_id, version, name, activity_shortnames,
        activity_categories, required_activity_count, min_duration_s, rate_limit_hours,
        score_threshold, pay_per_video_cents, perfect_bonus_cents, valid_from)
    VALUES ('P901C001', 1, 'Bench collection', '{A}', '{a}', 1, 10, 12, 0.75, 300, 50, '2026-01-01');
INSERT INTO reviewers (email) VALUES ('r1@x.org');
INSERT INTO collectors (collector_id) SELECT 'c' || g || '@example.com' FROM generate_series(1, %(n)s) g;
INSERT INTO videos (video_id, collector_id, collection_id, collection_version, collected_at,
        frame_rate, duration_s, frame_width, frame_height, app_version, mp4_uri, current_annotation,
        subject_ids)
    SELECT 'v' || g || '-' || k, 'c' || g || '@example.com', 'P901C001', 1,
           timestamptz '2025-06-01' + k * interval '13 hours' + g * interval '1 second', 30, 30,
           1920, 1080, '2.3.1', '-', '-', ARRAY['s' || g || '@example.com']
    FROM generate_series(1, %(n)s) g,
         LATERAL generate_series(0, CASE WHEN g <= %(heavy)s THEN 4999 ELSE %(per)s - 1 END) k;
INSERT INTO activities (video_id, activity_index, shortname, start_frame, end_frame)
    SELECT video_id, 0, 'A', 0, 10 FROM videos;
INSERT INTO review_queue_rows SELECT 'Q-' || video_id || '-0', video_id, 0 FROM videos;
INSERT INTO activity_ratings (video_id, activity_index, reviewer_email, labels, queue_id, sheet_row)
    SELECT video_id, 0, 'r1@x.org',
           CASE WHEN right(video_id, 1) = '7' THEN '{box_too_big}'::text[] ELSE '{good}'::text[] END,
           'Q-' || video_id || '-0', 2
    FROM videos;
ANALYZE;
"""
# The same rows the page shows, read with one plain query: the reference.
PLAIN = """
SELECT v.video_id, v.collected_at, s.score, s.threshold, s.status, s.reasons
FROM videos v LEFT JOIN video_scores s USING (video_id)
WHERE v.collector_id = %s ORDER BY v.collected_at DESC, v.video_id LIMIT 50
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_sessions(sessions: list, seconds: float, request) -> list[float]:
    """Each session: request, think 0.5-1.5 s, repeat until time is up. Latencies in ms."""
    latencies: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def session(state) -> None:
        rng = random.Random(id(state))
        time.sleep(rng.uniform(0, 1.0))  # do not start in lockstep
        while time.monotonic() < deadline:
            started = time.perf_counter()
            request(state)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
            time.sleep(rng.uniform(0.5, 1.5))

    threads = [threading.Thread(target=session, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def parse_args() -> argparse.Namespace:
    """The command line: warehouse size, concurrent sessions and seconds of load."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--collectors", type=int, default=10_000)
    parser.add_argument("--videos-per-collector", type=int, default=95)
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30)
    return parser.parse_args()


def seed(conn, collectors: int, per: int) -> int:
    """Set-up (not timed): the collectors' rated videos, scored; how many videos."""
    with conn.cursor() as cur:
        cur.execute(SEED, {"n": collectors, "heavy": HEAVY, "per": per})
        cur.execute(CONSENTS_SQL)
        cur.execute("SELECT count(*) FROM videos")
        (videos,) = cur.fetchone()
    conn.commit()
    score_videos(conn)
    return videos


def choose_collectors(collectors: int, sessions: int) -> list[str]:
    """One collector per session: a fifth of them heavy, the rest light ones at random."""
    heavy = [f"c{g}@example.com" for g in range(1, HEAVY + 1)]
    light = [f"c{g}@example.com" for g in range(HEAVY + 1, collectors + 1)]
    return heavy[: sessions // 5] + random.Random(7).sample(
        light, sessions - min(len(heavy), sessions // 5)
    )


def create_accounts(conn, chosen: list[str]) -> None:
    """A portal account with PASSWORD for each chosen collector (not timed)."""
    now = datetime.now(UTC)
    for email in chosen:
        account = logins.create_account(conn, email)
        logins.use_link(conn, logins.issue_link(conn, account, "set_password", now), PASSWORD, now)
    conn.commit()


def start_portal(stack: contextlib.ExitStack, url: str) -> str:
    """The portal as its own service on a free port, stopped when ``stack`` closes; its URL."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "portal", "serve", "--port", str(port), "--workers", "2"],
        env={**os.environ, "COLLECTOR_DB_URL": url, "COLLECTOR_PORTAL_SECRET": "bench"},
    )
    stack.callback(server.wait, 10)  # run last to first: terminate, then wait
    stack.callback(server.terminate)
    portal = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{portal}/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    return portal


def log_in(portal: str, email: str) -> requests.Session:
    """A keep-alive HTTP session logged in to the portal as ``email``."""
    session = requests.Session()
    form = session.get(f"{portal}/login").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    answer = session.post(
        f"{portal}/login",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf},
    )
    assert answer.url.endswith("/dashboard"), answer.status_code
    return session


def load_portal(portal: str, sessions: list[requests.Session], seconds: float) -> list[float]:
    """Ours: each logged-in collector loads their dashboard page; latencies in ms."""

    def load_page(session: requests.Session) -> None:
        answer = session.get(f"{portal}/dashboard")
        assert answer.status_code == 200 and "Videos (" in answer.text

    for session in sessions[:5]:  # warm up both workers
        load_page(session)
    return run_sessions(sessions, seconds, load_page)


def load_plain(url: str, chosen: list[str], seconds: float) -> list[float]:
    """The reference: the same rows read with one plain query per load; latencies in ms."""
    connections = {email: db.connect(url) for email in chosen}

    def plain_query(email: str) -> None:
        with connections[email].cursor() as cur:
            cur.execute(PLAIN, (email,))
            assert len(cur.fetchall()) == 50
        connections[email].commit()

    plain = run_sessions(chosen, seconds, plain_query)
    for c in connections.values():
        c.close()
    return plain


def report(args, videos: int, ours: list[float], plain: list[float]) -> None:
    """The latencies of the page and of the plain query (the limit), and how they compare."""
    for label, values in (("portal page", ours), ("plain query", plain)):
        print(
            f"{label:12}: {len(values):,} requests from {args.sessions} sessions in "
            f"{args.seconds:.0f} s: p50 {statistics.median(values):.1f} ms, "
            f"p95 {percentile(values, 0.95):.1f} ms, max {max(values):.1f} ms"
        )
    p50, p95 = statistics.median(ours), percentile(ours, 0.95)
    bare50, bare95 = statistics.median(plain), percentile(plain, 0.95)
    row = Row(
        f"the portal's dashboard page, {args.collectors:,} collectors / {videos:,} videos, "
        f"{args.sessions} concurrent logged-in sessions (think time 0.5-1.5 s; {HEAVY} of them "
        "collectors with 5,000 videos each), portal (`--workers 2`), PostgreSQL and load "
        f"generator on the same cores, {args.seconds:.0f} s",
        f"{len(ours):,} pages: p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {max(ours):.0f} ms",
        "",
        f"the same 50 rows read by one plain query at the same concurrency: p50 {bare50:.1f} ms, "
        f"p95 {bare95:.1f} ms",
        "",
        f"{times(p50 / bare50)} at p50, {times(p95 / bare95)} at p95",
        f"p95 <= 150 ms: {'met' if p95 <= 150 else 'not met'}; p95 within 10x of the bare "
        f"rows: {'met' if p95 <= 10 * bare95 else 'not met'}",
    )
    figures = {"collectors": args.collectors, "videos": videos, "sessions": args.sessions}
    figures |= {"pages": len(ours), "p50_ms": p50, "p95_ms": p95, "max_ms": max(ours)}
    figures |= {"plain_queries": len(plain), "plain_p50_ms": bare50, "plain_p95_ms": bare95}
    write("portal", [row], figures)


def main() -> None:
    """Seed, load the portal page and the plain query in the same run, and print the figures."""
    args = parse_args()
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(scratch_database("bench_portal"))
        conn = db.connect(url)
        started = time.perf_counter()
        videos = seed(conn, args.collectors, args.videos_per_collector)
        chosen = choose_collectors(args.collectors, args.sessions)
        create_accounts(conn, chosen)
        print(
            f"set-up: {args.collectors:,} collectors, {videos:,} videos seeded and scored in "
            f"{time.perf_counter() - started:.0f} s (not timed below)",
            flush=True,
        )
        portal = start_portal(stack, url)
        sessions = [log_in(portal, email) for email in chosen]  # kept open to the end
        ours = load_portal(portal, sessions, args.seconds)
        plain = load_plain(url, chosen, args.seconds)
        conn.close()
    report(args, videos, ours, plain)


if __name__ == "__main__":
    main()
