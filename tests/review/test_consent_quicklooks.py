"""Consent-video quicklooks (FAQ 10): rendered by real ffmpeg from real MP4s made here, stored
at one stable path per subject, recorded on consent_records, and shown in the review queue."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from collector_tools.demo_files import Clip, demo_collections, render_clip

from collector.catalog.collections import record_collection_version
from collector.core.media import ffmpeg_binary
from collector.intake.consent import subject_key
from collector.review.queue import QUEUE_HEADER, pending_rows, queue_id
from collector.review.quicklook import QuicklookFailed, render_consent_quicklook
from collector.review.quicklook_jobs import (
    find_unrendered_consents,
    record_consent_results,
    render_consent_quicklooks,
)

T0 = datetime(2026, 11, 16, 23, 0, tzinfo=UTC)
PUBLIC = "https://quicklooks.example.org/q"


def decode(jpeg: bytes, width: int = 640, height: int = 640) -> np.ndarray:
    """JPEG -> RGB array of the expected size, with the same ffmpeg (fails on another size)."""
    raw = subprocess.run(
        [ffmpeg_binary(), "-v", "error", "-i", "pipe:", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        input=jpeg,
        capture_output=True,
        check=True,
    ).stdout
    assert len(raw) == width * height * 3, f"not a {width}x{height} image"
    return np.frombuffer(raw, np.uint8).reshape(height, width, 3)


def orange(region: np.ndarray) -> np.ndarray:
    r, g, b = (region[..., i].astype(int) for i in range(3))
    return (r > 190) & (g > 70) & (g < 190) & (b < 90)


@pytest.fixture(scope="module")
def consent_mp4(tmp_path_factory) -> Path:
    """A 4 s consent video recorded on a phone held upright: 360x640 as displayed, stored
    sideways with a display rotation; the orange 'subject' stands in its left half."""
    path = tmp_path_factory.mktemp("consent") / "consent.mp4"
    render_clip(Clip(360, 640, 15, 4, (40, 200, 120, 240), (0, 0), rotated=True), path)
    return path


def test_consent_quicklook_is_an_upright_2x2_tile(consent_mp4):
    image = decode(render_consent_quicklook(str(consent_mp4)))
    # Each 320x320 tile holds a whole 360x640 frame upright: 180x320, pillarboxed at x 70..250.
    for top, left in ((0, 0), (0, 320), (320, 0), (320, 320)):
        tile = image[top : top + 320, left : left + 320]
        assert (tile[:, :60] < 30).all() and (tile[:, 260:] < 30).all(), (top, left)
        # The subject (x 40..160, y 200..440 as displayed) appears at x 90..150, y 100..220.
        assert orange(tile[110:210, 95:145]).all(), (top, left)
        assert not orange(tile[110:210, 160:250]).any(), (top, left)


def test_a_short_clip_leaves_the_last_tiles_black(tmp_path):
    short = tmp_path / "short.mp4"
    render_clip(Clip(640, 360, 15, 1, (40, 100, 120, 200), (0, 0)), short)
    image = decode(render_consent_quicklook(str(short)))
    assert image[:320, :320].max() > 100  # the frame at 0.5 s
    assert (image[:, 320:] < 30).all() and (image[320:] < 30).all()


def test_unusable_consent_videos_fail_with_a_reason(consent_mp4, tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(consent_mp4.read_bytes()[:4000])
    cases = {
        str(tmp_path / "missing.mp4"): "consent video not found",
        str(empty): "is empty (0 bytes)",
        str(truncated): "could not be decoded",
    }
    for path, words in cases.items():
        with pytest.raises(QuicklookFailed) as failure:
            render_consent_quicklook(path)
        assert words in failure.value.reason and path in failure.value.reason


def consent(conn, consent_id: str, subject: str, video_uri: str, *, days_ago: int = 1) -> None:
    """A consent record as ingest stores it (quicklook not rendered yet)."""
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO consent_records (consent_id, subject_email, collector_id, consented_at,
                   subject_confirmed_18_or_older, video_uri, file_name, sha256)
               VALUES (%s, %s, 'c@x.org', %s, true, %s, %s, %s)""",
            (
                consent_id,
                subject,
                T0 - timedelta(days=days_ago),
                video_uri,
                f"consent_{consent_id}.json",
                f"sha-{consent_id}",
            ),
        )
    conn.commit()


