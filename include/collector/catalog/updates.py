"""The daily collection update (FAQ 9): master sheet -> collection versions -> live status ->
the catalog JSON the app downloads.

The catalog is per user: the public catalog (every enabled paid and practice collection) and,
for each owner of self-serve collections, ``users/<sha256(email)[:20]>.json`` beside it = the
public catalog plus their own enabled self-serve collections (no email in a file name).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg2.extensions

from collector.catalog.collections import (
    CollectionCatalog,
    CollectionVersion,
    load_catalog,
    record_collection_version,
)
from collector.catalog.master_sheet import parse_master_sheet
from collector.core import settings
from collector.core.cells import CellProblem
from collector.core.identity import normalize_email

log = logging.getLogger(__name__)


@dataclass
class UpdateReport:
    created: list[str] = field(default_factory=list)
    changed: dict[str, int] = field(default_factory=dict)  # collection -> new version
    unchanged: list[str] = field(default_factory=list)
    enabled: list[str] = field(default_factory=list)
    disabled: dict[str, str] = field(default_factory=dict)  # collection -> why
    problems: list[CellProblem] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "changed": self.changed,
            "unchanged": len(self.unchanged),
            "enabled": self.enabled,
            "disabled": self.disabled,
            "problems": [str(p) for p in self.problems],
        }


def status_of(
    version: CollectionVersion,
    today: date,
    accepted: int,
    in_sheet: bool,
    managed_by_sheet: bool = True,
) -> tuple[bool, str]:
    """Whether the app offers the collection today, and the reason in words.

    Self-serve collections (and promoted ones) are not in the master sheet: they are managed
    with ``collector collections``, so only their own flag and dates count.
    """
    d = version.definition
    if managed_by_sheet and not in_sheet:
        return False, "not in the master sheet"
    if not d.enabled:
        return False, "disabled in the master sheet" if managed_by_sheet else "retired"
    if d.start_date and today < d.start_date:
        return False, f"starts {d.start_date.isoformat()}"
    if d.end_date and today > d.end_date:
        return False, f"ended {d.end_date.isoformat()}"
    if d.target_accepted_count is not None and accepted >= d.target_accepted_count:
        return False, f"target of {d.target_accepted_count} accepted videos reached ({accepted})"
    return True, "enabled"


def apply_master_sheet(
    conn: psycopg2.extensions.connection,
    rows: list[list[Any]],
    *,
    effective_at: datetime,
    today: date,
    max_pay_per_video_cents: int | None = None,
) -> UpdateReport:
    """Record changed definitions as new versions and refresh every collection's status.

    ``rows``: the Collections tab read unformatted (``collector.core.cells.UNFORMATTED_READ``).
    One transaction. Bad rows change nothing: their collections keep the version in force. A
    row paying more than ``max_pay_per_video_cents`` a video (None: the setting
    ``COLLECTOR_MAX_PAY_PER_VIDEO_USD``, $50.00 by default) is such a bad row (issue 19).
    Raises ``settings.ConfigurationError`` for a malformed bound, before anything is written.
    """
    if max_pay_per_video_cents is None:
        max_pay_per_video_cents = settings.max_pay_per_video_cents()
    report = UpdateReport()
    valid, report.problems = parse_master_sheet(
        rows, max_pay_per_video_cents=max_pay_per_video_cents
    )
    before = load_catalog(conn)
    for row in valid:
        cid = row.definition.collection_id
        had = cid in before
        previous = before.version_at(cid, effective_at).version if had else None
        version = record_collection_version(conn, row.definition, effective_at)
        if not had:
            report.created.append(cid)
        elif version != previous:
            report.changed[cid] = version
        else:
            report.unchanged.append(cid)
    in_sheet = {row.definition.collection_id for row in valid} | {
        p.collection_id for p in report.problems if p.collection_id
    }
    catalog = load_catalog(conn)
    for cid, (enabled, reason) in refresh_status(
        conn, catalog, catalog.ids(), effective_at=effective_at, today=today, in_sheet=in_sheet
    ).items():
        if enabled:
            report.enabled.append(cid)
        else:
            report.disabled[cid] = reason
    conn.commit()
    for problem in report.problems:
        log.warning("master sheet: %s", problem)
    log.info(
        "collection update: %s", {k: v for k, v in report.summary().items() if k != "problems"}
    )
    return report


def refresh_status(
    conn: psycopg2.extensions.connection,
    catalog: CollectionCatalog,
    collection_ids: Iterable[str],
    *,
    effective_at: datetime,
    today: date,
    in_sheet: set[str] | None = None,
) -> dict[str, tuple[bool, str]]:
    """Write ``collection_status`` for these collections as of ``effective_at``; return it.

    ``in_sheet`` is the master sheet's collections (None: the sheet was not read, as for a
    self-serve change, so only collections it does not manage may be given). Runs in the
    caller's transaction.
    """
    found: dict[str, tuple[bool, str]] = {}
    collection_ids = list(collection_ids)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT collection_id, accepted FROM collection_accepted_counts "
            "WHERE collection_id = ANY(%s)",
            (collection_ids,),
        )
        accepted = dict(cur.fetchall())
        for cid in collection_ids:
            managed = catalog.managed_by_sheet(cid)
            if in_sheet is None and managed:
                raise ValueError(f"{cid} is managed by the master sheet: read the sheet first")
            found[cid] = status_of(
                catalog.version_at(cid, effective_at),
                today,
                accepted.get(cid, 0),
                in_sheet is not None and cid in in_sheet,
                managed,
            )
            enabled, reason = found[cid]
            cur.execute(
                """INSERT INTO collection_status (collection_id, enabled, reason, changed_at, checked_at)
                   VALUES (%s, %s, %s, %s, %s)
                   ON CONFLICT (collection_id) DO UPDATE SET
                     changed_at = CASE WHEN (collection_status.enabled, collection_status.reason)
                                            IS DISTINCT FROM (EXCLUDED.enabled, EXCLUDED.reason)
                                       THEN EXCLUDED.changed_at ELSE collection_status.changed_at END,
                     enabled = EXCLUDED.enabled, reason = EXCLUDED.reason,
                     checked_at = EXCLUDED.checked_at""",
                (cid, enabled, reason, effective_at, effective_at),
            )
    return found


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _entry(v: CollectionVersion) -> dict[str, Any]:
    d = v.definition
    return {
        "collection_id": d.collection_id,
        "version": v.version,
        "project_id": d.project_id,
        "project_name": d.project_name,
        "name": d.name,
        "description": d.description,
        "activities": [
            {"shortname": s, "category": c}
            for s, c in zip(d.activity_shortnames, d.activity_categories, strict=True)
        ],
        "required_activity_count": d.required_activity_count,
        "min_duration_s": _plain(d.min_duration_s),
        "notes": {
            "location": d.location_notes,
            "viewpoint": d.viewpoint_notes,
            "pose": d.pose_notes,
        },
        "geofence": None
        if d.geofence_lat is None
        else {
            "latitude": _plain(d.geofence_lat),
            "longitude": _plain(d.geofence_lon),
            "radius_m": _plain(d.geofence_radius_m),
        },
        "min_app_version": d.min_app_version,
        "end_date": _plain(d.end_date),
    }


def _enabled_versions(
    conn: psycopg2.extensions.connection, moment: datetime
) -> list[CollectionVersion]:
    catalog = load_catalog(conn)
    with conn.cursor() as cur:
        cur.execute("SELECT collection_id FROM collection_status WHERE enabled ORDER BY 1")
        enabled = [r[0] for r in cur.fetchall()]
    conn.commit()
    return [catalog.version_at(cid, moment) for cid in enabled if cid in catalog]


def _catalog(moment: datetime, versions: list[CollectionVersion]) -> dict[str, Any]:
    entries = [_entry(v) for v in sorted(versions, key=lambda v: v.collection_id)]
    return {"catalog_date": moment.date().isoformat(), "collections": entries}


def build_catalog(conn: psycopg2.extensions.connection, moment: datetime) -> dict[str, Any]:
    """The public catalog: every enabled paid and practice collection as defined at
    ``moment``, sorted by id (self-serve collections are only in their owner's catalog)."""
    versions = _enabled_versions(conn, moment)
    return _catalog(moment, [v for v in versions if v.definition.kind != "self_serve"])


def owner_catalog_name(owner_email: str) -> str:
    """An owner's catalog file, relative to the public catalog's folder (no email in it)."""
    digest = hashlib.sha256(normalize_email(owner_email).encode()).hexdigest()[:20]
    return f"users/{digest}.json"


def build_catalogs(
    conn: psycopg2.extensions.connection,
    moment: datetime,
    owners: Iterable[str] | None = None,
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The public catalog, and each owner's (public + their enabled self-serve collections).

    ``owners`` (normalized emails) limits which owners' catalogs are built; None builds one
    for every owner of a self-serve collection, retired ones included (so a retired
    collection leaves their file).
    """
    versions = _enabled_versions(conn, moment)
    public = [v for v in versions if v.definition.kind != "self_serve"]
    if owners is None:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT DISTINCT owner_email FROM collection_versions "
                "WHERE owner_email IS NOT NULL ORDER BY 1"
            )
            owners = [r[0] for r in cur.fetchall()]
        conn.commit()
    own: dict[str, list[CollectionVersion]] = {normalize_email(o): [] for o in owners}
    for v in versions:
        if v.definition.kind == "self_serve" and v.definition.owner_email in own:
            own[v.definition.owner_email].append(v)
    return _catalog(moment, public), {o: _catalog(moment, public + vs) for o, vs in own.items()}


def catalog_json(catalog: dict[str, Any]) -> str:
    return json.dumps(catalog, indent=2, sort_keys=True) + "\n"


def write_catalog_files(catalog_url: str, files: dict[str, str]) -> list[str]:
    """Write ``files`` (path relative to the catalog's folder -> text) beside ``catalog_url``.

    For the CLI (the DAG writes through Airflow's object storage instead). A local file is
    replaced atomically, so the app never downloads half a catalog; ``s3://``-style URLs go
    through fsspec.
    """
    written = []
    if "://" in catalog_url and not catalog_url.startswith("file://"):
        import fsspec  # noqa: PLC0415 - only for remote catalogs

        base = catalog_url.rsplit("/", 1)[0]
        for name, text in files.items():
            with fsspec.open(f"{base}/{name}", "w") as out:
                out.write(text)
            written.append(f"{base}/{name}")
        return written
    folder = Path(catalog_url.removeprefix("file://")).parent
    for name, text in files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
        written.append(str(target))
    return written
