"""The demo's world and its building blocks: the collections, collectors and clock every demo
scenario shares, rendered test-pattern clips, the upload builder
that writes app JSON + MP4 pairs and records each in the manifest, and the mutations that
reproduce the app's historical quirks (docs/app-json.md)."""

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
class Clip:
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


def render_clip(clip: Clip, path: Path) -> None:
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


class UploadBuilder:
    """Writes the demo's uploads (app JSON + MP4) under ``root`` and records each in the manifest."""

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
    ) -> Clip:
        w = max(40, width // 5)
        h = max(80, height // 2)
        x = self.rng.randrange(0, width // 3)
        y = self.rng.randrange(0, height - h)
        dx = self.rng.randrange(width // 4, width - x - w)
        return Clip(width, height, fps, duration_s, (x, y, w, h), (dx, 0), rotated)

    def document(
        self,
        video_id: str,
        collector: str,
        collection_id: str,
        when: datetime,
        clip: Clip,
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

    def write_mp4(self, video_id: str, clip: Clip | None) -> None:
        target = self.root / f"{video_id}.mp4"
        if clip is not None and self.render:
            render_clip(clip, target)
        elif self.render:
            # Broken submissions' videos: a shared short clip is enough, they never get past JSON.
            if self._filler is None:
                self._filler = self.root.parent / ".demo-filler.mp4"
                render_clip(Clip(320, 240, 15, 10, (20, 40, 60, 120), (200, 0)), self._filler)
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
                render_clip(Clip(320, 240, 15, 4, (120, 40, 80, 160), (20, 0)), self._consent_clip)
            shutil.copyfile(self._consent_clip, target)
        else:
            target.write_bytes(b"")
        return name

    def add(
        self,
        case: str,
        expect: str,
        collection_id: str,
        clip: Clip,
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


def drop_gps(doc: dict) -> dict:
    """The app without a GPS fix: no position fields at all."""
    for key in ("latitude", "longitude", "gps_accuracy_m"):
        doc["metadata"].pop(key)
    return doc


def frame_index_quirk(doc: dict) -> dict:
    """`frameIndex` instead of `frame_index` in every box (docs/app-json.md)."""
    for obj in doc["object"]:
        for box in obj["bounding_box"]:
            box["frameIndex"] = box.pop("frame_index")
    return doc


def no_object_label(doc: dict) -> dict:
    """An object without a label (read as a person)."""
    del doc["object"][0]["label"]
    return doc


def no_collection_id(doc: dict) -> dict:
    """Android 1.1.1: no collection id."""
    del doc["metadata"]["collection_id"]
    return doc


def video_id_as_collection_id(doc: dict) -> dict:
    """The video id written where the collection id belongs."""
    doc["metadata"]["collection_id"] = doc["metadata"]["video_id"]
    return doc


def empty_activity(doc: dict) -> dict:
    """A single activity whose label is empty (the video has no activities)."""
    doc["activity"] = [{"label": "", "start_frame": 0, "end_frame": 0, "object_index": []}]
    return doc
