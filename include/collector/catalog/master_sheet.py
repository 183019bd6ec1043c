"""The Collections master sheet: one row per collection, validated cell by cell.

Ops edit the sheet by hand, so every problem names its cell (``F7``), the column and what was
expected. A row with any problem is left out: the collection's previous version stays in force.

The columns' parsers and the checks of a row as a whole (:func:`validate_fields`) are shared
with self-serve specs (``collector.catalog.self_serve``), which name a YAML line instead of a cell.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from collector.catalog.collections import KINDS, CollectionDefinition
from collector.core.cells import (
    CellProblem,
    cell_ref,
)
from collector.core.cells import parse_boolean as _boolean
from collector.core.cells import parse_count as _count
from collector.core.cells import parse_date as _date
from collector.core.cells import parse_decimal as _decimal
from collector.core.cells import parse_non_negative as _non_negative
from collector.core.versions import VERSION_FORMS, release_key

_COLLECTION_ID = re.compile(r"^P\d{3}C\d{3}$")


def _text(value: str) -> str:
    return value.strip()


def _threshold(value: str) -> Decimal:
    try:
        number = _decimal(value)
    except ValueError:
        number = None
    if number is None or not 0 <= number <= 1:
        raise ValueError(f"expected a number between 0 and 1, got {value!r}")
    return number


def _cents(value: str) -> int:
    """Dollars as written (``3``, ``3.50``, ``$3.50``) to integer cents, exactly."""
    number = _non_negative(value)
    cents = number * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"expected dollars with at most 2 decimals, got {value!r}")
    return int(cents)


def _names(value: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in value.split(",") if part.strip())
    if not names:
        raise ValueError("expected a comma-separated list, got nothing")
    return names


def _version(value: str) -> str:
    """A minimum app version in any form the app's own versions come in
    (``collector.core.versions``), kept as typed; the Outdated App check compares the release
    parts (docs/scoring.md). Raises ValueError naming the forms."""
    if release_key(value.strip()) is None:
        raise ValueError(f"expected a version like {VERSION_FORMS}, got {value!r}")
    return value.strip()


def _kind(value: str) -> str:
    kind = value.strip().casefold().replace("-", "_").replace(" ", "_")
    if kind not in KINDS:
        raise ValueError(f"expected paid, practice or self_serve, got {value!r}")
    return kind


@dataclass(frozen=True)
class Column:
    name: str
    parse: Callable[[str], Any]
    required: bool = False
    field: str | None = None  # CollectionDefinition field, when named differently


MASTER_COLUMNS: tuple[Column, ...] = (
    Column("collection_id", _text, True),
    Column("project_id", _text, True),
    Column("project_name", _text),
    Column("name", _text, True),
    Column("description", _text),
    Column("activity_shortnames", _names, True),
    Column("activity_categories", _names, True),
    Column("required_activity_count", _count, True),
    Column("min_duration_s", _non_negative, True),
    Column("rate_limit_hours", _non_negative, True),
    Column("score_threshold", _threshold, True),
    Column("pay_per_video_usd", _cents, True, "pay_per_video_cents"),
    Column("perfect_bonus_usd", _cents, False, "perfect_bonus_cents"),
    Column("location_notes", _text),
    Column("viewpoint_notes", _text),
    Column("pose_notes", _text),
    Column("geofence_lat", _decimal),
    Column("geofence_lon", _decimal),
    Column("geofence_radius_m", _non_negative),
    Column("min_app_version", _version),
    Column("start_date", _date),
    Column("end_date", _date),
    Column("target_accepted_count", _count),
    Column("enabled", _boolean, True),
    # Appended last, so sheets made before collection kinds existed keep working.
    Column("kind", _kind),
)
MASTER_HEADER = [c.name for c in MASTER_COLUMNS]
# Column name -> parser (text as typed -> value), e.g. for the CLI's --pay-usd.
MASTER_PARSERS: dict[str, Callable[[str], Any]] = {c.name: c.parse for c in MASTER_COLUMNS}
SELF_SERVE_IN_SHEET = (
    "self_serve collections belong to their owner and are defined with "
    "`collector collections define SPEC.yaml --owner EMAIL`, not in the master sheet; "
    "use paid or practice here"
)
# (column, what is wrong): a problem before it is placed in a sheet cell or a spec line.
FieldProblem = tuple[str, str]


@dataclass(frozen=True)
class MasterRow:
    row_number: int  # as the sheet shows it (header is row 1)
    definition: CollectionDefinition


def parse_master_sheet(rows: list[list[Any]]) -> tuple[list[MasterRow], list[CellProblem]]:
    """Valid rows as definitions, and every problem found (bad rows are left out)."""
    if not rows:
        return [], [CellProblem("A1", "header", "the sheet is empty; expected a header row")]
    header = [str(h).strip().casefold() for h in rows[0]]
    positions = {name: i for i, name in enumerate(header) if name}
    missing = [c.name for c in MASTER_COLUMNS if c.required and c.name not in positions]
    if missing:
        return [], [
            CellProblem(
                cell_ref(0, len(header)),
                "header",
                f"missing required column(s) {', '.join(missing)}; the header row must name "
                f"the columns: {', '.join(MASTER_HEADER)}",
            )
        ]
    valid: list[MasterRow] = []
    problems: list[CellProblem] = []
    seen: dict[str, int] = {}
    for r, raw in enumerate(rows[1:], start=1):
        cells = [str(v) if v is not None else "" for v in raw]
        if not any(c.strip() for c in cells):
            continue
        values, row_problems = _parse_row(r, cells, positions)
        cid = values.get("collection_id")
        if cid and cid in seen:
            row_problems.append(
                CellProblem(
                    cell_ref(r, positions["collection_id"]),
                    "collection_id",
                    f"duplicate of row {seen[cid] + 1}; each collection needs exactly one row",
                    cid,
                )
            )
        elif cid:
            seen[cid] = r
        if row_problems:
            problems.extend(row_problems)
            continue
        valid.append(MasterRow(r + 1, _definition(values)))
    # A duplicated id makes both rows ambiguous: neither may change the collection.
    duplicated = {p.collection_id for p in problems if "duplicate of row" in p.message}
    for row in [v for v in valid if v.definition.collection_id in duplicated]:
        valid.remove(row)
        problems.append(
            CellProblem(
                cell_ref(row.row_number - 1, positions["collection_id"]),
                "collection_id",
                "appears more than once; fix the duplicate before this row applies",
                row.definition.collection_id,
            )
        )
    return valid, problems


def _parse_row(r: int, cells: list[str], positions: dict[str, int]):
    cid = (
        cells[positions["collection_id"]].strip()
        if positions["collection_id"] < len(cells)
        else None
    )
    texts = {
        name: cells[i] if i < len(cells) else ""
        for name, i in positions.items()
        if name in _BY_NAME
    }
    required = [c.name for c in MASTER_COLUMNS if c.required]
    values, found = validate_fields(texts, required=required, identity=_sheet_identity)
    problems = [
        CellProblem(cell_ref(r, positions.get(column, 0)), column, message, cid or None)
        for column, message in found
    ]
    return values, problems


_BY_NAME = {c.name: c for c in MASTER_COLUMNS}


def _sheet_identity(values: dict[str, Any]) -> list[FieldProblem]:
    """The master sheet's own rules: P004C009-style ids, and no self-serve rows."""
    problems: list[FieldProblem] = []
    cid, project = values.get("collection_id"), values.get("project_id")
    if cid is not None and not _COLLECTION_ID.match(cid):
        problems.append(("collection_id", f"expected an id like P004C009, got {cid!r}"))
    elif cid is not None and project is not None and project != cid[:4]:
        problems.append(
            ("project_id", f"expected {cid[:4]} (the id's project part), got {project!r}")
        )
    if values.get("kind") == "self_serve":
        problems.append(("kind", SELF_SERVE_IN_SHEET))
    return problems


