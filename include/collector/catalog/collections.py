"""Collections and their versions as stored in the warehouse.

A collection's definition (activities, thresholds, pay) changes over time; each change is a
new version valid from a moment on, so a video is always judged by the version in force when
it was collected. The daily master-sheet update writes versions through
:func:`record_collection_version`; self-serve collections (``collector.catalog.self_serve``) and the
demo do the same.

A version has a kind (:data:`KINDS`): ``paid`` (a paid campaign), ``practice`` (FAQ 4: open to
every collector, reviewed, never paid) or ``self_serve`` (FAQ 3: defined by its owner, whose
normalized email the version carries; never reviewed, never paid).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from decimal import Decimal

import psycopg2.extensions

KINDS = ("paid", "practice", "self_serve")


@dataclass(frozen=True)
class CollectionDefinition:
    """What a master-sheet row (or a self-serve spec) says about a collection, but its version.

    ``owner_email`` is set exactly for ``kind == "self_serve"`` (the warehouse checks it too).
    """

    collection_id: str
    project_id: str
    name: str
    activity_shortnames: tuple[str, ...]
    activity_categories: tuple[str, ...]
    project_name: str | None = None
    description: str = ""
    required_activity_count: int = 1
    min_duration_s: Decimal = Decimal(0)
    rate_limit_hours: Decimal = Decimal(12)
    score_threshold: Decimal = Decimal("0.75")
    pay_per_video_cents: int = 0
    perfect_bonus_cents: int = 0
    min_app_version: str | None = None
    enabled: bool = True
    location_notes: str = ""
    viewpoint_notes: str = ""
    pose_notes: str = ""
    geofence_lat: Decimal | None = None
    geofence_lon: Decimal | None = None
    geofence_radius_m: Decimal | None = None
    start_date: date | None = None
    end_date: date | None = None
    target_accepted_count: int | None = None
    kind: str = "paid"
    owner_email: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"collection kind must be one of {KINDS}, got {self.kind!r}")
        if (self.kind == "self_serve") != (self.owner_email is not None):
            raise ValueError("owner_email is set for a self_serve collection, and only for one")


@dataclass(frozen=True)
class CollectionVersion:
    definition: CollectionDefinition
    version: int
    valid_from: datetime
    valid_to: datetime | None

    @property
    def collection_id(self) -> str:
        return self.definition.collection_id


# Columns of collection_versions that hold the definition (the key columns live elsewhere).
_DEFINITION_COLUMNS = [
    f.name for f in fields(CollectionDefinition) if f.name not in ("collection_id", "project_id")
]


class CollectionCatalog:
    """All collection versions, for resolving what a submission belongs to."""

    def __init__(self, versions: list[CollectionVersion]):
        self._by_id: dict[str, list[CollectionVersion]] = {}
        for version in sorted(versions, key=lambda v: (v.collection_id, v.version)):
            self._by_id.setdefault(version.collection_id, []).append(version)

    def __contains__(self, collection_id: str) -> bool:
        return collection_id in self._by_id

    def __len__(self) -> int:
        return len(self._by_id)

    def ids(self) -> list[str]:
        return sorted(self._by_id)

    def find_by_name(self, name: str, project_id: str | None) -> list[str]:
        """Collection ids whose (latest) name matches, narrowed by project when given."""
        wanted = name.strip().casefold()
        return sorted(
            cid
            for cid, versions in self._by_id.items()
            if any(v.definition.name.strip().casefold() == wanted for v in versions)
            and (project_id is None or versions[-1].definition.project_id == project_id)
        )

    def version_at(self, collection_id: str, moment: datetime) -> CollectionVersion:
        """The version in force at ``moment``; the first one for moments before it existed."""
        versions = self._by_id[collection_id]
        position = bisect_right([v.valid_from for v in versions], moment)
        return versions[max(position - 1, 0)]

    def history(self, collection_id: str) -> list[CollectionVersion]:
        """Every version of the collection, oldest first."""
        return list(self._by_id[collection_id])

    def latest(self, collection_id: str) -> CollectionVersion:
        return self._by_id[collection_id][-1]

    def owner_of(self, collection_id: str) -> str | None:
        """The owner of a self-serve collection (kept after a promotion), else None."""
        owners = [v.definition.owner_email for v in self._by_id[collection_id]]
        return next((o for o in reversed(owners) if o is not None), None)

    def managed_by_sheet(self, collection_id: str) -> bool:
        """Whether the master sheet manages it: every collection that never was self-serve.

        A self-serve collection, also once promoted to a paid campaign, is managed with
        ``collector collections`` and never disabled for being absent from the sheet.
        """
        return self.owner_of(collection_id) is None


def load_catalog(conn: psycopg2.extensions.connection) -> CollectionCatalog:
    columns = ", ".join(f"v.{c}" for c in _DEFINITION_COLUMNS)
    with conn.cursor() as cur:
        cur.execute(
            f"""SELECT c.collection_id, c.project_id, {columns}, v.version, v.valid_from, v.valid_to
                FROM collections c JOIN collection_versions v USING (collection_id)"""
        )
        rows = cur.fetchall()
    versions = []
    for row in rows:
        values = dict(zip(["collection_id", "project_id", *_DEFINITION_COLUMNS], row, strict=False))
        values["activity_shortnames"] = tuple(values["activity_shortnames"])
        values["activity_categories"] = tuple(values["activity_categories"])
        version, valid_from, valid_to = row[-3:]
        versions.append(
            CollectionVersion(CollectionDefinition(**values), version, valid_from, valid_to)
        )
    return CollectionCatalog(versions)


def record_collection_version(
    conn: psycopg2.extensions.connection, definition: CollectionDefinition, valid_from: datetime
) -> int:
    """Store ``definition`` as the current version if it differs from it; return the version.

    Idempotent: recording the same definition again changes nothing. Runs in the caller's
    transaction.
    """
    columns = ", ".join(_DEFINITION_COLUMNS)
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO collections (collection_id, project_id) VALUES (%s, %s) "
            "ON CONFLICT (collection_id) DO UPDATE SET project_id = EXCLUDED.project_id",
            (definition.collection_id, definition.project_id),
        )
        cur.execute(
            f"""SELECT version, {columns} FROM collection_versions
                WHERE collection_id = %s AND valid_to IS NULL FOR UPDATE""",
            (definition.collection_id,),
        )
        current = cur.fetchone()
        wanted = [getattr(definition, c) for c in _DEFINITION_COLUMNS]
        comparable = [list(v) if isinstance(v, tuple) else v for v in wanted]
        if current is not None and list(current[1:]) == comparable:
            return current[0]
        version = 1
        if current is not None:
            version = current[0] + 1
            # A version never starts before the one it replaces (a rerun of an earlier update).
            cur.execute(
                "SELECT valid_from FROM collection_versions WHERE collection_id = %s AND version = %s",
                (definition.collection_id, current[0]),
            )
            valid_from = max(valid_from, cur.fetchone()[0] + timedelta(microseconds=1))
            cur.execute(
                "UPDATE collection_versions SET valid_to = %s WHERE collection_id = %s AND version = %s",
                (valid_from, definition.collection_id, current[0]),
            )
        placeholders = ", ".join(["%s"] * (len(_DEFINITION_COLUMNS) + 3))
        cur.execute(
            f"""INSERT INTO collection_versions
                (collection_id, version, valid_from, {columns}) VALUES ({placeholders})""",
            (
                definition.collection_id,
                version,
                valid_from,
                *[list(v) if isinstance(v, tuple) else v for v in wanted],
            ),
        )
        return version
