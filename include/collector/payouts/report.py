"""The weekly payout's finance report: a CSV for accounting and an HTML page to approve from.

Built from the ledger inside the freeze's transaction, so a dry run (rolled back afterwards)
shows exactly what a real run would have frozen.
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import re
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol

import psycopg2.extensions

from collector.core.cells import neutral_row
from collector.core.db import packaged_sql
from collector.core.identity import mask_receiver
from collector.core.money import dollars, usd

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


PAYEES_IN_APPROVAL = 10  # the approval lists the largest payments; the page lists all
PAID_STATUSES = ("paid", "unclaimed", "pending")  # sent: the money left us or is leaving


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
    # One per payment in these batches: collector, provider, receiver (masked), cents, videos,
    # status; largest first. The CSV keeps the whole receiver for accounting, the page never.
    payees: list[dict] = field(default_factory=list)
    # The week's payments sent by earlier batches (paid, unclaimed or pending), same shape plus
    # batch_id and attempt: what a re-run of a paid week shows beside its $0.00.
    already_paid: list[dict] = field(default_factory=list)

    @property
    def total_cents(self) -> int:
        return sum(b["total_cents"] for b in self.batches)

    @property
    def collectors(self) -> int:
        """Distinct collectors paid by these batches."""
        return len({p["collector_id"] for p in self.payees})

    @property
    def already_paid_cents(self) -> int:
        return sum(p["amount_cents"] for p in self.already_paid)

    def subject(self) -> str:
        """The approval's subject: amount, payees and week, so two approvals never look alike:
        "Approve $1,234.56 to 42 collectors for the week of 2026-11-16"."""
        n = self.collectors
        return (
            f"Approve {usd(self.total_cents)} to {n} collector{'' if n == 1 else 's'} "
            f"for the week of {self.week.isoformat()}" + (" (dry run)" if self.dry_run else "")
        )

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
            "collectors": self.collectors,
            "payments": len(self.payees),
            "already_paid_payments": len(self.already_paid),
            "already_paid_usd": dollars(self.already_paid_cents),
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
        if self.payees:
            shown = self.payees[:PAYEES_IN_APPROVAL]
            lines += [
                "",
                f"**Payees**: {len(self.payees)} payments to {self.collectors} collectors"
                + (f", the {len(shown)} largest:" if len(shown) < len(self.payees) else ":"),
                "",
                "| collector | provider | receiver | amount (USD) |",
                "|---|---|---|---:|",
            ]
            lines += [
                f"| {p['collector_id']} | {p['provider']} | {p['receiver']} "
                f"| {dollars(p['amount_cents'])} |"
                for p in shown
            ]
        lines += [
            "",
            f"**Already paid for this week** by earlier batches: {len(self.already_paid)} "
            f"payments, {usd(self.already_paid_cents)}.",
        ]
        return "\n".join(lines)

    def csv_text(self) -> str:
        """Accounting's file. Every text cell goes through
        :func:`collector.core.cells.neutral_cell` (a receiver or collector id starting with
        ``=``, ``+``, ``-``, ``@``, tab or CR gets a leading ``'``, so Excel and LibreOffice
        never run it); numbers stay numbers; the csv module quotes a value holding a comma,
        quote or line break. It starts with a UTF-8 byte order mark, without which Excel reads
        the file as the local code page (``maria.weiß@`` would show as ``maria.weiÃŸ@``)."""
        out = io.StringIO()
        out.write("\ufeff")
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        writer.writerows(neutral_row(row) for row in self.items)
        return out.getvalue()

    def html_text(self, run_id: str | None = None, try_number: int | None = None) -> str:
        """The page finance reads; names the run and try that wrote it when given."""

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
            (f"Payees: {len(self.payees)} payments to {self.collectors} collectors",
             ["collector", "provider", "receiver (masked)", "amount (USD)", "videos", "status"],
             [[p["collector_id"], p["provider"], p["receiver"], dollars(p["amount_cents"]),
               p["videos"], p["status"]] for p in self.payees]),
            (f"Already paid for this week by earlier batches: {usd(self.already_paid_cents)}",
             ["batch", "attempt", "collector", "provider", "receiver (masked)", "amount (USD)",
              "status"],
             [[p["batch_id"], p["attempt"], p["collector_id"], p["provider"], p["receiver"],
               dollars(p["amount_cents"]), p["status"]] for p in self.already_paid]),
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
        written_by = (
            f"<p>Written by run <code>{html.escape(run_id)}</code>, try {int(try_number or 1)}.</p>"
            if run_id
            else ""
        )
        return f"""<!doctype html><html><head><meta charset="utf-8">
