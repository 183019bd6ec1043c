"""Benchmark: refreshing 10,000 collector dashboards of which 2% changed, counting API requests
in the sandbox, against gspread-dataframe's ``set_with_dataframe`` per tab (the usual way:
every collector rewritten, three tabs each) measured in the same run.

    make bench     # or: .venv/bin/python bench/dashboards.py [--collectors 10000]

Setting up 10,000 spreadsheets in the sandbox takes a few minutes and is not timed. The
reference is measured on the changed collectors and extrapolated to all collectors, since
without a content hash it must rewrite every dashboard each hour.
Targets: <= 2 requests per changed collector and 0 per unchanged. The limit is in requests:
one write per changed dashboard (a spreadsheet cannot change with fewer) and none for the others.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import UTC, datetime

from _common import CONSENTS_SQL, admin, sandbox, scratch_database
from _results import Row, times, write

from collector.core import db
from collector.scoring.scores import score_videos

SEED = """
INSERT INTO collections (collection_id, project_id) VALUES ('P901C001', 'P901');
INSERT INTO collection_versions (collection_id, version, name, activity_shortnames,
        activity_categories, required_activity_count, min_duration_s, rate_limit_hours,
        score_threshold, pay_per_video_cents, perfect_bonus_cents, valid_from)
    VALUES ('P901C001', 1, 'Bench collection', '{A,B}', '{a,b}', 2, 10, 12, 0.75, 300, 50, '2026-01-01');
INSERT INTO reviewers (email) VALUES ('r1@x.org');
INSERT INTO collectors (collector_id) SELECT 'c' || g || '@example.com' FROM generate_series(1, %(n)s) g;
INSERT INTO videos (video_id, collector_id, collection_id, collection_version, collected_at,
        frame_rate, duration_s, frame_width, frame_height, app_version, mp4_uri, current_annotation,
        subject_ids)
    SELECT 'v' || g || '-' || k, 'c' || g || '@example.com', 'P901C001', 1,
           timestamptz '2026-11-02' + k * interval '1 day' + g * interval '1 second', 30, 30,
           1920, 1080, '2.3.1', '-', '-', ARRAY['s' || g || '@example.com']
    FROM generate_series(1, %(n)s) g, generate_series(0, 2) k;
INSERT INTO activities (video_id, activity_index, shortname, start_frame, end_frame)
    SELECT video_id, i, (ARRAY['A', 'B'])[i + 1], 0, 10 FROM videos, generate_series(0, 1) i;
INSERT INTO review_queue_rows SELECT 'Q-' || video_id || '-' || activity_index, video_id,
    activity_index FROM activities;
INSERT INTO activity_ratings (video_id, activity_index, reviewer_email, labels, queue_id, sheet_row)
    SELECT video_id, activity_index, 'r1@x.org', '{good}', 'Q-' || video_id || '-' || activity_index, 2
    FROM activities;
"""


def parse_args() -> argparse.Namespace:
    """The command line: ``--collectors`` with dashboards, the ``--changed`` share of them."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--collectors", type=int, default=10_000)
    parser.add_argument("--changed", type=float, default=0.02)
    return parser.parse_args()


def configure(url: str, database: str) -> None:
    """Point the Airflow connections at the scratch warehouse and the Sheets sandbox, no quota."""
    from sandbox.credentials import service_account_info

    admin(url, "quota", {"per_user": 10**9, "per_project": 10**9})
    # A service account has no Drive storage of its own: new sheets go to a shared drive.
    account = service_account_info(url)
    drive = admin(
        url, "shared-drives", {"name": "Collector platform", "writers": [account["client_email"]]}
    )
    os.environ["AIRFLOW_CONN_COLLECTOR_WAREHOUSE"] = database
    os.environ["AIRFLOW_CONN_GOOGLE_SHEETS_DEFAULT"] = json.dumps(
        {
            "conn_type": "google_sheets",
            "extra": {
                "keyfile_dict": account,
                "api_base_url": url,
                "drive_folder_id": drive["folder_id"],
                "writes_per_minute": 10**9,
                "reads_per_minute": 10**9,
            },
        }
    )
    os.environ["COLLECTOR_DASHBOARD_HTML_URL"] = tempfile.mkdtemp(prefix="bench-pages-")


def seed(database: str, collectors: int):
    """Set-up (not timed): the collectors' rated videos, scored; an open connection."""
    conn = db.connect(database)
    with conn.cursor() as cur:
        cur.execute(SEED, {"n": collectors})
        cur.execute(CONSENTS_SQL)
    conn.commit()
    score_videos(conn)
    return conn


