"""Task-side glue for the review stage (collector.review): quicklooks (plan batches, render one
batch, render consent quicklooks, write contact sheets) and the review queue sheet (create it,
append activities, collect ratings)."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from typing import Any

from collector_airflow.hooks.sheets import GoogleSheetsHook
from collector_airflow.hooks.warehouse import CollectorWarehouseHook
from collector_airflow.param_values import text_or_setting
from collector_airflow.storage import local_file, storage_path

log = logging.getLogger(__name__)
MAX_MAPPED_BATCHES = 512  # keep well under Airflow's max_map_length (1024)
PURPOSE = "review_queue"


def output_url(params: dict[str, Any]) -> str:
    from collector.core import settings  # noqa: PLC0415

    return text_or_setting(params, "output_url", settings.quicklook_url)


def plan_batches(params: dict[str, Any], conn_id: str = "collector_warehouse") -> list[list]:
    """Stale activities, as batches of [video_id, activity_index] keys (small XComs)."""
    from collector.review.quicklook_jobs import find_stale_activities  # noqa: PLC0415

    def as_date(value: str | None) -> date | None:
        return date.fromisoformat(value) if value else None

    with CollectorWarehouseHook(conn_id).connection() as conn:
        keys = find_stale_activities(
            conn,
            video_ids=params.get("video_ids") or None,
            collected_from=as_date(params.get("collected_from")),
            collected_to=as_date(params.get("collected_to")),
            force=bool(params.get("force")),
        )
    size = max(int(params.get("batch_size") or 16), -(-len(keys) // MAX_MAPPED_BATCHES))
    batches = [[list(k) for k in keys[i : i + size]] for i in range(0, len(keys), size)]
    log.info(
        "%d activities need a quicklook, in %d batches of up to %d", len(keys), len(batches), size
    )
    return batches


def render_batch(
    batch: list[list], params: dict[str, Any], conn_id: str = "collector_warehouse"
) -> dict[str, int]:
    """Render and record one batch; per-activity failures are recorded, not raised."""
    from collector.review.quicklook_jobs import load_jobs, record_results, render_and_store  # noqa: PLC0415

    now = datetime.now(UTC)
    with CollectorWarehouseHook(conn_id).connection() as conn:
        jobs = load_jobs(conn, [(k[0], int(k[1])) for k in batch])
        results = render_and_store(
            jobs,
            storage_path(output_url(params)),
            now=now,
            local_video=local_file,
            tiles=int(params.get("tiles") or 9),
        )
        record_results(conn, results, now)
    failed = [r for r in results if r["status"] == "failed"]
    rendered = len(results) - len(failed)
    times = sorted(r["render_ms"] for r in results if r["status"] == "ok")
    median = times[len(times) // 2] if times else 0
    log.info("rendered %d quicklooks (median %d ms), %d failed", rendered, median, len(failed))
    return {"rendered": rendered, "failed": len(failed)}


def render_consent_quicklooks(
    params: dict[str, Any], conn_id: str = "collector_warehouse"
) -> dict[str, int]:
    """Render and record the quicklook of each subject's newest consent not rendered yet."""
    from collector.review.quicklook_jobs import (  # noqa: PLC0415
        find_unrendered_consents,
        record_consent_results,
        render_consent_quicklooks,
    )

    now = datetime.now(UTC)
    with CollectorWarehouseHook(conn_id).connection() as conn:
        jobs = find_unrendered_consents(conn)
        results = render_consent_quicklooks(
            jobs, storage_path(output_url(params)), local_video=local_file
        )
        record_consent_results(conn, results, now)
    failed = sum(1 for r in results if r["status"] == "failed")
    log.info("rendered %d consent quicklooks, %d failed", len(results) - failed, failed)
    return {"rendered": len(results) - failed, "failed": failed}


def write_contact_sheets(
    summaries: list[dict],
    params: dict[str, Any],
    since: datetime,
    conn_id: str = "collector_warehouse",
) -> list[str]:
    """Rewrite the contact sheet of every review day this run touched; return their URLs."""
    from collector.review.quicklook_jobs import contact_sheet_days, contact_sheet_html  # noqa: PLC0415

    root_url = output_url(params)
    root = storage_path(root_url)
    written = []
    with CollectorWarehouseHook(conn_id).connection() as conn:
        for day in contact_sheet_days(conn, since):
            page = root / f"contact-sheet-{day}.html"
            root.mkdir(parents=True, exist_ok=True)
            page.write_text(contact_sheet_html(conn, day, str(root)))
            written.append(str(page))
            log.info("contact sheet for %s: %s", day, page)
    return written


# The review queue sheet


def ensure_review_sheet(title: str = "Review queue") -> str:
    """The review queue spreadsheet, created, laid out and shared on first use."""
    from collector.core.managed_sheets import managed_sheet, record_managed_sheet  # noqa: PLC0415

    with CollectorWarehouseHook().connection() as conn:
        found = managed_sheet(conn, PURPOSE)
        conn.commit()
        if found:
            return found.spreadsheet_id
        sheet_id = _create_review_sheet(GoogleSheetsHook(), title)
        record_managed_sheet(conn, PURPOSE, sheet_id, title)
        conn.commit()
        log.info("created the review queue spreadsheet %s", sheet_id)
        return sheet_id


