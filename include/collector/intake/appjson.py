"""Parse the mobile app's annotation JSON (docs/app-json.md), every historical quirk included.

The parser is pure: bytes in, a :class:`Submission` or a list of :class:`Problem` out. Each
problem names the JSON path of the field and what was expected, so a person can fix the file.
Checks that need the warehouse (known collection, known short names) live in ``ingest``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from collector.core.identity import normalize_email

DEFAULT_OBJECT_LABEL = "person"  # older apps wrote objects without a label
COLLECTED_DATE_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%d %H:%M:%S %z",
    "%Y-%m-%d %I:%M:%S %p %z",
)
EDIT_STAMP_IOS_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
_ANDROID_MILLIS = re.compile(r"^\d{12,14}$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: where (JSON path) and what was expected."""

    json_path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.json_path}: {self.reason}"


@dataclass(frozen=True)
class Box:
    frame_index: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class TrackedObject:
    index: int
    label: str
    boxes: tuple[Box, ...]


@dataclass(frozen=True)
class Activity:
    index: int
    shortname: str
    category: str | None
    category_variant: str | None
    start_frame: int
    end_frame: int
    object_indices: tuple[int, ...]


@dataclass(frozen=True)
class Submission:
    """One annotation file, normalized. ``collection_id`` is None when the app did not say."""

    video_id: str
    collector_id: str
    collector_email: str | None
    subject_ids: tuple[str, ...]
    collection_id: str | None
    collection_name: str | None
    project_id: str | None
    project_name: str | None
    collected_at: datetime
    frame_rate: float
    duration_s: float
    frame_width: int
    frame_height: int
    orientation: str | None
    device_identifier: str | None
    app_version: str | None
    latitude: float | None
    longitude: float | None
    gps_accuracy_m: float | None
    categories_by_shortname: dict[str, str] = field(default_factory=dict)
    activities: tuple[Activity, ...] = ()
    objects: tuple[TrackedObject, ...] = ()

    @property
    def frame_count(self) -> int:
        return round(self.duration_s * self.frame_rate)


class InvalidSubmission(ValueError):
    """The file cannot be ingested; ``problems`` says every reason found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def parse_collected_date(value: str) -> datetime:
    """The three historical ``collected_date`` formats, returned in UTC."""
    text = value.strip()
    for fmt in COLLECTED_DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).astimezone(UTC)
        except ValueError:
            continue
    raise ValueError(
        f"expected a date like '2020-06-19T18:34:33+0000', '2020-06-19 18:34:33 +0000' or "
        f"'2020-06-19 06:34:33 PM +0000', got {value!r}"
    )


def parse_edit_stamp(stamp: str) -> datetime:
    """An edit's file-name stamp: Android epoch milliseconds or iOS ``%Y-%m-%dT%H:%M:%S%z``."""
    if _ANDROID_MILLIS.match(stamp):
        return datetime.fromtimestamp(int(stamp) / 1000, tz=UTC)
    try:
        return datetime.strptime(stamp, EDIT_STAMP_IOS_FORMAT).astimezone(UTC)
    except ValueError:
        raise ValueError(
            f"edit stamp {stamp!r} is neither epoch milliseconds (Android) nor "
            "%Y-%m-%dT%H:%M:%S%z (iOS)"
        ) from None


def split_category(category: str) -> tuple[str, str | None]:
    """``cat#Variant1=A&Joint=x:Short Label`` -> (``cat``, ``Variant1=A&Joint=x:Short Label``)."""
    base, sep, variant = category.partition("#")
    return base.strip(), (variant.strip() or None) if sep else None