def quicklook_columns(conn) -> dict[str, tuple]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT consent_id, quicklook_status, quicklook_uri, quicklook_reason, "
            "quicklook_rendered_at FROM consent_records"
        )
        found = {row[0]: row[1:] for row in cur.fetchall()}
    conn.commit()
    return found


def render_due(conn, root: Path, now: datetime = T0, **kwargs) -> list[dict]:
    results = render_consent_quicklooks(find_unrendered_consents(conn), root, **kwargs)
    record_consent_results(conn, results, now)
    return results


def test_each_subject_gets_one_stable_quicklook_and_failures_are_recorded(
    warehouse, consent_mp4, tmp_path
):
    landing = tmp_path / "landing"
    landing.mkdir()
    shutil.copyfile(consent_mp4, landing / "consent_A2.mp4")
    (landing / "consent_B1.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    (landing / "consent_D1.mp4").write_bytes(b"")
    # ann consented twice; the newer consent's video is the one reviewers see.
    consent(warehouse, "A1", "ann@x.org", str(landing / "consent_A1.mp4"), days_ago=5)
    consent(warehouse, "A2", "ann@x.org", f"file://{landing / 'consent_A2.mp4'}", days_ago=1)
    consent(warehouse, "B1", "bob@x.org", str(landing / "consent_B1.mp4"))
    consent(warehouse, "C1", "cy@x.org", str(landing / "consent_C1.mp4"))
    consent(warehouse, "D1", "di@x.org", str(landing / "consent_D1.mp4"))
    root = tmp_path / "quicklooks"

    results = render_due(warehouse, root)
    assert sorted(r["consent_id"] for r in results) == ["A2", "B1", "C1", "D1"]
    stored = quicklook_columns(warehouse)
    target = root / "consents" / f"{subject_key('ann@x.org')}.jpg"
    assert stored["A2"] == ("ok", str(target), None, T0)
    decode(target.read_bytes())  # a real 640x640 JPEG
    assert target.read_bytes()[:2] == b"\xff\xd8"
    assert stored["A1"] == (None, None, None, None)  # superseded: never rendered
    for consent_id, words in {
        "B1": "could not be decoded",
        "C1": "consent video not found",
        "D1": "is empty (0 bytes)",
    }.items():
        status, uri, reason, rendered_at = stored[consent_id]
        assert (status, uri, rendered_at) == ("failed", None, T0), consent_id
        assert words in reason, (consent_id, reason)
    assert sorted(p.name for p in (root / "consents").iterdir()) == [target.name]

    # A second run renders nothing.
    assert find_unrendered_consents(warehouse) == []
    assert render_due(warehouse, root) == []
    assert quicklook_columns(warehouse) == stored

    # A newer consent of ann's replaces the image at the same path.
    consent(warehouse, "A3", "ann@x.org", str(landing / "consent_A2.mp4"), days_ago=0)
    before = target.stat().st_mtime_ns
    [result] = render_due(warehouse, root, now=T0 + timedelta(hours=1))
    assert (result["consent_id"], result["uri"]) == ("A3", str(target))
    assert target.stat().st_mtime_ns >= before
    assert quicklook_columns(warehouse)["A3"][0] == "ok"


def test_object_storage_videos_are_fetched_through_local_video(warehouse, consent_mp4, tmp_path):
    consent(warehouse, "A1", "ann@x.org", "s3://landing/consent_A1.mp4")
    fetched = []

    @contextlib.contextmanager
    def download(uri: str):
        fetched.append(uri)
        local = tmp_path / "download" / uri.rsplit("/", 1)[1]
        local.parent.mkdir()
        shutil.copyfile(consent_mp4, local)
        yield str(local)
        local.unlink()

    [result] = render_due(warehouse, tmp_path / "q", local_video=download)
    assert fetched == ["s3://landing/consent_A1.mp4"]
    assert result["status"] == "ok"


def test_a_record_reingested_while_rendering_stays_due(warehouse, consent_mp4, tmp_path):
    consent(warehouse, "A1", "ann@x.org", str(consent_mp4))
    results = render_consent_quicklooks(find_unrendered_consents(warehouse), tmp_path / "q")
    with warehouse.cursor() as cur:  # ingest replaced the record meanwhile
        cur.execute("UPDATE consent_records SET sha256 = 'corrected' WHERE consent_id = 'A1'")
    warehouse.commit()
    assert record_consent_results(warehouse, results, T0) == 0
    assert [job.consent_id for job in find_unrendered_consents(warehouse)] == ["A1"]


def video(conn, video_id: str, subjects: list[str], *, hours: int = 0) -> None:
    """An ingested video with one activity whose montage is rendered."""
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO collectors (collector_id) VALUES ('c@x.org') ON CONFLICT DO NOTHING"
        )
        cur.execute(
            """INSERT INTO videos (video_id, collector_id, collection_id, collection_version,
                   collected_at, frame_rate, duration_s, frame_width, frame_height, mp4_uri,
                   current_annotation, subject_ids)
               VALUES (%s, 'c@x.org', 'P004C009', 1, %s, 30, 20, 640, 360, '-', '-', %s)""",
            (video_id, T0 + timedelta(hours=hours), subjects),
        )
        cur.execute(
            "INSERT INTO activities (video_id, activity_index, shortname, start_frame, end_frame) "
            "VALUES (%s, 0, 'Open', 0, 10)",
            (video_id,),
        )
        cur.execute(
            """INSERT INTO quicklooks (video_id, activity_index, annotation_sha256, status,
                   image_uri) VALUES (%s, 0, 'sha', 'ok', %s)""",
            (video_id, f"/ql/2026-11-16/{video_id}/00_open_sha.jpg"),
        )
    conn.commit()


