"""The daily collection update (FAQ 9): master sheet -> collection versions -> live status ->
the catalog JSON the app downloads."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg2.extensions

from collector.cells import CellProblem
from collector.collections import CollectionVersion, load_catalog, record_collection_version
from collector.master_sheet import parse_master_sheet

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
    version: CollectionVersion, today: date, accepted: int, in_sheet: bool
) -> tuple[bool, str]:
    """Whether the app offers the collection today, and the reason in words."""
    d = version.definition
    if not in_sheet:
        return False, "not in the master sheet"
    if not d.enabled:
        return False, "disabled in the master sheet"
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
) -> UpdateReport:
    """Record changed definitions as new versions and refresh every collection's status.

    One transaction. Bad rows change nothing: their collections keep the version in force.
    """
    report = UpdateReport()
    valid, report.problems = parse_master_sheet(rows)
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
    with conn.cursor() as cur:
        cur.execute("SELECT collection_id, accepted FROM collection_accepted_counts")
        accepted = dict(cur.fetchall())
        for cid in catalog.ids():
            current = catalog.version_at(cid, effective_at)
            enabled, reason = status_of(current, today, accepted.get(cid, 0), cid in in_sheet)
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


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def build_catalog(conn: psycopg2.extensions.connection, moment: datetime) -> dict[str, Any]:
    """The app's catalog: every enabled collection as defined at ``moment``, sorted by id."""
    catalog = load_catalog(conn)
    with conn.cursor() as cur:
        cur.execute("SELECT collection_id FROM collection_status WHERE enabled ORDER BY 1")
        enabled = [r[0] for r in cur.fetchall()]
    conn.commit()
    entries = []
    for cid in enabled:
        v = catalog.version_at(cid, moment)
        d = v.definition
        entries.append(
            {
                "collection_id": cid,
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
        )
    return {"catalog_date": moment.date().isoformat(), "collections": entries}


def catalog_json(catalog: dict[str, Any]) -> str:
    return json.dumps(catalog, indent=2, sort_keys=True) + "\n"
