"""A realistic, reproducible demo landing area: real H.264 MP4s and app JSON in every format.

Each video shows a test pattern with a moving actor-sized rectangle; the JSON's keyframe boxes
follow the rectangle exactly, so quicklooks can be checked by eye. Besides clean uploads the
area holds every historical quirk of docs/app-json.md, edits (Android and iOS stamps, one arriving
out of order) and deliberately broken submissions, each listed in the returned manifest with
the quarantine reason it must get.
"""

from __future__ import annotations

import json
import random
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import ffmpeg

from collector.catalog.collections import CollectionDefinition
from collector.core.media import ffmpeg_binary

DEMO_EPOCH = datetime(2026, 11, 16, 13, 0, tzinfo=UTC)  # a Monday, so weeks line up in later demos


def demo_collections() -> list[CollectionDefinition]:
    """The collections the demo's master sheet would hold."""
    return [
        CollectionDefinition(
            "P004C009",
            "P004",
            "Open and close a door",
            ("Open", "Close"),
            ("person_opens_door", "person_closes_door"),
            project_name="Doors",
            description="Stand outside, open the door, walk through, close it.",
            required_activity_count=2,
            min_duration_s=Decimal(10),
            rate_limit_hours=Decimal(12),
            score_threshold=Decimal("0.75"),
            pay_per_video_cents=300,
            perfect_bonus_cents=50,
            min_app_version="2.0.0",
        ),
        CollectionDefinition(
            "P004C010",
            "P004",
            "Ride a bicycle",
            ("Mount", "Ride"),
            (
                "person_mounts_bicycle",
                "person_rides_bicycle#Variant1=Fast&Joint=person_talks_on_phone:Ride and talk",
            ),
            project_name="Doors",
            description="Outdoors: mount a bicycle and ride past the camera.",
            required_activity_count=2,
            min_duration_s=Decimal(15),
            rate_limit_hours=Decimal(12),
            score_threshold=Decimal("0.80"),
            pay_per_video_cents=400,
            perfect_bonus_cents=100,
            min_app_version="2.0.0",
        ),
        CollectionDefinition(
            "P005C001",
            "P005",
            "Buy from a vending machine",
            ("Pay", "Take"),
            ("person_pays_vending_machine", "person_takes_from_vending_machine"),
            project_name="Retail",
            description="At a real vending machine, not at home.",
            required_activity_count=2,
            min_duration_s=Decimal(10),
            rate_limit_hours=Decimal(24),
            score_threshold=Decimal("0.75"),
            pay_per_video_cents=500,
            perfect_bonus_cents=100,
        ),
        CollectionDefinition(
            "P000C001",
            "P000",
            "Practice: wave hello",
            ("Wave",),
            ("person_waves",),
            project_name="Practice",
            description="Practice the buttons: wave at the camera.",
            required_activity_count=1,
            min_duration_s=Decimal(5),
            rate_limit_hours=Decimal(0),
            score_threshold=Decimal("0.5"),
            kind="practice",  # FAQ 4: open to everyone, reviewed, never paid
        ),
    ]


COLLECTORS = (
    " Alice.Nguyen@Example.com",  # stray space and capitals: the app does send these (FAQ 5)
    "bob.okafor@example.com",
    "carmen.diaz@example.org",
    "dev.patel@example.net",
)


def subject_of(collector: str) -> str:
    """The person a demo collector records (FAQ 10: someone else, 18 or older)."""
    local, _, domain = collector.strip().casefold().partition("@")
    return f"{local}.subject@{domain}"


@dataclass
class DemoFile:
    """One annotation file in the demo landing area and what ingest must do with it."""

    file_name: str
    video_id: str
    case: str  # a short name of what this file exercises
    # "ingested" (in force after ingest), "superseded" (kept as history, a newer edit wins),
    # "quarantined" or "waiting_for_mp4"
    expect: str
    json_path: str | None = None  # for quarantined files: where the problem is
    reason_contains: str | None = None  # ... and words the reason must contain


