"""The app-JSON parser: every historical quirk parses, every defect is named by its JSON path."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from collector.core.identity import normalize_email
from collector.intake.appjson import (
    InvalidSubmission,
    parse_collected_date,
    parse_edit_stamp,
    parse_submission,
    split_category,
)

BASE = {
    "metadata": {
        "video_id": "20200421_1500081666724286",
        "collector_id": "collector@example.com",
        "subject_ids": ["subject@example.com"],
        "collection_id": "P004C009",
        "collection_name": "Open and close a door",
        "project_id": "P004",
        "collected_date": "2020-06-19T18:34:33+0000",
        "frame_rate": 30.0,
        "duration": 31.2,
        "frame_width": 1920,
        "frame_height": 1080,
        "orientation": "landscape",
        "device_identifier": "ios",
        "app_version": "2.3.1",
        "category": "person_opens_door,person_closes_door",
        "shortname": "Open,Close",
        "latitude": 38.9,
        "longitude": -77.0,
        "gps_accuracy_m": 8.5,
    },
    "activity": [
        {"label": "Open", "start_frame": 30, "end_frame": 120, "object_index": [0]},
        {"label": "Close", "start_frame": 400, "end_frame": 500, "object_index": [0]},
    ],
    "object": [
        {
            "label": "person",
            "bounding_box": [
                {"frame_index": 30, "frame": {"x": 10, "y": 20, "width": 300, "height": 600}},
                {"frame_index": 120, "frame": {"x": 50, "y": 20, "width": 300, "height": 600}},
            ],
        }
    ],
}


def doc(**changes) -> dict:
    document = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        target = document
        *parents, last = dotted.split("__")
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        if value is _DELETE:
            del target[int(last) if last.isdigit() else last]
        else:
            target[int(last) if last.isdigit() else last] = value
    return document


_DELETE = object()


def parse(document: dict):
    return parse_submission(json.dumps(document).encode())


def problems_of(document: dict | bytes) -> list[tuple[str, str]]:
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    with pytest.raises(InvalidSubmission) as caught:
        parse_submission(raw)
    return [(p.json_path, p.reason) for p in caught.value.problems]


def test_the_documented_example_parses_completely():
    s = parse(BASE)
    assert s.video_id == "20200421_1500081666724286"
    assert s.collected_at == datetime(2020, 6, 19, 18, 34, 33, tzinfo=UTC)
    assert s.frame_count == 936
    assert [a.shortname for a in s.activities] == ["Open", "Close"]
    assert s.activities[0].category == "person_opens_door"
    assert s.objects[0].boxes[1].x == 50
    assert (s.latitude, s.longitude, s.gps_accuracy_m) == (38.9, -77.0, 8.5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2020-06-19T18:34:33+0000", datetime(2020, 6, 19, 18, 34, 33, tzinfo=UTC)),
        ("2020-06-19 14:34:33 -0400", datetime(2020, 6, 19, 18, 34, 33, tzinfo=UTC)),
        ("2020-06-19 02:34:33 PM -0400", datetime(2020, 6, 19, 18, 34, 33, tzinfo=UTC)),
        ("2020-06-19 12:05:00 AM +0000", datetime(2020, 6, 19, 0, 5, tzinfo=UTC)),
    ],
)
def test_every_historical_collected_date_format(text, expected):
    assert parse_collected_date(text) == expected


def test_frame_index_camel_case_from_older_apps():
    document = copy.deepcopy(BASE)
    for box in document["object"][0]["bounding_box"]:
        box["frameIndex"] = box.pop("frame_index")
    assert [b.frame_index for b in parse(document).objects[0].boxes] == [30, 120]


def test_object_without_label_is_a_person():
    assert parse(doc(object__0__label=_DELETE)).objects[0].label == "person"


def test_missing_collection_id_and_android_111_video_id_mean_not_given():
    assert parse(doc(metadata__collection_id=_DELETE)).collection_id is None
    android_111 = doc(metadata__collection_id=BASE["metadata"]["video_id"])
    assert parse(android_111).collection_id is None


def test_single_empty_label_activity_means_no_activities():
    empty = [{"label": "", "start_frame": 0, "end_frame": 0, "object_index": []}]
    assert parse(doc(activity=empty)).activities == ()


def test_absent_gps_fields_are_none():
    document = doc(
        metadata__latitude=_DELETE, metadata__longitude=_DELETE, metadata__gps_accuracy_m=_DELETE
    )
    s = parse(document)
    assert (s.latitude, s.longitude, s.gps_accuracy_m) == (None, None, None)


def test_emails_are_trimmed_and_case_folded():
    s = parse(
        doc(metadata__collector_id="  Alice@Example.COM ", metadata__subject_ids=[" Bob@X.org"])
    )
    assert s.collector_id == "alice@example.com"
    assert s.collector_email == "alice@example.com"
    assert s.subject_ids == ("bob@x.org",)
    assert normalize_email("\tA@B.C ") == "a@b.c"


def test_category_variant_is_split_off():
    assert split_category("cat#Variant1=A&Joint=a_joint_label:Short Label") == (
        "cat",
        "Variant1=A&Joint=a_joint_label:Short Label",
    )
    s = parse(doc(metadata__category="person_opens_door#Variant1=Slow,person_closes_door"))
    assert (s.activities[0].category, s.activities[0].category_variant) == (
        "person_opens_door",
        "Variant1=Slow",
    )
    assert s.activities[1].category_variant is None


def test_edit_stamps_android_millis_and_ios():
    assert parse_edit_stamp("1592591673000") == datetime(2020, 6, 19, 18, 34, 33, tzinfo=UTC)
    assert parse_edit_stamp("2020-06-19T14:34:33-0400") == datetime(
        2020, 6, 19, 18, 34, 33, tzinfo=UTC
    )
    with pytest.raises(ValueError, match="neither epoch milliseconds"):
        parse_edit_stamp("v2")


@pytest.mark.parametrize(
    ("changes", "path", "words"),
    [
        ({"metadata__frame_rate": 0}, "$.metadata.frame_rate", "greater than 0"),
        ({"metadata__frame_width": -5}, "$.metadata.frame_width", "greater than 0"),
        ({"metadata__duration": "long"}, "$.metadata.duration", "expected a number"),
        ({"metadata__video_id": _DELETE}, "$.metadata.video_id", "missing"),
        ({"metadata__collected_date": "June 19"}, "$.metadata.collected_date", "date like"),
        ({"activity__0__end_frame": 10}, "$.activity[0].end_frame", "ends before it starts"),
        ({"activity__1__end_frame": 937}, "$.activity[1].end_frame", "past the end"),
        ({"activity__1__label": "Slam"}, "$.activity[1].label", "'Slam' is not one of"),
        ({"activity__0__start_frame": 1.5}, "$.activity[0].start_frame", "whole frame"),
        ({"activity__0__object_index": [3]}, "$.activity[0].object_index[0]", "one of the 1"),
        (
            {"object__0__bounding_box__1__frame_index": 5000},
            "$.object[0].bounding_box[1].frame_index",
            "outside the video",
        ),
        (
            {"object__0__bounding_box__0__frame": {"x": 2000, "y": 0, "width": 10, "height": 10}},
            "$.object[0].bounding_box[0].frame",
            "entirely outside the 1920x1080 frame",
        ),
        (
            {"object__0__bounding_box__0__frame": {"x": 0, "y": 0, "width": 0, "height": 10}},
            "$.object[0].bounding_box[0].frame.width",
            "greater than 0",
        ),
        ({"metadata__shortname": "Open"}, "$.metadata.shortname", "must be parallel"),
        ({"metadata__latitude": 123.0}, "$.metadata.latitude", "-90..90"),
    ],
)
def test_each_defect_names_its_json_path_and_what_was_expected(changes, path, words):
    found = problems_of(doc(**changes))
    assert any(p == path and words in reason for p, reason in found), found


def test_a_box_sticking_out_of_the_frame_is_accepted():
    # The FAQ prefers a box slightly too big; only a box wholly outside the picture is wrong.
    box = {"x": 1800, "y": -20, "width": 300, "height": 600}
    s = parse(doc(object__0__bounding_box__0__frame=box))
    assert s.objects[0].boxes[0].x == 1800


def test_duplicate_keyframes_are_rejected():
    document = copy.deepcopy(BASE)
    document["object"][0]["bounding_box"][1]["frame_index"] = 30
    assert ("$.object[0].bounding_box[1]", "a second keyframe for frame 30") in problems_of(
        document
    )


def test_truncated_json_says_where_and_why():
    [(path, reason)] = problems_of(json.dumps(BASE).encode()[:200])
    assert path == "$"
    assert "not valid JSON" in reason and "line 1 column" in reason and "truncated" in reason


def test_all_problems_are_reported_at_once():
    found = problems_of(doc(metadata__frame_rate=0, activity__0__end_frame=10))
    assert {p for p, _ in found} >= {"$.metadata.frame_rate", "$.activity[0].end_frame"}


# --- GPS values phones write without a fix (docs/app-json.md, issue 19) ---------------------

_ABSENT = object()  # the field is not in the file at all
_nan = float("nan")
# Whatever a phone may send in a field, as JSON values (json.dumps writes NaN as the literal
# NaN, as Gson's serializeSpecialFloatingPointValues() and Python's json do).
_any_accuracy = st.one_of(
    st.just(_ABSENT),
    st.none(),
    st.just(_nan),
    st.floats(min_value=-1000, max_value=1000, allow_nan=False),
    st.integers(min_value=-5, max_value=100),
)
_latitudes = st.floats(min_value=-90, max_value=90, allow_nan=False)
_longitudes = st.floats(min_value=-180, max_value=180, allow_nan=False)
_not_a_coordinate = st.sampled_from([_ABSENT, None, _nan])


def _no_fix_encodings():
    """(latitude, longitude, accuracy) as iOS and Android apps write "no GPS fix"."""
    sentinel = st.tuples(
        st.sampled_from([(0, 0), (0.0, 0.0), (-0.0, 0.0), (-180, -180), (-180.0, -180.0)]),
        _any_accuracy,
    ).map(lambda t: (*t[0], t[1]))
    negative_accuracy = st.tuples(
        _latitudes,
        _longitudes,
        st.one_of(st.floats(max_value=-1e-9, min_value=-1e6), st.integers(-1000, -1)),
    )
    one_coordinate_missing = st.one_of(
        st.tuples(_not_a_coordinate, _longitudes, _any_accuracy),
        st.tuples(_latitudes, _not_a_coordinate, _any_accuracy),
        st.tuples(_not_a_coordinate, _not_a_coordinate, _any_accuracy),
    )
    return st.one_of(sentinel, negative_accuracy, one_coordinate_missing)


def _with_gps(latitude, longitude, accuracy) -> bytes:
    document = copy.deepcopy(BASE)
    for key, value in (
        ("latitude", latitude),
        ("longitude", longitude),
        ("gps_accuracy_m", accuracy),
    ):
        if value is _ABSENT:
            del document["metadata"][key]
        else:
            document["metadata"][key] = value
    return json.dumps(document).encode()  # NaN -> the literal NaN


@given(_no_fix_encodings())
def test_every_no_fix_encoding_parses_to_no_position(gps):
    """Invariant: whatever the app writes for "no fix" (Android 0,0; iOS's invalid coordinate
    -180,-180 or a negative accuracy; null, NaN or a missing coordinate; with any accuracy),
    the file parses (it is never quarantined for it) and the video has no position and no
    accuracy, exactly as when the app wrote no GPS fields at all."""
    s = parse_submission(_with_gps(*gps))
    assert (s.latitude, s.longitude, s.gps_accuracy_m) == (None, None, None)


@given(
    _latitudes,
    _longitudes,
    st.one_of(st.just(_ABSENT), st.floats(min_value=1e-3, max_value=1e5)),
)
def test_a_real_fix_round_trips(latitude, longitude, accuracy):
    """Invariant: a position in range that is no phone's "no fix" (not 0,0), with an accuracy
    above 0 or none, comes out exactly as written (JSON floats round-trip)."""
    assume((latitude, longitude) != (0, 0))
    s = parse_submission(_with_gps(latitude, longitude, accuracy))
    expected_accuracy = None if accuracy is _ABSENT else accuracy
    assert (s.latitude, s.longitude, s.gps_accuracy_m) == (latitude, longitude, expected_accuracy)


@pytest.mark.parametrize("accuracy", [0, 0.0, None, _nan])
def test_an_unknown_accuracy_keeps_the_position(accuracy):
    # Android's hasAccuracy() false: getAccuracy() is 0.0 (or the app writes null).
    s = parse_submission(_with_gps(38.9, -77.0, accuracy))
    assert (s.latitude, s.longitude, s.gps_accuracy_m) == (38.9, -77.0, None)


@pytest.mark.parametrize(
    ("gps", "path", "words"),
    [
        (("38.9", -77.0, 5), "$.metadata.latitude", "expected a number"),
        ((38.9, True, 5), "$.metadata.longitude", "expected a number"),
        ((38.9, -77.0, float("inf")), "$.metadata.gps_accuracy_m", "expected a number"),
        ((-180, 12.5, 5), "$.metadata.latitude", "-90..90"),
        ((38.9, 181, 5), "$.metadata.longitude", "-180..180"),
    ],
)
def test_gps_values_that_are_no_phone_encoding_are_still_defects(gps, path, words):
    found = problems_of(_with_gps(*gps))
    assert any(p == path and words in reason for p, reason in found), found
