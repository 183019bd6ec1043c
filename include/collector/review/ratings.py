"""The FAQ's rating vocabulary (FAQ 10): the words collectors read, the codes we store.

Reviewer ratings are what the review team picks for an activity; automated ones come from
checks on the submission (scoring); statuses say that no decision exists yet.
"""

from __future__ import annotations

# code -> the FAQ's own words, in the FAQ's order
REVIEWER_RATINGS: dict[str, str] = {
    "good": "Good",
    "perfect": "Perfect",
    "repeated_scene": "Repeated scene",
    "box_not_centered": "Box not centered",
    "box_too_big": "Box too big",
    "box_too_small": "Box too small",
    "incorrect_timing": "Incorrect timing",
    "incorrect_label": "Incorrect label",
    "not_visible": "Object/activity not visible",
    "incorrect_viewpoint": "Incorrect viewpoint",
    "wrong_location": "Wrong location",
    "invalid_repetition_count": "Invalid repetition count",
    "incorrect_instances_per_video": "Incorrect instances per video",
    "wrong_actor_pose": "Wrong actor pose",
    "incorrect_scene_illumination": "Incorrect scene illumination",
    "incorrect_style": "Incorrect style",
    "incorrect_objects": "Incorrect objects",
    "no_joint_activity": "No joint activity",
    "unusable_video": "Unusable video",
    "needs_improvement": "Needs improvement",
    "consented_subject_not_in_video": "Consented subject not in video",
    "under_review": "Under review",
}
AUTOMATED_RATINGS: dict[str, str] = {
    "rate_limit_exceeded": "Rate limit exceeded",
    "incorrect_activity_count": "Incorrect activity count",
    "incorrect_gps_location": "Incorrect GPS location",
    "repeated_gps_location": "Repeated GPS location",
    "gps_accuracy_too_low": "GPS accuracy too low",
    "video_too_short": "Video too short",
    "outdated_app": "Outdated App",
    "consent_missing": "Consent not on file",
    # not the FAQ's: reported with the score, it neither blocks nor holds (docs/scoring.md)
    "app_version_unreadable": "App version not readable",
}
STATUSES: dict[str, str] = {"unrated": "Unrated", "under_review": "Under review"}

_BY_NAME = {name.casefold(): code for code, name in REVIEWER_RATINGS.items()}


def reviewer_rating_code(text: str) -> str | None:
    """The code for a rating a reviewer typed or picked (case and spaces forgiven), else None.

    Only the FAQ's names (or their codes) are accepted: anything else is reported, not guessed.
    """
    key = " ".join(text.split()).casefold()
    if key in _BY_NAME:
        return _BY_NAME[key]
    return key if key in REVIEWER_RATINGS else None
