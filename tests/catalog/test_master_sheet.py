"""Master-sheet rows: parsed exactly, and every problem named by its cell."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from collector_tools.demo_files import demo_collections

from collector.catalog.master_sheet import MASTER_HEADER, definition_row, parse_master_sheet
from collector.core.cells import cell_ref


def sheet(*rows: list[str]) -> list[list[str]]:
    return [MASTER_HEADER, *rows]


def col(name: str) -> int:
    return MASTER_HEADER.index(name)


def edited(row: list[str], **changes: str) -> list[str]:
    row = list(row)
    for name, value in changes.items():
        row[col(name)] = value
    return row


DOOR = definition_row(demo_collections()[0])


def test_cell_references():
    assert cell_ref(0, 0) == "A1" and cell_ref(6, 5) == "F7" and cell_ref(1, 26) == "AA2"


def test_demo_collections_round_trip_through_the_sheet():
    valid, problems = parse_master_sheet(sheet(*[definition_row(d) for d in demo_collections()]))
    assert problems == []
    assert [r.definition for r in valid] == demo_collections()


def test_money_is_exact_cents_and_fields_are_typed():
    row = edited(
        DOOR,
        pay_per_video_usd="$3.10",
        perfect_bonus_usd="0.5",
        score_threshold="0.8",
        start_date=46357,  # a date cell read unformatted: its serial number (2026-12-01)
        end_date="2026-12-31",
        enabled="yes",
        geofence_lat="38.9",
        geofence_lon="-77.03",
        geofence_radius_m="500",
    )
    [parsed], problems = parse_master_sheet(sheet(row))
    d = parsed.definition
    assert problems == []
    assert (d.pay_per_video_cents, d.perfect_bonus_cents) == (310, 50)
    assert d.score_threshold == Decimal("0.8")
    assert (d.start_date, d.end_date) == (date(2026, 12, 1), date(2026, 12, 31))
    assert d.geofence_radius_m == Decimal(500) and d.enabled is True


@pytest.mark.parametrize(
    ("changes", "cell_column", "words"),
    [
        ({"score_threshold": "high"}, "score_threshold", "expected a number"),
        ({"score_threshold": "1.5"}, "score_threshold", "between 0 and 1"),
        ({"pay_per_video_usd": "3.001"}, "pay_per_video_usd", "at most 2 decimals"),
        ({"required_activity_count": "2.5"}, "required_activity_count", "whole number"),
        ({"enabled": "maybe"}, "enabled", "TRUE or FALSE"),
        ({"name": ""}, "name", "a value is required"),
        ({"collection_id": "door-1"}, "collection_id", "like P004C009"),
        ({"project_id": "P005"}, "project_id", "expected P004"),
        ({"activity_categories": "only_one"}, "activity_categories", "must be parallel"),
        ({"geofence_lat": "38.9"}, "geofence_lat", "or none"),
        ({"end_date": "2020-01-01", "start_date": "2021-01-01"}, "end_date", "before start_date"),
        ({"min_app_version": "latest"}, "min_app_version", "like 2.3.1"),
        ({"min_app_version": "2.x"}, "min_app_version", "2.3.1 (57)"),
        ({"start_date": "tomorrow"}, "start_date", "expected a date"),
    ],
)
def test_each_bad_cell_is_reported_by_reference(changes, cell_column, words):
    good = definition_row(demo_collections()[1])
    valid, problems = parse_master_sheet(sheet(good, edited(DOOR, **changes)))
    assert [r.definition.collection_id for r in valid] == ["P004C010"]  # the good row stands
    expected_cell = cell_ref(2, col(cell_column))  # the bad row is sheet row 3
    assert any(p.cell == expected_cell and words in p.message for p in problems), problems
    assert all(str(p).startswith(p.cell) for p in problems)


@pytest.mark.parametrize("typed", ["v2.0.0", "2.0.0 (57)", "2.0.0+57", "2.0.0.57", "2.0.0-beta"])
def test_a_minimum_app_version_takes_the_forms_app_versions_come_in(typed):
    # The same forms the Outdated App check reads from the app (collector.core.versions).
    [parsed], problems = parse_master_sheet(sheet(edited(DOOR, min_app_version=f" {typed} ")))
    assert problems == [] and parsed.definition.min_app_version == typed


def test_duplicate_ids_apply_neither_row():
    valid, problems = parse_master_sheet(sheet(DOOR, edited(DOOR, name="Other name")))
    assert valid == []
    assert {p.cell for p in problems} == {"A2", "A3"}


def test_missing_header_column_rejects_the_sheet():
    header = [h for h in MASTER_HEADER if h != "score_threshold"]
    valid, [problem] = parse_master_sheet([header, DOOR])
    assert valid == [] and "score_threshold" in problem.message and problem.cell.endswith("1")


def test_blank_rows_are_skipped():
    valid, problems = parse_master_sheet(sheet([""] * 5, DOOR, []))
    assert len(valid) == 1 and problems == [] and valid[0].row_number == 3


def test_the_kind_column_is_optional_and_empty_means_paid():
    without = [h for h in MASTER_HEADER if h != "kind"]
    [old], problems = parse_master_sheet([without, DOOR[: len(without)]])
    assert problems == [] and old.definition.kind == "paid"
    assert MASTER_HEADER[-1] == "kind"  # appended last: older sheets keep their columns
    [empty, practice], problems = parse_master_sheet(
        sheet(
            edited(DOOR, kind=""),
            edited(
                definition_row(demo_collections()[1]),
                kind="Practice",
                pay_per_video_usd="0",
                perfect_bonus_usd="",
            ),
        )
    )
    assert problems == []
    assert (empty.definition.kind, practice.definition.kind) == ("paid", "practice")


def test_self_serve_is_refused_in_the_sheet_with_where_to_go_instead():
    valid, [problem] = parse_master_sheet(sheet(edited(DOOR, kind="self_serve")))
    assert valid == []
    assert problem.cell == cell_ref(1, col("kind")) and problem.column == "kind"
    assert "collector collections define SPEC.yaml --owner EMAIL" in problem.message
    _, [unknown] = parse_master_sheet(sheet(edited(DOOR, kind="free")))
    assert unknown.message == "expected paid, practice or self_serve, got 'free'"


def test_a_practice_row_cannot_pay():
    valid, problems = parse_master_sheet(sheet(edited(DOOR, kind="practice")))
    assert valid == []
    assert {(p.column, p.message) for p in problems} == {
        ("pay_per_video_usd", "must be 0 for a practice collection (practice is never paid)"),
        ("perfect_bonus_usd", "must be 0 for a practice collection (practice is never paid)"),
    }


def test_every_problem_of_a_row_is_reported_at_once():
    row = edited(DOOR, score_threshold="high", activity_categories="only_one", collection_id="x")
    _, problems = parse_master_sheet(sheet(row))
    assert {p.column for p in problems} == {
        "score_threshold",
        "activity_categories",
        "collection_id",
    }
    [threshold] = [p for p in problems if p.column == "score_threshold"]
    assert threshold.message == "expected a number between 0 and 1, got 'high'"


# Issue 19: what a sheet's locale could change is refused by cell, never guessed.
@pytest.mark.parametrize(
    ("changes", "cell_column", "words"),
    [
        ({"pay_per_video_usd": "3,50"}, "pay_per_video_usd", "decimal comma"),
        ({"pay_per_video_usd": "1,200"}, "pay_per_video_usd", "decimal comma"),
        ({"pay_per_video_usd": "1e2"}, "pay_per_video_usd", "scientific notation"),
        ({"pay_per_video_usd": "3,50 €"}, "pay_per_video_usd", "decimal comma"),
        ({"perfect_bonus_usd": "0,50"}, "perfect_bonus_usd", "decimal comma"),
        ({"score_threshold": "0,8"}, "score_threshold", "between 0 and 1"),
        ({"geofence_radius_m": "1.500"}, "geofence_radius_m", "ambiguous"),
        ({"min_duration_s": "1e1"}, "min_duration_s", "scientific notation"),
        ({"start_date": "12/1/2026"}, "start_date", "order of day and month"),
        ({"end_date": "01.12.2026"}, "end_date", "order of day and month"),
        ({"start_date": 350}, "start_date", "holds a number, not a date"),
        ({"enabled": "WAHR"}, "enabled", "TRUE or FALSE"),
        ({"min_app_version": 2.1}, "min_app_version", "as text"),
        ({"required_activity_count": True}, "required_activity_count", "TRUE/FALSE cell"),
    ],
)
def test_locale_dependent_text_is_refused_by_cell(changes, cell_column, words):
    good = definition_row(demo_collections()[1])
    valid, problems = parse_master_sheet(sheet(good, edited(DOOR, **changes)))
    assert [r.definition.collection_id for r in valid] == ["P004C010"]
    expected_cell = cell_ref(2, col(cell_column))
    assert any(p.cell == expected_cell and words in p.message for p in problems), problems


def test_cells_read_unformatted_are_taken_as_the_sheet_holds_them():
    """What an UNFORMATTED_VALUE read gives (numbers, booleans, serial dates), from any locale."""
    row = edited(
        DOOR,
        pay_per_video_usd=3.5,
        perfect_bonus_usd=0,
        score_threshold=0.8,
        min_duration_s=10,
        start_date=46357,
        end_date=46387.0,
        enabled=True,
        geofence_lat=38.9,
        geofence_lon=-77.03,
        geofence_radius_m=500,
        required_activity_count=2,
    )
    [parsed], problems = parse_master_sheet(sheet(row))
    d = parsed.definition
    assert problems == []
    assert (d.pay_per_video_cents, d.perfect_bonus_cents, d.score_threshold) == (
        350,
        0,
        Decimal("0.8"),
    )
    assert (d.start_date, d.end_date) == (date(2026, 12, 1), date(2026, 12, 31))
    assert (d.geofence_lat, d.geofence_lon) == (Decimal("38.9"), Decimal("-77.03"))
    assert d.enabled is True and d.required_activity_count == 2


@pytest.mark.parametrize(
    ("pay", "bonus", "column", "words"),
    [
        (350, 0, "pay_per_video_usd", "$350.00 a video is above the bound of $50.00"),
        (50.01, "", "pay_per_video_usd", "$50.01 a video is above"),
        (45, 10, "perfect_bonus_usd", "$45.00 plus a perfect bonus of $10.00 is $55.00"),
    ],
)
def test_pay_above_the_bound_is_a_problem_of_its_cell(pay, bonus, column, words):
    row = edited(DOOR, pay_per_video_usd=pay, perfect_bonus_usd=bonus)
    good = definition_row(demo_collections()[1])
    valid, [problem] = parse_master_sheet(sheet(good, row), max_pay_per_video_cents=5000)
    assert [r.definition.collection_id for r in valid] == ["P004C010"]  # the row is left out
    assert problem.cell == cell_ref(2, col(column)) and problem.collection_id == "P004C009"
    assert words in problem.message and "keeps its current version" in problem.message


def test_pay_at_the_bound_passes_and_no_bound_means_none():
    at = edited(DOOR, pay_per_video_usd=40, perfect_bonus_usd="10.00")
    [row], problems = parse_master_sheet(sheet(at), max_pay_per_video_cents=5000)
    assert problems == [] and row.definition.pay_per_video_cents == 4000
    [high], problems = parse_master_sheet(sheet(edited(DOOR, pay_per_video_usd=350)))
    assert problems == [] and high.definition.pay_per_video_cents == 35000
