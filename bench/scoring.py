"""Benchmark: full re-score of 200k videos / 1M ratings and an hourly increment of 1k new
ratings, set-based in PostgreSQL, against a naive per-video Python scorer measured in the same
run (on a sample: it is far slower) on the same embedded PostgreSQL.

    make bench     # or: .venv/bin/python bench/scoring.py [--videos 200000] [--naive 2000]

Targets on this 2-core machine: full re-score <= 30 s, increment <= 2 s.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from _common import CONSENTS_SQL, scratch_database

from collector.core import db
from collector.scoring.scores import ScoreRun, score_interval, score_videos

GENERATE = """
INSERT INTO collections (collection_id, project_id)
    SELECT format('P9%%02sC%%03s', g / 100, g), 'P9' || lpad((g / 100)::text, 2, '0')
    FROM generate_series(1, %(collections)s) g;
INSERT INTO collection_versions (collection_id, version, name, activity_shortnames,
        activity_categories, required_activity_count, min_duration_s, rate_limit_hours,
        score_threshold, pay_per_video_cents, min_app_version, valid_from)
    SELECT collection_id, 1, 'bench ' || collection_id, '{A,B}', '{a,b}', 2, 10, 12, 0.75, 300,
           '2.0.0', '2026-01-01'
    FROM collections WHERE collection_id LIKE 'P9%%';
INSERT INTO collectors (collector_id) SELECT 'c' || g FROM generate_series(1, %(collectors)s) g;
INSERT INTO reviewers (email) VALUES ('r1@x.org'), ('r2@x.org'), ('r3@x.org');
INSERT INTO videos (video_id, collector_id, collection_id, collection_version, collected_at,
        frame_rate, duration_s, frame_width, frame_height, app_version, latitude, longitude,
        gps_accuracy_m, mp4_uri, current_annotation, updated_at, subject_ids)
    SELECT 'v' || g, 'c' || (g %% %(collectors)s + 1),
           format('P9%%02sC%%03s', (g %% %(collections)s + 1) / 100, g %% %(collections)s + 1), 1,
           timestamptz '2026-09-01' + g * interval '37 seconds', 30,
           CASE WHEN g %% 97 = 0 THEN 5 ELSE 30 END, 1920, 1080,
           CASE WHEN g %% 89 = 0 THEN '1.9.0' ELSE '2.3.1' END,
           38.9 + (g %% 1000) * 0.001, -77.0 + (g %% 777) * 0.001, 5 + g %% 60, '-', '-',
           timestamptz '2026-09-01', ARRAY['s' || (g %% %(collectors)s + 1) || '@example.com']
    FROM generate_series(1, %(videos)s) g;
INSERT INTO activities (video_id, activity_index, shortname, start_frame, end_frame)
    SELECT video_id, i, (ARRAY['A', 'B'])[i + 1], 0, 10
    FROM videos, generate_series(0, 1) i WHERE video_id LIKE 'v%%';
INSERT INTO review_queue_rows (queue_id, video_id, activity_index)
    SELECT 'Q-' || video_id || '-' || activity_index, video_id, activity_index FROM activities;
INSERT INTO activity_ratings (video_id, activity_index, reviewer_email, labels, queue_id,
        sheet_row, updated_at)
    SELECT a.video_id, a.activity_index, r.email,
           CASE WHEN h %% 10 < 7 THEN '{good}'::text[] WHEN h %% 10 = 7 THEN '{box_too_big}'
                WHEN h %% 10 = 8 THEN '{perfect}' ELSE '{incorrect_label}' END,
           'Q-' || a.video_id || '-' || a.activity_index, 2, timestamptz '2026-09-01'
    FROM activities a
    CROSS JOIN (VALUES ('r1@x.org'), ('r2@x.org'), ('r3@x.org')) r(email)
    CROSS JOIN LATERAL (SELECT abs(hashtext(a.video_id || r.email || a.activity_index)) AS h) x
    WHERE r.email <> 'r3@x.org' OR a.activity_index = 0;
