"""Property: hourly runs, skipped hours, reruns and backfills in any order end where one full
re-score ends, while videos and ratings keep arriving."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scoring_world import T0, World

from collector.scoring.scores import score_interval, score_videos

LABELS = st.sampled_from(
    [
        "good",
        "perfect",
        "box_too_big",
        "incorrect_label",
        "repeated_scene",
        "under_review",
        "needs_improvement",
        None,
    ]
)
HOURS = 12

video_events = st.tuples(
    st.integers(0, HOURS - 1),  # arrival hour
    st.integers(0, 2),  # collector
    st.integers(0, 59),  # minutes into the hour (rate limits trigger within 12 h)
    st.booleans(),  # long enough
    st.tuples(LABELS, LABELS),
    st.integers(0, 2),  # location cell: equal cells repeat a location
)
rating_events = st.tuples(st.integers(0, HOURS - 1), st.integers(0, 30), st.integers(0, 1), LABELS)


def scores_of(conn) -> dict:
    with conn.cursor() as cur:
        cur.execute("SELECT video_id, score, status, accepted, flags, reasons FROM video_scores")
        videos = sorted(cur.fetchall())
        cur.execute("SELECT * FROM activity_scores")
        activities = sorted(cur.fetchall())
    conn.commit()
    return {"videos": videos, "activities": activities}


def reset(conn) -> None:
    with conn.cursor() as cur:
        cur.execute(
            "TRUNCATE video_score_changes, video_scores, activity_scores, activity_ratings, "
            "review_queue_rows, activities, videos, collectors, collection_status, "
            "collection_versions, collections CASCADE"
        )
    conn.commit()


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    videos=st.lists(video_events, min_size=1, max_size=12),
    ratings=st.lists(rating_events, max_size=10),
    hourly_ran=st.lists(st.booleans(), min_size=HOURS, max_size=HOURS),
    backfill_order=st.permutations(list(range(HOURS))),
    rerun=st.lists(st.integers(0, HOURS - 1), max_size=4),
)
def test_any_order_of_runs_equals_a_full_rescore(
    warehouse, videos, ratings, hourly_ran, backfill_order, rerun
):
    reset(warehouse)
    world = World(warehouse)
    ids: list[str] = []
    covered = set()

    def run_hour(hour: int) -> None:
        start = T0 + timedelta(hours=hour)
        score_interval(warehouse, start, start + timedelta(hours=1))

    for hour in range(HOURS):
        for arrival, collector, minute, long_enough, labels, cell in videos:
            if arrival == hour:
                at = T0 + timedelta(hours=hour, minutes=minute)
                ids.append(
                    world.video(
                        at=at,
                        collector=f"c{collector}@x.org",
                        duration=20 if long_enough else 5,
                        labels=labels,
                        lat=38.9 + cell * 0.01,
                        lon=-77.0,
                        accuracy=5,
                    )
                )
        for arrival, which, activity, label in ratings:
            if arrival == hour and ids and label is not None:
                world.rate(
                    ids[which % len(ids)],
                    activity,
                    "r2@x.org",
                    label,
                    at=T0 + timedelta(hours=hour, minutes=30),
                )
        if hourly_ran[hour]:
            run_hour(hour)
            covered.add(hour)
    for hour in rerun:
        run_hour(hour)
    for hour in backfill_order:  # backfill whatever the hourly runs missed, in any order
        if hour not in covered:
            run_hour(hour)
    incremental = scores_of(warehouse)

    with warehouse.cursor() as cur:
        cur.execute("TRUNCATE video_score_changes, video_scores, activity_scores")
    warehouse.commit()
    score_videos(warehouse)
    assert incremental == scores_of(warehouse)
