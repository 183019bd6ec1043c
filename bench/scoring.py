"""Benchmark: full re-score of 200k videos / 1M ratings, the same re-score given as an explicit
list of ids, and an hourly increment of 1k new ratings, set-based in PostgreSQL; against a naive
per-video Python scorer (on a sample: it is far slower) and against the limit, the bare
read-and-aggregate of the same rows in one SQL statement, all in the same run on the same
embedded PostgreSQL.

    make bench     # or: .venv/bin/python bench/scoring.py [--videos 200000] [--naive 2000]

Targets (2 cores): full re-score within 3x of the bare aggregate; the explicit list no slower
per video than the set path; the increment of 1,000 ratings under 1 s, re-scoring only the
ratings' videos.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from _common import CONSENTS_SQL, scratch_database
from _results import Row, times, write

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


# The limit: the rows a score is computed from (each video with its collection version, its
# activities, their ratings and each label's rule) read and aggregated per video in one
# statement, with nothing decided and nothing written. Scoring cannot go below it.
BARE = """
SELECT count(*), sum(ratings), sum(factors) FROM (
    SELECT v.video_id, count(r.reviewer_email) AS ratings, sum(lr.factor) AS factors,
           min(cv.score_threshold) AS threshold
    FROM videos v
    JOIN collection_versions cv
      ON cv.collection_id = v.collection_id AND cv.version = v.collection_version
    JOIN activities a USING (video_id)
    LEFT JOIN activity_ratings r USING (video_id, activity_index)
    LEFT JOIN LATERAL unnest(r.labels) l(label) ON true
    LEFT JOIN scoring_label_rules lr ON lr.label = l.label AND lr.rules_version = 1
    WHERE %(video_ids)s::text[] IS NULL OR v.video_id = ANY(%(video_ids)s::text[])
    GROUP BY v.video_id) per_video
"""


@dataclass
class Ours:
    """Seconds and runs: first full score, set-path rerun, explicit-list rerun, increment."""

    full: ScoreRun
    full_s: float
    rerun_s: float
    listed: ScoreRun
    listed_s: float
    increment: ScoreRun
    increment_s: float
    bare_s: float  # the bare aggregate over every video
    bare_increment_s: float  # the same over the increment's videos


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def bare(conn, video_ids: list[str] | None) -> float:
    """Seconds for the bare read-and-aggregate (best of two: the rows are cached either way)."""
    best = math.inf
    for _ in range(2):
        with conn.cursor() as cur:
            started = time.perf_counter()
            cur.execute(BARE, {"video_ids": video_ids})
            cur.fetchone()
            best = min(best, time.perf_counter() - started)
        conn.commit()
    return best


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


def new_ratings(conn, now: datetime) -> list[str]:
    """1k ratings changed in the last hour, for the increment (not timed); their videos."""
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE activity_ratings SET labels = '{box_too_small}', updated_at = %s
               WHERE (video_id, activity_index, reviewer_email) IN (
                   SELECT video_id, activity_index, reviewer_email FROM activity_ratings
                   WHERE reviewer_email = 'r1@x.org' ORDER BY video_id LIMIT 1000)
               RETURNING video_id""",
            (now,),
        )
        videos = sorted({r[0] for r in cur.fetchall()})
    conn.commit()
    return videos


def all_ids(conn) -> list[str]:
    with conn.cursor() as cur:
        cur.execute("SELECT video_id FROM videos ORDER BY 1")
        ids = [r[0] for r in cur.fetchall()]
    conn.commit()
    return ids


def score_ours(conn) -> tuple[Ours, list[str]]:
    """Ours: full score, rerun, rerun as a list of ids, and the increment; with the limits."""
    bare_s = bare(conn, None)
    full, full_s = timed(score_videos, conn)
    # The set path and the list path twice each, interleaved, best of two: the cores are
    # shared, and a burst of load on one of them would decide the comparison.
    ids = all_ids(conn)
    rerun_s = listed_s = math.inf
    for _ in range(2):
        rerun_s = min(rerun_s, timed(score_videos, conn)[1])
        listed, seconds = timed(score_videos, conn, ids)
        listed_s = min(listed_s, seconds)
    now = datetime.now(UTC)
    rated = new_ratings(conn, now)
    increment, increment_s = timed(
        score_interval, conn, now - timedelta(hours=1), now + timedelta(minutes=1)
    )
    ours = Ours(
        full, full_s, rerun_s, listed, listed_s, increment, increment_s, bare_s, bare(conn, rated)
    )
    return ours, rated


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


