"""Benchmark: delivering 1,000 videos (1-10 MB each, with their annotation JSON) for 100 users
to the sandbox's Dropbox, wall time and requests, first delivery and rerun, against a sequential
per-file upload without the content-hash skip, measured in the same run.

    make bench     # or: .venv/bin/python bench/dropbox_delivery.py [--users 100] [--videos-per-user 10]

Seeding (random bytes written once into a temp dir, sizes from a seeded RNG) and linking (each
user through the sandbox's authorize form, as the portal and a browser do) are not timed. Ours:
the DAG's delivery, ``collector.delivery.uploads.deliver`` once per user, 8 users at a time (the
DAG's ``max_active_tis_per_dagrun``), each thread with its own warehouse connection and a new SDK
client per user; then the same again (the hourly rerun). The reference: for every user and file,
one ``files_upload(mode=overwrite)`` after the other, no record and no content-hash check,
twice.
The sandbox's Dropbox is reset and the users linked again between the two ways, so both start
from empty app folders. Requests are the sandbox's counters (token refreshes included).

The limit, in the same run: one upload request per file (the upload API takes one file a
request) and a plain local copy of the same bytes (the sandbox stores each upload on the same
machine, so no delivery can be faster); for the rerun, no request at all.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import dropbox
import requests
from _common import admin, sandbox, scratch_database
from _results import Row, times, write
from dropbox.files import WriteMode

from collector.core import db
from collector.delivery import links
from collector.delivery.uploads import deliver, deliverables
from collector.delivery.vault import TokenVault, new_key
from collector_airflow.hooks.dropbox_api import sdk_session
from sandbox import dropbox_user

# The SDK logs every request at INFO, the delivery every user: keep the output to the figures.
logging.getLogger("dropbox").setLevel(logging.WARNING)
logging.getLogger("collector.delivery.uploads").setLevel(logging.WARNING)
MB = 2**20
THREADS = 8  # dags/dropbox_delivery.py: max_active_tis_per_dagrun=8
REDIRECT = "http://127.0.0.1:8790/dropbox/callback"
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
           timestamptz '2026-11-17 15:00Z' + k * interval '1 hour' + g * interval '1 second',
           30, 30, 1920, 1080, '2.3.1', %(root)s || '/c' || g || '/v' || g || '-' || k || '.mp4',
           'v' || g || '-' || k || '.json'
    FROM generate_series(1, %(n)s) g, generate_series(0, %(k)s - 1) k;
ANALYZE;
"""


def write_files(root: Path, users: int, videos: int, seed: int) -> int:
    """An MP4 of 1-10 MB of random bytes and a small annotation per video; total bytes."""
    rng = random.Random(seed)
    total = 0
    for g in range(1, users + 1):
        folder = root / f"c{g}"
        folder.mkdir()
        for k in range(videos):
            size = rng.randint(MB, 10 * MB)
            (folder / f"v{g}-{k}.mp4").write_bytes(os.urandom(size))
            note = json.dumps({"video_id": f"v{g}-{k}", "activities": [["A", 0, 300]]})
            (folder / f"v{g}-{k}.json").write_text(note)
            total += size + len(note)
    return total


def link_all(conn, vault: TokenVault, url: str, portal_app: dict, users: list[str]) -> None:
    """Each user allows the app on the sandbox's page; the callback stores the token."""
    http = requests.Session()
    now = datetime.now(UTC)
    for collector_id in users:
        target = links.start_link(conn, vault, collector_id, portal_app, REDIRECT, now)
        query = dropbox_user.allow(target, collector_id, http=http)
        links.finish_link(
            conn, vault, collector_id, query["code"], query["state"], portal_app, REDIRECT, now
        )


def client(url: str, app: dict, token: str) -> dropbox.Dropbox:
    """What DropboxHook.client_for makes, pointed at the sandbox."""
    return dropbox.Dropbox(
        oauth2_refresh_token=token,
        app_key=app["app_key"],
        app_secret=app["app_secret"],
        session=sdk_session(url),
        timeout=300,
        max_retries_on_rate_limit=0,
        max_retries_on_error=0,
    )


