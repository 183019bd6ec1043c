"""The review queue sheet: activities out to reviewers, their ratings back in (FAQ 10).

Each queued activity gets a row id (``queue_id``) that is derived from the activity itself, so
appending is idempotent even if a run dies between the sheet write and the warehouse write.
Reviewers pick up to three ratings from a list holding exactly the FAQ's names and put their
email on the row; a second reviewer copies the row. Ratings are read back by (row id,
reviewer): rereading changes nothing, a changed rating replaces that reviewer's previous one,
and anything unknown (rating name, reviewer, row id) is reported with its cell, never guessed.

Next to the activity's quicklook sits the consent video's quicklook of the video's first
subject (that subject's newest consent), for the FAQ 10 check that the person in the video is
the one who consented. An activity is queued only once every subject of its video has a
consent on file whose quicklook is rendered (or failed, with the reason in the cell): a video
naming a subject without consent, or naming no subject, is held by scoring anyway ("Consent
not on file (...)"), so rating it early would be wasted work, and a row appended before the
consent quicklook exists would keep an empty cell for good (rows are appended once, never
rewritten). Such an activity is queued by the first run after its consent quicklook is
rendered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg2.extensions

from collector.core.cells import CellProblem, SheetFormula, cell_ref, neutral_cell
from collector.core.identity import normalize_email
from collector.review.quicklook_jobs import NEWEST_CONSENTS
from collector.review.ratings import REVIEWER_RATINGS, reviewer_rating_code

QUEUE_TAB = "Queue"
REVIEWERS_TAB = "Reviewers"
PROBLEMS_TAB = "Problems"
QUEUE_HEADER = [
    "queue_id",
    "video_id",
    "collection_id",
    "collection",
    "activity",
    "frames",
    "quicklook",
    "consent_quicklook",
    "description",
    "rating_1",
    "rating_2",
    "rating_3",
    "reviewer_email",
    "comment",
]
RATING_COLUMNS = (9, 10, 11)  # J, K, L
REVIEWER_COLUMN, COMMENT_COLUMN = 12, 13  # M, N
REVIEWERS_HEADER = ["email", "name", "active"]
RATING_CHOICES = list(REVIEWER_RATINGS.values())


class QueueLayoutError(RuntimeError):
    """The Queue tab's columns are not the ones this code writes and reads."""


def check_layout(header: list[Any]) -> None:
    """Refuse to read or append to a Queue tab whose header differs from ``QUEUE_HEADER``.

    Ratings are read by column position, so a sheet made before a column was added (the
    consent quicklook, issue 11) would put ratings under the wrong names. Failing is safer
    than guessing; the message says how to bring the sheet up to date.
    """
    found = [str(cell).strip() for cell in header]
    if found == QUEUE_HEADER:
        return
    missing = [name for name in QUEUE_HEADER if name not in found]
    raise QueueLayoutError(
        f"the {QUEUE_TAB} tab's header is {found} but this version reads {QUEUE_HEADER}"
        + (f" (missing: {', '.join(missing)})" if missing else "")
        + ". Insert the missing column(s) at the same position (e.g. an empty column H named "
        "consent_quicklook), or rename the spreadsheet's row in managed_spreadsheets to start a "
        "new review sheet; no rating was read or written."
    )


def queue_id(video_id: str, activity_index: int) -> str:
    return f"Q-{video_id}-{activity_index}"


def quicklook_cell(
    status: str,
    image_uri: str | None,
    reason: str | None,
    public_base: str | None,
    root: str | None,
    *,
    what: str = "quicklook",
) -> str:
    """``=IMAGE(url)`` for a rendered quicklook, the failure reason otherwise."""
    if status != "ok" or not image_uri:
        return f"No {what}: {reason}"
    url = image_uri
    local_root = (root or "").removeprefix("file://").rstrip("/") + "/"
    local_image = image_uri.removeprefix("file://")
    if public_base and root and local_image.startswith(local_root):
        url = public_base.rstrip("/") + "/" + local_image[len(local_root) :]
    return SheetFormula(f'=IMAGE("{url}")')