ANALYZE;
"""


def great_circle_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371008.8 * math.asin(min(1, math.sqrt(a)))


class NaiveVideo(NamedTuple):
    """What the naive scorer reads about one video and its collection version."""

    collector: str
    collection: str
    at: datetime
    duration: float
    app: str
    required: int
    min_s: float
    min_app: str
    hours: int
    threshold: float
    lat: float | None
    lon: float | None
    accuracy: float | None


def naive_video(cur, video_id: str) -> NaiveVideo:
    """Naive step 1: the video and its collection version, one query."""
    cur.execute(
        """SELECT v.collector_id, v.collection_id, v.collected_at, v.duration_s, v.app_version,
                  cv.required_activity_count, cv.min_duration_s, cv.min_app_version,
                  cv.rate_limit_hours, cv.score_threshold, v.latitude, v.longitude,
                  v.gps_accuracy_m
           FROM videos v JOIN collection_versions cv
             ON cv.collection_id = v.collection_id AND cv.version = v.collection_version
           WHERE v.video_id = %s""",
        (video_id,),
    )
    return NaiveVideo(*cur.fetchone())


def naive_label_rules(cur) -> dict:
    """Naive step 2: the label rules, read again for every video."""
    cur.execute("SELECT label, effect, factor FROM scoring_label_rules WHERE rules_version = 1")
    return {label: (effect, factor) for label, effect, factor in cur.fetchall()}


def naive_activity_scores(cur, video_id: str, rules: dict) -> tuple[list[float], bool]:
    """Naive step 3: each activity's mean reviewer score, one query per activity; and pending."""
    cur.execute("SELECT activity_index FROM activities WHERE video_id = %s", (video_id,))
    activity_scores, pending = [], False
    for (index,) in cur.fetchall():
        cur.execute(
            "SELECT labels FROM activity_ratings WHERE video_id = %s AND activity_index = %s",
            (video_id, index),
        )
        reviewer_scores = []
        for (labels,) in cur.fetchall():
            score = 1.0
            for label in labels:
                effect, factor = rules.get(label, ("pending", 1))
                pending |= effect in ("pending", "hold")
                if effect == "factor":
                    score *= float(factor)
            reviewer_scores.append(score)
        if not reviewer_scores:
            pending = True
        else:
            activity_scores.append(sum(reviewer_scores) / len(reviewer_scores))
    return activity_scores, pending


def naive_superseded(cur, video: NaiveVideo) -> bool:
    """Naive step 4: a later video by the same collector within the rate limit, one query."""
    cur.execute(
        """SELECT 1 FROM videos WHERE collector_id = %s AND collection_id = %s
           AND collected_at > %s AND collected_at < %s + make_interval(secs => %s * 3600)""",
        (video.collector, video.collection, video.at, video.at, video.hours),
    )
    return cur.fetchone() is not None


def naive_repeated(cur, video_id: str, video: NaiveVideo) -> bool:
    """Naive step 5: an earlier video within 200 m, every earlier location checked in Python."""
    cur.execute(
        """SELECT latitude, longitude FROM videos WHERE collector_id = %s AND collection_id = %s
           AND latitude IS NOT NULL AND (collected_at, video_id) < (%s, %s)""",
        (video.collector, video.collection, video.at, video_id),
    )
    return any(great_circle_m(video.lat, video.lon, a, b) <= 200 for a, b in cur.fetchall())


def naive_blocked(video: NaiveVideo, outdated: bool, activities: int, repeated: bool) -> bool:
    """Naive step 6: too short, outdated app, too few activities, poor GPS or a repeated place."""
    return (
        video.duration < video.min_s
        or outdated
        or activities < video.required
        or (video.accuracy is not None and video.accuracy > 50)
        or repeated
    )


def naive_choose_status(
    video: NaiveVideo, blocked: bool, superseded: bool, pending: bool, score: float | None
) -> str:
    """Naive step 7: the status, first match wins."""
    return (
        "blocked"
        if blocked
        else "superseded"
        if superseded
        else "pending"
        if pending or score is None
        else "accepted"
        if score >= float(video.threshold)
        else "rejected"
    )


def naive_score(conn, video_id: str) -> tuple:
    """The reference: one video at a time in Python, the way a first version would be written."""
    cur = conn.cursor()
    video = naive_video(cur, video_id)
    rules = naive_label_rules(cur)
    activity_scores, pending = naive_activity_scores(cur, video_id, rules)
    superseded = naive_superseded(cur, video)
    outdated = [int(p) for p in video.app.split(".")] < [int(p) for p in video.min_app.split(".")]
    repeated = naive_repeated(cur, video_id, video)
    score = sum(activity_scores) / len(activity_scores) if activity_scores else None
    blocked = naive_blocked(video, outdated, len(activity_scores), repeated)
    status = naive_choose_status(video, blocked, superseded, pending, score)
    cur.execute("UPDATE video_scores SET status = status WHERE video_id = %s", (video_id,))
    conn.commit()
    return status, score


