"""Release geometry and splits as pure functions: padding, tubelet crops, split assignment."""

from __future__ import annotations

import random
from collections import Counter
from decimal import Decimal

import pytest

from collector.release.plan import ReleaseParams
from collector.release.rules import (
    CLIP_PX,
    Crop,
    PaddingRule,
    ReleaseError,
    assign_splits,
    crop_filter_args,
    padded_frames,
    padding_rule,
    tubelet_crop,
)
from collector.review.quicklook import Rect

RULES = {
    "*": PaddingRule("*", Decimal(0), Decimal(0), Decimal(0), "as labelled"),
    "person_opens_door": PaddingRule(
        "person_opens_door", Decimal(1), Decimal(0), Decimal(0), "1 s"
    ),
    "person_talks_to_person": PaddingRule(
        "person_talks_to_person", Decimal(0), Decimal(0), Decimal(5), "up to 5 s"
    ),
}


def test_padding_before_a_door_opening_and_clamped_at_the_start():
    rule = padding_rule(RULES, "person_opens_door")
    assert padded_frames(100, 160, 30, 900, rule) == (70, 160)
    assert padded_frames(10, 60, 30, 900, rule) == (0, 60)  # clamped at the video's start


def test_equal_padding_up_to_five_seconds_and_clamped_at_the_end():
    rule = padding_rule(RULES, "person_talks_to_person#Variant1=A")
    assert padded_frames(300, 359, 30, 900, rule) == (255, 404)  # 2 s labelled -> 5 s, equal
    assert padded_frames(850, 899, 30, 900, rule) == (800, 899)  # its end clamped to the video
    assert padded_frames(0, 299, 30, 900, rule) == (0, 299)  # long enough already


def test_other_categories_use_the_default_rule():
    assert padding_rule(RULES, "person_rides_bicycle").category == "*"
    assert padded_frames(5, 50, 30, 900, padding_rule(RULES, "x")) == (5, 50)


def test_tubelet_is_square_dilated_and_centred_on_the_actor():
    boxes = [Rect(100, 200, 50, 120), Rect(140, 210, 50, 120)]  # union 100..190 x 200..330
    crop = tubelet_crop(boxes)
    assert crop.side == 260  # largest side 130, dilated 2x
    assert (crop.x + crop.side / 2, crop.y + crop.side / 2) == (145, 265)
    clip = crop.to_clip(boxes[0])
    assert clip.x == pytest.approx((100 - crop.x) * CLIP_PX / 260)
    back = crop.to_source(clip)
    assert (back.x, back.y, back.w, back.h) == pytest.approx((100, 200, 50, 120))


def test_zero_padding_where_the_square_leaves_the_frame():
    crop = Crop(-40, 300, 200)  # 40 px left of the frame, 20 px below a 640x480 frame
    (cw, ch, cx, cy), (pw, ph, px, py) = crop_filter_args(crop, 640, 480)
    assert (cx, cy, cw, ch) == (0, 300, 160, 180)
    assert (pw, ph, px, py) == (200, 200, 40, 0)
    with pytest.raises(ReleaseError, match="does not overlap"):
        crop_filter_args(Crop(700, 0, 100), 640, 480)


def test_splits_keep_collectors_whole_on_a_skewed_set():
    rng = random.Random(3)
    counts = {"heavy@x.org": 600} | {f"c{i}@x.org": rng.randint(1, 40) for i in range(30)}
    splits = assign_splits(counts, "pip-2026")
    assert set(splits) == set(counts)
    per_split = Counter()
    for collector, split in splits.items():
        per_split[split] += counts[collector]
    total = sum(counts.values())
    assert splits["heavy@x.org"] == "train"
    assert set(per_split) == {"train", "val", "test"}
    assert 0.05 < per_split["val"] / total < 0.15 and 0.12 < per_split["test"] / total < 0.28
    assert assign_splits(dict(reversed(counts.items())), "pip-2026") == splits  # order-free
    others = [assign_splits(counts, f"pip-{n}") for n in range(5)]
    assert any(o != splits for o in others)  # the name decides ties


def test_release_names_and_versions_are_checked():
    with pytest.raises(ReleaseError, match="release name"):
        ReleaseParams("People In Public", "1.0")
    with pytest.raises(ReleaseError, match=r"MAJOR\.MINOR"):
        ReleaseParams("pip", "v1")