def create_dashboards() -> list[str]:
    """Set-up (not timed): every collector's dashboard created and filled; the collectors."""
    from collector_airflow.tasks.dashboards import collectors_with_videos, refresh_collectors

    everyone = collectors_with_videos()
    started = time.perf_counter()
    first = refresh_collectors(everyone)
    print(
        f"set-up: {first['created']:,} dashboards created and filled in "
        f"{time.perf_counter() - started:.0f} s (not timed below)",
        flush=True,
    )
    return everyone


def change_ratings(conn, changed: list[str]) -> None:
    """A rating changed for each of the ``changed`` collectors, and re-scored (not timed)."""
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE activity_ratings SET labels = '{box_too_big}', updated_at = now() "
            "WHERE activity_index = 0 AND video_id IN "
            "(SELECT video_id FROM videos WHERE collector_id = ANY(%s))",
            (changed,),
        )
    conn.commit()
    score_videos(conn)


def refresh_ours(url: str, everyone: list[str], changed: list[str]) -> tuple[float, int]:
    """Ours: refresh every dashboard, only the changed ones are written; (seconds, requests)."""
    from collector_airflow.tasks.dashboards import refresh_collectors

    admin(url, "reset-stats", {})
    started = time.perf_counter()
    ours = refresh_collectors(everyone)
    ours_s = time.perf_counter() - started
    ours_requests = admin(url, "stats")["requests"]
    assert ours["written"] == len(changed), ours
    return ours_s, ours_requests


def refresh_reference(url: str, conn, changed: list[str]) -> tuple[float, int]:
    """The reference: gspread-dataframe, one set_with_dataframe per tab, for the changed ones."""
    import pandas as pd
    from gspread_dataframe import set_with_dataframe

    from collector.dashboards.content import build_dashboards
    from collector_airflow.hooks.sheets import GoogleSheetsHook

    hook = GoogleSheetsHook()
    with conn.cursor() as cur:
        cur.execute(
            "SELECT collector_id, spreadsheet_id FROM collector_dashboards "
            "WHERE collector_id = ANY(%s)",
            (changed,),
        )
        sheets = dict(cur.fetchall())
    conn.commit()
    boards = build_dashboards(conn, changed, datetime.now(UTC))
    admin(url, "reset-stats", {})
    started = time.perf_counter()
    for collector, board in boards.items():
        book = hook.open(sheets[collector])
        for tab, (header, rows) in board.tabs().items():
            frame = pd.DataFrame(rows, columns=header)
            set_with_dataframe(book.worksheet(tab), frame, resize=True)
    ref_s = time.perf_counter() - started
    return ref_s, admin(url, "stats")["requests"]


def report(n: int, k: int, ours: tuple[float, int], reference: tuple[float, int]) -> None:
    """Ours against the reference extrapolated to rewriting all ``n`` collectors hourly, and
    against the limit: one write request per changed collector."""
    (ours_s, ours_requests), (ref_s, ref_requests) = ours, reference
    per_changed_ref = ref_requests / k
    naive_requests = per_changed_ref * n
    row = Row(
        f"hourly refresh of {n:,} collector dashboards, {k / n:.0%} changed (sandbox request "
        "counts)",
        f"{ours_requests:,} requests ({ours_requests / k:.2f} per changed collector, 0 per "
        f"unchanged), {ours_s:.1f} s",
        f"gspread-dataframe `set_with_dataframe` per tab: {per_changed_ref:.0f} requests per "
        f"collector; rewriting all {n:,} hourly = {naive_requests:,.0f} requests, "
        f"~{ref_s / k * n:.0f} s",
        f"{k:,} requests: one write per changed dashboard, none for the others",
        f"{times(naive_requests / max(ours_requests, 1))} fewer requests per refresh, "
        f"{times(per_changed_ref / (ours_requests / k))} per changed collector",
        times(ours_requests / k),
        "<= 2 per changed and 0 per unchanged: " + ("met" if ours_requests <= 2 * k else "not met"),
    )
    figures = {"collectors": n, "changed": k, "ours_s": ours_s, "ours_requests": ours_requests}
    write("dashboards", [row], figures | {"reference_s": ref_s, "reference_requests": ref_requests})


def main() -> None:
    """Seed, refresh ours and the reference way in the same run, and print the figures."""
    args = parse_args()
    with sandbox() as url, scratch_database("bench_dash") as database:
        configure(url, database)
        conn = seed(database, args.collectors)
        everyone = create_dashboards()
        changed = everyone[: max(1, int(len(everyone) * args.changed))]
        change_ratings(conn, changed)
        ours = refresh_ours(url, everyone, changed)
        reference = refresh_reference(url, conn, changed)
        conn.close()
    report(len(everyone), len(changed), ours, reference)


if __name__ == "__main__":
    main()
