"""A realistic, reproducible demo landing area: real H.264 MP4s and app JSON in every format.

Each video shows a test pattern with a moving actor-sized rectangle; the JSON's keyframe boxes
follow the rectangle exactly, so quicklooks can be checked by eye. Besides clean uploads the
area holds every historical quirk of docs/app-json.md, edits (Android and iOS stamps, one arriving
out of order) and deliberately broken submissions, each listed in the returned manifest with
the quarantine reason it must get.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from collector.catalog.collections import CollectionDefinition
from collector_tools.demo_files import (
    COLLECTORS,
    DEMO_EPOCH,
    DemoFile,
    DemoManifest,
    UploadBuilder,
    drop_gps,
    empty_activity,
    frame_index_quirk,
    no_collection_id,
    no_object_label,
    subject_of,
    video_id_as_collection_id,
)

_HD, _SD = (1280, 720), (640, 360)


def generate_landing_area(root: Path, *, seed: int = 7, render_video: bool = True) -> DemoManifest:
    """Write the demo landing area into ``root`` (emptied first) and return its manifest."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    b = UploadBuilder(root, seed, render_video)
    # Clean uploads, one per historical format quirk.
    modern_id, modern_doc = _add_date_format_uploads(b)
    fi_id, fi_doc = _add_field_quirk_uploads(b)
    _add_video_shape_uploads(b)
    _add_edits(b, modern_id, modern_doc, fi_id, fi_doc)
    _add_broken_submissions(b)
    _add_mp4_not_arrived(b)
    _add_consents(b)
    for scratch in (b._filler, b._consent_clip):
        if scratch is not None and scratch.exists():
            scratch.unlink()
    return b.manifest


def _add_date_format_uploads(b: UploadBuilder) -> tuple[str, dict]:
    """Clean uploads in each historical ``collected_date`` format; returns the modern iOS one."""
    modern_id, modern_doc = b.add("modern_ios", "ingested", "P004C009", b.clip(*_HD, 20))
    b.add(
        "date_with_spaces",
        "ingested",
        "P004C009",
        b.clip(*_SD, 30),
        date_format="%Y-%m-%d %H:%M:%S %z",
        device="android",
        app="2.1.0",
    )
    b.add(
        "date_am_pm",
        "ingested",
        "P005C001",
        b.clip(*_SD, 15),
        date_format="%Y-%m-%d %I:%M:%S %p %z",
        device="android",
        app="2.0.4",
    )
    return modern_id, modern_doc


def _add_field_quirk_uploads(b: UploadBuilder) -> tuple[str, dict]:
    """Clean uploads with older apps' field quirks; returns the camelCase ``frameIndex`` one."""
    fi_id, fi_doc = b.add(
        "frame_index_camel_case",
        "ingested",
        "P004C010",
        b.clip(854, 480, 45),
        mutate=frame_index_quirk,
        device="android",
        app="1.9.0",
    )
    b.add(
        "object_without_label",
        "ingested",
        "P005C001",
        b.clip(*_SD, 12),
        mutate=no_object_label,
        device="android",
        app="1.9.2",
    )
    b.add(
        "missing_collection_id",
        "ingested",
        "P004C009",
        b.clip(*_SD, 10),
        mutate=no_collection_id,
        device="android",
        app="1.1.1",
        date_format="%Y-%m-%d %H:%M:%S %z",
    )
    b.add(
        "video_id_as_collection_id",
        "ingested",
        "P005C001",
        b.clip(*_SD, 10),
        mutate=video_id_as_collection_id,
        device="android",
        app="1.1.1",
    )
    b.add(
        "empty_activity_label",
        "ingested",
        "P000C001",
        b.clip(*_SD, 10),
        mutate=empty_activity,
        device="android",
        app="1.2.0",
    )
    b.add("no_gps_fields", "ingested", "P004C010", b.clip(*_SD, 60), mutate=drop_gps, app="1.8.0")
    return fi_id, fi_doc


def _add_video_shape_uploads(b: UploadBuilder) -> None:
    """Clean uploads of portrait videos (rotated and native) and a category variant."""
    b.add("portrait_rotated", "ingested", "P004C009", b.clip(360, 640, 12, rotated=True))
    b.add("portrait_native", "ingested", "P000C001", b.clip(480, 854, 10, fps=30))
    b.add("category_variant", "ingested", "P004C010", b.clip(*_SD, 20))


