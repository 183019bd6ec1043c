"""Dataset releases and the consent registry, on the demo's real MP4s and a real PostgreSQL."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import subprocess
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2
import pytest
from collector_tools.demo_files import subject_of
from demo_pipeline import NOW, ingest_rate_score, rate, rows

from collector.core.media import ffmpeg_binary
from collector.intake.consent import WithdrawalError, withdraw_consent
from collector.intake.ingest import ingest_landing_area
from collector.release.build import build_release, finish_release, prepare_output
from collector.release.clips import export_clips, ffmpeg_version, load_sources
from collector.release.plan import ReleaseParams, plan_release
from collector.release.rules import Crop, ReleaseError
from collector.review.quicklook import Keyframe, Rect, interpolate_box
from collector.scoring.scores import score_videos


@pytest.fixture
def rated(seeded_warehouse, demo_area, landing, tmp_path):
    """The demo ingested, every activity rated Good, scored."""
    report = ingest_rate_score(seeded_warehouse, landing, tmp_path)
    assert sorted(report.consents) == sorted(demo_area.consents)
    return seeded_warehouse


def video_of_case(demo_area, case: str) -> str:
    return demo_area.by_case(case).video_id


@pytest.mark.slow  # 4-8 s: the fast lane skips it
def test_no_consent_holds_the_video_with_a_reason_and_keeps_it_out(rated, demo_area, tmp_path):
    held = video_of_case(demo_area, "consent_under_collector_email")
    [(status, reasons)] = rows(
        rated, "SELECT status, reasons FROM video_scores WHERE video_id = %s", held
    )
    assert status == "pending"
    assert reasons[0] == "Consent not on file (erin.walsh.subject@example.com)"
    # The collector's mistake: the consent on file is under their own email.
    assert rows(rated, "SELECT subject_email FROM consent_records WHERE consent_id = 'C9001'") == [
        ("erin.walsh@example.com",)
    ]
    outcome = build_release(rated, ReleaseParams("pip-test", "1.0"), tmp_path / "rel")
    released = {r[0] for r in rows(rated, "SELECT video_id FROM release_items")}
    assert released and held not in released
    assert outcome.summary["clips"] == len(rows(rated, "SELECT 1 FROM release_items")) > 0


def test_consent_arriving_later_releases_the_hold(rated, demo_area):
    from collector.scoring.scores import affected_videos

    held = video_of_case(demo_area, "consent_under_collector_email")
    before = datetime.now(UTC)
    with rated.cursor() as cur:
        cur.execute(
            """INSERT INTO consent_records (consent_id, subject_email, collector_id, consented_at,
                   subject_confirmed_18_or_older, video_uri, file_name, sha256)
               VALUES ('C9100', %s, 'erin.walsh@example.com', now(), true, '-', '-', '-')""",
            (subject_of("erin.walsh@example.com"),),
        )
    rated.commit()
    assert held in affected_videos(rated, before, datetime.now(UTC) + timedelta(seconds=1))
    score_videos(rated, [held])
    assert rows(rated, "SELECT status FROM video_scores WHERE video_id = %s", held) != [
        ("pending",)
    ]


@pytest.mark.slow  # 4-8 s: the fast lane skips it
def test_under_18_needs_improvement_keeps_the_video_out(rated, tmp_path):
    accepted = sorted(r[0] for r in rows(rated, "SELECT video_id FROM video_scores WHERE accepted"))
    minor = accepted[0]
    rate(rated, lambda vid, i: ["needs_improvement"] if (vid, i) == (minor, 0) else ["good"])
    score_videos(rated)
    assert rows(rated, "SELECT status, flags FROM video_scores WHERE video_id = %s", minor) == [
        ("pending", ["needs_improvement"])
    ]
    build_release(rated, ReleaseParams("pip-test", "1.0"), tmp_path / "rel")
    released = {r[0] for r in rows(rated, "SELECT video_id FROM release_items")}
    assert minor not in released and set(accepted) - {minor} <= released


@pytest.mark.slow  # about 10 s: the fast lane skips it
def test_withdrawn_consent_is_excluded_final_and_listed_for_takedown(rated, landing, tmp_path):
    root = tmp_path / "rel"
    build_release(rated, ReleaseParams("pip-test", "1.0"), root)
    first = rows(rated, "SELECT clip_id, subject_emails FROM release_items WHERE version = '1.0'")
    subject = first[0][1][0]
    withdrawn_clips = sorted(c for c, subjects in first if subject in subjects)

    with pytest.raises(WithdrawalError, match="needs a reason"):
        withdraw_consent(rated, subject, reason=" ", withdrawn_by="ops@x.org")
    w = withdraw_consent(
        rated, f"  {subject.upper()} ", reason="asked by email 2026-11-25", withdrawn_by="ops@x.org"
    )
    assert w.newly_recorded and w.subject_email == subject and w.videos_affected >= 1
    again = withdraw_consent(rated, subject, reason="second click", withdrawn_by="ops2@x.org")
    assert not again.newly_recorded and again.reason == "asked by email 2026-11-25"

    # Final: not even an UPDATE or DELETE by hand undoes it.
    for statement in (
        "UPDATE consent_withdrawals SET reason = 'oops'",
        "DELETE FROM consent_withdrawals",
    ):
        with pytest.raises(psycopg2.errors.RaiseException, match="final"), rated.cursor() as cur:
            cur.execute(statement)
        rated.rollback()

    # A re-uploaded (changed) consent record is ingested again, and changes nothing about it.
    consent_file = next(
        p
        for p in landing.glob("consent_*.json")
        if json.loads(p.read_text())["consent"]["subject_email"].strip().casefold() == subject
    )
    record = json.loads(consent_file.read_text())
    record["consent"]["app_version"] = "2.4.0"
    consent_file.write_text(json.dumps(record))
    report = ingest_landing_area(
        rated, landing, tmp_path / "q", mp4_wait=timedelta(hours=24), now=NOW + timedelta(hours=1)
    )
    assert report.consents == [consent_file.name]
    assert rows(
        rated, "SELECT count(*) FROM consent_withdrawals WHERE subject_email = %s", subject
    ) == [(1,)]

    outcome = build_release(rated, ReleaseParams("pip-test", "1.1"), root)
    second = {r[0] for r in rows(rated, "SELECT clip_id FROM release_items WHERE version = '1.1'")}
    assert second and not second & set(withdrawn_clips)
    assert not list((root / "pip-test" / "1.1" / "clips").glob(f"{withdrawn_clips[0]}*"))
    takedown = list(csv.DictReader((root / "pip-test" / "1.1" / "takedown.csv").open()))
    assert sorted(t["clip_id"] for t in takedown) == withdrawn_clips
    assert {(t["release"], t["version"]) for t in takedown} == {("pip-test", "1.0")}
    assert subject not in (root / "pip-test" / "1.1" / "takedown.csv").read_text()
    assert f"lists {len(withdrawn_clips)} clip(s)" in Path(outcome.readme).read_text()


def probe_frames(path: Path) -> tuple[int, int, int]:
    """Width, height and decoded frame count of a clip."""
    out = subprocess.run(
        [ffmpeg_binary(), "-hide_banner", "-i", str(path), "-map", "0:v", "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stderr
    frames = int(out.rsplit("frame=", 1)[1].split()[0])
    width, height = re.search(r"Video: .*?, (\d+)x(\d+)", out).groups()
    return int(width), int(height), frames


def frame_rgb(path: Path, n: int) -> list[list[tuple[int, int, int]]]:
    raw = subprocess.run(
        [
            ffmpeg_binary(),
            "-v",
            "error",
            "-i",
            str(path),
            "-vf",
            f"select=eq(n\\,{n})",
            "-frames:v",
            "1",
            "-f",
            "rawvideo",
            "-pix_fmt",
            "rgb24",
            "-",
        ],
        capture_output=True,
        check=True,
    ).stdout
    assert len(raw) == 512 * 512 * 3
    return [
        [tuple(raw[(y * 512 + x) * 3 : (y * 512 + x) * 3 + 3]) for x in range(512)]
        for y in range(512)
    ]


@pytest.mark.slow  # about 10 s: the fast lane skips it
def test_clips_are_square_tubelets_whose_boxes_match_the_track(rated, tmp_path):
    root = tmp_path / "rel"
    build_release(rated, ReleaseParams("pip-test", "1.0"), root)
    release = root / "pip-test" / "1.0"
    annotations = [
        json.loads(p.read_text()) for p in sorted((release / "annotations").glob("*.json"))
    ]
    assert annotations
    padded_outside = 0
    for note in annotations:
        src = note["source"]
        crop = Crop(**src["crop"])
        [(actor,)] = rows(
            rated,
            "SELECT coalesce(object_indices[1], 0) FROM activities WHERE video_id = %s AND activity_index = %s",
            src["video_id"],
            src["activity_index"],
        )
        track = tuple(
            Keyframe(f, Rect(x, y, w, h))
            for f, x, y, w, h in rows(
                rated,
                "SELECT frame_index, x, y, width, height FROM track_boxes WHERE video_id = %s "
                "AND object_index = %s ORDER BY frame_index",
                src["video_id"],
                actor,
            )
        )
        first, last = src["clip_frames"]
        assert len(note["actor_boxes"]) == last - first + 1 == note["clip"]["frame_count"]
        for n, x, y, w, h in note["actor_boxes"]:
            back = crop.to_source(Rect(x, y, w, h))
            truth = interpolate_box(track, first + n)
            for got, want in zip(
                (back.x, back.y, back.w, back.h), (truth.x, truth.y, truth.w, truth.h), strict=True
            ):
                assert abs(got - want) <= 1.0, (note["clip_id"], n)
        width, height, frames = probe_frames(release / "clips" / f"{note['clip_id']}.mp4")
        assert (width, height, frames) == (512, 512, note["clip"]["frame_count"])
        [(fw, fh)] = rows(
            rated,
            "SELECT frame_width, frame_height FROM videos WHERE video_id = %s",
            src["video_id"],
        )
        if crop.x < -8 or crop.y < -8 or crop.x + crop.side > fw + 8 or crop.y + crop.side > fh + 8:
            padded_outside += 1
            pixels = frame_rgb(release / "clips" / f"{note['clip_id']}.mp4", 0)
            if crop.x < -8:
                strip = [
                    pixels[y][x]
                    for y in range(0, 512, 16)
                    for x in range(int(-crop.x * crop.scale) - 4)
                ]
            elif crop.y < -8:
                strip = [
                    pixels[y][x]
                    for y in range(int(-crop.y * crop.scale) - 4)
                    for x in range(0, 512, 16)
                ]
            elif crop.x + crop.side > fw + 8:
                edge = int((fw - crop.x) * crop.scale) + 4
                strip = [pixels[y][x] for y in range(0, 512, 16) for x in range(edge, 512)]
            else:
                edge = int((fh - crop.y) * crop.scale) + 4
                strip = [pixels[y][x] for y in range(edge, 512) for x in range(0, 512, 16)]
            assert strip and max(max(p) for p in strip) < 24, note["clip_id"]  # black padding
        # The orange actor is where the annotation says, in the clip's own pixels.
        middle = note["clip"]["frame_count"] // 2
        pixels = frame_rgb(release / "clips" / f"{note['clip_id']}.mp4", middle)
        orange = [
            (x, y)
            for y in range(512)
            for x in range(512)
            if pixels[y][x][0] > 200 and 90 < pixels[y][x][1] < 170 and pixels[y][x][2] < 80
        ]
        _, bx, by, bw, bh = note["actor_boxes"][middle]
        assert orange, note["clip_id"]
        # Within 2 source pixels plus 2 clip pixels: the demo draws the actor at whole pixels
        # while its boxes move smoothly, resizing and 4:2:0 chroma blur a colour edge by a pixel.
        tolerance = 2 * crop.scale + 2
        assert abs(min(x for x, _ in orange) - bx) <= tolerance, note["clip_id"]
        assert abs(max(x for x, _ in orange) + 1 - (bx + bw)) <= tolerance, note["clip_id"]
        assert abs(min(y for _, y in orange) - by) <= tolerance, note["clip_id"]
        assert abs(max(y for _, y in orange) + 1 - (by + bh)) <= tolerance, note["clip_id"]
    assert padded_outside, "the demo should have an actor near the frame's edge"


@pytest.mark.slow  # 4-8 s: the fast lane skips it
def test_padding_rules_apply_and_clamp(rated, tmp_path):
    build_release(rated, ReleaseParams("pip-test", "1.0"), tmp_path / "rel")
    notes = [
        json.loads(p.read_text())
        for p in (tmp_path / "rel/pip-test/1.0/annotations").glob("*.json")
    ]
    opens = [n for n in notes if n["category"] == "person_opens_door"]
    assert opens
    for note in opens:
        [(fps,)] = rows(
            rated, "SELECT frame_rate FROM videos WHERE video_id = %s", note["source"]["video_id"]
        )
        start = note["source"]["activity_frames"][0]
        assert note["source"]["clip_frames"][0] == max(0, start - round(fps))
        assert note["clip"]["activity_frames"][0] == start - note["source"]["clip_frames"][0]
    others = [n for n in notes if n["category"] not in ("person_opens_door", "person_closes_door")]
    assert others
    for note in others:  # the '*' rule: the activity as labelled
        assert note["source"]["clip_frames"][0] == note["source"]["activity_frames"][0]


@pytest.mark.slow  # about 10 s: the fast lane skips it
def test_splits_keep_each_collector_in_one_split_and_files_reproduce(rated, tmp_path):
    root = tmp_path / "rel"
    first = build_release(rated, ReleaseParams("pip-test", "1.0"), root)
    release = root / "pip-test" / "1.0"
    collector_of = dict(rows(rated, "SELECT clip_id, collector_id FROM release_items"))
    seen: dict[str, set[str]] = defaultdict(set)
    for split in ("train", "val", "test"):
        for clip in (release / "splits" / f"{split}.txt").read_text().split():
            seen[collector_of[clip]].add(split)
    assert seen and all(len(s) == 1 for s in seen.values())
    assert sum(
        len((release / "splits" / f"{s}.txt").read_text().split()) for s in ("train", "val", "test")
    ) == len(collector_of)

    manifest = json.loads((release / "manifest.json").read_text())
    for entry in manifest["files"]:
        data = (release / entry["path"]).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (entry["bytes"], entry["sha256"])
    assert {e["path"] for e in manifest["files"]} >= {
        "README.md",
        "annotations.csv",
        "takedown.csv",
        "instances_per_category.svg",
    }
    assert manifest["ffmpeg"] == ffmpeg_version()
    readme = (release / "README.md").read_text()
    assert "CC BY 4.0" in readme and "person_opens_door" in readme and "one second before" in readme

    # Same name and version again: rebuilt beside it, byte-identical, the release untouched.
    before = {p: p.stat().st_mtime_ns for p in release.rglob("*")}
    again = build_release(rated, ReleaseParams("pip-test", "1.0"), root)
    assert again.reproduced and again.manifest_sha256 == first.manifest_sha256
    assert {p: p.stat().st_mtime_ns for p in release.rglob("*")} == before
    assert not (root / "pip-test" / ".rebuild-1.0").exists()

    # A change of rules after publishing cannot alter the published version.
    with rated.cursor() as cur:
        cur.execute(
            "UPDATE release_padding_rules SET pad_before_s = 2 WHERE category = 'person_opens_door'"
        )
    rated.commit()
    with pytest.raises(ReleaseError, match="published and immutable"):
        build_release(rated, ReleaseParams("pip-test", "1.0"), root)
    assert {p: p.stat().st_mtime_ns for p in release.rglob("*")} == before
    with pytest.raises(psycopg2.errors.RaiseException, match="immutable"), rated.cursor() as cur:
        cur.execute("DELETE FROM dataset_releases")
    rated.rollback()


def test_dry_run_writes_nothing(rated, tmp_path):
    outcome = build_release(rated, ReleaseParams("pip-test", "1.0"), tmp_path / "rel", dry_run=True)
    assert outcome.summary["clips"] > 0 and set(outcome.summary["splits"]) == {
        "train",
        "val",
        "test",
    }
    assert not (tmp_path / "rel").exists()
    assert rows(rated, "SELECT count(*) FROM dataset_releases") == [(0,)]


@pytest.mark.slow  # about 10 s: the fast lane skips it
def test_a_withdrawal_during_the_build_stops_the_release(rated, tmp_path):
    params = ReleaseParams("pip-test", "1.0")
    plan = plan_release(rated, params, str(tmp_path), dry_run=False)
    target = prepare_output(plan, tmp_path)
    for batch in plan.video_batches(20):
        export_clips(load_sources(rated, "pip-test", "1.0", batch), target)
    withdraw_consent(rated, plan.items[0].subject_emails[0], reason="r", withdrawn_by="ops")
    with pytest.raises(ReleaseError, match=r"withdrawn for \d+ planned clip"):
        finish_release(rated, plan, tmp_path)
    assert rows(rated, "SELECT status FROM dataset_releases") == [("building",)]
    assert not (target / "manifest.json").exists()
    again = build_release(rated, params, tmp_path)
    assert again.summary["clips"] < len(plan.items)
