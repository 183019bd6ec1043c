"""Which activities a release holds and in which split: selection from the warehouse
(accepted videos, every reviewer passed, every subject consented and none withdrew: FAQ 7, 10),
the recorded plan of a name and version, and the next version number."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import psycopg2.extensions
from psycopg2.extras import Json

from collector.core.clock import BUSINESS_TZ
from collector.release.rules import (
    NAME_PATTERN,
    SPLITS,
    VERSION_PARTS,
    VERSION_PATTERN,
    PaddingRule,
    ReleaseError,
    assign_splits,
    clip_id,
)


@dataclass(frozen=True)
class ReleaseParams:
    name: str
    version: str
    collections: tuple[str, ...] = ()
    collected_from: date | None = None  # America/New_York days, both ends included
    collected_to: date | None = None

    def __post_init__(self) -> None:
        if not NAME_PATTERN.match(self.name):
            raise ReleaseError(
                f"release name {self.name!r}: expected lower-case letters, digits, '-' or '_' "
                "(at most 64), e.g. 'people-in-public'"
            )
        if not VERSION_PATTERN.match(self.version):
            raise ReleaseError(
                f"release version {self.version!r}: expected MAJOR.MINOR[.PATCH], e.g. '1.0'"
            )
        if self.collected_from and self.collected_to and self.collected_to < self.collected_from:
            raise ReleaseError(
                f"collected_to {self.collected_to} is before collected_from {self.collected_from}"
            )

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "collections": sorted(self.collections),
            "collected_from": self.collected_from.isoformat() if self.collected_from else None,
            "collected_to": self.collected_to.isoformat() if self.collected_to else None,
        }


@dataclass(frozen=True)
class ReleaseItem:
    clip_id: str
    video_id: str
    activity_index: int
    collector_id: str
    collection_id: str
    category: str
    subject_emails: tuple[str, ...]


_SELECT = """
SELECT a.video_id, a.activity_index, v.collector_id, v.collection_id,
       coalesce(a.category, cv.activity_categories[array_position(cv.activity_shortnames, a.shortname)]),
       v.subject_ids
FROM activities a
JOIN videos v USING (video_id)
JOIN collection_versions cv ON cv.collection_id = v.collection_id AND cv.version = v.collection_version
JOIN video_scores s USING (video_id)
JOIN activity_scores sc USING (video_id, activity_index)
WHERE s.accepted
  AND cv.kind <> 'self_serve'  -- a self-serve video belongs to its owner (FAQ 3)
  AND NOT sc.pending AND sc.score >= 1  -- every reviewer passed it (good, perfect; warnings ok)
  AND cardinality(v.subject_ids) > 0
  AND NOT EXISTS (  -- every subject consented, and none withdrew (FAQ 10)
      SELECT 1 FROM unnest(v.subject_ids) AS subject
      WHERE NOT EXISTS (SELECT 1 FROM consent_records c WHERE c.subject_email = subject)
         OR EXISTS (SELECT 1 FROM consent_withdrawals w WHERE w.subject_email = subject))
  AND EXISTS (SELECT 1 FROM track_boxes b
              WHERE b.video_id = a.video_id
                AND b.object_index = coalesce(a.object_indices[1], 0))
  AND (cardinality(%(collections)s::text[]) = 0 OR v.collection_id = ANY(%(collections)s::text[]))
  AND (%(from)s::timestamptz IS NULL OR v.collected_at >= %(from)s::timestamptz)
  AND (%(to)s::timestamptz IS NULL OR v.collected_at < %(to)s::timestamptz)
