"""The weekly payout's finance report: a CSV for accounting and an HTML page to approve from.

Built from the ledger inside the freeze's transaction, so a dry run (rolled back afterwards)
shows exactly what a real run would have frozen.
"""

from __future__ import annotations

import csv
import html
import io
import statistics
from dataclasses import dataclass, field
from datetime import date, timedelta

import psycopg2.extensions

CSV_HEADER = [
    "week_start",
    "batch_id",
    "provider",
    "attempt",
    "batch_state",
    "collector_id",
    "receiver",
    "amount_usd",
    "amount_cents",
    "currency",
    "videos",
    "idempotency_key",
    "item_status",
]
ANOMALY_FACTOR = 3  # a week above 3x the collector's own median is worth a look
ANOMALY_WEEKS = 8
ANOMALY_MIN_WEEKS = 3  # fewer paid weeks than this: no median worth comparing to


def dollars(cents: int) -> str:
    """Integer cents as a plain dollar amount, never through float: 1234 -> "12.34"."""
    sign = "-" if cents < 0 else ""
    cents = abs(int(cents))
    return f"{sign}{cents // 100}.{cents % 100:02d}"


@dataclass
class FinanceReport:
    week: date
    dry_run: bool
    batches: list[dict] = field(default_factory=list)
    items: list[list] = field(default_factory=list)
    per_collection: list[dict] = field(default_factory=list)
    held: list[dict] = field(default_factory=list)
    rolled_over: list[dict] = field(default_factory=list)
    anomalies: list[dict] = field(default_factory=list)
    paid_score_changes: list[dict] = field(default_factory=list)

    @property
    def total_cents(self) -> int:
        return sum(b["total_cents"] for b in self.batches)

    def summary(self) -> dict:
        """Small and JSON-safe: what the approval shows and what the task returns."""
        return {
            "week": self.week.isoformat(),
            "dry_run": self.dry_run,
            "total_usd": dollars(self.total_cents),
            "batches": [
                {k: b[k] for k in ("batch_id", "provider", "state", "item_count", "total_cents")}
                for b in self.batches
            ],
            "held_collectors": len(self.held),
            "held_usd": dollars(sum(h["amount_cents"] for h in self.held)),
            "rolled_over_videos": len(self.rolled_over),
            "anomalies": len(self.anomalies),
            "paid_score_changes": len(self.paid_score_changes),
        }

    def markdown(self) -> str:
        """The approval's body in the Airflow UI: enough to decide, with the report's path."""
        lines = [
            f"**Week of {self.week:%a %b %d, %Y}** (Monday to Monday, ET): "
            f"**${dollars(self.total_cents)}** to pay.",
            "",
            "| provider | batch | items | amount (USD) |",
            "|---|---|---:|---:|",
        ]
        lines += [
            f"| {b['provider']} | {b['batch_id']} (attempt {b['attempt']}) | {b['item_count']} "
            f"| {dollars(b['total_cents'])} |"
            for b in self.batches
        ]
        lines += [
            "",
            f"- Held (not paid, with the reason): {len(self.held)} collectors, "
            f"${dollars(sum(h['amount_cents'] for h in self.held))}",
            f"- Videos rolled over from earlier weeks or failed payments: {len(self.rolled_over)}",
            f"- Anomalies (more than {ANOMALY_FACTOR}x the collector's {ANOMALY_WEEKS}-week "
            f"median): {len(self.anomalies)}",
            f"- Score changes on already-paid videos: {len(self.paid_score_changes)}",
        ]
        return "\n".join(lines)

    def csv_text(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        writer.writerows(self.items)
        return out.getvalue()

    def html_text(self) -> str:
        def table(header: list[str], rows: list[list]) -> str:
            if not rows:
                return "<p class=none>None.</p>"
            head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
            body = "".join(
                "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                for row in rows
            )
            return f"<table><tr>{head}</tr>{body}</table>"

        banner = (
            "<p class=dry>DRY RUN: nothing was frozen, approved or paid.</p>"
            if self.dry_run
            else ""
        )
        sections = [
            ("Batches", ["provider", "batch", "attempt", "state", "items", "amount (USD)"],
             [[b["provider"], b["batch_id"], b["attempt"], b["state"], b["item_count"],
               dollars(b["total_cents"])] for b in self.batches]),
            ("Totals per provider and collection",
             ["provider", "collection", "videos", "collectors", "amount (USD)"],
             [[r["provider"], r["collection_id"], r["videos"], r["collectors"],
               dollars(r["cents"])] for r in self.per_collection]),
            ("Held collectors (not in this payout)", ["collector", "reason", "videos", "amount (USD)"],
             [[h["collector_id"], h["reason"], h["video_count"], dollars(h["amount_cents"])]
              for h in self.held]),
            ("Rolled over into this week", ["collector", "video", "collected in week", "why"],
             [[r["collector_id"], r["video_id"], r["video_week"], r["why"]]
              for r in self.rolled_over]),
            (f"Anomalies: more than {ANOMALY_FACTOR}x the collector's own {ANOMALY_WEEKS}-week median",
             ["collector", "this week (USD)", "median (USD)", "weeks compared"],
             [[a["collector_id"], dollars(a["cents"]), dollars(a["median_cents"]), a["weeks"]]
              for a in self.anomalies]),
            ("Score changes on already-paid videos",
             ["video", "collector", "paid in batch", "changed at", "was", "now"],
             [[c["video_id"], c["collector_id"], c["batch_id"], c["changed_at"], c["old"], c["new"]]
              for c in self.paid_score_changes]),
        ]  # fmt: skip
        body = "".join(f"<h2>{html.escape(t)}</h2>{table(h, r)}" for t, h, r in sections)
        return f"""<!doctype html><html><head><meta charset="utf-8">
<title>Payout {self.week} - ${dollars(self.total_cents)}</title><style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; max-width: 70rem; }}
table {{ border-collapse: collapse; font-size: 14px; margin-bottom: 1rem; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; }}
th {{ background: #f1f3f4; }} .dry {{ background: #fff3cd; padding: .5rem; font-weight: 600; }}
.none {{ color: #666; }}
</style></head><body><h1>Weekly payout, week of {self.week:%A %B %d, %Y}</h1>{banner}
<p>Total to pay: <b>${dollars(self.total_cents)}</b> in {len(self.items)} payments.
Amounts are whole cents; the CSV beside this page lists every payment.</p>{body}
</body></html>"""


def build_report(
    conn: psycopg2.extensions.connection,
    week: date,
    batch_ids: list[int],
    dry_run: bool = False,
) -> FinanceReport:
    """The report for these batches of ``week`` (read in the caller's transaction)."""
    report = FinanceReport(week, dry_run)
    with conn.cursor() as cur:
        cur.execute(
            """SELECT batch_id, provider, attempt, state, item_count, total_cents
               FROM payout_batches WHERE batch_id = ANY(%s) ORDER BY provider, batch_id""",
            (batch_ids,),
        )
        keys = ("batch_id", "provider", "attempt", "state", "item_count", "total_cents")
        report.batches = [dict(zip(keys, row, strict=True)) for row in cur.fetchall()]
        cur.execute(
            """SELECT b.week_start, b.batch_id, b.provider, b.attempt, b.state, i.collector_id,
                      i.receiver, i.amount_cents, i.currency, coalesce(v.videos, 0),
                      i.idempotency_key, i.status
               FROM payout_items i JOIN payout_batches b USING (batch_id)
               LEFT JOIN (SELECT pv.item_id, count(*) AS videos
                          FROM payout_item_videos pv JOIN payout_items pi USING (item_id)
                          WHERE pi.batch_id = ANY(%(batches)s) AND pv.released_at IS NULL
                          GROUP BY pv.item_id) v USING (item_id)
               WHERE b.batch_id = ANY(%(batches)s) ORDER BY b.provider, i.collector_id""",
            {"batches": batch_ids},
        )
        for row in cur.fetchall():
            row = list(row)
            row[0] = row[0].isoformat()
            report.items.append([*row[:7], dollars(row[7]), *row[7:]])
        cur.execute(
            """SELECT i.provider, v.collection_id, count(*), count(DISTINCT i.collector_id),
                      sum(v.pay_cents + v.bonus_cents)
               FROM payout_items i JOIN payout_item_videos v USING (item_id)
               WHERE i.batch_id = ANY(%s) AND v.released_at IS NULL
               GROUP BY 1, 2 ORDER BY 1, 2""",
            (batch_ids,),
        )
        keys = ("provider", "collection_id", "videos", "collectors", "cents")
        report.per_collection = [dict(zip(keys, r, strict=True)) for r in cur.fetchall()]
        cur.execute(
            """SELECT collector_id, reason, video_count, amount_cents FROM payout_holds
               WHERE week_start = %s ORDER BY amount_cents DESC, collector_id""",
            (week,),
        )
        keys = ("collector_id", "reason", "video_count", "amount_cents")
        report.held = [dict(zip(keys, r, strict=True)) for r in cur.fetchall()]
        # Rolled over: a video from an earlier week, or one whose earlier payment was released.
        # Set-based (hash joins), so the cost stays linear whatever the planner's statistics.
        cur.execute(
            """WITH live AS MATERIALIZED (
                   SELECT i.collector_id, v.video_id, v.video_week
                   FROM payout_items i JOIN payout_item_videos v USING (item_id)
                   WHERE i.batch_id = ANY(%(batches)s) AND v.released_at IS NULL),
               earlier AS (
                   SELECT DISTINCT ON (pv.video_id) pv.video_id,
                          'earlier payment ' || pi.status
                          || coalesce(': ' || pi.failure_reason, '')
                          || ' (batch ' || pi.batch_id || ')' AS why
                   FROM payout_item_videos pv JOIN payout_items pi USING (item_id)
                   JOIN live USING (video_id)
                   WHERE pv.released_at IS NOT NULL
                   ORDER BY pv.video_id, pv.released_at DESC)
               SELECT live.collector_id, live.video_id, live.video_week, earlier.why
               FROM live LEFT JOIN earlier USING (video_id)
               WHERE live.video_week < %(week)s OR earlier.video_id IS NOT NULL
               ORDER BY live.collector_id, live.video_id""",
            {"batches": batch_ids, "week": week},
        )
        report.rolled_over = [
            {
                "collector_id": c,
                "video_id": v,
                "video_week": w.isoformat(),
                "why": why or "accepted after its week was paid",
            }
            for c, v, w, why in cur.fetchall()
        ]
        report.anomalies = _anomalies(cur, week, batch_ids)
        cur.execute(
            """SELECT ch.video_id, i.collector_id, i.batch_id, ch.changed_at,
                      ch.old_status, ch.old_score, ch.new_status, ch.new_score
               FROM video_score_changes ch
               JOIN payout_item_videos v ON v.video_id = ch.video_id AND v.released_at IS NULL
               JOIN payout_items i USING (item_id)
               WHERE i.status IN ('paid', 'pending', 'unclaimed')
                 AND ch.changed_at > v.claimed_at AND ch.old_accepted AND NOT ch.new_accepted
               ORDER BY ch.changed_at DESC LIMIT 500"""
        )
        report.paid_score_changes = [
            {
                "video_id": video,
                "collector_id": collector,
                "batch_id": batch,
                "changed_at": changed.isoformat(timespec="minutes"),
                "old": f"{old_status} {old_score if old_score is not None else ''}".strip(),
                "new": f"{new_status} {new_score if new_score is not None else ''}".strip(),
            }
            for video, collector, batch, changed, old_status, old_score, new_status, new_score in (
                cur.fetchall()
            )
        ]
    return report


def _anomalies(cur, week: date, batch_ids: list[int]) -> list[dict]:
    """Collectors whose amount is above 3x the median of their own paid weeks (8 before)."""
    cur.execute(
        """SELECT i.collector_id, i.amount_cents, prior.weekly
           FROM payout_items i
           JOIN LATERAL (
               SELECT array_agg(w.cents) AS weekly FROM (
                   SELECT sum(pi.amount_cents) AS cents
                   FROM payout_items pi JOIN payout_batches pb USING (batch_id)
                   WHERE pi.collector_id = i.collector_id
                     AND pb.week_start >= %s AND pb.week_start < %s
                     AND pi.status IN ('paid', 'pending', 'unclaimed')
                   GROUP BY pb.week_start) w
           ) prior ON true
           WHERE i.batch_id = ANY(%s)""",
        (week - timedelta(weeks=ANOMALY_WEEKS), week, batch_ids),
    )
    found = []
    for collector, cents, weekly in cur.fetchall():
        if not weekly or len(weekly) < ANOMALY_MIN_WEEKS:
            continue
        median = statistics.median(int(w) for w in weekly)
        if cents > ANOMALY_FACTOR * median:
            found.append(
                {
                    "collector_id": collector,
                    "cents": int(cents),
                    "median_cents": int(median),
                    "weeks": len(weekly),
                }
            )
    return sorted(found, key=lambda a: -a["cents"])


def ledger_status(conn: psycopg2.extensions.connection, week: date | None = None) -> str:
    """Plain text for ops and finance: each batch of the week (all weeks when None), its items
    by status and amount, and who is held and why."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT b.week_start, b.batch_id, b.provider, b.attempt, b.state, b.total_cents,
                      b.approved_by, b.state_reason,
                      (SELECT string_agg(status || ' ' || n || ' ($' || cents || ')', ', '
                                         ORDER BY status)
                       FROM (SELECT status, count(*) AS n,
                                    to_char(sum(amount_cents) / 100.0, 'FM999999990.00') AS cents
                             FROM payout_items WHERE batch_id = b.batch_id GROUP BY status) s)
               FROM payout_batches b
               WHERE %(week)s::date IS NULL OR b.week_start = %(week)s::date
               ORDER BY b.week_start DESC, b.provider, b.attempt""",
            {"week": week},
        )
        batches = cur.fetchall()
        cur.execute(
            """SELECT week_start, collector_id, reason, video_count, amount_cents
               FROM payout_holds WHERE %(week)s::date IS NULL OR week_start = %(week)s::date
               ORDER BY week_start DESC, collector_id""",
            {"week": week},
        )
        holds = cur.fetchall()
    conn.commit()
    lines = [f"Payouts{f' for the week of {week}' if week else ''}:"]
    if not batches:
        lines.append("  no batches")
    for monday, batch_id, provider, attempt, state, total, by, reason, items in batches:
        lines.append(
            f"  {monday} {provider} batch {batch_id} (attempt {attempt}): {state}, "
            f"${dollars(total)}{f', approved by {by}' if by else ''}"
            f"{f' - {reason}' if reason else ''}"
        )
        lines.append(f"      items: {items}")
    for monday, collector, reason, videos, cents in holds:
        lines.append(f"  held {monday} {collector}: {videos} videos, ${dollars(cents)}: {reason}")
    return "\n".join(lines)
