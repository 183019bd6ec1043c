"""Collector dashboards (FAQ 8, 10-14): what one collector sees, as plain tables.

Frames are built for many collectors at once from a few set-based queries; each collector's
frames get a content hash so an unchanged dashboard costs no API call at all.

Practice videos (FAQ 4) are shown with their ratings and an expected payment of $0.00 that says
practice is never paid; self-serve videos (FAQ 3) are the owner's own data, never reviewed or
paid, and are not on the dashboard at all.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

import psycopg2.extensions

from collector.core.cells import SheetFormula, neutral_cell, neutral_row
from collector.core.clock import BUSINESS_TZ, week_start
from collector.core.db import packaged_sql
from collector.core.money import sheet_money
from collector.core.payment_failures import UNPAYABLE_DETAILS, collector_words
from collector.scoring.accepted import Accepted, accepted

VIDEOS_HEADER = [
    "Video ID",
    "Submitted (ET)",
    "Collection",
    "Activities and ratings",
    "Score",
    "Threshold",
    "Accepted?",
    "Why",
    "Payment",
]
PAYMENTS_HEADER = [
    "Week (Mon, ET)",
    "Accepted videos",
    "Amount (USD)",
    "Provider",
    "Status",
    "Paid at",
]
SUMMARY_HEADER = ["What", "Value"]
# One line of advice per reason, from the FAQ's own explanations.
ADVICE = {
    "Incorrect activity count": "Press each activity button at least once; retake videos with missing activities.",
    "Video too short": "Record at least the duration shown in the collection description.",
    "Outdated App": "Upgrade to the latest app version from the app store.",
    "GPS accuracy too low": "Avoid trees, bridges, tunnels and tall buildings, or try again later.",
    "Incorrect GPS location": "Collect at the location required by the collection.",
    "Repeated GPS location": "Move at least 200 meters from places you already used.",
    "Rate limit exceeded": "Only the last video in each time window is paid: spread submissions across days.",
    "Incorrect timing": "Start just after pressing the button and end just before pressing it again.",
    "Box not centered": "Keep the actor completely inside a box that is tight around them.",
    "Box too big": "Make the box tight around the actor in width and height.",
    "Box too small": "Keep the actor completely inside the box; err on slightly too big.",
    "Incorrect label": "Read the collection definition carefully before recording.",
    "Object/activity not visible": "Record in good light with the activity clearly visible.",
    "Repeated scene": "Warning only: use new backgrounds and viewpoints.",
    "Unusable video": "Check the lens is clear and the scene shows the activity.",
    "Consented subject not in video": "Enter your subject's email (not yours) when consenting.",
    "Consent not on file": (
        "Held until your subject's consent arrives: consent them in the app with their own "
        "email. A common error is entering your email address rather than your subject's."
    ),
}


@dataclass
class Dashboard:
    collector_id: str
    videos: list[list[Any]] = field(default_factory=list)
    video_count: int = 0  # all of the collector's videos, also when ``videos`` is one page
    payments: list[list[Any]] = field(default_factory=list)
    summary: list[list[Any]] = field(default_factory=list)

    def frames(self) -> dict[str, tuple[list[str], list[list[Any]]]]:
        """The tabs' header and rows as the pages show them (the HTML page, the portal)."""
        return {
            "Videos": (VIDEOS_HEADER, self.videos),
            "Payments": (PAYMENTS_HEADER, self.payments),
            "Summary": (SUMMARY_HEADER, self.summary),
        }

    def tabs(self) -> dict[str, tuple[list[str], list[list[Any]]]]:
        """The tabs as the spreadsheet is written (``USER_ENTERED``): every cell through
        :func:`sheet_cell`, so text from outside (collection names, labels, reasons naming a
        subject) can never become a formula, while our Accepted? formula stays one."""
        return {
            tab: (header, [[sheet_cell(value) for value in row] for row in rows])
            for tab, (header, rows) in self.frames().items()
        }

    def content_hash(self) -> str:
        payload = json.dumps(self.tabs(), default=str, sort_keys=True).encode()
        return hashlib.sha256(payload).hexdigest()


def sheet_cell(value: Any) -> Any:
    """A frame cell for the sheet: our own Accepted? formula (an :class:`Accepted` built from
    two numbers) as a :class:`~collector.core.cells.SheetFormula`, its answer when it has no
    formula, anything else through :func:`collector.core.cells.neutral_cell`."""
    if isinstance(value, Accepted):
        return SheetFormula(value.formula) if value.formula else value.answer
    return neutral_cell(value)


