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
    cell_text,
    is_empty,
    parse_money_cents,
)
from collector.core.cells import parse_boolean as _boolean
from collector.core.cells import parse_count as _count
from collector.core.cells import parse_date as _date
from collector.core.cells import parse_decimal as _decimal
from collector.core.cells import parse_non_negative as _non_negative
from collector.core.money import usd
from collector.core.versions import VERSION_FORMS, release_key

_COLLECTION_ID = re.compile(r"^P\d{3}C\d{3}$")


def _text(value: Any) -> str:
    return cell_text(value).strip()


def _threshold(value: Any) -> Decimal:
    try:
        number = _decimal(value)
    except ValueError:
        number = None
    if number is None or not 0 <= number <= 1:
        shown = repr(value) if isinstance(value, str) else cell_text(value)
        raise ValueError(f"expected a number between 0 and 1, got {shown}")
    return number


def _cents(value: Any) -> int:
    """Dollars (``3``, ``3.5`` as the sheet holds them; text ``3.50``, ``$3.50``) to integer
    cents, exactly (``collector.core.cells.parse_money_cents``)."""
    return parse_money_cents(value)


def _names(value: Any) -> tuple[str, ...]:
    names = tuple(part.strip() for part in cell_text(value).split(",") if part.strip())
    if not names:
        raise ValueError("expected a comma-separated list, got nothing")
    return names


def _version(value: Any) -> str:
    """A minimum app version in any form the app's own versions come in
    (``collector.core.versions``), kept as typed; the Outdated App check compares the release
    parts (docs/scoring.md). It must be text: "2.10" typed into a number cell becomes 2.1 (and
    "2.3" a date in some locales). Raises ValueError naming the forms."""
    if not isinstance(value, str):
        raise ValueError(
            f"expected a version like 2.3.1 as text, got the number {cell_text(value)}; "
            "format the column as plain text and type the version again"
        )
    if release_key(value.strip()) is None:
        raise ValueError(f"expected a version like {VERSION_FORMS}, got {value!r}")
    return value.strip()


def _kind(value: Any) -> str:
    kind = cell_text(value).strip().casefold().replace("-", "_").replace(" ", "_")
    if kind not in KINDS:
        raise ValueError(f"expected paid, practice or self_serve, got {value!r}")
    return kind


@dataclass(frozen=True)
class Column:
    name: str
    parse: Callable[[Any], Any]  # a cell as read unformatted (or text) -> value
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
# Column name -> parser (cell or text as typed -> value), e.g. for the CLI's --pay-usd.
MASTER_PARSERS: dict[str, Callable[[Any], Any]] = {c.name: c.parse for c in MASTER_COLUMNS}
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


def parse_master_sheet(
    rows: list[list[Any]], *, max_pay_per_video_cents: int | None = None
) -> tuple[list[MasterRow], list[CellProblem]]:
    """Valid rows as definitions, and every problem found (bad rows are left out).

    ``rows`` are the tab as read unformatted (``collector.core.cells.UNFORMATTED_READ``): each
    cell a number, a boolean, a date's serial number or text (see ``collector.core.cells`` for
    the text forms read). ``max_pay_per_video_cents`` (None: no bound) is the sanity bound of
    :func:`pay_bound_problems`: a row above it is a problem like a bad cell.
    """
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
        cells = list(raw)
        if all(is_empty(c) for c in cells):
            continue
        values, row_problems = _parse_row(r, cells, positions, max_pay_per_video_cents)
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


def _parse_row(r: int, cells: list[Any], positions: dict[str, int], max_pay: int | None):
    cid = (
        cell_text(cells[positions["collection_id"]]).strip()
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
    if max_pay is not None:
        found.extend(pay_bound_problems(values, max_pay))
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
    texts: Mapping[str, Any],
    *,
    required: Collection[str],
    identity: Callable[[dict[str, Any]], list[FieldProblem]] | None = None,
) -> tuple[dict[str, Any], list[FieldProblem]]:
    """Parse each column's value (``texts``: column name -> a cell as read unformatted, or text
    as typed, for the columns given) and check the row as a whole; return the parsed values and
    every problem found.

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
        if is_empty(text):
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


def pay_bound_problems(
    values: Mapping[str, Any], max_pay_per_video_cents: int
) -> list[FieldProblem]:
    """The money sanity bound of a new collection version (issue 19): the most one video can
    earn, ``pay_per_video_usd`` plus ``perfect_bonus_usd`` (integer cents in ``values``), must
    not exceed ``max_pay_per_video_cents`` (``collector.core.settings.max_pay_per_video_cents``,
    $50.00 unless configured).

    Above it, one problem on the cell that goes over (the pay, else the bonus); the row is then
    left out like any bad row, so the collection keeps its version in force. Values that did
    not parse are not judged (already reported).
    """
    pay = values.get("pay_per_video_usd")
    if pay is None:
        return []
    bonus = values.get("perfect_bonus_usd") or 0
    bound = (
        f"the bound of {usd(max_pay_per_video_cents)} a video (COLLECTOR_MAX_PAY_PER_VIDEO_USD); "
        "the collection keeps its current version: fix the cell, or raise the bound if the "
        "amount is right"
    )
    if pay > max_pay_per_video_cents:
        return [("pay_per_video_usd", f"{usd(pay)} a video is above {bound}")]
    if pay + bonus > max_pay_per_video_cents:
        return [
            (
                "perfect_bonus_usd",
                f"{usd(pay)} plus a perfect bonus of {usd(bonus)} is {usd(pay + bonus)} a "
                f"video, above {bound}",
            )
        ]
    return []


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