@dataclass
class DemoManifest:
    landing: str
    files: list[DemoFile] = field(default_factory=list)
    mp4s: list[str] = field(default_factory=list)
    consents: list[str] = field(default_factory=list)  # consent records that must ingest

    def by_case(self, case: str) -> DemoFile:
        return next(f for f in self.files if f.case == case)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)


@dataclass
class _Clip:
    width: int  # as displayed
    height: int
    fps: float
    duration_s: int
    actor: tuple[int, int, int, int]  # x, y, w, h at t=0
    travel: tuple[int, int]  # dx, dy over the whole clip
    rotated: bool = False  # encoded landscape with a display rotation (phones do this)

    @property
    def frame_count(self) -> int:
        return round(self.duration_s * self.fps)

    def box_at(self, frame: int) -> dict[str, float]:
        x, y, w, h = self.actor
        share = frame / self.frame_count
        return {
            "x": round(x + self.travel[0] * share, 2),
            "y": round(y + self.travel[1] * share, 2),
            "width": w,
            "height": h,
        }


def render_clip(clip: _Clip, path: Path) -> None:
    """Encode the clip with ffmpeg: test pattern, moving filled rectangle where the box says."""
    x, y, w, h = clip.actor
    size, rate, seconds = f"{clip.width}x{clip.height}", clip.fps, clip.duration_s
    # A grey test pattern (so the quicklooks' green box colour is unambiguous) with an orange
    # actor moving across it; overlay evaluates the position per frame, drawbox would not.
    background = ffmpeg.input(
        f"testsrc2=size={size}:rate={rate}:duration={seconds}", f="lavfi"
    ).filter("hue", s=0)
    actor = ffmpeg.input(f"color=c=0xFF8000:size={w}x{h}:rate={rate}:duration={seconds}", f="lavfi")
    stream = background.overlay(
        actor,
        x=f"{x}+{clip.travel[0]}*t/{seconds}",
        y=f"{y}+{clip.travel[1]}*t/{seconds}",
        eval="frame",
    )
    target = path.with_suffix(".upright.mp4") if clip.rotated else path
    if clip.rotated:
        stream = stream.filter("transpose", 1)  # stored sideways, as phone sensors do
    ffmpeg.output(
        stream,
        str(target),
        vcodec="libx264",
        preset="ultrafast",
        pix_fmt="yuv420p",
        movflags="+faststart",
        g=int(clip.fps),
        crf=30,
    ).overwrite_output().run(cmd=ffmpeg_binary(), quiet=True)
    if clip.rotated:
        # Tag the sideways stream with a 90° display rotation so players show it upright.
        ffmpeg.output(
            ffmpeg.input(str(target), display_rotation=90), str(path), c="copy"
        ).overwrite_output().run(cmd=ffmpeg_binary(), quiet=True)
        target.unlink()