def _create_review_sheet(hook: GoogleSheetsHook, title: str) -> str:
    """Create and share the review queue spreadsheet, lay out its Queue and Reviewers tabs."""
    from collector.core import settings  # noqa: PLC0415
    from collector.review import queue as rq  # noqa: PLC0415

    sheet_id = hook.create_and_share(
        title,
        worksheets=[rq.QUEUE_TAB, rq.REVIEWERS_TAB, rq.PROBLEMS_TAB],
        writers=settings.review_sheet_writers(),
    )
    queue = hook.worksheet(hook.open(sheet_id), rq.QUEUE_TAB)
    ids_range = {
        "sheetId": queue.id,
        "startRowIndex": 1,
        "startColumnIndex": 0,
        "endColumnIndex": rq.RATING_COLUMNS[0],
    }
    hook.write_table(
        sheet_id,
        rq.QUEUE_TAB,
        rq.QUEUE_HEADER,
        [],
        formatting=[
            {
                "repeatCell": {
                    "range": {"sheetId": queue.id, "endRowIndex": 1},
                    "cell": {"userEnteredFormat": {"textFormat": {"bold": True}}},
                    "fields": "userEnteredFormat.textFormat.bold",
                }
            },
            # Reviewers fill J:N; the ids and images left of it are ours (a warning, no lock).
            {
                "addProtectedRange": {
                    "protectedRange": {
                        "range": ids_range,
                        "description": "filled by the pipeline",
                        "warningOnly": True,
                    }
                }
            },
        ],
    )
    hook.write_table(sheet_id, rq.REVIEWERS_TAB, rq.REVIEWERS_HEADER, [], spare_rows=100)
    return sheet_id


def append_new_activities(sheet_id: str) -> int:
    """Append activities ready for review (both quicklooks) not in the sheet; returns how many."""
    from collector.core import settings  # noqa: PLC0415
    from collector.review import queue as rq  # noqa: PLC0415

    hook = GoogleSheetsHook()
    with CollectorWarehouseHook().connection() as conn:
        pending = rq.pending_rows(
            conn,
            public_base=settings.quicklook_public_url(),
            quicklook_root=settings.quicklook_url(),
        )
        if not pending:
            log.info("no new activities for the review queue")
            return 0
        book = hook.open(sheet_id)
        header, ids = book.values_batch_get([f"'{rq.QUEUE_TAB}'!1:1", f"'{rq.QUEUE_TAB}'!A:A"])[
            "valueRanges"
        ]
        rq.check_layout((header.get("values") or [[]])[0])
        # Rows a previous, interrupted run already appended are not appended twice.
        present = {row[0] for row in ids.get("values", []) if row}
        new_rows = [row for row in pending if row[0] not in present]
        if new_rows:
            response = hook.append_rows(sheet_id, rq.QUEUE_TAB, new_rows)
            first, last = _row_span(response["updates"]["updatedRange"])
            queue = hook.worksheet(book, rq.QUEUE_TAB)
            book.batch_update({"requests": rq.sheet_setup_requests(queue.id, first, last)})
        rq.record_queued(conn, pending)
    log.info("appended %d activities to the review queue", len(new_rows))
    return len(new_rows)


def _row_span(a1: str) -> tuple[int, int]:
    """``'Queue'!A5:N9`` -> (4, 9): 0-based first row, end-exclusive."""
    cells = a1.rsplit("!", 1)[1]
    start, _, end = cells.partition(":")

    def row_of(cell: str) -> int:
        return int("".join(ch for ch in cell if ch.isdigit()))

    return row_of(start) - 1, row_of(end or start)


def collect_ratings(sheet_id: str) -> dict[str, Any]:
    """Reviewers tab -> reviewers; Queue tab -> activity_ratings; problems -> Problems tab."""
    from collector.review import queue as rq  # noqa: PLC0415

    hook = GoogleSheetsHook()
    book_rows = hook.open(sheet_id).values_batch_get(
        [f"'{rq.REVIEWERS_TAB}'", f"'{rq.QUEUE_TAB}'"]
    )["valueRanges"]
    reviewer_rows, queue_rows = (r.get("values", []) for r in book_rows)
    rq.check_layout(queue_rows[0] if queue_rows else [])
    with CollectorWarehouseHook().connection() as conn:
        problems = rq.sync_reviewers(conn, reviewer_rows)
        queued, reviewers = rq.load_queue_index(conn)
        ratings, rating_problems = rq.parse_ratings(queue_rows, queued, reviewers)
        counts = rq.store_ratings(conn, ratings)
    problems += rating_problems
    for problem in problems:
        log.warning("review queue: %s", problem)
    hook.write_table(
        sheet_id,
        rq.PROBLEMS_TAB,
        ["problem (cell column: what to fix)"],
        [[str(p)] for p in problems] or [["no problems"]],
    )
    summary = {**counts, "problems": [str(p) for p in problems]}
    log.info(
        "ratings: %d new, %d changed, %d unchanged, %d problems",
        counts["new"],
        counts["changed"],
        counts["unchanged"],
        len(problems),
    )
    return summary