def test_the_queue_waits_for_every_subjects_consent_quicklook(warehouse, consent_mp4, tmp_path):
    record_collection_version(warehouse, demo_collections()[0], T0 - timedelta(days=30))
    warehouse.commit()
    video(warehouse, "v-pair", ["ann@x.org", "bob@x.org"])
    video(warehouse, "v-nobody", [], hours=1)
    video(warehouse, "v-cy", ["cy@x.org"], hours=2)
    root = tmp_path / "quicklooks"

    def queued() -> dict[str, list]:
        rows = pending_rows(warehouse, public_base=PUBLIC, quicklook_root=str(root))
        return {row[1]: row for row in rows}

    assert queued() == {}  # no consent on file: scoring holds these videos anyway
    consent(warehouse, "A1", "ann@x.org", str(consent_mp4))
    render_due(warehouse, root)
    assert queued() == {}  # bob, the second subject, has not consented yet
    consent(warehouse, "B1", "bob@x.org", str(consent_mp4))
    consent(warehouse, "C1", "cy@x.org", str(tmp_path / "gone.mp4"))
    assert queued() == {}  # consents on file, their quicklooks not rendered yet
    render_due(warehouse, root)

    rows = queued()
    assert sorted(rows) == ["v-cy", "v-pair"]  # a video naming no subject stays held
    pair = rows["v-pair"]
    assert len(pair) == len(QUEUE_HEADER) and pair[0] == queue_id("v-pair", 0)
    column = QUEUE_HEADER.index("consent_quicklook")
    assert column == QUEUE_HEADER.index("quicklook") + 1
    assert pair[column] == f'=IMAGE("{PUBLIC}/consents/{subject_key("ann@x.org")}.jpg")'
    assert (root / "consents" / f"{subject_key('ann@x.org')}.jpg").exists()
    assert rows["v-cy"][column].startswith("No consent quicklook: consent video not found at ")