def accepted_cell(status: str | None, score: Decimal | None, threshold: Decimal) -> Accepted:
    """The Accepted? cell: :func:`collector.scoring.accepted.accepted`'s decision, whose text is
    the formula holding both numbers when the score decided (FAQ 11), else NO or PENDING."""
    return accepted(status, score, threshold)


PROVIDER_NAMES = {"paypal": "PayPal", "payoneer": "Payoneer"}
PRACTICE_PAYMENT = "$0.00 practice collection: never paid, rated so you can learn"


def payment_words(status: str, provider: str, reason: str | None = None) -> str:
    """A payout item's status as a collector reads it, with what to do when it needs them. A
    failure says whose side it is on (:func:`collector.core.payment_failures.collector_words`)
    and never quotes the provider's reason (batch keys, error payloads, our balance)."""
    name = PROVIDER_NAMES.get(provider, provider)
    if status in ("failed", "returned"):
        words = collector_words(provider, status, reason)
        return (
            f"{'failed' if status == 'failed' else 'returned'}: {words.why}; it rolls into "
            "the next payout"
            if words.theirs
            else f"delayed by {words.why}; it goes out with the next payout"
        )
    return {
        "frozen": "in this week's payout, awaiting approval",
        "pending": f"sent to {name}, processing",
        "paid": f"paid via {name}",
        "unclaimed": f"unclaimed: accept the payment in your {name} account",
    }.get(status, status)


def _payout_items(cur, collector_ids: list[str] | None) -> dict[str, list[list[Any]]]:
    """Payments tab rows from the payout ledger, newest week first."""
    cur.execute(
        """SELECT i.collector_id, b.week_start, count(v.video_id), i.amount_cents, i.provider,
                  i.status, i.failure_reason,
                  CASE WHEN i.status IN ('paid', 'unclaimed') THEN i.updated_at END
           FROM payout_items i
           JOIN payout_batches b USING (batch_id)
           LEFT JOIN payout_item_videos v USING (item_id)
           WHERE i.status <> 'released'
             AND (%(ids)s::text[] IS NULL OR i.collector_id = ANY(%(ids)s::text[]))
           GROUP BY i.item_id, b.week_start
           ORDER BY b.week_start DESC, i.item_id DESC""",
        {"ids": collector_ids},
    )
    found: dict[str, list[list[Any]]] = defaultdict(list)
    for collector, week, videos, cents, provider, status, reason, paid_at in cur.fetchall():
        found[collector].append(
            [
                week.isoformat(),
                videos,
                sheet_money(cents),
                PROVIDER_NAMES.get(provider, provider),
                payment_words(status, provider, reason),
                paid_at.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d") if paid_at else "",
            ]
        )
    return found


OPS_HEADER = [
    "Day (ET)",
    "Collection",
    "Submitted",
    "Rated",
    "Accepted",
    "Pending",
    "Acceptance rate",
]


def ops_summary(
    conn: psycopg2.extensions.connection, now: datetime
) -> tuple[list[list[Any]], list[list[Any]]]:
    """Per collection and day: submitted / rated / accepted / pending / acceptance rate; and
    the pipeline's own lag (oldest unrated video, last dashboard refresh)."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT (v.collected_at AT TIME ZONE 'America/New_York')::date AS day, v.collection_id,
                      count(*),
                      count(*) FILTER (WHERE EXISTS (
                          SELECT 1 FROM activity_ratings r WHERE r.video_id = v.video_id)),
                      count(*) FILTER (WHERE s.accepted),
                      count(*) FILTER (WHERE s.status = 'pending' OR s.status IS NULL),
                      count(*) FILTER (WHERE s.status IN ('accepted', 'rejected', 'blocked', 'superseded'))
               FROM videos v LEFT JOIN video_scores s USING (video_id)
               JOIN collection_versions cv
                 ON cv.collection_id = v.collection_id AND cv.version = v.collection_version
               WHERE cv.kind <> 'self_serve'  -- never reviewed: not the review team's work
               GROUP BY 1, 2 ORDER BY 1 DESC, 2"""
        )
        rows = [
            [
                day.isoformat(),
                cid,
                n,
                rated,
                accepted,
                pending,
                f"{accepted / decided:.0%}" if decided else "-",
            ]
            for day, cid, n, rated, accepted, pending, decided in cur.fetchall()
        ]
        cur.execute(
            """SELECT min(v.collected_at) FROM videos v
               JOIN collection_versions cv
                 ON cv.collection_id = v.collection_id AND cv.version = v.collection_version
               WHERE NOT EXISTS (SELECT 1 FROM activity_ratings r WHERE r.video_id = v.video_id)
                 AND cv.kind <> 'self_serve'"""
        )
        oldest_unrated = cur.fetchone()[0]
        cur.execute("SELECT max(refreshed_at) FROM collector_dashboards")
        last_refresh = cur.fetchone()[0]
    conn.commit()

    def ago(moment: datetime | None) -> str:
        if moment is None:
            return "-"
        hours = (now - moment).total_seconds() / 3600
        return f"{moment.astimezone(BUSINESS_TZ):%Y-%m-%d %H:%M} ET ({hours:.1f} h ago)"

    lag = [
        ["Oldest unrated video", ago(oldest_unrated)],
        ["Last dashboard refresh", ago(last_refresh)],
    ]
    # Collection ids come from the master sheet ops type: text, never a formula.
    return [neutral_row(row) for row in rows], lag


