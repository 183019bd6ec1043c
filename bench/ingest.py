"""Benchmark: ingest throughput (files/s) for 5,000 submissions, against a naive ingest that
commits every row on its own and against the limit, COPY of the same rows into an empty
warehouse (what writing them cannot go below: no parsing, no checks, one statement per table),
measured in the same run on the same PostgreSQL.

    make bench            # or: .venv/bin/python bench/ingest.py [--files 5000] [--naive-files 300]

The naive way is measured on a sample (it is two orders of magnitude slower); all rates are
files per second, so the ratios compare like with like.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2
from _results import Row, times, write
from collector_tools.demo import generate_bulk_submissions
from collector_tools.demo_files import DEMO_EPOCH, demo_collections

from collector.catalog.collections import record_collection_version
from collector.core import db, settings
from collector.intake.appjson import parse_submission
from collector.intake.ingest import ingest_landing_area


def fresh_database(label: str) -> tuple[str, str]:
    base = settings.database_url().rsplit("/", 1)[0]
    name = f"bench_{label}_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(base + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()
    url = f"{base}/{name}"
    conn = db.connect(url)
    db.migrate(conn)
    for definition in demo_collections():
        record_collection_version(conn, definition, DEMO_EPOCH.replace(day=1))
    conn.commit()
    conn.close()
    return url, name


def drop_database(name: str) -> None:
    admin = psycopg2.connect(settings.database_url().rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def naive_ingest(conn, landing: Path, names: list[str]) -> None:
    """The reference: parse the same way, then INSERT and COMMIT one row at a time."""
    conn.autocommit = True
    with conn.cursor() as cur:
        for name in names:
            raw = (landing / name).read_bytes()
            s = parse_submission(raw)
            cur.execute(
                "INSERT INTO collectors (collector_id, email) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                (s.collector_id, s.collector_email),
            )
            cur.execute(
                """INSERT INTO videos (video_id, collector_id, collection_id, collection_version,
                       collected_at, frame_rate, duration_s, frame_width, frame_height, mp4_uri,
                       current_annotation) VALUES (%s,%s,%s,1,%s,%s,%s,%s,%s,%s,%s)""",
                (
                    s.video_id,
                    s.collector_id,
                    s.collection_id,
                    s.collected_at,
                    s.frame_rate,
                    s.duration_s,
                    s.frame_width,
                    s.frame_height,
                    str(landing / f"{s.video_id}.mp4"),
                    name,
                ),
            )
            cur.execute(
                "INSERT INTO annotation_versions (video_id, file_name, sha256, payload) "
                "VALUES (%s, %s, %s, %s)",
                (s.video_id, name, "-", json.dumps(json.loads(raw))),
            )
            for o in s.objects:
                cur.execute(
                    "INSERT INTO object_tracks VALUES (%s, %s, %s)", (s.video_id, o.index, o.label)
                )
                for b in o.boxes:
                    cur.execute(
                        "INSERT INTO track_boxes VALUES (%s, %s, %s, %s, %s, %s, %s)",
                        (s.video_id, o.index, b.frame_index, b.x, b.y, b.width, b.height),
                    )
            for a in s.activities:
                cur.execute(
                    "INSERT INTO activities (video_id, activity_index, shortname, category, "
                    "start_frame, end_frame, object_indices) VALUES (%s,%s,%s,%s,%s,%s,%s)",
                    (
                        s.video_id,
                        a.index,
                        a.shortname,
                        a.category,
                        a.start_frame,
                        a.end_frame,
                        list(a.object_indices),
                    ),
                )
            cur.execute(
                "INSERT INTO ingested_files (file_name, sha256, video_id, status) "
                "VALUES (%s, '-', %s, 'ingested')",
                (name, s.video_id),
            )


# What ingest writes, parents first.
TABLES = (
    "collectors",
    "videos",
    "annotation_versions",
    "object_tracks",
    "track_boxes",
    "activities",
    "ingested_files",
)


def copy_limit(source) -> float:
    """Seconds to COPY the rows ingest wrote (read from ``source``) into an empty warehouse."""
    dumps = {}
    for table in TABLES:
        dumps[table] = io.BytesIO()
        with source.cursor() as cur:
            cur.copy_expert(f"COPY {table} TO STDOUT", dumps[table])
    source.commit()
    url, name = fresh_database("limit")
    conn = db.connect(url)
    started = time.perf_counter()
    with conn.cursor() as cur:
        for table in TABLES:
            dumps[table].seek(0)
            cur.copy_expert(f"COPY {table} FROM STDIN", dumps[table])
    conn.commit()
    seconds = time.perf_counter() - started
    conn.close()
    drop_database(name)
    return seconds


def ingest_ours(landing: Path, quarantine: Path, files: int) -> tuple[float, float, float]:
    """Ours in a fresh warehouse, then the rerun, then the limit; the three seconds."""
    url, name = fresh_database("ours")
    conn = db.connect(url)

    def timed_ingest():
        started = time.perf_counter()
        report = ingest_landing_area(
            conn, landing, quarantine, mp4_wait=timedelta(hours=1), now=datetime.now(UTC)
        )
        return report, time.perf_counter() - started

    report, ours_s = timed_ingest()
    assert len(report.ingested) == files, report.summary()
    rerun, rerun_s = timed_ingest()
    assert rerun.unchanged == files
    limit_s = copy_limit(conn)
    conn.close()
    drop_database(name)
    return ours_s, rerun_s, limit_s


def record(files: int, boxes: int, seconds: tuple[float, float, float], naive: tuple) -> None:
    (ours_s, rerun_s, limit_s), (sampled, naive_s) = seconds, naive
    ours_rate, naive_rate, limit_rate = files / ours_s, sampled / naive_s, files / limit_s
    rows = [
        Row(
            f"ingest {files:,} submissions (~{boxes} keyframe boxes, 2 activities each)",
            f"{ours_rate:,.0f} files/s ({ours_s:.1f} s; one transaction per file, statements "
            "batched)",
            f"{naive_rate:,.0f} files/s (one transaction per row, measured on {sampled:,} files)",
            f"COPY of the same rows into an empty warehouse: {limit_rate:,.0f} files/s "
            f"({limit_s:.1f} s)",
            times(ours_rate / naive_rate),
            times(limit_rate / ours_rate),
        ),
        Row(
            f"same, rerun over the {files:,} unchanged files",
            f"{files:,} files skipped in {rerun_s:.2f} s",
            "",
            "nothing to write",
            "",
            "-",
        ),
    ]
    figures = {"files": files, "ours_s": ours_s, "rerun_s": rerun_s, "limit_s": limit_s}
    write("ingest", rows, figures | {"naive_files": sampled, "naive_s": naive_s})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--naive-files", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        landing = Path(tmp) / "landing"
        started = time.perf_counter()
        names = generate_bulk_submissions(landing, args.files)
        boxes = sum(
            len(o.boxes) for o in parse_submission((landing / names[0]).read_bytes()).objects
        )
        print(
            f"generated {len(names)} submissions (~{boxes} keyframe boxes each) "
            f"in {time.perf_counter() - started:.1f} s"
        )
        seconds = ingest_ours(landing, Path(tmp) / "quarantine", len(names))
        url, name = fresh_database("naive")
        conn = db.connect(url)
        sample = names[: args.naive_files]
        started = time.perf_counter()
        naive_ingest(conn, landing, sample)
        naive_s = time.perf_counter() - started
        conn.close()
        drop_database(name)
    record(len(names), boxes, seconds, (len(sample), naive_s))


if __name__ == "__main__":
    main()