def ours(
    database: str, url: str, app: dict, vault: TokenVault, users: list[str], threads: int
) -> int:
    """The DAG's mapped ``deliver``: one delivery per user, ``threads`` at a time; files uploaded."""
    local, opened = threading.local(), []

    def one(collector_id: str):
        if not hasattr(local, "conn"):
            local.conn = db.connect(database)
            opened.append(local.conn)
        conn = local.conn
        link = links.link_of(conn, collector_id)
        token = links.refresh_token(conn, vault, collector_id)
        return deliver(
            conn, client(url, app, token), collector_id, link.dropbox_account_id,
            datetime.now(UTC),
        )  # fmt: skip

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(one, users))
    for conn in opened:
        conn.close()
    problems = [r.summary() for r in results if r.deferred or r.missing or r.broken]
    assert not problems, problems[:3]
    return sum(r.uploaded for r in results)


def reference(database: str, url: str, app: dict, vault: TokenVault, users: list[str]) -> int:
    """Every file of every user uploaded (overwrite), one after the other; files uploaded."""
    conn = db.connect(database)
    uploaded = 0
    for collector_id in users:
        dbx = client(url, app, links.refresh_token(conn, vault, collector_id))
        for item in deliverables(conn, collector_id):
            with open(item.source_uri, "rb") as source:
                dbx.files_upload(source.read(), item.path, mode=WriteMode.overwrite, mute=True)
            uploaded += 1
    conn.close()
    return uploaded


def measure(url: str, run: Callable[[], int]) -> dict:
    os.sync()  # the seed's (or the last pass's) writes are not this pass's to flush
    admin(url, "dropbox/reset-stats", {})
    started = time.perf_counter()
    uploaded = run()
    seconds = time.perf_counter() - started
    stats = admin(url, "dropbox/stats")
    routes = {r.rsplit("/", 1)[-1]: s["requests"] for r, s in stats["routes"].items()}
    sent = sum(a["bytes_received"] for a in stats["accounts"].values())
    return {"s": seconds, "requests": sum(routes.values()), "routes": routes, "bytes": sent,
            "uploaded": uploaded}  # fmt: skip


def run(args, url: str, database: str, root: Path, vault: TokenVault) -> list[tuple]:
    """Seed, then each way: reset, link, first delivery, rerun; the rows printed."""
    files = 2 * args.users * args.videos_per_user  # an MP4 and a JSON per video
    conn = db.connect(database)
    with conn.cursor() as cur:
        cur.execute(SEED, {"n": args.users, "k": args.videos_per_user, "root": str(root)})
    conn.commit()
    total = write_files(root, args.users, args.videos_per_user, args.seed)
    users = [f"c{g}@example.com" for g in range(1, args.users + 1)]
    app = admin(url, "dropbox/app")
    portal_app = {
        "app_key": app["app_key"],
        "app_secret": app["app_secret"],
        "api_url": url,
        "authorize_url": f"{url}/oauth2/authorize",
    }
    print(
        f"dropbox delivery: {args.users} users x {args.videos_per_user} videos "
        f"({files:,} files, {total / 1e9:.2f} GB)",
        flush=True,
    )
    rows = []
    for name, way in (
        (f"ours: deliver(), {args.threads} users at a time", partial(ours, threads=args.threads)),
        ("reference: sequential files_upload", reference),
    ):
        admin(url, "dropbox/reset", {})  # empty app folders, new accounts
        link_all(conn, vault, url, portal_app, users)
        first = measure(url, lambda way=way: way(database, url, app, vault, users))
        assert first["uploaded"] == files, (name, first["uploaded"])
        held = admin(url, "dropbox/accounts")["accounts"]
        assert sum(a["files"] for a in held) == files and sum(a["bytes"] for a in held) == total
        rerun = measure(url, lambda way=way: way(database, url, app, vault, users))
        rows.append((name, first, rerun))
        print(
            f"  {name:<36} first {first['s']:6.1f} s {first['requests']:>6,} requests "
            f"{first['bytes'] / 1e6:>7,.0f} MB sent | rerun {rerun['s']:6.2f} s "
            f"{rerun['requests']:>6,} requests {rerun['bytes'] / 1e6:>7,.0f} MB sent",
            flush=True,
        )
        print(f"    first: {first['routes']}  rerun: {rerun['routes'] or 'none'}", flush=True)
    conn.close()
    return rows