class FieldReader:
    """Collects problems while reading typed fields, so one pass reports everything."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, path: str, reason: str) -> None:
        self.problems.append(Problem(path, reason))

    def text(self, obj: dict, key: str, path: str, *, required: bool = True) -> str | None:
        value = obj.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(f"{path}.{key}", "is missing; expected a non-empty string")
            return None
        if not isinstance(value, str):
            self.fail(f"{path}.{key}", f"expected a string, got {type(value).__name__} {value!r}")
            return None
        return value.strip()

    def number(
        self, obj: dict, key: str, path: str, *, required: bool = True, positive: bool = False
    ) -> float | None:
        value = obj.get(key)
        if value is None:
            if required:
                self.fail(f"{path}.{key}", "is missing; expected a number")
            return None
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            self.fail(f"{path}.{key}", f"expected a number, got {value!r}")
            return None
        if positive and value <= 0:
            self.fail(f"{path}.{key}", f"must be greater than 0, got {value!r}")
            return None
        return float(value)

    def integer(self, obj: dict, key: str, path: str, *, required: bool = True) -> int | None:
        value = self.number(obj, key, path, required=required)
        if value is None:
            return None
        if not value.is_integer():
            self.fail(f"{path}.{key}", f"expected a whole frame number, got {obj[key]!r}")
            return None
        return int(value)


def load_document(raw: bytes | str, section: str, what: str) -> dict:
    """The uploaded JSON, which must hold an object under ``section``; else one clear problem."""
    try:
        document = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f", line {exc.lineno} column {exc.colno}" if hasattr(exc, "lineno") else ""
        reason = exc.msg if hasattr(exc, "msg") else str(exc)
        raise InvalidSubmission(
            [Problem("$", f"not valid JSON ({reason}{where}); the upload may be truncated")]
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get(section), dict):
        raise InvalidSubmission([Problem(f"$.{section}", f"expected an object with {what}")])
    return document


def parse_submission(raw: bytes | str) -> Submission:
    """Parse one app JSON; raise :class:`InvalidSubmission` listing every problem found."""
    document = load_document(raw, "metadata", "the video's metadata")
    reader = FieldReader()
    meta = document["metadata"]
    path = "$.metadata"

    video_id = reader.text(meta, "video_id", path)
    collector_raw = reader.text(meta, "collector_id", path)
    collector_id = normalize_email(collector_raw) if collector_raw else None
    collected_at = _read_collected_at(reader, meta, path)
    frame_rate, duration_s, width, height = _read_frame_geometry(reader, meta, path)
    collection_id = _read_collection_id(reader, meta, path, video_id)
    subject_ids = _read_subject_ids(reader, meta, path)
    categories_by_shortname = _read_category_map(reader, meta, path)
    latitude, longitude, gps_accuracy = _read_gps(reader, meta, path)

    frame_count = (
        round(duration_s * frame_rate)
        if duration_s is not None and frame_rate is not None
        else None
    )
    objects = _read_objects(reader, document, frame_count, width, height)
    activities = _read_activities(reader, document, frame_count, categories_by_shortname, objects)

    if reader.problems:
        raise InvalidSubmission(reader.problems)
    assert video_id and collector_id and collected_at and frame_rate and duration_s
    assert width is not None and height is not None
    return Submission(
        video_id=video_id,
        collector_id=collector_id,
        collector_email=collector_id if "@" in collector_id else None,
        subject_ids=subject_ids,
        collection_id=collection_id,
        collection_name=reader.text(meta, "collection_name", path, required=False),
        project_id=reader.text(meta, "project_id", path, required=False),
        project_name=reader.text(meta, "project_name", path, required=False),
        collected_at=collected_at,
        frame_rate=frame_rate,
        duration_s=duration_s,
        frame_width=width,
        frame_height=height,
        orientation=reader.text(meta, "orientation", path, required=False),
        device_identifier=reader.text(meta, "device_identifier", path, required=False),
        app_version=reader.text(meta, "app_version", path, required=False),
        latitude=latitude,
        longitude=longitude,
        gps_accuracy_m=gps_accuracy,
        categories_by_shortname=categories_by_shortname,
        activities=activities,
        objects=objects,
    )


def _read_collected_at(reader: FieldReader, meta: dict, path: str) -> datetime | None:
    """``collected_date`` in any historical format, in UTC; None (and a problem) if unreadable."""
    collected_at = None
    date_text = reader.text(meta, "collected_date", path)
    if date_text is not None:
        try:
            collected_at = parse_collected_date(date_text)
        except ValueError as exc:
            reader.fail(f"{path}.collected_date", str(exc))
    return collected_at


def _read_frame_geometry(
    reader: FieldReader, meta: dict, path: str
) -> tuple[float | None, float | None, int | None, int | None]:
    """Frame rate, duration and frame size, each None when missing or invalid."""
    frame_rate = reader.number(meta, "frame_rate", path, positive=True)
    duration_s = reader.number(meta, "duration", path, positive=True)
    width = reader.integer(meta, "frame_width", path)
    height = reader.integer(meta, "frame_height", path)
    for key, value in (("frame_width", width), ("frame_height", height)):
        if value is not None and value <= 0:
            reader.fail(f"{path}.{key}", f"must be greater than 0, got {value}")
    return frame_rate, duration_s, width, height


def _read_collection_id(
    reader: FieldReader, meta: dict, path: str, video_id: str | None
) -> str | None:
    """``collection_id``, or None when absent or (Android 1.1.1) the video id instead."""
    # Android 1.1.1 wrote the video id in collection_id; treat it as "not given".
    collection_id = reader.text(meta, "collection_id", path, required=False)
    if collection_id is not None and collection_id == video_id:
        collection_id = None
    return collection_id


def _read_subject_ids(reader: FieldReader, meta: dict, path: str) -> tuple[str, ...]:
    """``subject_ids`` (a list, or one string) as normalized emails."""
    subjects_raw = meta.get("subject_ids") or []
    if isinstance(subjects_raw, str):
        subjects_raw = [subjects_raw]
    if not isinstance(subjects_raw, list) or not all(isinstance(s, str) for s in subjects_raw):
        reader.fail(f"{path}.subject_ids", f"expected a list of emails, got {subjects_raw!r}")
        subjects_raw = []
    return tuple(normalize_email(s) for s in subjects_raw if s.strip())


# What phones write when they have no GPS fix (docs/app-json.md): each reads as "no position".
IOS_INVALID_COORDINATE = (-180.0, -180.0)  # CoreLocation's kCLLocationCoordinate2DInvalid
ANDROID_NO_FIX = (0.0, 0.0)  # an Android app's Location without a fix
NO_POSITION: tuple[None, None, None] = (None, None, None)


def _read_gps(
    reader: FieldReader, meta: dict, path: str
) -> tuple[float | None, float | None, float | None]:
    """Latitude and longitude (degrees) and accuracy (metres), or ``NO_POSITION``.

    No position, never a problem: the fields absent (older apps), null or NaN, one coordinate
    without the other, iOS's invalid coordinate (-180, -180), Android's (0, 0), or a negative
    accuracy (iOS: the coordinate is invalid). An accuracy of 0, null or NaN with a real
    position means "accuracy unknown" (Android's ``hasAccuracy()`` false): the position stands
    and the accuracy is None. A problem (file quarantined): a value that is not a number
    (a string, a boolean, infinity), or a coordinate out of range that is no phone's "no fix".
    """
    before = len(reader.problems)
    latitude = _gps_value(reader, meta, "latitude", path)
    longitude = _gps_value(reader, meta, "longitude", path)
    accuracy = _gps_value(reader, meta, "gps_accuracy_m", path)
    if len(reader.problems) > before:
        return NO_POSITION
    if (
        latitude is None
        or longitude is None
        or (latitude, longitude) in (IOS_INVALID_COORDINATE, ANDROID_NO_FIX)
        or (accuracy is not None and accuracy < 0)
    ):
        return NO_POSITION
    if not -90 <= latitude <= 90:
        reader.fail(f"{path}.latitude", f"expected -90..90 degrees, got {latitude}")
    if not -180 <= longitude <= 180:
        reader.fail(f"{path}.longitude", f"expected -180..180 degrees, got {longitude}")
    if len(reader.problems) > before:
        return NO_POSITION
    return latitude, longitude, accuracy or None


def _gps_value(reader: FieldReader, meta: dict, key: str, path: str) -> float | None:
    """One GPS field: None when absent, null or NaN (no value); else a finite number."""
    value = meta.get(key)
    if isinstance(value, float) and math.isnan(value):
        return None
    return reader.number(meta, key, path, required=False)


def storable_json(raw: bytes) -> str:
    """The file's JSON as text PostgreSQL's ``jsonb`` accepts: ``raw`` itself, unless it holds
    the non-standard constants ``NaN``, ``Infinity`` or ``-Infinity`` (Gson's and Python's
    encoders can write them), which are then written as the strings ``"NaN"``... so the audit
    copy still says what the phone sent. Raises ValueError (UnicodeDecodeError,
    JSONDecodeError) on a file that is not JSON at all."""
    text = raw.decode("utf-8")
    constants: list[str] = []

    def keep(name: str) -> str:
        constants.append(name)
        return name

    document = json.loads(text, parse_constant=keep)
    return json.dumps(document, ensure_ascii=False) if constants else text


def _read_category_map(reader: FieldReader, meta: dict, path: str) -> dict[str, str]:
    """``shortname`` and ``category`` are parallel comma-separated lists."""
    shortnames_raw = meta.get("shortname") or ""
    categories_raw = meta.get("category") or ""
    if not isinstance(shortnames_raw, str) or not isinstance(categories_raw, str):
        reader.fail(f"{path}.shortname", "expected comma-separated strings in shortname/category")
        return {}
    shortnames = [s.strip() for s in shortnames_raw.split(",") if s.strip()]
    categories = [c.strip() for c in categories_raw.split(",") if c.strip()]
    if len(shortnames) != len(categories):
        reader.fail(
            f"{path}.shortname",
            f"lists {len(shortnames)} short names but category lists {len(categories)}; "
            "they must be parallel",
        )
        return {}
    return dict(zip(shortnames, categories, strict=True))


def _read_objects(
    reader: FieldReader,
    document: dict,
    frame_count: int | None,
    width: int | None,
    height: int | None,
) -> tuple[TrackedObject, ...]:
    raw_objects = document.get("object") or []
    if not isinstance(raw_objects, list):
        reader.fail("$.object", f"expected a list of objects, got {type(raw_objects).__name__}")
        return ()
    objects = []
    for i, raw in enumerate(raw_objects):
        path = f"$.object[{i}]"
        if not isinstance(raw, dict):
            reader.fail(path, "expected an object with a bounding_box list")
            continue
        label = raw.get("label")
        label = label.strip() if isinstance(label, str) and label.strip() else DEFAULT_OBJECT_LABEL
        boxes: dict[int, Box] = {}
        raw_boxes = raw.get("bounding_box") or []
        if not isinstance(raw_boxes, list):
            reader.fail(f"{path}.bounding_box", "expected a list of keyframe boxes")
            raw_boxes = []
        for j, raw_box in enumerate(raw_boxes):
            box_path = f"{path}.bounding_box[{j}]"
            box = _read_box(reader, raw_box, box_path, frame_count, width, height)
            if box is None:
                continue
            if box.frame_index in boxes:
                reader.fail(box_path, f"a second keyframe for frame {box.frame_index}")
                continue
            boxes[box.frame_index] = box
        objects.append(TrackedObject(i, label, tuple(boxes[k] for k in sorted(boxes))))
    return tuple(objects)


def _read_box(
    reader: FieldReader,
    raw_box: Any,
    path: str,
    frame_count: int | None,
    width: int | None,
    height: int | None,
) -> Box | None:
    if not isinstance(raw_box, dict):
        reader.fail(path, "expected {frame_index, frame: {x, y, width, height}}")
        return None
    key = "frame_index" if "frame_index" in raw_box else "frameIndex"  # older apps: frameIndex
    before = len(reader.problems)
    frame_index = reader.integer(raw_box, key, path)
    frame = raw_box.get("frame")
    if not isinstance(frame, dict):
        reader.fail(f"{path}.frame", "expected {x, y, width, height} in pixels")
        return None
    x = reader.number(frame, "x", f"{path}.frame")
    y = reader.number(frame, "y", f"{path}.frame")
    w = reader.number(frame, "width", f"{path}.frame", positive=True)
    h = reader.number(frame, "height", f"{path}.frame", positive=True)
    if len(reader.problems) > before:
        return None
    assert frame_index is not None and x is not None and y is not None and w and h
    if frame_index < 0 or (frame_count is not None and frame_index > frame_count):
        reader.fail(
            f"{path}.{key}",
            f"frame {frame_index} is outside the video (frames 0..{frame_count})",
        )
        return None
    # A box may stick out of the frame (the FAQ prefers a box slightly too big), but it must
    # overlap the picture: a box entirely outside cannot be about the actor.
    if (
        width is not None
        and height is not None
        and (x >= width or y >= height or x + w <= 0 or y + h <= 0)
    ):
        reader.fail(
            f"{path}.frame",
            f"box x={x:g} y={y:g} w={w:g} h={h:g} lies entirely outside the {width}x{height} frame",
        )
        return None
    return Box(frame_index, x, y, w, h)


def _read_activities(
    reader: FieldReader,
    document: dict,
    frame_count: int | None,
    categories_by_shortname: dict[str, str],
    objects: tuple[TrackedObject, ...],
) -> tuple[Activity, ...]:
    raw_activities = document.get("activity") or []
    if not isinstance(raw_activities, list):
        reader.fail(
            "$.activity", f"expected a list of activities, got {type(raw_activities).__name__}"
        )
        return ()
    # Older apps wrote one activity with an empty label to mean "no activities".
    if (
        len(raw_activities) == 1
        and isinstance(raw_activities[0], dict)
        and not str(raw_activities[0].get("label") or "").strip()
    ):
        return ()
    activities = []
    for i, raw in enumerate(raw_activities):
        path = f"$.activity[{i}]"
        if not isinstance(raw, dict):
            reader.fail(path, "expected {label, start_frame, end_frame, object_index}")
            continue
        before = len(reader.problems)
        label = reader.text(raw, "label", path)
        start = reader.integer(raw, "start_frame", path)
        end = reader.integer(raw, "end_frame", path)
        if len(reader.problems) > before:
            continue
        assert label is not None and start is not None and end is not None
        if start < 0:
            reader.fail(f"{path}.start_frame", f"must be 0 or more, got {start}")
        if end <= start:
            reader.fail(
                f"{path}.end_frame",
                f"must be after start_frame ({start}), got {end}: the activity ends before it starts",
            )
        if frame_count is not None and end > frame_count:
            reader.fail(
                f"{path}.end_frame",
                f"frame {end} is past the end of the video ({frame_count} frames)",
            )
        if categories_by_shortname and label not in categories_by_shortname:
            reader.fail(
                f"{path}.label",
                f"short name {label!r} is not one of this collection's "
                f"{sorted(categories_by_shortname)} (metadata.shortname)",
            )
        indices_raw = raw.get("object_index") or []
        if isinstance(indices_raw, int):
            indices_raw = [indices_raw]
        indices = []
        for k, value in enumerate(indices_raw if isinstance(indices_raw, list) else [None]):
            if (
                not isinstance(value, int)
                or isinstance(value, bool)
                or not 0 <= value < len(objects)
            ):
                reader.fail(
                    f"{path}.object_index[{k}]",
                    f"expected the index of one of the {len(objects)} objects, got {value!r}",
                )
                continue
            indices.append(value)
        category, variant = (
            split_category(categories_by_shortname.get(label, ""))
            if (label in categories_by_shortname)
            else (None, None)
        )
        activities.append(Activity(i, label, category, variant, start, end, tuple(indices)))
    return tuple(activities)
