"""Demo helper, acting as people would in Google Sheets: ops fill the Collections master sheet,
reviewers sign up on the Reviewers tab and rate a few activities. Uses the same hook (and so
the same connection) as the DAGs."""

from __future__ import annotations

import sys

from collector_tools.demo_files import demo_collections

from collector.catalog.master_sheet import MASTER_HEADER, definition_row
from collector.review.queue import COMMENT_COLUMN, RATING_COLUMNS
from collector_airflow.hooks.sheets import GoogleSheetsHook

REVIEWERS = [
    ["Rita.Reviewer@example.com", "Rita", "TRUE"],
    ["sam.reviewer@example.com", "Sam", "TRUE"],
]
# (ratings, reviewer) typed on the first queue rows, in the FAQ's words
RATINGS = [
    (["Good"], "rita.reviewer@example.com"),
    (["Perfect"], "rita.reviewer@example.com"),
    (["Box too big", "Incorrect timing"], "sam.reviewer@example.com"),
    (["Good"], "sam.reviewer@example.com"),
    (["Good"], "rita.reviewer@example.com"),
    (["Under review"], "sam.reviewer@example.com"),
    (["Incorrect label"], "rita.reviewer@example.com"),
    (["Gud"], "sam.reviewer@example.com"),  # a typo the pipeline must report, not guess
    # the rest of the queue passes, so the demo week's payout has several collectors to pay
    *[(["Good"], "rita.reviewer@example.com")] * 12,
]


def master_sheet() -> None:
    hook = GoogleSheetsHook()
    sheet_id = hook.create_and_share(
        "Collections master sheet", worksheets=["Collections"], writers=["ops@example.com"]
    )
    hook.write_table(
        sheet_id,
        "Collections",
        MASTER_HEADER,
        [definition_row(d) for d in demo_collections()],
        spare_rows=20,
    )
    print(sheet_id)


def ratings(sheet_id: str) -> None:
    book = GoogleSheetsHook().open(sheet_id)
    book.worksheet("Reviewers").update(REVIEWERS, f"A2:C{len(REVIEWERS) + 1}")
    queue = book.worksheet("Queue")
    rows = [[*[*labels, "", "", ""][:3], reviewer, ""] for labels, reviewer in RATINGS]
    first, last = (chr(ord("A") + c) for c in (RATING_COLUMNS[0], COMMENT_COLUMN))
    queue.update(rows, f"{first}2:{last}{len(rows) + 1}", value_input_option="USER_ENTERED")
    print(f"{len(REVIEWERS)} reviewers and {len(rows)} ratings typed into the review queue")


if __name__ == "__main__":
    {"master-sheet": lambda: master_sheet(), "ratings": lambda: ratings(sys.argv[2])}[sys.argv[1]]()