def validate_fields(
    texts: Mapping[str, str],
    *,
    required: Collection[str],
    identity: Callable[[dict[str, Any]], list[FieldProblem]] | None = None,
) -> tuple[dict[str, Any], list[FieldProblem]]:
    """Parse each column's text as typed (``texts``: column name -> text, for the columns
    given) and check the row as a whole; return the parsed values and every problem found.

    One validation path for a master-sheet row and a self-serve spec: the same parsers, the same
    rules, the same words. ``identity`` adds the caller's rules about ids (which come first).
    Every problem is reported at once; a rule across fields is judged only when the fields it
    needs parsed.
    """
    values: dict[str, Any] = {}
    problems: list[FieldProblem] = []
    for column in MASTER_COLUMNS:
        if column.name not in texts:
            if column.name in required:
                problems.append((column.name, "is missing; a value is required"))
            continue
        text = texts[column.name]
        if not text.strip():
            if column.name in required:
                problems.append((column.name, "is empty; a value is required"))
            continue
        try:
            values[column.name] = column.parse(text)
        except ValueError as exc:
            problems.append((column.name, str(exc)))
    failed = {column for column, _ in problems}
    if identity is not None:
        problems.extend(identity(values))
    names = values.get("activity_shortnames")
    categories = values.get("activity_categories")
    if names is not None and categories is not None and len(names) != len(categories):
        problems.append(
            (
                "activity_categories",
                f"lists {len(categories)} categories for {len(names)} short "
                "names; they must be parallel",
            )
        )
    if names is not None and len(set(names)) != len(names):
        problems.append(("activity_shortnames", "repeats a short name; each button needs its own"))
    fence_columns = ("geofence_lat", "geofence_lon", "geofence_radius_m")
    fence = [values.get(k) for k in fence_columns]
    if failed & set(fence_columns):
        fence = [None, None, None]  # already reported, judged once it parses
    if any(v is not None for v in fence) and not all(v is not None for v in fence):
        problems.append(
            (
                "geofence_lat",
                "give all of geofence_lat, geofence_lon and geofence_radius_m, or none",
            )
        )
    elif fence[0] is not None:
        if not -90 <= fence[0] <= 90:
            problems.append(("geofence_lat", f"expected -90..90 degrees, got {fence[0]}"))
        if not -180 <= fence[1] <= 180:
            problems.append(("geofence_lon", f"expected -180..180 degrees, got {fence[1]}"))
        if fence[2] <= 0:
            problems.append(("geofence_radius_m", "must be more than 0 metres"))
    start, end = values.get("start_date"), values.get("end_date")
    if start and end and end < start:
        problems.append(("end_date", f"{end} is before start_date {start}"))
    if values.get("kind") == "practice":
        for column in ("pay_per_video_usd", "perfect_bonus_usd"):
            if values.get(column):
                problems.append(
                    (column, "must be 0 for a practice collection (practice is never paid)")
                )
    return values, problems


def definition_fields(values: dict[str, Any]) -> dict[str, Any]:
    """Parsed column values as ``CollectionDefinition`` keyword arguments."""
    fields = {}
    for column in MASTER_COLUMNS:
        if column.name in values:
            fields[column.field or column.name] = values[column.name]
    fields.setdefault("description", "")
    return fields


def _definition(values: dict[str, Any]) -> CollectionDefinition:
    return CollectionDefinition(**definition_fields(values))


def definition_row(definition: CollectionDefinition) -> list[str]:
    """A definition as ops would type it into the master sheet (for seeding and tests)."""
    out = []
    for column in MASTER_COLUMNS:
        value = getattr(definition, column.field or column.name)
        if column.name.endswith("_usd"):
            text = f"{Decimal(value) / 100:.2f}"
        elif isinstance(value, tuple):
            text = ",".join(value)
        elif isinstance(value, bool):
            text = "TRUE" if value else "FALSE"
        elif value is None:
            text = ""
        else:
            text = str(value)
        out.append(text)
    return out
