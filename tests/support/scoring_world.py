"""A tiny builder of scoring scenarios straight in the warehouse (no MP4s needed)."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from collector_tools.demo_files import demo_collections

from collector.catalog.collections import record_collection_version
from collector.review.queue import queue_id

T0 = datetime(2026, 11, 16, 23, 0, tzinfo=UTC)  # 18:00 in New York
BASE = demo_collections()[0]  # P004C009: 2 activities, 12 h rate limit, threshold 0.75


class World:
    def __init__(self, conn, **collection_changes):
        self.conn = conn
        self.serial = itertools.count(1)
        self.collection = replace(BASE, **collection_changes)
        record_collection_version(conn, self.collection, T0 - timedelta(days=30))
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO reviewers (email) VALUES ('r1@x.org'), ('r2@x.org'), "
                "('r3@x.org') ON CONFLICT DO NOTHING"
            )
        conn.commit()

    def video(
        self,
        *,
        at: datetime = T0,
        collector: str = "c@x.org",
        labels=("good", "good"),
        shortnames=("Open", "Close"),
        duration: float = 20,
        app: str | None = "2.3.1",
        lat: float | None = None,
        lon: float | None = None,
        accuracy: float | None = None,
        reviewers: tuple[str, ...] = ("r1@x.org",),
        updated_at: datetime | None = None,
        subjects: tuple[str, ...] = ("s@x.org",),
        consented: bool = True,
        version: int = 1,
    ) -> str:
        """A video whose activity i gets rating ``labels[i]`` (a str or a tuple of labels,
        None for unrated) from each reviewer; its subjects have consent on file unless
        ``consented`` is False."""
        video_id = f"{self.collection.collection_id}-v{next(self.serial):05d}"
        c = self.collection
        with self.conn.cursor() as cur:
            cur.execute(
                "INSERT INTO collectors (collector_id) VALUES (%s) ON CONFLICT DO NOTHING",
                (collector,),
            )
            cur.execute(
                """INSERT INTO videos (video_id, collector_id, collection_id, collection_version,
                       collected_at, frame_rate, duration_s, frame_width, frame_height, app_version,
                       latitude, longitude, gps_accuracy_m, mp4_uri, current_annotation, updated_at,
                       subject_ids)
                   VALUES (%s,%s,%s,%s,%s,30,%s,640,360,%s,%s,%s,%s,'-','-',%s,%s)""",
                (
                    video_id,
                    collector,
                    c.collection_id,
                    version,
                    at,
                    duration,
                    app,
                    lat,
                    lon,
                    accuracy,
                    updated_at or at,
                    list(subjects),
                ),
            )
            for subject in subjects if consented else ():
                self.consent(subject, collector=collector, cur=cur)
            for index, name in enumerate(shortnames):
                cur.execute(
                    "INSERT INTO activities (video_id, activity_index, shortname, start_frame, "
                    "end_frame) VALUES (%s, %s, %s, 0, 10)",
                    (video_id, index, name),
                )
                cur.execute(
                    "INSERT INTO review_queue_rows VALUES (%s, %s, %s)",
                    (queue_id(video_id, index), video_id, index),
                )
                given = labels[index] if index < len(labels) else None
                if given is None:
                    continue
                for reviewer in reviewers:
                    self.rate(video_id, index, reviewer, given, at=updated_at or at, cur=cur)
        self.conn.commit()
        return video_id

    def consent(self, subject: str, *, collector: str = "c@x.org", cur=None) -> None:
        """A consent on file for ``subject`` (as ingest records it from the app)."""
        own = cur is None
        cur = cur or self.conn.cursor()
        cur.execute(
            """INSERT INTO consent_records (consent_id, subject_email, collector_id, consented_at,
                   subject_confirmed_18_or_older, video_uri, file_name, sha256)
               VALUES (%s, %s, %s, %s, true, '-', '-', '-') ON CONFLICT DO NOTHING""",
            (f"C-{subject}", subject, collector, T0 - timedelta(days=1)),
        )
        if own:
            cur.close()
            self.conn.commit()

    def rate(self, video_id, index, reviewer, labels, *, at=None, cur=None):
        labels = [labels] if isinstance(labels, str) else list(labels)
        own = cur is None
        cur = cur or self.conn.cursor()
        cur.execute(
            """INSERT INTO activity_ratings (video_id, activity_index, reviewer_email, labels,
                   queue_id, sheet_row, updated_at) VALUES (%s,%s,%s,%s,%s,2,%s)
               ON CONFLICT (video_id, activity_index, reviewer_email) DO UPDATE
               SET labels = EXCLUDED.labels, updated_at = EXCLUDED.updated_at""",
            (video_id, index, reviewer, labels, queue_id(video_id, index), at or T0),
        )
        if own:
            cur.close()
            self.conn.commit()

    def score(self, video_id: str) -> dict:
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT status, score, accepted, flags, reasons, rules_version, collection_version "
                "FROM video_scores WHERE video_id = %s",
                (video_id,),
            )
            row = cur.fetchone()
        self.conn.commit()
        keys = (
            "status",
            "score",
            "accepted",
            "flags",
            "reasons",
            "rules_version",
            "collection_version",
        )
        return dict(zip(keys, row, strict=True))
