"""Ingest of the demo landing area (real MP4s, every app format) into a real PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from collector.intake.ingest import ingest_landing_area, release_quarantined

WAIT = timedelta(hours=24)
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def ingest(conn, landing: Path, tmp_path: Path, *, now=NOW, wait=WAIT):
    return ingest_landing_area(conn, landing, tmp_path / "quarantine", mp4_wait=wait, now=now)


def rows(conn, sql: str, *args) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        result = cur.fetchall()
    conn.commit()
    return result


def snapshot(conn) -> dict[str, list[tuple]]:
    """Every row of every table ingest writes, for before/after comparisons."""
    tables = [
        "collectors",
        "videos",
        "annotation_versions",
        "activities",
        "object_tracks",
        "track_boxes",
        "ingested_files",
        "ingest_quarantine",
    ]
    return {t: sorted(map(repr, rows(conn, f"SELECT * FROM {t}"))) for t in tables}


def test_every_format_quirk_ingests(seeded_warehouse, demo_area, landing, tmp_path):
    report = ingest(seeded_warehouse, landing, tmp_path)
    current = dict(rows(seeded_warehouse, "SELECT video_id, current_annotation FROM videos"))
    history = set(rows(seeded_warehouse, "SELECT video_id, file_name FROM annotation_versions"))
    for expected in demo_area.files:
        if expected.expect == "ingested":
            assert current.get(expected.video_id) == expected.file_name, expected.case
        if expected.expect == "superseded":
            assert (expected.video_id, expected.file_name) in history, expected.case
            assert current[expected.video_id] != expected.file_name, expected.case
    quirks = {f.case for f in demo_area.files if f.expect in ("ingested", "superseded")}
    assert {
        "date_with_spaces",
        "date_am_pm",
        "frame_index_camel_case",
        "object_without_label",
        "missing_collection_id",
        "video_id_as_collection_id",
        "empty_activity_label",
        "no_gps_fields",
        "category_variant",
        "portrait_rotated",
    } <= quirks
    ingestible = {f.video_id for f in demo_area.files if f.expect in ("ingested", "superseded")}
    assert set(current) == ingestible
    assert len(report.quarantined) == sum(f.expect == "quarantined" for f in demo_area.files)
    assert report.waiting_for_mp4 == [demo_area.by_case("mp4_not_arrived").file_name]


def test_quirks_are_normalized_in_the_warehouse(seeded_warehouse, demo_area, landing, tmp_path):
    ingest(seeded_warehouse, landing, tmp_path)
    by_case = {f.case: f.video_id for f in demo_area.files}

    def video(case: str, column: str):
        return rows(
            seeded_warehouse, f"SELECT {column} FROM videos WHERE video_id = %s", by_case[case]
        )[0][0]

    assert video("missing_collection_id", "collection_id") == "P004C009"
    assert video("video_id_as_collection_id", "collection_id") == "P005C001"
    assert video("no_gps_fields", "latitude") is None
    assert video("portrait_rotated", "orientation") == "portrait"
    labels = rows(
        seeded_warehouse,
        "SELECT label FROM object_tracks WHERE video_id = %s",
        by_case["object_without_label"],
    )
    assert labels == [("person",)]
    camel_boxes = rows(
        seeded_warehouse,
        "SELECT count(*) FROM track_boxes WHERE video_id = %s",
        by_case["frame_index_camel_case"],
    )
    assert camel_boxes[0][0] > 10
    empty = rows(
        seeded_warehouse,
        "SELECT count(*) FROM activities WHERE video_id = %s",
        by_case["empty_activity_label"],
    )
    assert empty == [(0,)]
    variant = rows(
        seeded_warehouse,
        "SELECT category, category_variant FROM activities WHERE video_id = %s AND shortname = 'Ride'",
        by_case["category_variant"],
    )
    assert variant == [
        ("person_rides_bicycle", "Variant1=Fast&Joint=person_talks_on_phone:Ride and talk")
    ]
    # Collector ids arrive with stray spaces and capitals (FAQ 5): one collector, normalized.
    collectors = {r[0] for r in rows(seeded_warehouse, "SELECT collector_id FROM collectors")}
    assert "alice.nguyen@example.com" in collectors
    assert all(c == c.strip().casefold() for c in collectors)
    # Dates in all three formats are stored as UTC instants.
    stamps = rows(
        seeded_warehouse,
        "SELECT collected_at FROM videos WHERE video_id = %s",
        by_case["date_am_pm"],
    )
    assert stamps[0][0].utcoffset() == timedelta(0)


def test_each_broken_case_is_quarantined_with_a_specific_reason(
    seeded_warehouse, demo_area, landing, tmp_path
):
    ingest(seeded_warehouse, landing, tmp_path, wait=timedelta(0))
    quarantined = {
        r[0]: (r[1], r[2], r[3])
        for r in rows(
            seeded_warehouse,
            "SELECT file_name, json_path, reason, stored_copy FROM ingest_quarantine",
        )
    }
    broken = [f for f in demo_area.files if f.json_path]
    assert len(broken) >= 9
    for expected in broken:
        assert expected.file_name in quarantined, expected.case
        json_path, reason, stored_copy = quarantined[expected.file_name]
        assert json_path == expected.json_path, (expected.case, reason)
        assert expected.reason_contains in reason, (expected.case, reason)
        # The file is kept aside with a note a person can read.
        assert Path(stored_copy).read_bytes() == (landing / expected.file_name).read_bytes()
        note = json.loads(Path(f"{stored_copy}.reason.json").read_text())
        assert note["problems"][0] == {"json_path": json_path, "reason": reason}
        # Nothing of a broken file reaches the video tables.
        assert not rows(
            seeded_warehouse,
            "SELECT 1 FROM videos WHERE current_annotation = %s",
            expected.file_name,
        )
    # ...and nothing valid was lost because of them.
    valid = {f.video_id for f in demo_area.files if f.expect == "ingested"}
    assert valid == {r[0] for r in rows(seeded_warehouse, "SELECT video_id FROM videos")}


def test_an_edit_replaces_the_activities_and_keeps_history(
    seeded_warehouse, demo_area, landing, tmp_path
):
    ingest(seeded_warehouse, landing, tmp_path)
    edit = demo_area.by_case("edit_ios_stamp")
    older = demo_area.by_case("edit_older_than_newest")
    video_id = edit.video_id
    assert rows(
        seeded_warehouse, "SELECT current_annotation FROM videos WHERE video_id = %s", video_id
    ) == [(edit.file_name,)]
    edited = json.loads((landing / edit.file_name).read_text())
    stored = rows(
        seeded_warehouse,
        "SELECT shortname, start_frame, end_frame FROM activities WHERE video_id = %s "
        "ORDER BY activity_index",
        video_id,
    )
    assert stored == [(a["label"], a["start_frame"], a["end_frame"]) for a in edited["activity"]]
    original = json.loads((landing / f"{video_id}.json").read_text())
    assert stored != [(a["label"], a["start_frame"], a["end_frame"]) for a in original["activity"]]
    history = rows(
        seeded_warehouse,
        "SELECT file_name, edit_stamp FROM annotation_versions WHERE video_id = %s "
        "ORDER BY edit_stamp NULLS FIRST",
        video_id,
    )
    assert [h[0] for h in history] == [f"{video_id}.json", older.file_name, edit.file_name]
    assert history[0][1] is None and history[1][1] < history[2][1]
    android = demo_area.by_case("edit_android_millis")
    assert rows(
        seeded_warehouse,
        "SELECT current_annotation FROM videos WHERE video_id = %s",
        android.video_id,
    ) == [(android.file_name,)]


def test_an_older_edit_arriving_late_does_not_win(seeded_warehouse, demo_area, landing, tmp_path):
    late = demo_area.by_case("edit_older_than_newest")
    held_back = tmp_path / "held"
    held_back.mkdir()
    (landing / late.file_name).rename(held_back / late.file_name)
    ingest(seeded_warehouse, landing, tmp_path)
    before = rows(seeded_warehouse, "SELECT * FROM activities WHERE video_id = %s", late.video_id)
    (held_back / late.file_name).rename(landing / late.file_name)
    report = ingest(seeded_warehouse, landing, tmp_path)
    assert report.history_only == [late.file_name]
    assert report.ingested == []
    after = rows(seeded_warehouse, "SELECT * FROM activities WHERE video_id = %s", late.video_id)
    assert after == before
    assert rows(
        seeded_warehouse,
        "SELECT count(*) FROM annotation_versions WHERE video_id = %s",
        late.video_id,
    ) == [(3,)]


def test_a_rerun_is_a_no_op(seeded_warehouse, landing, tmp_path):
    ingest(seeded_warehouse, landing, tmp_path)
    before = snapshot(seeded_warehouse)
    report = ingest(seeded_warehouse, landing, tmp_path, now=NOW + timedelta(minutes=15))
    assert report.ingested == [] and report.quarantined == [] and report.history_only == []
    after = snapshot(seeded_warehouse)
    # Only the waiting annotation's "last looked at" time may move; every other row is identical.
    waiting = [r for r in after["ingested_files"] if "waiting_for_mp4" in r]
    assert len(waiting) == 1
    assert {k: v for k, v in after.items() if k != "ingested_files"} == {
        k: v for k, v in before.items() if k != "ingested_files"
    }
    assert [r for r in after["ingested_files"] if "waiting_for_mp4" not in r] == [
        r for r in before["ingested_files"] if "waiting_for_mp4" not in r
    ]


def test_a_json_waits_for_its_mp4_then_is_quarantined_then_recovers(
    seeded_warehouse, demo_area, landing, tmp_path
):
    waiting = demo_area.by_case("mp4_not_arrived")
    first = ingest(seeded_warehouse, landing, tmp_path)
    assert first.waiting_for_mp4 == [waiting.file_name]
    still = ingest(seeded_warehouse, landing, tmp_path, now=NOW + timedelta(hours=23))
    assert still.waiting_for_mp4 == [waiting.file_name] and not still.quarantined
    late = ingest(seeded_warehouse, landing, tmp_path, now=NOW + timedelta(hours=24, minutes=1))
    [quarantined] = late.quarantined
    assert quarantined.file_name == waiting.file_name
    assert "has not arrived in the landing area within 24 h" in quarantined.reason
    # Quarantined and the MP4 still missing: later runs leave it alone.
    assert not ingest(seeded_warehouse, landing, tmp_path, now=NOW + timedelta(days=2)).quarantined
    # The video finally arrives: the annotation is ingested without anyone touching it.
    some_mp4 = next(landing.glob("*.mp4"))
    (landing / f"{waiting.video_id}.mp4").write_bytes(some_mp4.read_bytes())
    recovered = ingest(seeded_warehouse, landing, tmp_path, now=NOW + timedelta(days=3))
    assert recovered.ingested == [waiting.file_name]
    assert rows(
        seeded_warehouse,
        "SELECT resolved_at IS NOT NULL FROM ingest_quarantine WHERE file_name = %s",
        waiting.file_name,
    ) == [(True,)]


def test_a_corrected_file_is_ingested_and_resolves_its_quarantine(
    seeded_warehouse, demo_area, landing, tmp_path
):
    broken = demo_area.by_case("zero_frame_rate")
    ingest(seeded_warehouse, landing, tmp_path)
    document = json.loads((landing / broken.file_name).read_text())
    document["metadata"]["frame_rate"] = 15.0
    (landing / broken.file_name).write_text(json.dumps(document))
    report = ingest(seeded_warehouse, landing, tmp_path)
    assert report.ingested == [broken.file_name]
    assert rows(
        seeded_warehouse,
        "SELECT count(*) FROM ingest_quarantine WHERE file_name = %s AND resolved_at IS NULL",
        broken.file_name,
    ) == [(0,)]


def test_release_lets_a_file_be_retried_after_its_collection_appears(
    seeded_warehouse, demo_area, landing, tmp_path
):
    from collector_tools.demo_files import demo_collections

    from collector.catalog.collections import record_collection_version

    unknown = demo_area.by_case("unknown_collection")
    ingest(seeded_warehouse, landing, tmp_path)
    template = demo_collections()[0]
    new = type(template)(**{**template.__dict__, "collection_id": "P999C999"})
    record_collection_version(seeded_warehouse, new, NOW - timedelta(days=365))
    seeded_warehouse.commit()
    assert ingest(seeded_warehouse, landing, tmp_path).ingested == []  # still quarantined
    assert release_quarantined(seeded_warehouse, unknown.file_name) == 1
    assert ingest(seeded_warehouse, landing, tmp_path).ingested == [unknown.file_name]


def test_the_collection_version_in_force_at_collection_time_is_used(
    seeded_warehouse, demo_area, landing, tmp_path
):
    from collector_tools.demo_files import demo_collections

    from collector.catalog.collections import record_collection_version

    door = demo_collections()[0]
    changed = type(door)(**{**door.__dict__, "score_threshold": door.score_threshold + 1})
    record_collection_version(seeded_warehouse, changed, datetime(2026, 11, 20, tzinfo=UTC))
    seeded_warehouse.commit()
    ingest(seeded_warehouse, landing, tmp_path)
    versions = rows(
        seeded_warehouse,
        "SELECT collected_at < '2026-11-20', collection_version FROM videos "
        "WHERE collection_id = 'P004C009'",
    )
    assert set(versions) == {(True, 1), (False, 2)}


@pytest.mark.parametrize("name", ["notes.txt", "20200101_1.mp4.part"])
def test_unrelated_files_are_ignored(seeded_warehouse, landing, tmp_path, name):
    (landing / name).write_text("not for us")
    report = ingest(seeded_warehouse, landing, tmp_path)
    assert all(q.file_name != name for q in report.quarantined)