<title>Payout {self.week} - ${dollars(self.total_cents)}</title><style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; max-width: 70rem; }}
table {{ border-collapse: collapse; font-size: 14px; margin-bottom: 1rem; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; text-align: left; }}
th {{ background: #f1f3f4; }} .dry {{ background: #fff3cd; padding: .5rem; font-weight: 600; }}
.none {{ color: #666; }}
</style></head><body><h1>Weekly payout, week of {self.week:%A %B %d, %Y}</h1>{banner}{written_by}
<p>Total to pay: <b>${dollars(self.total_cents)}</b> in {len(self.items)} payments to
{self.collectors} collectors. Already paid for this week by earlier batches:
<b>{usd(self.already_paid_cents)}</b> in {len(self.already_paid)} payments.
Amounts are whole cents; receivers are masked here, the CSV for accounting holds them whole.</p>
{body}
</body></html>"""


def build_report(
    conn: psycopg2.extensions.connection,
    week: date,
    batch_ids: list[int],
    dry_run: bool = False,
) -> FinanceReport:
    """The report for these batches of ``week`` (read in the caller's transaction).

    Receivers are masked with :func:`collector.core.identity.mask_receiver` (the Profile audit's masking)
    everywhere but the CSV's rows, which accounting needs whole.
    """
    report = FinanceReport(week, dry_run)
    with conn.cursor() as cur:
        _add_batches_and_items(cur, report, batch_ids)
        _add_already_paid(cur, report, week, batch_ids)
        _add_collections_and_holds(cur, report, week, batch_ids)
        _add_rolled_over(cur, report, week, batch_ids)
        report.anomalies = _anomalies(cur, week, batch_ids)
        _add_paid_score_changes(cur, report)
    return report


def _add_batches_and_items(cur, report: FinanceReport, batch_ids: list[int]) -> None:
    """The batches, their items (the CSV's rows) and the payees, largest payment first."""

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
        report.payees.append(
            {
                "collector_id": row[5],
                "provider": row[2],
                "receiver": mask_receiver(row[2], row[6]),
                "amount_cents": int(row[7]),
                "videos": int(row[9]),
                "status": row[11],
            }
        )
    report.payees.sort(key=lambda p: (-p["amount_cents"], p["collector_id"], p["provider"]))


def _add_already_paid(cur, report: FinanceReport, week: date, batch_ids: list[int]) -> None:
    """Payments of the same week sent by earlier batches (receivers masked)."""

    cur.execute(
        """SELECT b.batch_id, b.attempt, i.collector_id, i.provider, i.receiver,
                  i.amount_cents, i.status
           FROM payout_items i JOIN payout_batches b USING (batch_id)
           WHERE b.week_start = %s AND NOT (b.batch_id = ANY(%s)) AND i.status = ANY(%s)
           ORDER BY i.amount_cents DESC, i.collector_id, b.batch_id""",
        (week, batch_ids, list(PAID_STATUSES)),
    )
    report.already_paid = [
        {
            "batch_id": batch,
            "attempt": attempt,
            "collector_id": collector,
            "provider": provider,
            "receiver": mask_receiver(provider, receiver),
            "amount_cents": int(cents),
            "status": status,
        }
        for batch, attempt, collector, provider, receiver, cents, status in cur.fetchall()
    ]


def _add_collections_and_holds(
    cur, report: FinanceReport, week: date, batch_ids: list[int]
) -> None:
    """Videos, collectors and cents per provider and collection; the collectors held."""
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


def _add_rolled_over(cur, report: FinanceReport, week: date, batch_ids: list[int]) -> None:
    """Videos paid now that belong to an earlier week or to a released payment (``sql/rolled_over.sql``)."""
    cur.execute(
        packaged_sql("collector.payouts", "rolled_over"),
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


def _add_paid_score_changes(cur, report: FinanceReport) -> None:
    """Videos in a sent payment whose score dropped below acceptance after the claim."""
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


# --- The record of what finance was shown (sql/013_payout_reports.sql) ---------------------


class ReportFileError(RuntimeError):
    """A report file that cannot be written or served as recorded (exists, missing, altered)."""


class NewFile(Protocol):
    """A path-like that can open a new file: ``pathlib.Path`` or Airflow's ObjectStoragePath."""

    def open(self, mode: str = ...): ...


@dataclass(frozen=True)
class StoredReport:
    """One row of ``payout_reports``: paths are what the writer recorded (``file://...`` for a
    local folder), hashes SHA-256 hex of the bytes written, money integer cents."""

    report_id: int
    week: date
    run_id: str
    try_number: int
    dry_run: bool
    batch_ids: list[int]
    total_cents: int
    html_path: str
    html_sha256: str
    csv_path: str
    csv_sha256: str
    created_at: datetime


_STORED = """SELECT report_id, week_start, run_id, try_number, dry_run, batch_ids, total_cents,
                    html_path, html_sha256, csv_path, csv_sha256, created_at
             FROM payout_reports"""


def report_stem(week: date, run_id: str, try_number: int, dry_run: bool) -> str:
    """File name (without suffix) of one report: week, run and try, so no two attempts share it.

    ``payout-2026-11-16-manual__2026-11-24T17-00-00-00-00-try1[-dry-run]``: characters other
    than letters, digits, ``.``, ``_`` and ``-`` become ``-`` (run ids hold ``:`` and ``+``).
    """
    if try_number < 1:
        raise ValueError(f"try_number starts at 1, got {try_number}")
    run = re.sub(r"[^A-Za-z0-9._-]", "-", run_id).strip(".-") or "run"
    return f"payout-{week.isoformat()}-{run}-try{try_number}" + ("-dry-run" if dry_run else "")


def write_new(path: NewFile, data: bytes) -> str:
    """Write ``data`` to a file that must not exist yet (mode ``xb``); return its SHA-256 hex.

    Raises ReportFileError when the file exists: a report is never overwritten, whatever
    re-runs, retries or clears happen (a retry is a new try, hence a new name).
    """
    try:
        with path.open("xb") as out:
            out.write(data)
    except FileExistsError:
        raise ReportFileError(
            f"{path} already exists: finance reports are never overwritten. Nothing was "
            "changed; run the task again (a new try writes a new report)"
        ) from None
    return hashlib.sha256(data).hexdigest()


def record_report(
    conn: psycopg2.extensions.connection,
    report: FinanceReport,
    run_id: str,
    try_number: int,
    batch_ids: list[int],
    html_path: str,
    html_sha256: str,
    csv_path: str,
    csv_sha256: str,
) -> StoredReport:
    """Insert the row for a report just written (in the caller's transaction; it commits).

    Raises psycopg2.IntegrityError for a second row of the same run and try, or of the same
    paths; the table refuses UPDATE and DELETE (append-only).
    """
    with conn.cursor() as cur:
        cur.execute(
            """INSERT INTO payout_reports (week_start, run_id, try_number, dry_run, batch_ids,
                   total_cents, html_path, html_sha256, csv_path, csv_sha256)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING report_id""",
            (
                report.week,
                run_id,
                try_number,
                report.dry_run,
                list(batch_ids),
                report.total_cents,
                html_path,
                html_sha256,
                csv_path,
                csv_sha256,
            ),
        )
        (report_id,) = cur.fetchone()
        cur.execute(f"{_STORED} WHERE report_id = %s", (report_id,))
        return StoredReport(*cur.fetchone())


def stored_report(conn: psycopg2.extensions.connection, report_id: int) -> StoredReport | None:
    """The recorded report with this id, or None."""
    with conn.cursor() as cur:
        cur.execute(f"{_STORED} WHERE report_id = %s", (report_id,))
        row = cur.fetchone()
    return StoredReport(*row) if row else None


def stored_reports(conn: psycopg2.extensions.connection, limit: int = 200) -> list[StoredReport]:
    """The newest recorded reports first (at most ``limit``)."""
    with conn.cursor() as cur:
        cur.execute(f"{_STORED} ORDER BY report_id DESC LIMIT %s", (limit,))
        return [StoredReport(*row) for row in cur.fetchall()]


def read_recorded(path: str, sha256: str) -> bytes:
    """The bytes of a recorded report file, checked against its recorded SHA-256.

    ``path`` is a recorded path (``file://...``, a plain path, or an fsspec URL such as
    ``s3://...``), never one a user typed. Raises ReportFileError when the file is gone or its
    content is not what was recorded (fails closed: an altered report is not served).
    """
    try:
        if "://" not in path or path.startswith("file://"):
            with open(path.removeprefix("file://"), "rb") as recorded:
                data = recorded.read()
        else:
            import fsspec  # noqa: PLC0415 (object storage only)

            with fsspec.open(path, "rb") as recorded:
                data = recorded.read()
    except FileNotFoundError:
        raise ReportFileError(f"{path} is missing: restore it from backup") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ReportFileError(
            f"{path} does not match the SHA-256 recorded when it was written: it was altered "
            "after the payout run; restore it from backup"
        )
    return data