def _fill_activities(conn: psycopg2.extensions.connection, boards: dict[str, Dashboard]) -> None:
    """The "Activities and ratings" cell, in the FAQ's words, for the video rows kept."""
    rows_by_video = {row[0]: row for board in boards.values() for row in board.videos}
    if not rows_by_video:
        return
    with conn.cursor() as cur:
        cur.execute(
            """SELECT a.video_id,
                      string_agg(a.shortname || ': ' || coalesce(
                          (SELECT string_agg(rv.faq_name, ', ' ORDER BY rv.faq_name)
                           FROM unnest(s.labels) l JOIN rating_vocabulary rv ON rv.code = l),
                          'Unrated'), '; ' ORDER BY a.activity_index)
               FROM activities a
               LEFT JOIN activity_scores s USING (video_id, activity_index)
               WHERE a.video_id = ANY(%s)
               GROUP BY a.video_id""",
            (list(rows_by_video),),
        )
        for video_id, text in cur.fetchall():
            rows_by_video[video_id][3] = text or ""
    conn.commit()


class _VideoRow(NamedTuple):
    """One row of ``sql/dashboard_videos.sql``."""

    collector: str
    video_id: str
    collected: datetime
    cname: str
    score: Decimal | None
    threshold: Decimal | None
    status: str | None
    reasons: list[str] | None
    perfect: bool | None
    pay: int
    bonus: int
    payout_status: str | None
    provider: str | None
    failure_reason: str | None
    week: date  # the payout week (Monday, ET) the video was collected in
    kind: str  # of the collection version the video was collected under