class _Builder:
    def __init__(self, root: Path, seed: int, render: bool):
        self.root = root
        self.rng = random.Random(seed)
        self.render = render
        self.manifest = DemoManifest(landing=str(root))
        self.collections = {c.collection_id: c for c in demo_collections()}
        self._filler: Path | None = None
        self._consent_clip: Path | None = None
        self._serial = 0

    def video_id(self, when: datetime) -> str:
        self._serial += 1
        return f"{when:%Y%m%d}_{1500081666724286 + self._serial * 7919 + self.rng.randrange(1000)}"

    def clip(
        self, width: int, height: int, duration_s: int, *, fps: float = 15, rotated: bool = False
    ) -> _Clip:
        w = max(40, width // 5)
        h = max(80, height // 2)
        x = self.rng.randrange(0, width // 3)
        y = self.rng.randrange(0, height - h)
        dx = self.rng.randrange(width // 4, width - x - w)
        return _Clip(width, height, fps, duration_s, (x, y, w, h), (dx, 0), rotated)

    def document(
        self,
        video_id: str,
        collector: str,
        collection_id: str,
        when: datetime,
        clip: _Clip,
        *,
        app: str = "2.3.1",
        device: str = "ios",
        date_format: str = "%Y-%m-%dT%H:%M:%S%z",
        gps: bool = True,
        shift_s: float = 0.0,
    ) -> dict:
        spec = self.collections[collection_id]
        n = clip.frame_count
        segment = n // len(spec.activity_shortnames)
        margin = int(clip.fps * 0.5)
        offset = int(shift_s * clip.fps)
        activities = [
            {
                "label": name,
                "start_frame": i * segment + margin + offset,
                "end_frame": (i + 1) * segment - margin + offset,
                "object_index": [0],
            }
            for i, name in enumerate(spec.activity_shortnames)
        ]
        keyframes = sorted({*range(0, n, int(clip.fps)), n - 1})
        metadata = {
            "video_id": video_id,
            "collector_id": collector,
            "subject_ids": [subject_of(collector)],
            "collection_id": collection_id,
            "collection_name": spec.name,
            "project_id": spec.project_id,
            "project_name": spec.project_name,
            "program_name": "Collector",
            "collected_date": when.strftime(date_format),
            "frame_rate": clip.fps,
            "duration": float(clip.duration_s),
            "frame_width": clip.width,
            "frame_height": clip.height,
            "orientation": "portrait" if clip.height > clip.width else "landscape",
            "device_identifier": device,
            "app_version": app,
            "category": ",".join(spec.activity_categories),
            "shortname": ",".join(spec.activity_shortnames),
        }
        if gps:
            metadata |= {
                "latitude": round(38.9 + self.rng.uniform(-0.05, 0.05), 6),
                "longitude": round(-77.0 + self.rng.uniform(-0.05, 0.05), 6),
                "gps_accuracy_m": round(self.rng.uniform(3, 15), 1),
            }
        return {
            "metadata": metadata,
            "activity": activities,
            "object": [
                {
                    "label": "person",
                    "bounding_box": [
                        {"frame_index": k, "frame": clip.box_at(k)} for k in keyframes
                    ],
                }
            ],
        }

    def write_json(self, name: str, document: dict | str) -> None:
        text = document if isinstance(document, str) else json.dumps(document, indent=1)
        (self.root / name).write_text(text)

    def write_mp4(self, video_id: str, clip: _Clip | None) -> None:
        target = self.root / f"{video_id}.mp4"
        if clip is not None and self.render:
            render_clip(clip, target)
        elif self.render:
            # Broken submissions' videos: a shared short clip is enough, they never get past JSON.
            if self._filler is None:
                self._filler = self.root.parent / ".demo-filler.mp4"
                render_clip(_Clip(320, 240, 15, 10, (20, 40, 60, 120), (200, 0)), self._filler)
            shutil.copyfile(self._filler, target)
        else:
            target.write_bytes(b"")  # placeholder for benchmarks that never decode video
        self.manifest.mp4s.append(target.name)

    def consent(self, consent_id: str, subject: str, collector: str, *, adult: bool = True) -> str:
        """A consent record and its video, as the app uploads them (docs/consent-and-releases.md)."""
        name = f"consent_{consent_id}.json"
        record = {
            "consent": {
                "consent_id": consent_id,
                "subject_email": subject,
                "collector_id": collector,
                "consented_date": (DEMO_EPOCH - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S%z"),
                "app_version": "2.3.1",
                "device_identifier": "ios",
                "subject_is_18_or_older": adult,
            }
        }
        self.write_json(name, record)
        target = self.root / f"consent_{consent_id}.mp4"
        if self.render:
            if self._consent_clip is None:
                self._consent_clip = self.root.parent / ".demo-consent.mp4"
                render_clip(_Clip(320, 240, 15, 4, (120, 40, 80, 160), (20, 0)), self._consent_clip)
            shutil.copyfile(self._consent_clip, target)
        else:
            target.write_bytes(b"")
        return name

    def add(
        self,
        case: str,
        expect: str,
        collection_id: str,
        clip: _Clip,
        *,
        when: datetime | None = None,
        collector: str | None = None,
        mutate=None,
        with_mp4: bool = True,
        json_path: str | None = None,
        reason: str | None = None,
        **doc_kwargs,
    ) -> tuple[str, dict]:
        when = when or DEMO_EPOCH + timedelta(hours=self.rng.randrange(0, 24 * 6))
        video_id = self.video_id(when)
        collector = collector or self.rng.choice(COLLECTORS)
        document = self.document(video_id, collector, collection_id, when, clip, **doc_kwargs)
        if mutate is not None:
            document = mutate(document)
        self.write_json(f"{video_id}.json", document)
        if with_mp4:
            self.write_mp4(video_id, clip if expect != "quarantined" else None)
        self.manifest.files.append(
            DemoFile(f"{video_id}.json", video_id, case, expect, json_path, reason)
        )
        return video_id, document


def _drop_gps(doc: dict) -> dict:
    for key in ("latitude", "longitude", "gps_accuracy_m"):
        doc["metadata"].pop(key)
    return doc


def _frame_index_quirk(doc: dict) -> dict:
    for obj in doc["object"]:
        for box in obj["bounding_box"]:
            box["frameIndex"] = box.pop("frame_index")
    return doc


def _no_object_label(doc: dict) -> dict:
    del doc["object"][0]["label"]
    return doc


def _no_collection_id(doc: dict) -> dict:
    del doc["metadata"]["collection_id"]
    return doc


def _video_id_as_collection_id(doc: dict) -> dict:
    doc["metadata"]["collection_id"] = doc["metadata"]["video_id"]
    return doc


def _empty_activity(doc: dict) -> dict:
    doc["activity"] = [{"label": "", "start_frame": 0, "end_frame": 0, "object_index": []}]
    return doc


def generate_landing_area(root: Path, *, seed: int = 7, render_video: bool = True) -> DemoManifest:
    """Write the demo landing area into ``root`` (emptied first) and return its manifest."""
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    b = _Builder(root, seed, render_video)
    hd, sd = (1280, 720), (640, 360)

    # Clean uploads, one per historical format quirk.
    modern_id, modern_doc = b.add("modern_ios", "ingested", "P004C009", b.clip(*hd, 20))
    b.add(
        "date_with_spaces",
        "ingested",
        "P004C009",
        b.clip(*sd, 30),
        date_format="%Y-%m-%d %H:%M:%S %z",
        device="android",
        app="2.1.0",
    )
    b.add(
        "date_am_pm",
        "ingested",
        "P005C001",
        b.clip(*sd, 15),
        date_format="%Y-%m-%d %I:%M:%S %p %z",
        device="android",
        app="2.0.4",
    )
    fi_id, fi_doc = b.add(
        "frame_index_camel_case",
        "ingested",
        "P004C010",
        b.clip(854, 480, 45),
        mutate=_frame_index_quirk,
        device="android",
        app="1.9.0",
    )
    b.add(
        "object_without_label",
        "ingested",
        "P005C001",
        b.clip(*sd, 12),
        mutate=_no_object_label,
        device="android",
        app="1.9.2",
    )
    b.add(
        "missing_collection_id",
        "ingested",
        "P004C009",
        b.clip(*sd, 10),
        mutate=_no_collection_id,
        device="android",
        app="1.1.1",
        date_format="%Y-%m-%d %H:%M:%S %z",
    )
    b.add(
        "video_id_as_collection_id",
        "ingested",
        "P005C001",
        b.clip(*sd, 10),
        mutate=_video_id_as_collection_id,
        device="android",
        app="1.1.1",
    )
    b.add(
        "empty_activity_label",
        "ingested",
        "P000C001",
        b.clip(*sd, 10),
        mutate=_empty_activity,
        device="android",
        app="1.2.0",
    )
    b.add("no_gps_fields", "ingested", "P004C010", b.clip(*sd, 60), mutate=_drop_gps, app="1.8.0")
    b.add("portrait_rotated", "ingested", "P004C009", b.clip(360, 640, 12, rotated=True))
    b.add("portrait_native", "ingested", "P000C001", b.clip(480, 854, 10, fps=30))
    b.add("category_variant", "ingested", "P004C010", b.clip(*sd, 20))

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
        b.clip(*hd, 20),
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

    # Broken submissions: each must be quarantined with this path and reason.
    def broken(case, json_path, reason, mutate=None, collection_id="P004C009", text=None):
        vid, doc = b.add(
            case,
            "quarantined",
            collection_id,
            b.clip(*sd, 10),
            mutate=mutate,
            json_path=json_path,
            reason=reason,
        )
        if text is not None:
            b.write_json(f"{vid}.json", text(doc))

    broken("truncated_json", "$", "not valid JSON", text=lambda doc: json.dumps(doc)[:300])
    broken(
        "end_before_start",
        "$.activity[0].end_frame",
        "ends before it starts",
        mutate=lambda d: (
            d["activity"][0].update(end_frame=d["activity"][0]["start_frame"] - 5),
            d,
        )[1],
    )
    broken(
        "box_outside_frame",
        "$.object[0].bounding_box[2].frame",
        "entirely outside",
        mutate=lambda d: (d["object"][0]["bounding_box"][2]["frame"].update(x=5000), d)[1],
    )
    broken(
        "unknown_short_name",
        "$.activity[1].label",
        "not an activity of P004C009",
        mutate=lambda d: (
            d["activity"][1].update(label="Slam"),
            d["metadata"].update(shortname="Open,Slam"),
            d,
        )[2],
    )
    broken(
        "zero_frame_rate",
        "$.metadata.frame_rate",
        "greater than 0",
        mutate=lambda d: (d["metadata"].update(frame_rate=0), d)[1],
    )
    broken(
        "unknown_collection",
        "$.metadata.collection_id",
        "unknown collection 'P999C999'",
        mutate=lambda d: (d["metadata"].update(collection_id="P999C999"), d)[1],
    )
    broken(
        "frame_past_end",
        "$.activity[1].end_frame",
        "past the end of the video",
        mutate=lambda d: (d["activity"][1].update(end_frame=10_000), d)[1],
    )
    broken(
        "bad_collected_date",
        "$.metadata.collected_date",
        "expected a date like",
        mutate=lambda d: (d["metadata"].update(collected_date="19/06/2020 18:34"), d)[1],
    )

    # An annotation whose MP4 is still uploading: it waits, then is quarantined after the timeout.
    b.add(
        "mp4_not_arrived",
        "waiting_for_mp4",
        "P004C009",
        b.clip(*sd, 10),
        with_mp4=False,
        json_path="$.metadata.video_id",
        reason="has not arrived",
    )

    # Consent (FAQ 10): every subject consented, except that one collector entered their own
    # email during consent rather than the subject's; that video is held, not paid.
    mistaken = "erin.walsh@example.com"
    b.add(
        "consent_under_collector_email", "ingested", "P004C009", b.clip(*sd, 12), collector=mistaken
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
    for scratch in (b._filler, b._consent_clip):
        if scratch is not None and scratch.exists():
            scratch.unlink()
    return b.manifest


def generate_bulk_submissions(root: Path, count: int, *, seed: int = 11) -> list[str]:
    """``count`` valid submissions with empty MP4 placeholders, for ingest benchmarks.

    No video is rendered: ingest never decodes video, it only needs the MP4 to exist.
    """
    root.mkdir(parents=True, exist_ok=True)
    b = _Builder(root, seed, render=False)
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
    b = _Builder(root, seed, render=True)
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
