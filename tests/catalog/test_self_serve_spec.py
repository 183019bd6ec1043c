"""Self-serve specs: the master sheet's fields and rules, problems named by the spec's line."""

from __future__ import annotations

from decimal import Decimal

import pytest

from collector.catalog.self_serve import (
    SPEC_FIELDS,
    SelfServeError,
    assigned_id,
    owner_email,
    owner_project_id,
    parse_spec,
)

OWNER = " Me@Example.com"

GOOD = """\
# My first collection
name: Wave hello in my garden
description: |
  Stand in the garden and wave at the camera.
activity_shortnames: [Wave, Nod]
activity_categories:
  - person_waves
  - person_nods
min_duration_s: 5
score_threshold: 0.6
enabled: yes
start_date: 2026-12-01
geofence_lat: 38.9
geofence_lon: -77.03
geofence_radius_m: 500
"""

BAD = """\
# line 1: a comment
name: Wave hello
activity_shortnames: [Wave, Nod]
activity_categories:
  - person_waves
min_duration_s: -5
score_threshold: high
scor_threshold: 0.5
pay_per_video_usd: 3.001
collection_id: S123
kind: paid
geofence_lat: 38
activity_shortnames: [Again]
enabled: maybe
start_date: 2026-12-31
end_date: 2026-12-01
colour: green
"""


def test_a_good_spec_parses_like_a_sheet_row():
    values, problems = parse_spec(GOOD, OWNER)
    assert problems == []
    assert values["activity_shortnames"] == ("Wave", "Nod")
    assert values["activity_categories"] == ("person_waves", "person_nods")
    assert values["description"] == "Stand in the garden and wave at the camera."
    assert values["score_threshold"] == Decimal("0.6") and values["enabled"] is True
    assert values["geofence_radius_m"] == Decimal(500)
    assert "collection_id" not in values and "kind" not in values


def test_every_problem_is_reported_at_once_by_line():
    _, problems = parse_spec(BAD, OWNER, source="spec.yaml")
    found = [(p.line, p.column) for p in problems]
    assert found == [
        (4, "activity_categories"),  # 1 category for 2 short names: the field's line
        (6, "min_duration_s"),
        (7, "score_threshold"),
        (8, "scor_threshold"),
        (9, "pay_per_video_usd"),
        (10, "collection_id"),
        (11, "kind"),
        (12, "geofence_lat"),
        (13, "activity_shortnames"),
        (14, "enabled"),
        (16, "end_date"),
        (17, "colour"),
    ]
    text = {p.line: str(p) for p in problems}
    assert text[7] == "spec.yaml:7: score_threshold: expected a number between 0 and 1, got 'high'"
    assert text[6] == "spec.yaml:6: min_duration_s: must be 0 or more, got '-5'"
    assert text[8] == "spec.yaml:8: scor_threshold: unknown field; did you mean score_threshold?"
    assert text[9].endswith("expected dollars with at most 2 decimals, got '3.001'")
    assert "S1A2B3C4D" in text[10] and "leave it out" in text[10]
    assert "collector collections promote" in text[11]
    assert text[12].endswith(
        "give all of geofence_lat, geofence_lon and geofence_radius_m, or none"
    )
    assert text[13].endswith("given again (first on line 3); give it once")
    assert text[14].endswith("expected TRUE or FALSE, got 'maybe'")
    assert text[16].endswith("2026-12-01 is before start_date 2026-12-31")
    assert text[4].endswith("lists 1 categories for 2 short names; they must be parallel")
    assert "the fields are collection_id, project_id" in text[17]


def test_missing_and_empty_required_fields():
    _, problems = parse_spec("description: x\nname:\n", OWNER)
    assert [str(p) for p in problems] == [
        "spec.yaml:1: activity_shortnames: is missing; a value is required",
        "spec.yaml:1: activity_categories: is missing; a value is required",
        "spec.yaml:2: name: is empty; a value is required",
    ]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("name: a\nactivity_shortnames: [a\nx: 1\n", 3, "not valid YAML"),
        ("", 1, "is empty"),
        ("- a\n- b\n", 1, "a YAML mapping"),
        ("name: a\n---\nname: b\n", 2, "not valid YAML"),
    ],
)
def test_unreadable_specs_name_the_line(text, line, words):
    _, [problem] = parse_spec(text, OWNER)
    assert problem.line == line and words in problem.message


def test_list_items_and_structures():
    text = (
        "name: a\n"
        "activity_shortnames:\n"
        "  - Wave\n"
        "  - Nod, Shake\n"
        "activity_categories: [person_waves]\n"
        "description: {a: 1}\n"
        "min_duration_s: [1, 2]\n"
    )
    _, problems = parse_spec(text, OWNER)
    assert [(p.line, p.column, p.message) for p in problems] == [
        (4, "activity_shortnames", "item 'Nod, Shake' contains a comma; give one name per item"),
        (6, "description", "expected a single value, got a mapping"),
        (7, "min_duration_s", "expected a single value, got a list"),
    ]


def test_project_and_id_rules():
    own = owner_project_id(OWNER)
    assert own.startswith("U") and len(own) == 9
    good = f"name: a\nactivity_shortnames: a\nactivity_categories: b\nproject_id: {own}\n"
    assert parse_spec(good + "collection_id: S0A1B2C3D\nkind: self_serve\n", OWNER)[1] == []
    _, [problem] = parse_spec(good.replace(own, "P004"), OWNER)
    assert problem.column == "project_id" and own in problem.message


def test_ids_are_stable_per_owner_and_name():
    first = assigned_id(OWNER, "Wave hello")
    assert first == assigned_id("me@example.com", " wave HELLO ")
    assert first != assigned_id("other@example.com", "Wave hello")
    assert first != assigned_id(OWNER, "Wave hello", attempt=1)
    assert first[0] == "S" and len(first) == 9 and int(first[1:], 16) >= 0


def test_the_owner_must_be_an_email():
    assert owner_email(" A@B.org ") == "a@b.org"
    with pytest.raises(SelfServeError, match="email address"):
        owner_email("nobody")


def test_spec_fields_are_the_master_sheet_columns():
    from collector.catalog.master_sheet import MASTER_HEADER

    assert list(SPEC_FIELDS) == MASTER_HEADER