ORDER BY a.video_id, a.activity_index
"""


def select_items(conn: psycopg2.extensions.connection, params: ReleaseParams) -> list[ReleaseItem]:
    """Every activity the release may hold, in a stable order."""

    def day_start(day: date | None) -> datetime | None:
        return None if day is None else datetime.combine(day, time(0), BUSINESS_TZ)

    with conn.cursor() as cur:
        cur.execute(
            _SELECT,
            {
                "collections": list(params.collections),
                "from": day_start(params.collected_from),
                "to": day_start(params.collected_to + timedelta(days=1))
                if params.collected_to
                else None,
            },
        )
        rows = cur.fetchall()
    conn.commit()
    return [
        ReleaseItem(clip_id(vid, idx), vid, idx, collector, collection, category, tuple(subjects))
        for vid, idx, collector, collection, category, subjects in rows
        if category
    ]


@dataclass
class ReleasePlan:
    params: ReleaseParams
    items: list[ReleaseItem]
    splits: dict[str, str]  # collector -> split
    status: str  # "new" (to build), "building" (resumed) or "published" (rebuild to verify)

    def video_batches(self, size: int) -> list[list[str]]:
        videos = sorted({i.video_id for i in self.items})
        return [videos[i : i + size] for i in range(0, len(videos), size)]

    def summary(self) -> dict[str, Any]:
        by_split = Counter(self.splits[i.collector_id] for i in self.items)
        return {
            "release": f"{self.params.name} {self.params.version}",
            "status": self.status,
            "clips": len(self.items),
            "videos": len({i.video_id for i in self.items}),
            "collectors": len(self.splits),
            "categories": dict(sorted(Counter(i.category for i in self.items).items())),
            "splits": {s: by_split.get(s, 0) for s, _ in SPLITS},
        }


def next_release_version(conn: psycopg2.extensions.connection, name: str) -> str:
    """The version after the highest recorded for ``name`` (minor + 1), or 1.0 for a new name."""
    with conn.cursor() as cur:
        cur.execute("SELECT version FROM dataset_releases WHERE name = %s", (name,))
        versions = [r[0] for r in cur.fetchall() if VERSION_PATTERN.match(r[0])]
    conn.commit()
    if not versions:
        return "1.0"
    major, minor = max(tuple(int(p) for p in VERSION_PARTS.findall(v)) for v in versions)[:2]
    return f"{major}.{minor + 1}"


def release_status(conn, name: str, version: str) -> str | None:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT status FROM dataset_releases WHERE name = %s AND version = %s", (name, version)
        )
        row = cur.fetchone()
    conn.commit()
    return row[0] if row else None


def plan_release(
    conn: psycopg2.extensions.connection, params: ReleaseParams, output_uri: str, *, dry_run: bool
) -> ReleasePlan:
    """Select, split and (unless a dry run or already published) record the plan."""
    status = release_status(conn, params.name, params.version)
    if status == "published":
        items = load_items(conn, params.name, params.version)
        splits = _recorded_splits(conn, params.name, params.version)
        return ReleasePlan(params, items, splits, "published")
    items = select_items(conn, params)
    if not items:
        raise ReleaseError(
            "nothing to release: no positively rated activity in an accepted video with "
            f"consent on file matches {params.as_json()}"
        )
    splits = assign_splits(Counter(i.collector_id for i in items), params.name)
    plan = ReleasePlan(params, items, splits, "building" if status else "new")
    if dry_run:
        return plan
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO dataset_releases (name, version, status, params, output_uri)
               VALUES (%s, %s, 'building', %s, %s)
               ON CONFLICT (name, version) DO UPDATE SET params = EXCLUDED.params,
                   output_uri = EXCLUDED.output_uri""",
            (params.name, params.version, Json(params.as_json()), output_uri),
        )
        cur.execute(
            "DELETE FROM release_items WHERE name = %s AND version = %s",
            (params.name, params.version),
        )
        cur.executemany(
            """INSERT INTO release_items (name, version, clip_id, video_id, activity_index,
                   collector_id, collection_id, category, subject_emails, split)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
            [
                (
                    params.name,
                    params.version,
                    i.clip_id,
                    i.video_id,
                    i.activity_index,
                    i.collector_id,
                    i.collection_id,
                    i.category,
                    list(i.subject_emails),
                    splits[i.collector_id],
                )
                for i in items
            ],
        )
    conn.commit()
    return plan


def load_plan(conn: psycopg2.extensions.connection, params: ReleaseParams) -> ReleasePlan:
    """The plan recorded by :func:`plan_release` (what later tasks, on any machine, work on)."""
    status = release_status(conn, params.name, params.version)
    if status is None:
        raise ReleaseError(f"release {params.name} {params.version} has no recorded plan")
    return ReleasePlan(
        params,
        load_items(conn, params.name, params.version),
        _recorded_splits(conn, params.name, params.version),
        status,
    )


def load_items(conn, name: str, version: str) -> list[ReleaseItem]:
    with conn.cursor() as cur:
        cur.execute(
            """SELECT clip_id, video_id, activity_index, collector_id, collection_id, category,
                      subject_emails
               FROM release_items WHERE name = %s AND version = %s ORDER BY clip_id""",
            (name, version),
        )
        rows = cur.fetchall()
    conn.commit()
    return [ReleaseItem(r[0], r[1], r[2], r[3], r[4], r[5], tuple(r[6])) for r in rows]


def _recorded_splits(conn, name: str, version: str) -> dict[str, str]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT DISTINCT collector_id, split FROM release_items WHERE name = %s AND version = %s",
            (name, version),
        )
        rows = cur.fetchall()
    conn.commit()
    return dict(rows)


def padding_rules(conn) -> list[PaddingRule]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT category, pad_before_s, pad_after_s, min_length_s, why "
            "FROM release_padding_rules ORDER BY category = '*', category"
        )
        rules = [PaddingRule(*r) for r in cur.fetchall()]
    conn.commit()
    return rules


def refuse_withdrawn(conn: psycopg2.extensions.connection, params: ReleaseParams) -> None:
    """A consent withdrawn while the clips were being cut stops the release (fail closed)."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT count(DISTINCT ri.clip_id) FROM release_items ri
               JOIN consent_withdrawals w ON w.subject_email = ANY(ri.subject_emails)
               WHERE ri.name = %s AND ri.version = %s""",
            (params.name, params.version),
        )
        (withdrawn,) = cur.fetchone()
    conn.commit()
    if withdrawn:
        raise ReleaseError(
            f"consent was withdrawn for {withdrawn} planned clip(s) of {params.name} "
            f"{params.version} while it was being built; nothing was published. Run it again: "
            "the new plan leaves them out."
        )