def _add_edits(
    b: UploadBuilder, modern_id: str, modern_doc: dict, fi_id: str, fi_doc: dict
) -> None:
    """Edits of two uploads with iOS and Android stamps, one arriving older than the newest."""
    # Edits: newest wins, older ones are kept as history even when they arrive late.
    for original in b.manifest.files:
        if original.video_id in (modern_id, fi_id):
            original.expect = "superseded"
    ios_stamp = DEMO_EPOCH + timedelta(days=7)
    edited = b.document(
        modern_id,
        modern_doc["metadata"]["collector_id"],
        "P004C009",
        DEMO_EPOCH,
        b.clip(*_HD, 20),
        shift_s=0.4,
    )
    edited["metadata"] = modern_doc["metadata"]
    edited["object"] = modern_doc["object"]
    name = f"{modern_id}_{ios_stamp:%Y-%m-%dT%H:%M:%S%z}.json"
    b.write_json(name, edited)
    b.manifest.files.append(DemoFile(name, modern_id, "edit_ios_stamp", "ingested"))
    older = json.loads(json.dumps(edited))
    older["activity"][0]["start_frame"] += 3
    name = f"{modern_id}_{ios_stamp - timedelta(days=2):%Y-%m-%dT%H:%M:%S%z}.json"
    b.write_json(name, older)
    b.manifest.files.append(DemoFile(name, modern_id, "edit_older_than_newest", "superseded"))
    android_edit = json.loads(json.dumps(fi_doc))
    first, second = android_edit["activity"][:2]
    android_edit["activity"] = [first, dict(second, end_frame=second["end_frame"] - 15)]
    millis = int((DEMO_EPOCH + timedelta(days=3)).timestamp() * 1000)
    name = f"{fi_id}_{millis}.json"
    b.write_json(name, android_edit)
    b.manifest.files.append(DemoFile(name, fi_id, "edit_android_millis", "ingested"))


def _add_broken(b, case, json_path, reason, mutate=None, collection_id="P004C009", text=None):
    """One broken submission that must be quarantined with this path and reason."""
    vid, doc = b.add(
        case,
        "quarantined",
        collection_id,
        b.clip(*_SD, 10),
        mutate=mutate,
        json_path=json_path,
        reason=reason,
    )
    if text is not None:
        b.write_json(f"{vid}.json", text(doc))


def _add_broken_submissions(b: UploadBuilder) -> None:
    """Broken submissions, one per quarantine reason ingest must give."""
    # Broken submissions: each must be quarantined with this path and reason.
    _add_broken(b, "truncated_json", "$", "not valid JSON", text=lambda doc: json.dumps(doc)[:300])
    _add_broken(
        b,
        "end_before_start",
        "$.activity[0].end_frame",
        "ends before it starts",
        mutate=lambda d: (
            d["activity"][0].update(end_frame=d["activity"][0]["start_frame"] - 5),
            d,
        )[1],
    )
    _add_broken(
        b,
        "box_outside_frame",
        "$.object[0].bounding_box[2].frame",
        "entirely outside",
        mutate=lambda d: (d["object"][0]["bounding_box"][2]["frame"].update(x=5000), d)[1],
    )
    _add_broken(
        b,
        "unknown_short_name",
        "$.activity[1].label",
        "not an activity of P004C009",
        mutate=lambda d: (
            d["activity"][1].update(label="Slam"),
            d["metadata"].update(shortname="Open,Slam"),
            d,
        )[2],
    )
    _add_broken(
        b,
        "zero_frame_rate",
        "$.metadata.frame_rate",
        "greater than 0",
        mutate=lambda d: (d["metadata"].update(frame_rate=0), d)[1],
    )
    _add_broken(
        b,
        "unknown_collection",
        "$.metadata.collection_id",
        "unknown collection 'P999C999'",
        mutate=lambda d: (d["metadata"].update(collection_id="P999C999"), d)[1],
    )
    _add_broken(
        b,
        "frame_past_end",
        "$.activity[1].end_frame",
        "past the end of the video",
        mutate=lambda d: (d["activity"][1].update(end_frame=10_000), d)[1],
    )
    _add_broken(
        b,
        "bad_collected_date",
        "$.metadata.collected_date",
        "expected a date like",
        mutate=lambda d: (d["metadata"].update(collected_date="19/06/2020 18:34"), d)[1],
    )


def _add_mp4_not_arrived(b: UploadBuilder) -> None:
    """An annotation uploaded without its MP4 (ingest waits for it, then quarantines it)."""
    # An annotation whose MP4 is still uploading: it waits, then is quarantined after the timeout.
    b.add(
        "mp4_not_arrived",
        "waiting_for_mp4",
        "P004C009",
        b.clip(*_SD, 10),
        with_mp4=False,
        json_path="$.metadata.video_id",
        reason="has not arrived",
    )