def copy_limit(root: Path) -> float:
    """Seconds to copy every seeded file once on this machine (then removed)."""
    target = Path(tempfile.mkdtemp(prefix="bench-dropbox-copy-"))
    os.sync()
    started = time.perf_counter()
    shutil.copytree(root, target / "copy")
    os.sync()
    seconds = time.perf_counter() - started
    shutil.rmtree(target, ignore_errors=True)
    return seconds


def record(args, rows: list[tuple], limit_s: float) -> None:
    (_, ours_first, ours_rerun), (_, ref_first, ref_rerun) = rows
    files, mb = ref_first["uploaded"], ours_first["bytes"] / 1e6
    first = Row(
        f"delivering {files // 2:,} videos (1-10 MB, {mb / 1000:.2f} GB with their annotation "
        f"JSONs) for {args.users} users to the sandbox's Dropbox through the official SDK",
        f"first delivery {ours_first['s']:.1f} s, {ours_first['requests']:,} requests "
        f"({', '.join(f'{n:,} {r}' for r, n in ours_first['routes'].items())}), {mb:,.0f} MB; "
        f"`deliver()` per user, {args.threads} users at "
        "a time as the DAG maps them",
        f"one `files_upload(overwrite)` per file in sequence, no record, no content-hash check: "
        f"{ref_first['s']:.1f} s, {ref_first['requests']:,} requests",
        f"{files:,} requests (one upload per file) and a local copy of the same bytes: "
        f"{limit_s:.1f} s",
        f"{times(ref_first['s'] / ours_first['s'])} the speed with "
        f"{ours_first['requests'] / ref_first['requests']:.2f}x the requests",
        f"{times(ours_first['s'] / limit_s)} the time, "
        f"{ours_first['requests'] / files:.2f}x the requests",
    )
    rerun = Row(
        "same, rerun with nothing new (the hourly run)",
        f"{ours_rerun['s']:.2f} s, {ours_rerun['requests']:,} requests, "
        f"{ours_rerun['bytes'] / 1e6:,.0f} MB",
        f"uploads everything again: {ref_rerun['s']:.1f} s, {ref_rerun['requests']:,} requests, "
        f"{ref_rerun['bytes'] / 1e6:,.0f} MB",
        "0 requests",
        f"{times(ref_rerun['s'] / ours_rerun['s'])} faster, {ours_rerun['requests']:,} vs "
        f"{ref_rerun['requests']:,} requests",
        f"{ours_rerun['requests']:,} requests over the limit",
    )
    figures = {"users": args.users, "videos_per_user": args.videos_per_user, "rows": rows}
    write("dropbox_delivery", [first, rerun], figures | {"limit_copy_s": limit_s})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--videos-per-user", type=int, default=10)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--threads", type=int, default=THREADS, help="ours: users at a time")
    args = parser.parse_args()
    key = new_key()
    os.environ["COLLECTOR_TOKEN_KEYS"] = key
    vault = TokenVault([key])
    copies = None  # the sandbox's state dir: it holds what was uploaded until removed
    try:
        with (
            sandbox() as url,
            scratch_database("bench_dbx") as database,
            tempfile.TemporaryDirectory(prefix="bench-dropbox-") as tmp,
        ):
            copies = Path(admin(url, "dropbox/state-dir")["path"]).parent
            rows = run(args, url, database, Path(tmp), vault)
            limit_s = copy_limit(Path(tmp))
    finally:
        if copies is not None and copies.name.startswith("bench-sandbox-"):
            shutil.rmtree(copies, ignore_errors=True)
    record(args, rows, limit_s)


if __name__ == "__main__":
    main()