def pending_rows(
    conn: psycopg2.extensions.connection,
    *,
    public_base: str | None = None,
    quicklook_root: str | None = None,
    limit: int = 5000,
) -> list[list[Any]]:
    """Sheet rows not queued yet, oldest first, for activities with a quicklook (or a failed
    one) whose video's subjects all have a consent quicklook (or a failed one). Practice videos
    are reviewed like paid ones (FAQ 4: newcomers learn from the ratings); self-serve videos
    never enter the queue."""
    with conn.cursor() as cur:
        cur.execute(
            f"""WITH newest AS ({NEWEST_CONSENTS})
               SELECT a.video_id, a.activity_index, v.collection_id, cv.name, a.shortname,
                      a.start_frame, a.end_frame, q.status, q.image_uri, q.reason,
                      c.quicklook_status, c.quicklook_uri, c.quicklook_reason, cv.description
               FROM quicklooks q
               JOIN activities a USING (video_id, activity_index)
               JOIN videos v USING (video_id)
               JOIN collection_versions cv
                 ON cv.collection_id = v.collection_id AND cv.version = v.collection_version
               JOIN newest c ON c.subject_email = v.subject_ids[1]
               LEFT JOIN review_queue_rows r USING (video_id, activity_index)
               WHERE r.queue_id IS NULL
                 AND cv.kind <> 'self_serve'  -- the owner's own data: never reviewed by us
                 AND NOT EXISTS (
                     SELECT 1 FROM unnest(v.subject_ids) AS s(subject)
                     LEFT JOIN newest n ON n.subject_email = s.subject
                     WHERE n.quicklook_status IS NULL)
               ORDER BY v.collected_at, a.video_id, a.activity_index
               LIMIT %s""",
            (limit,),
        )
        rows = cur.fetchall()
    conn.commit()
    return [
        [
            queue_id(vid, idx),
            # Text from the app and the master sheet is never a formula; =IMAGE is ours.
            neutral_cell(vid),
            neutral_cell(cid),
            neutral_cell(cname),
            neutral_cell(label),
            f"{start}-{end}",
            quicklook_cell(status, uri, reason, public_base, quicklook_root),
            quicklook_cell(
                c_status, c_uri, c_reason, public_base, quicklook_root, what="consent quicklook"
            ),
            neutral_cell(description),
            "",
            "",
            "",
            "",
            "",
        ]
        for (
            vid,
            idx,
            cid,
            cname,
            label,
            start,
            end,
            status,
            uri,
            reason,
            c_status,
            c_uri,
            c_reason,
            description,
        ) in rows
    ]


def record_queued(conn: psycopg2.extensions.connection, rows: list[list[Any]]) -> int:
    """Remember which activities are in the sheet (idempotent)."""
    with conn.cursor() as cur:
        for row in rows:
            # From the queue id (``Q-<video>-<n>``): the sheet's video cell may be neutralized.
            vid, index = row[0][2:].rsplit("-", 1)
            index = int(index)
            cur.execute(
                "INSERT INTO review_queue_rows (queue_id, video_id, activity_index) VALUES (%s,%s,%s) "
                "ON CONFLICT DO NOTHING",
                (row[0], vid, index),
            )
    conn.commit()
    return len(rows)


def sync_reviewers(
    conn: psycopg2.extensions.connection, rows: list[list[Any]]
) -> list[CellProblem]:
    """The Reviewers tab is the list of who may rate; emails normalized (FAQ 5)."""
    problems = []
    listed: list[str] = []
    with conn.cursor() as cur:
        for r, raw in enumerate(rows[1:], start=1):
            cells = [str(v).strip() for v in raw] + [""] * 3
            if not any(cells[:3]):
                continue
            email = normalize_email(cells[0])
            if "@" not in email:
                problems.append(
                    CellProblem(cell_ref(r, 0), "email", f"expected an email, got {cells[0]!r}")
                )
                continue
            active = cells[2].casefold() not in ("false", "no", "0", "inactive")
            listed.append(email)
            cur.execute(
                """INSERT INTO reviewers (email, name, active) VALUES (%s, %s, %s)
                   ON CONFLICT (email) DO UPDATE SET name = EXCLUDED.name, active = EXCLUDED.active,
                       updated_at = now()
                   WHERE (reviewers.name, reviewers.active) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.active)""",
                (email, cells[1], active),
            )
        # Whoever is no longer on the tab may no longer rate; their past ratings stay.
        cur.execute(
            "UPDATE reviewers SET active = false, updated_at = now() "
            "WHERE active AND NOT (email = ANY(%s))",
            (listed,),
        )
    conn.commit()
    return problems


@dataclass(frozen=True)
class Rating:
    video_id: str
    activity_index: int
    reviewer_email: str
    labels: tuple[str, ...]
    comment: str
    queue_id: str
    sheet_row: int