@dataclass
class Ours:
    """The set-based scorer's results and seconds: full re-score, rerun and hourly increment."""

    full: ScoreRun
    full_s: float
    rerun: ScoreRun
    rerun_s: float
    increment: ScoreRun
    increment_s: float


def parse_args() -> argparse.Namespace:
    """The command line: ``--videos`` generated, ``--naive`` of them scored the naive way."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--videos", type=int, default=200_000)
    parser.add_argument("--naive", type=int, default=2000)
    return parser.parse_args()


def generate(conn, videos: int) -> None:
    """Set-up (not timed): the videos, activities and ratings, and a line saying how long."""
    started = time.perf_counter()
    with conn.cursor() as cur:
        cur.execute(
            GENERATE,
            {"videos": videos, "collectors": videos // 40, "collections": 20},
        )
        cur.execute(CONSENTS_SQL)
        cur.execute("SELECT count(*) FROM activity_ratings")
        ratings = cur.fetchone()[0]
    conn.commit()
    print(
        f"generated {videos:,} videos, {ratings:,} ratings in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )


def new_ratings(conn, now: datetime) -> None:
    """1k ratings changed in the last hour, for the increment (not timed)."""
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE activity_ratings SET labels = '{box_too_small}', updated_at = %s
               WHERE (video_id, activity_index, reviewer_email) IN (
                   SELECT video_id, activity_index, reviewer_email FROM activity_ratings
                   WHERE reviewer_email = 'r1@x.org' ORDER BY video_id LIMIT 1000)""",
            (now,),
        )
    conn.commit()


def score_ours(conn) -> Ours:
    """Ours, set-based: the full re-score, a rerun, and the increment after 1k new ratings."""
    started = time.perf_counter()
    full = score_videos(conn)
    full_s = time.perf_counter() - started
    started = time.perf_counter()
    rerun = score_videos(conn)
    rerun_s = time.perf_counter() - started

    now = datetime.now(UTC)
    new_ratings(conn, now)
    started = time.perf_counter()
    increment = score_interval(conn, now - timedelta(hours=1), now + timedelta(minutes=1))
    increment_s = time.perf_counter() - started
    return Ours(full, full_s, rerun, rerun_s, increment, increment_s)


def score_naive(conn, size: int) -> tuple[int, float, int]:
    """The naive way on a random sample of ``size`` videos: (sampled, seconds, disagreements)."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT video_id, status, score FROM video_scores ORDER BY random() LIMIT %s",
            (size,),
        )
        sample = cur.fetchall()
    conn.commit()
    started = time.perf_counter()
    disagreements = 0
    for video_id, status, score in sample:
        naive_status, naive_value = naive_score(conn, video_id)
        same_score = (score is None and naive_value is None) or (
            score is not None and naive_value is not None and abs(float(score) - naive_value) < 1e-6
        )
        disagreements += not (naive_status == status and same_score)
    naive_s = time.perf_counter() - started
    return len(sample), naive_s, disagreements


def report(videos: int, ours: Ours, sampled: int, naive_s: float, disagreements: int) -> None:
    """Print ours against the naive way extrapolated from the sample."""
    naive_per_video = naive_s / sampled
    naive_full = naive_per_video * videos
    increment, increment_s = ours.increment, ours.increment_s
    print(
        f"full re-score : {ours.full.videos_scored:,} videos in {ours.full_s:.1f} s "
        f"(target <= 30 s) | naive: {naive_per_video * 1000:.2f} ms/video -> {naive_full:.0f} s "
        f"for all (measured on {sampled:,}) | {naive_full / ours.full_s:.0f}x"
    )
    print(
        f"rerun         : {ours.rerun.videos_scored:,} videos, {ours.rerun.videos_written} rows "
        f"written, {ours.rerun_s:.1f} s"
    )
    print(
        f"increment     : 1,000 new ratings -> {increment.videos_scored:,} videos re-scored in "
        f"{increment_s:.2f} s (target <= 2 s) | naive for those videos: "
        f"{naive_per_video * increment.videos_scored:.1f} s | "
        f"{naive_per_video * increment.videos_scored / increment_s:.0f}x"
    )
    print(f"naive and set-based disagree on {disagreements} of {sampled} sampled videos")


def main() -> None:
    """Generate, score ours and the naive way in the same run, and print the figures."""
    args = parse_args()
    with scratch_database("bench_scoring") as url:
        conn = db.connect(url)
        generate(conn, args.videos)
        ours = score_ours(conn)
        sampled, naive_s, disagreements = score_naive(conn, args.naive)
        conn.close()
    report(args.videos, ours, sampled, naive_s, disagreements)


if __name__ == "__main__":
    main()