@dataclass
class _Tally:
    """What a collector's Payments and Summary tabs count over every video (also unshown)."""

    weekly: dict[date, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    reasons_seen: Counter = field(default_factory=Counter)
    decided: list[bool] = field(default_factory=list)
    practice: list[int] | None = None  # submitted, accepted; None without practice videos


def build_dashboards(
    conn: psycopg2.extensions.connection,
    collector_ids: list[str] | None,
    now: datetime,
    dashboard_urls: dict[str, str] | None = None,
    videos_page: tuple[int, int] | None = None,
) -> dict[str, Dashboard]:
    """Dashboards for these collectors (all with videos when None), newest first.

    ``videos_page`` = (offset, limit) keeps only that slice of each collector's Videos tab (the
    portal pages through thousands); payments and summary always cover every video. Self-serve
    videos are left out; a collector with only those has no dashboard.
    """
    with conn.cursor() as cur:
        cur.execute(
            packaged_sql("collector.dashboards", "dashboard_videos"), {"ids": collector_ids}
        )
        rows = [_VideoRow(*row) for row in cur.fetchall()]
        ledger_rows = _payout_items(cur, collector_ids)
        # Details on file, and why the last freeze since they were saved held them, if it did.
        cur.execute(
            """SELECT p.collector_id, h.reason FROM payment_profiles p
               LEFT JOIN LATERAL (
                   SELECT reason FROM payout_holds h
                   WHERE h.collector_id = p.collector_id AND h.recorded_at >= p.updated_at
                     AND h.reason LIKE %(unpayable)s
                   ORDER BY h.week_start DESC LIMIT 1) h ON true
               WHERE %(ids)s::text[] IS NULL OR p.collector_id = ANY(%(ids)s::text[])""",
            {"ids": collector_ids, "unpayable": UNPAYABLE_DETAILS + "%"},
        )
        with_profile = dict(cur.fetchall())
    conn.commit()
    dashboards: dict[str, Dashboard] = {}
    tallies: dict[str, _Tally] = defaultdict(_Tally)
    for row in rows:
        board = dashboards.setdefault(row.collector, Dashboard(row.collector))
        board.video_count += 1
        _add_video(board, tallies[row.collector], row, videos_page)
    _fill_activities(conn, dashboards)
    this_week = week_start(now)
    for collector, board in dashboards.items():
        tally = tallies[collector]
        board.payments = _expected_payments(tally, this_week) + ledger_rows.get(collector, [])
        url = (dashboard_urls or {}).get(collector, "")
        board.summary = _summary(
            tally, this_week, url, collector in with_profile, with_profile.get(collector)
        )
    return dashboards


def _add_video(
    board: Dashboard, tally: _Tally, row: _VideoRow, videos_page: tuple[int, int] | None
) -> None:
    """Count one video into the tally; add its Videos row when it is on the page shown."""
    status = row.status or "pending"
    paid_kind = row.kind == "paid"
    cents = row.pay + (row.bonus if row.perfect else 0) if status == "accepted" and paid_kind else 0
    if cents and not row.payout_status:  # not in the payout ledger yet: expected
        tally.weekly[row.week][0] += 1
        tally.weekly[row.week][1] += cents
    if not paid_kind:
        tally.practice = tally.practice or [0, 0]
        tally.practice[0] += 1
        tally.practice[1] += status == "accepted"
    elif status in ("accepted", "rejected", "blocked", "superseded"):
        tally.decided.append(status == "accepted")
    for reason in row.reasons or []:
        key = reason.split(" (")[0]
        if key in ADVICE:
            tally.reasons_seen[key] += 1
    if videos_page and not (videos_page[0] < board.video_count <= videos_page[0] + videos_page[1]):
        return  # counted above; formatted only when shown
    board.videos.append(_video_cells(row, status, paid_kind, cents))


def _video_cells(row: _VideoRow, status: str, paid_kind: bool, cents: int) -> list[Any]:
    """The Videos tab's cells of one video (activities filled in later, for shown rows only)."""
    payment = ""
    if not paid_kind:
        payment = PRACTICE_PAYMENT
    elif status == "accepted" and row.payout_status:  # the ledger's status, not an expectation
        payment = f"{sheet_money(cents)} " + payment_words(
            row.payout_status, row.provider, row.failure_reason
        )
    elif cents:
        payment = f"expected {sheet_money(cents)}"
    threshold = row.threshold if row.threshold is not None else Decimal(0)
    reasons = row.reasons or []
    pending_why = [r for r in reasons if r in ("Unrated", "Under review", "Needs improvement")]
    return [
        row.video_id,
        row.collected.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d %H:%M"),
        row.cname,
        "",  # activities and ratings: filled in below, for the rows kept only
        "" if row.score is None else float(row.score),
        float(threshold),
        accepted_cell(status, row.score, threshold),
        "; ".join(reasons) if status != "pending" else "; ".join(pending_why or ["Unrated"]),
        payment,
    ]


def _expected_payments(tally: _Tally, this_week: date) -> list[list[Any]]:
    """Accepted videos not in a payout yet, by the week they were collected in, newest first."""
    return [
        [
            week.isoformat(),
            count,
            sheet_money(cents),
            "",
            "expected (this week)" if week == this_week else "expected",
            "",
        ]
        for week, (count, cents) in sorted(tally.weekly.items(), reverse=True)
    ]


def _summary(
    tally: _Tally, this_week: date, url: str, has_profile: bool, held: str | None = None
) -> list[list[Any]]:
    """The Summary tab: this week, acceptance rate, practice, links, the payment details (and
    why a payout held them), the three commonest reasons with the FAQ's advice."""
    outcomes = tally.decided
    rate = f"{sum(outcomes) / len(outcomes):.0%}" if outcomes else "-"
    current = tally.weekly.get(this_week, [0, 0])
    return [
        ["This week's expected payment (USD)", sheet_money(current[1])],
        ["Accepted videos this week", current[0]],
        ["Acceptance rate (decided videos)", rate],
        *(
            [["Practice videos (never paid)", "{} submitted, {} accepted".format(*tried)]]
            if (tried := tally.practice)
            else []
        ),
        ["Dashboard", url],
        [
            "Payment details",
            held
            or (
                "on file (change them under Profile)"
                if has_profile
                else "missing: enter PayPal or Payoneer under Profile to get paid"
            ),
        ],
    ] + [
        [f"Most common: {reason} ({n})", ADVICE[reason]]
        for reason, n in tally.reasons_seen.most_common(3)
    ]