def parse_ratings(
    rows: list[list[Any]], queued: dict[str, tuple[str, int]], reviewers: set[str]
) -> tuple[list[Rating], list[CellProblem]]:
    """Ratings from the Queue tab; rows nobody rated yet are skipped silently."""
    ratings: dict[tuple[str, int, str], Rating] = {}
    problems: list[CellProblem] = []
    twice: set[tuple[str, int, str]] = set()
    for r, raw in enumerate(rows[1:], start=1):
        cells = [str(v).strip() if v is not None else "" for v in raw] + [""] * len(QUEUE_HEADER)
        picked = [(c, cells[c]) for c in RATING_COLUMNS if cells[c]]
        if not picked:
            continue
        qid = cells[0]
        if qid not in queued:
            problems.append(
                CellProblem(
                    cell_ref(r, 0),
                    "queue_id",
                    f"{qid!r} is not a queued activity; do not edit column A",
                )
            )
            continue
        labels, bad = [], False
        for c, text in picked:
            code = reviewer_rating_code(text)
            if code is None:
                problems.append(
                    CellProblem(
                        cell_ref(r, c),
                        QUEUE_HEADER[c],
                        f"{text!r} is not a rating name; pick one of the list (the FAQ's names)",
                        qid,
                    )
                )
                bad = True
            elif code not in labels:
                labels.append(code)
        email = normalize_email(cells[REVIEWER_COLUMN])
        if not email:
            problems.append(
                CellProblem(
                    cell_ref(r, REVIEWER_COLUMN),
                    "reviewer_email",
                    "a rating needs the reviewer's email",
                    qid,
                )
            )
            bad = True
        elif email not in reviewers:
            problems.append(
                CellProblem(
                    cell_ref(r, REVIEWER_COLUMN),
                    "reviewer_email",
                    f"{email} is not on the Reviewers tab",
                    qid,
                )
            )
            bad = True
        if bad:
            continue
        video_id, index = queued[qid]
        key = (video_id, index, email)
        if key in ratings:
            twice.add(key)
            problems.append(
                CellProblem(
                    cell_ref(r, REVIEWER_COLUMN),
                    "reviewer_email",
                    f"{email} rated this activity on row "
                    f"{ratings[key].sheet_row} too; keep one row",
                    qid,
                )
            )
            continue
        ratings[key] = Rating(
            video_id, index, email, tuple(labels), cells[COMMENT_COLUMN], qid, r + 1
        )
    return [v for k, v in ratings.items() if k not in twice], problems


def load_queue_index(
    conn: psycopg2.extensions.connection,
) -> tuple[dict[str, tuple[str, int]], set[str]]:
    with conn.cursor() as cur:
        cur.execute("SELECT queue_id, video_id, activity_index FROM review_queue_rows")
        queued = {q: (v, i) for q, v, i in cur.fetchall()}
        cur.execute("SELECT email FROM reviewers WHERE active")
        reviewers = {r[0] for r in cur.fetchall()}
    conn.commit()
    return queued, reviewers


def store_ratings(conn: psycopg2.extensions.connection, ratings: list[Rating]) -> dict[str, int]:
    """Upsert ratings; returns how many were new, changed and unchanged."""
    counts = {"new": 0, "changed": 0, "unchanged": 0}
    with conn.cursor() as cur:
        for rating in ratings:
            cur.execute(
                """INSERT INTO activity_ratings (video_id, activity_index, reviewer_email, labels,
                       comment, queue_id, sheet_row)
                   VALUES (%s, %s, %s, %s, %s, %s, %s)
                   ON CONFLICT (video_id, activity_index, reviewer_email) DO UPDATE SET
                       labels = EXCLUDED.labels, comment = EXCLUDED.comment,
                       sheet_row = EXCLUDED.sheet_row, updated_at = now()
                   WHERE (activity_ratings.labels, activity_ratings.comment)
                         IS DISTINCT FROM (EXCLUDED.labels, EXCLUDED.comment)
                   RETURNING (xmax = 0) AS inserted""",
                (
                    rating.video_id,
                    rating.activity_index,
                    rating.reviewer_email,
                    list(rating.labels),
                    rating.comment,
                    rating.queue_id,
                    rating.sheet_row,
                ),
            )
            result = cur.fetchone()
            if result is None:
                counts["unchanged"] += 1
            elif result[0]:
                counts["new"] += 1
            else:
                counts["changed"] += 1
    conn.commit()
    return counts


def sheet_setup_requests(sheet_id: int, first_row: int, last_row: int) -> list[dict]:
    """Validation with exactly the FAQ's names on the rating columns of rows [first, last)."""
    return [
        {
            "setDataValidation": {
                "range": {
                    "sheetId": sheet_id,
                    "startRowIndex": first_row,
                    "endRowIndex": last_row,
                    "startColumnIndex": RATING_COLUMNS[0],
                    "endColumnIndex": RATING_COLUMNS[-1] + 1,
                },
                "rule": {
                    "condition": {
                        "type": "ONE_OF_LIST",
                        "values": [{"userEnteredValue": name} for name in RATING_CHOICES],
                    },
                    "strict": True,
                    "showCustomUi": True,
                    "inputMessage": "Pick the FAQ's rating name",
                },
            }
        }
    ]