def report(videos: int, ours: Ours, rated: list[str], sampled: int, naive_s: float) -> list[Row]:
    """Ours against the naive way (extrapolated from the sample) and the bare aggregate."""
    per_video = naive_s / sampled
    naive_full, naive_increment = per_video * videos, per_video * len(rated)
    full, listed, increment = ours.full_s, ours.listed_s, ours.increment_s
    size = f"{videos:,} videos / {videos * 5:,} ratings"
    naive = f"naive per-video Python scorer {per_video * 1000:.2f} ms/video (on {sampled:,})"
    rows = [
        Row(
            f"full score, {size} (first run, every row written)",
            f"{full:.1f} s",
            f"{naive}: {naive_full:.0f} s",
            f"bare read-and-aggregate: {ours.bare_s:.2f} s",
            times(naive_full / full),
            times(full / ours.bare_s),
            f"<= 3x the limit: {'met' if full <= 3 * ours.bare_s else 'not met'}",
        ),
        Row(
            f"full re-score, {size} (scores exist, nothing changes; best of 2)",
            f"{ours.rerun_s:.1f} s",
            f"{naive_full:.0f} s",
            f"{ours.bare_s:.2f} s",
            times(naive_full / ours.rerun_s),
            times(ours.rerun_s / ours.bare_s),
            f"<= 3x the limit: {'met' if ours.rerun_s <= 3 * ours.bare_s else 'not met'}",
        ),
        Row(
            f"same re-score given as an explicit list of {ours.listed.videos_scored:,} ids (best of 2)",
            f"{listed:.1f} s ({listed / ours.rerun_s:.2f}x the set path)",
            f"{naive_full:.0f} s",
            f"{ours.bare_s:.2f} s",
            times(naive_full / listed),
            times(listed / ours.bare_s),
            f"no slower per video than the set path (within 10%, the spread between runs here): "
            f"{'met' if listed <= ours.rerun_s * 1.1 else 'not met'}",
        ),
        Row(
            f"hourly increment: 1,000 new ratings on {len(rated):,} videos",
            f"{ours.increment.videos_scored:,} videos re-scored in {increment:.2f} s",
            f"{naive_increment:.1f} s for those videos",
            f"bare aggregate of those videos: {ours.bare_increment_s * 1000:.0f} ms",
            times(naive_increment / increment),
            times(increment / ours.bare_increment_s),
            f"< 1 s and only the ratings' videos: "
            f"{'met' if increment < 1 and ours.increment.videos_scored == len(rated) else 'not met'}",
        ),
    ]
    return rows


def main() -> None:
    """Generate, score ours, the naive way and the limit in the same run; record the figures."""
    args = parse_args()
    with scratch_database("bench_scoring") as url:
        conn = db.connect(url)
        generate(conn, args.videos)
        ours, rated = score_ours(conn)
        sampled, naive_s, disagreements = score_naive(conn, args.naive)
        conn.close()
    print(f"naive and set-based disagree on {disagreements} of {sampled} sampled videos")
    figures = {
        "videos": args.videos,
        "full_s": ours.full_s,
        "rerun_s": ours.rerun_s,
        "listed_s": ours.listed_s,
        "increment_s": ours.increment_s,
        "increment_videos_scored": ours.increment.videos_scored,
        "rated_videos": len(rated),
        "bare_s": ours.bare_s,
        "bare_increment_s": ours.bare_increment_s,
        "naive_sampled": sampled,
        "naive_s": naive_s,
        "disagreements": disagreements,
    }
    write("scoring", report(args.videos, ours, rated, sampled, naive_s), figures)


if __name__ == "__main__":
    main()
