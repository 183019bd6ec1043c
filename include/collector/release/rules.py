"""What a release's clips are made of (FAQ 7): crop geometry, temporal padding, names and
versions, and the train/val/test split by collector. Pure functions, tested on their own."""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from collector.review.quicklook import Rect

DILATION = 2.0


CLIP_PX = 512


SPLITS = (("train", Decimal("0.7")), ("val", Decimal("0.1")), ("test", Decimal("0.2")))


LICENCE = "Creative Commons Attribution 4.0 International (CC BY 4.0)"


LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"


NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


VERSION_PATTERN = re.compile(r"^\d+\.\d+(\.\d+)?$")


VERSION_PARTS = re.compile(r"\d+")


# x264 with one thread and bit-exact muxing: the same ffmpeg makes the same bytes.
ENCODER_OPTIONS = {
    "vcodec": "libx264",
    "preset": "veryfast",
    "crf": 23,
    "pix_fmt": "yuv420p",
    "threads": 1,
    "an": None,
    "movflags": "+faststart",
    "map_metadata": -1,
    "fflags": "+bitexact",
    "flags:v": "+bitexact",
}


class ReleaseError(ValueError):
    """A release cannot be made as asked; the message says what to change."""


@dataclass(frozen=True)
class PaddingRule:
    category: str
    pad_before_s: Decimal
    pad_after_s: Decimal
    min_length_s: Decimal
    why: str


@dataclass(frozen=True)
class Crop:
    """A square in source display coordinates; it may extend past the frame (zero padded)."""

    x: int
    y: int
    side: int

    @property
    def scale(self) -> float:
        return CLIP_PX / self.side

    def to_clip(self, box: Rect) -> Rect:
        s = self.scale
        return Rect((box.x - self.x) * s, (box.y - self.y) * s, box.w * s, box.h * s)

    def to_source(self, box: Rect) -> Rect:
        s = self.scale
        return Rect(box.x / s + self.x, box.y / s + self.y, box.w / s, box.h / s)


def padding_rule(rules: dict[str, PaddingRule], category: str) -> PaddingRule:
    """The category's rule (a ``#variant`` is ignored), else the ``*`` rule."""
    base = category.partition("#")[0].strip()
    return rules.get(base) or rules["*"]


def padded_frames(
    start_frame: int, end_frame: int, frame_rate: float, frame_count: int, rule: PaddingRule
) -> tuple[int, int]:
    """The clip's first and last source frame (inclusive), padded by ``rule`` and clamped."""
    first = max(0, start_frame)
    last = min(end_frame, frame_count - 1)
    if last < first:
        raise ReleaseError(f"frames {start_frame}..{end_frame} are outside the video")
    before = round(float(rule.pad_before_s) * frame_rate)
    after = round(float(rule.pad_after_s) * frame_rate)
    shortfall = math.ceil(float(rule.min_length_s) * frame_rate) - (
        last - first + 1 + before + after
    )
    if shortfall > 0:
        before += shortfall // 2
        after += shortfall - shortfall // 2
    return max(0, first - before), min(frame_count - 1, last + after)


def tubelet_crop(boxes: list[Rect], dilation: float = DILATION) -> Crop:
    """The union of the actor's boxes, dilated about its centre, squared at its largest side."""
    if not boxes:
        raise ReleaseError("the actor has no box in the clip's frames")
    x0 = min(b.x for b in boxes)
    y0 = min(b.y for b in boxes)
    x1 = max(b.x + b.w for b in boxes)
    y1 = max(b.y + b.h for b in boxes)
    side = max(2, math.ceil(max(x1 - x0, y1 - y0) * dilation))
    side += side % 2
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return Crop(round(cx - side / 2), round(cy - side / 2), side)


def crop_filter_args(crop: Crop, width: int, height: int) -> tuple[tuple, tuple]:
    """ffmpeg ``crop`` (the part inside the frame) and ``pad`` (black to the full square)."""
    ix0, iy0 = max(0, crop.x), max(0, crop.y)
    ix1, iy1 = min(width, crop.x + crop.side), min(height, crop.y + crop.side)
    if ix1 - ix0 < 1 or iy1 - iy0 < 1:
        raise ReleaseError(f"the crop {crop} does not overlap the {width}x{height} frame")
    return (ix1 - ix0, iy1 - iy0, ix0, iy0), (crop.side, crop.side, ix0 - crop.x, iy0 - crop.y)


def clip_id(video_id: str, activity_index: int) -> str:
    return f"{video_id}_{activity_index:02d}"


def assign_splits(instances_by_collector: dict[str, int], release_name: str) -> dict[str, str]:
    """Collector -> split: no collector in two splits, deterministic from the release name.

    Collectors are taken largest first (ties in an order hashed from the release name), each
    to the split furthest below its share of instances (70/10/20).
    """

    def tiebreak(collector: str) -> str:
        return hashlib.sha256(f"{release_name}\0{collector}".encode()).hexdigest()

    total = sum(instances_by_collector.values())
    filled = {split: 0 for split, _ in SPLITS}
    assignment = {}
    for collector in sorted(
        instances_by_collector, key=lambda c: (-instances_by_collector[c], tiebreak(c))
    ):
        split = max(SPLITS, key=lambda s: s[1] * total - filled[s[0]])[0]
        assignment[collector] = split
        filled[split] += instances_by_collector[collector]
    return assignment


def canonical_json(document: Any) -> bytes:
    return (json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()
