"""Consent records in the landing area: the submissions' quarantine and MP4-wait rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from demo_pipeline import rows

from collector.intake.ingest import ingest_landing_area

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
WAIT = timedelta(hours=2)


def record(**changes) -> dict:
    consent = {
        "consent_id": "C0042",
        "subject_email": " Pat.Subject@Example.org ",
        "collector_id": "ana@example.com",
        "consented_date": "2026-11-20 09:15:00 -0500",
        "app_version": "2.3.1",
        "subject_is_18_or_older": True,
    } | changes
    return {"consent": consent}


def ingest(conn, landing: Path, tmp_path: Path, now: datetime):
    return ingest_landing_area(conn, landing, tmp_path / "q", mp4_wait=WAIT, now=now)


def test_consent_waits_for_its_video_then_ingests_normalized(warehouse, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "consent_C0042.json").write_text(json.dumps(record()))
    report = ingest(warehouse, landing, tmp_path, NOW)
    assert report.waiting_for_mp4 == ["consent_C0042.json"] and not report.consents
    (landing / "consent_C0042.mp4").write_bytes(b"\x00" * 100)
    report = ingest(warehouse, landing, tmp_path, NOW + timedelta(minutes=5))
    assert report.consents == ["consent_C0042.json"]
    assert rows(
        warehouse,
        "SELECT subject_email, collector_id, consented_at, video_uri FROM consent_records",
    ) == [
        (
            "pat.subject@example.org",
            "ana@example.com",
            datetime(2026, 11, 20, 14, 15, tzinfo=UTC),
            str(landing / "consent_C0042.mp4"),
        )
    ]
    assert ingest(warehouse, landing, tmp_path, NOW + timedelta(minutes=6)).unchanged == 1


def test_consent_without_video_is_quarantined_after_the_wait(warehouse, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "consent_C0042.json").write_text(json.dumps(record()))
    ingest(warehouse, landing, tmp_path, NOW)
    report = ingest(warehouse, landing, tmp_path, NOW + WAIT)
    [quarantined] = report.quarantined
    assert quarantined.json_path == "$.consent.consent_id"
    assert "consent_C0042.mp4 has not arrived" in quarantined.reason


def test_every_problem_of_a_bad_consent_is_named(warehouse, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    bad = record(consent_id="C0043", subject_email="not-an-email", subject_is_18_or_older="yes")
    del bad["consent"]["consented_date"]
    (landing / "consent_C0042.json").write_text(json.dumps(bad))
    (landing / "consent_C0042.mp4").write_bytes(b"\x00")
    [quarantined] = ingest(warehouse, landing, tmp_path, NOW).quarantined
    assert {p.json_path for p in quarantined.problems} == {
        "$.consent.subject_email",
        "$.consent.consented_date",
        "$.consent.subject_is_18_or_older",
        "$.consent.consent_id",
    }
    note = json.loads((tmp_path / "q" / "consent_C0042.json.reason.json").read_text())
    assert any("18 or older" in p["reason"] for p in note["problems"])
    assert rows(warehouse, "SELECT count(*) FROM consent_records") == [(0,)]