def _add_consents(b: UploadBuilder) -> None:
    """Consent records for every subject, one under the collector's own email, one from a minor."""
    # Consent (FAQ 10): every subject consented, except that one collector entered their own
    # email during consent rather than the subject's; that video is held, not paid.
    mistaken = "erin.walsh@example.com"
    b.add(
        "consent_under_collector_email",
        "ingested",
        "P004C009",
        b.clip(*_SD, 12),
        collector=mistaken,
    )
    for n, collector in enumerate(COLLECTORS, start=1):
        consent = b.consent(f"C{n:04d}", subject_of(collector), collector.strip())
        b.manifest.consents.append(consent)
    b.manifest.consents.append(b.consent("C9001", mistaken, mistaken))
    name = b.consent("C9002", "minor.subject@example.org", COLLECTORS[1].strip(), adult=False)
    b.manifest.files.append(
        DemoFile(
            name,
            "",
            "consent_not_18_or_older",
            "quarantined",
            "$.consent.subject_is_18_or_older",
            "18 or older",
        )
    )


def generate_bulk_submissions(root: Path, count: int, *, seed: int = 11) -> list[str]:
    """``count`` valid submissions with empty MP4 placeholders, for ingest benchmarks.

    No video is rendered: ingest never decodes video, it only needs the MP4 to exist.
    """
    root.mkdir(parents=True, exist_ok=True)
    b = UploadBuilder(root, seed, render=False)
    ids = list(b.collections)
    for i in range(count):
        collection_id = ids[i % 3]  # the three paid collections
        when = DEMO_EPOCH + timedelta(minutes=7 * i)
        video_id = b.video_id(when)
        clip = b.clip(1280, 720, 30, fps=30)
        document = b.document(video_id, COLLECTORS[i % len(COLLECTORS)], collection_id, when, clip)
        b.write_json(f"{video_id}.json", document)
        (root / f"{video_id}.mp4").write_bytes(b"")
    return [f.name for f in sorted(root.glob("*.json"))]


def generate_owner_submissions(
    root: Path, definition: CollectionDefinition, owner: str, count: int = 2, *, seed: int = 13
) -> list[str]:
    """A self-serve collection's owner recording ``count`` videos into the landing area."""
    b = UploadBuilder(root, seed, render=True)
    b.collections[definition.collection_id] = definition
    made = []
    for i in range(count):
        # Recorded just now: after the collection was defined (its first version's start).
        when = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=i)
        video_id = b.video_id(when)
        document = b.document(video_id, owner, definition.collection_id, when, b.clip(640, 360, 10))
        b.write_json(f"{video_id}.json", document)
        b.write_mp4(video_id, b.clip(640, 360, 10))
        made.append(video_id)
    return made


def seed_payment_profiles(conn) -> dict[str, str]:
    """Payment details for the demo's collectors, as they would enter them under Profile:
    PayPal and Payoneer in turn, and the third collector none (held: the report shows why)."""
    from collector.payouts.profiles import set_payment_profile  # noqa: PLC0415

    with conn.cursor() as cur:
        cur.execute("SELECT collector_id FROM collectors ORDER BY collector_id")
        collectors = [r[0] for r in cur.fetchall()]
    seeded = {}
    for n, collector in enumerate(collectors):
        if n == 2:
            continue
        if n % 2 == 0:
            method, value = "paypal", collector
        else:
            method, value = "payoneer", f"PAYEE-{n:04d}"
        seeded[collector] = "{}: {}".format(
            *set_payment_profile(conn, collector, method, value, "demo")
        )
    conn.commit()
    return seeded


DEMO_PASSWORD = "collector-demo-1"  # the demo's login, printed by make demo; never in production


def seed_portal_accounts(conn, password: str = DEMO_PASSWORD) -> list[str]:
    """Portal accounts for every demo collector and one ops account, all with the demo password
    set through the same single-use link a collector would follow."""
    from datetime import UTC, datetime  # noqa: PLC0415

    from collector.accounts import logins  # noqa: PLC0415

    with conn.cursor() as cur:
        cur.execute("SELECT collector_id FROM collectors ORDER BY collector_id")
        emails = [(r[0], "collector") for r in cur.fetchall()] + [("ops@example.com", "ops")]
    now = datetime.now(UTC)
    for email, role in emails:
        account = logins.create_account(conn, email, role)
        logins.use_link(conn, logins.issue_link(conn, account, "set_password", now), password, now)
    conn.commit()
    return [email for email, _ in emails]
