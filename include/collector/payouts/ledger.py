"""The payout ledger (FAQ 13): freeze a week, approve, record what the providers did.

Rules this module owns, so that every path through Airflow (schedule, re-trigger, retry) obeys
them the same way:

- a video is paid at most once: its claim (``payout_item_videos``) has a unique index over live
  claims, and a claim is released only when its item is rejected, failed or returned;
- one open batch per week and provider: a second freeze resumes the open one;
- provider idempotency keys are written with the frozen batch, before any call;
- money is integer cents everywhere, and a batch's total equals the sum of its items, which equals
  the sum of its videos (checked inside the freeze transaction: it fails closed).

Nothing here talks to a provider; ``collector_airflow.hooks.payouts`` does, through
:class:`ItemOutcome` and the submission helpers of ``collector.payouts.submission``.
Collectors' payment details are ``collector.payouts.profiles``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime

import psycopg2.extensions

from collector.core.money import usd
from collector.payouts.profiles import unpayable

PROVIDERS = ("paypal", "payoneer")
# Items per provider request: PayPal's documented limit; Payoneer's is not public, the
# sandbox's 1,000 is an assumption (docs/decisions.md).
MAX_ITEMS_PER_REQUEST = {"paypal": 15_000, "payoneer": 1_000}
OPEN_BATCH_STATES = ("draft", "approved", "submitted")
_KEY_TAG = {"paypal": "pp", "payoneer": "po"}  # in item keys: short, never ambiguous

# Provider status -> ledger status. "pending" waits; "unclaimed" is final for the week (the money
# left us) but the item stays open until it is claimed or returned (PayPal returns after 30 days).
# PayPal's are its published transaction_enum, nothing more: a status outside it (NEW, DENIED,
# CANCELED...) is refused, since "failed" would release the videos and pay them again.
_STATUS = {
    "paypal": {
        "SUCCESS": "paid",
        "UNCLAIMED": "unclaimed",
        "PENDING": "pending",
        "ONHOLD": "pending",  # PayPal is reviewing it: wait (refresh_outstanding asks weekly)
        "FAILED": "failed",
        "BLOCKED": "failed",
        "RETURNED": "returned",
        "REFUNDED": "returned",  # the money came back to us: the collector is owed again
        "REVERSED": "returned",
    },
    "payoneer": {"Pending": "pending", "Transferred": "paid", "Cancelled": "failed"},
}
WAITING = ("pending",)  # an item in these states keeps the batch from being reconciled
RELEASING = ("failed", "returned")  # the videos roll into the next batch


class LedgerError(RuntimeError):
    """The ledger refused a change (wrong state, changed amounts, broken totals)."""


def ledger_status(provider: str, provider_status: str) -> str:
    """Our status for a provider's item status; an unknown one is an error, never a guess."""
    try:
        return _STATUS[provider][provider_status]
    except KeyError:
        known = ", ".join(_STATUS.get(provider, {}))
        raise LedgerError(
            f"{provider} item status {provider_status!r} is not known (known: {known}): "
            "nothing was recorded for the batch and no payment is counted as paid; look the "
            f"item up in {provider} and add the status to the ledger's mapping before re-running"
        ) from None


@dataclass
class FrozenBatch:
    batch_id: int
    provider: str
    attempt: int
    state: str
    item_count: int
    total_cents: int
    resumed: bool


@dataclass
class FreezeResult:
    week: date
    batches: list[FrozenBatch] = field(default_factory=list)
    held_collectors: int = 0
    held_cents: int = 0

    def fingerprint(self) -> dict[str, list[int]]:
        """What finance approves: batch id -> [items, cents] (JSON-safe, for the approval)."""
        return {str(b.batch_id): [b.item_count, b.total_cents] for b in self.batches}


def batch_event(cur, batch_id: int, kind: str, actor: str, detail: dict | None = None) -> None:
    """Append one row to ``payout_events`` (the batch's history) on ``cur``'s transaction."""
    cur.execute(
        "INSERT INTO payout_events (batch_id, kind, actor, detail) VALUES (%s, %s, %s, %s)",
        (batch_id, kind, actor, json.dumps(detail or {})),
    )


# What a freeze of a week may pay: accepted, unclaimed, paying videos of paid collection
# versions collected before the week's end, with the collector's payment details (NULL: none).
# One definition for the freeze and for the check that a week was settled.
_CANDIDATE_SELECT = """
WITH bounds AS (
    SELECT ((%(week)s::date + 7)::timestamp AT TIME ZONE 'America/New_York') AS week_end
)
SELECT s.video_id, s.collector_id, s.collection_id, s.collection_version,
       date_trunc('week', v.collected_at AT TIME ZONE 'America/New_York')::date AS video_week,
       cv.pay_per_video_cents AS pay_cents,
       CASE WHEN s.perfect THEN cv.perfect_bonus_cents ELSE 0 END AS bonus_cents,
       p.method, p.receiver
FROM video_scores s
JOIN videos v USING (video_id)
JOIN collection_versions cv
  ON cv.collection_id = s.collection_id AND cv.version = s.collection_version
LEFT JOIN payment_profiles p ON p.collector_id = s.collector_id
WHERE s.accepted
  -- Only paid campaigns pay (fails closed): practice and self-serve videos never do, whatever
  -- their version says about pay, and neither do videos collected before a promotion.
  AND cv.kind = 'paid'
  AND v.collected_at < (SELECT week_end FROM bounds)
  AND cv.pay_per_video_cents + CASE WHEN s.perfect THEN cv.perfect_bonus_cents ELSE 0 END > 0
  AND NOT EXISTS (SELECT 1 FROM payout_item_videos c
                  WHERE c.video_id = s.video_id AND c.released_at IS NULL)
"""
_CANDIDATES = "CREATE TEMP TABLE payout_candidates ON COMMIT DROP AS" + _CANDIDATE_SELECT

_NEW_ITEMS = """
CREATE TEMP TABLE payout_new_items ON COMMIT DROP AS
SELECT nextval('payout_items_item_id_seq') AS item_id, collector_id, receiver, amount_cents,
       ((row_number() OVER (ORDER BY collector_id) - 1) / %(per_request)s + 1)::integer AS chunk
FROM (SELECT collector_id, min(receiver) AS receiver, sum(pay_cents + bonus_cents) AS amount_cents
      FROM payout_candidates WHERE method = %(provider)s AND hold_reason IS NULL
      GROUP BY collector_id) per_collector
ORDER BY collector_id
"""


def freeze_week(
    conn: psycopg2.extensions.connection,
    week: date,
    providers: list[str] | tuple[str, ...],
    frozen_by: str,
) -> FreezeResult:
    """Freeze the week's batch per provider, or resume the open one; record held collectors.

    Every accepted, unpaid video of a paid collection version collected before the week's end
    is taken, so videos accepted after an earlier week froze, and released ones (failed,
    returned), roll in here. Practice and self-serve videos never are. Runs in the caller's
    transaction; the caller commits (or rolls back for a dry run).
    """
    if week.weekday() != 0:
        raise LedgerError(f"a payout week starts on a Monday, got {week} ({week:%A})")
    unknown = sorted(set(providers) - set(PROVIDERS))
    if unknown or not providers:
        raise LedgerError(f"providers must be some of {PROVIDERS}, got {list(providers)}")
    result = FreezeResult(week)
    with conn.cursor() as cur:
        # One freezer at a time: a concurrent trigger waits here, then resumes what we froze.
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('collector.payout_freeze'))")
        cur.execute(_CANDIDATES, {"week": week})
        _hold_unpayable(cur)
        for provider in providers:
            cur.execute(
                """SELECT batch_id, attempt, state, item_count, total_cents FROM payout_batches
                   WHERE week_start = %s AND provider = %s AND state = ANY(%s)""",
                (week, provider, list(OPEN_BATCH_STATES)),
            )
            open_batch = cur.fetchone()
            if open_batch:
                result.batches.append(FrozenBatch(open_batch[0], provider, *open_batch[1:], True))
                continue
            batch = _freeze_provider(cur, week, provider, frozen_by)
            if batch:
                result.batches.append(batch)
        result.held_collectors, result.held_cents = _record_holds(cur, week, providers)
    return result


def _hold_unpayable(cur) -> None:
    """Check the candidates' stored receivers again (issue 21): details stored before the
    rules of ``collector.payouts.profiles`` that fail them now are held with the reason, never
    sent, and the freeze goes on for everyone else (fail closed)."""
    cur.execute("ALTER TABLE payout_candidates ADD COLUMN hold_reason text")
    cur.execute("SELECT DISTINCT collector_id FROM payout_candidates WHERE method IS NOT NULL")
    reasons = unpayable(cur, [row[0] for row in cur.fetchall()])
    if reasons:
        cur.execute(
            """UPDATE payout_candidates c SET hold_reason = h.reason
               FROM unnest(%s::text[], %s::text[]) AS h(collector_id, reason)
               WHERE c.collector_id = h.collector_id""",
            (list(reasons), list(reasons.values())),
        )


def _freeze_provider(cur, week: date, provider: str, frozen_by: str) -> FrozenBatch | None:
    cur.execute(_NEW_ITEMS, {"provider": provider, "per_request": MAX_ITEMS_PER_REQUEST[provider]})
    cur.execute("SELECT count(*), coalesce(sum(amount_cents), 0), max(chunk) FROM payout_new_items")
    items, total, chunks = cur.fetchone()
    if not items:
        cur.execute("DROP TABLE payout_new_items")
        return None
    cur.execute(
        """INSERT INTO payout_batches
             (week_start, provider, attempt, state, item_count, total_cents, frozen_by)
           SELECT %s, %s, coalesce(max(attempt), 0) + 1, 'draft', %s, %s, %s
           FROM payout_batches WHERE week_start = %s AND provider = %s
           RETURNING batch_id, attempt""",
        (week, provider, items, total, frozen_by, week, provider),
    )
    batch_id, attempt = cur.fetchone()
    prefix = f"collector-{week:%Y%m%d}-{provider}-a{attempt}"
    cur.execute(
        """INSERT INTO payout_submissions (batch_id, chunk, idempotency_key)
           SELECT %s, c, %s || '-c' || c FROM generate_series(1, %s) c""",
        (batch_id, prefix, chunks),
    )
    cur.execute(
        """INSERT INTO payout_items (item_id, batch_id, chunk, collector_id, provider, receiver,
                                     amount_cents, idempotency_key, status)
           SELECT item_id, %(batch)s, chunk, collector_id, %(provider)s, receiver, amount_cents,
                  %(key)s || '-' || item_id, 'frozen'
           FROM payout_new_items""",
        {
            "batch": batch_id,
            "provider": provider,
            "key": f"cp{week:%y%m%d}{_KEY_TAG[provider]}{attempt}",
        },
    )
    cur.execute(
        """INSERT INTO payout_item_videos (item_id, video_id, collection_id, collection_version,
                                           video_week, pay_cents, bonus_cents)
           SELECT n.item_id, c.video_id, c.collection_id, c.collection_version, c.video_week,
                  c.pay_cents, c.bonus_cents
           FROM payout_new_items n JOIN payout_candidates c
             ON c.collector_id = n.collector_id AND c.method = %s AND c.hold_reason IS NULL""",
        (provider,),
    )
    cur.execute("DROP TABLE payout_new_items")
    # Fresh statistics: the report and the submit read these rows next, in bulk.
    cur.execute("ANALYZE payout_items, payout_item_videos")
    _check_totals(cur, batch_id)
    batch_event(cur, batch_id, "frozen", frozen_by, {"items": items, "total_cents": int(total)})
    return FrozenBatch(batch_id, provider, attempt, "draft", items, int(total), False)


def _check_totals(cur, batch_id: int) -> None:
    """Batch total = sum of items = sum of their live videos, to the cent, or nothing commits."""
    cur.execute(
        """SELECT b.total_cents, b.item_count,
                  (SELECT coalesce(sum(amount_cents), 0) FROM payout_items WHERE batch_id = b.batch_id),
                  (SELECT count(*) FROM payout_items WHERE batch_id = b.batch_id),
                  (SELECT coalesce(sum(v.pay_cents + v.bonus_cents), 0)
                   FROM payout_items i JOIN payout_item_videos v USING (item_id)
                   WHERE i.batch_id = b.batch_id AND v.released_at IS NULL)
           FROM payout_batches b WHERE b.batch_id = %s""",
        (batch_id,),
    )
    batch_total, batch_items, item_total, item_count, video_total = cur.fetchone()
    if not (batch_total == item_total == video_total and batch_items == item_count):
        raise LedgerError(
            f"batch {batch_id} does not add up: batch {batch_total} cents in {batch_items} items, "
            f"items {item_total} cents in {item_count}, videos {video_total} cents"
        )


def _record_holds(cur, week: date, providers) -> tuple[int, int]:
    """Collectors with payable videos left out of this freeze, and the reason they can act on."""
    cur.execute("DELETE FROM payout_holds WHERE week_start = %s", (week,))
    cur.execute(
        """INSERT INTO payout_holds (week_start, collector_id, reason, video_count, amount_cents)
           SELECT %(week)s, collector_id,
                  CASE WHEN method IS NULL
                       THEN 'no payment details: enter PayPal or Payoneer under Profile'
                       WHEN hold_reason IS NOT NULL THEN hold_reason
                       ELSE method || ' not included in this payout run' END,
                  count(*), sum(pay_cents + bonus_cents)
           FROM payout_candidates
           WHERE method IS NULL OR NOT (method = ANY(%(providers)s)) OR hold_reason IS NOT NULL
           GROUP BY collector_id, method, hold_reason""",
        {"week": week, "providers": list(providers)},
    )
    cur.execute(
        "SELECT count(*), coalesce(sum(amount_cents), 0) FROM payout_holds WHERE week_start = %s",
        (week,),
    )
    held, cents = cur.fetchone()
    return held, int(cents)


@dataclass(frozen=True)
class Unsettled:
    """What a payout run left unpaid for its week: accepted videos of collectors with payment
    details (their whole pay in integer cents), and whether finance rejected a batch of the
    week during the run."""

    week: date
    videos: int
    collectors: int
    cents: int
    unsent_videos: int  # frozen in a batch nobody approved or sent (still draft/approved)
    rejected_batches: list[int]

    def sentence(self) -> str | None:
        """One sentence for ops (the failure email), or None when nothing is left."""

        if not self.videos:
            return None
        left = (
            f"The scheduled payout for the week of {self.week.isoformat()} ended with "
            f"{self.videos} accepted video{'' if self.videos == 1 else 's'} of "
            f"{self.collectors} collector{'' if self.collectors == 1 else 's'} with payment "
            f"details unpaid ({usd(self.cents)})"
        )
        if self.rejected_batches:
            return (
                f"{left} because finance rejected batch(es) "
                f"{', '.join(map(str, self.rejected_batches))} in the approval, which is "
                "deliberate: if it was a mistake, trigger weekly_payout for that week with dry "
                "run off and approve it, otherwise they roll into next Tuesday's payout."
            )
        if self.unsent_videos:
            return (
                f"{left}, {self.unsent_videos} of them frozen in a batch nobody approved or sent: "
                "approve it under Required actions of this run, or re-trigger weekly_payout for "
                "that week with dry run off (nothing is paid twice)."
            )
        return (
            f"{left}: read this run's failed or refused payments in the reconcile log, then "
            "re-trigger weekly_payout for that week with dry run off and approve it (nothing "
            "is paid twice), or they roll into next Tuesday's payout."
        )


def unsettled_week(conn: psycopg2.extensions.connection, week: date, since: datetime) -> Unsettled:
    """Accepted, unpaid, payable videos a payout run for ``week`` that started at ``since``
    left behind (the ops alert of issue 17, item 1).

    Counted: videos the freeze would take now (``_CANDIDATE_SELECT``) whose collector has payment
    details and which were already accepted at ``since`` (so a video accepted while the run
    waited for finance, which next week's freeze takes by itself, raises nothing), plus videos
    still claimed by an item that was never sent (``frozen``: the approval never came).
    Rejected batches: the week's batches closed as rejected since ``since``. Read-only; runs in
    the caller's transaction. Raises LedgerError for a week that is not a Monday.
    """
    if week.weekday() != 0:
        raise LedgerError(f"a payout week starts on a Monday, got {week} ({week:%A})")
    with conn.cursor() as cur:
        held = list(unpayable(cur))  # held by the freeze as for missing details
        cur.execute(
            f"""WITH candidates AS ({_CANDIDATE_SELECT}),
               left_over AS (
                   SELECT c.video_id, c.collector_id, c.pay_cents + c.bonus_cents AS cents,
                          false AS unsent
                   FROM candidates c JOIN video_scores s USING (video_id)
                   LEFT JOIN LATERAL (
                       SELECT ch.old_accepted FROM video_score_changes ch
                       WHERE ch.video_id = c.video_id AND ch.changed_at > %(since)s
                       ORDER BY ch.changed_at, ch.change_id LIMIT 1) later ON true
                   WHERE c.method IS NOT NULL AND NOT (c.collector_id = ANY(%(held)s::text[]))
                     -- accepted at `since`: the first change after it started from accepted,
                     -- or no change since and the score was there already
                     AND coalesce(later.old_accepted,
                                  s.scored_at <= %(since)s
                                  OR EXISTS (SELECT 1 FROM video_score_changes ch
                                             WHERE ch.video_id = c.video_id))
                   UNION ALL
                   SELECT v.video_id, i.collector_id, v.pay_cents + v.bonus_cents, true
                   FROM payout_items i JOIN payout_item_videos v USING (item_id)
                   JOIN payout_batches b USING (batch_id)
                   WHERE b.week_start = %(week)s AND i.status = 'frozen'
                     AND v.released_at IS NULL)
               SELECT count(*), count(DISTINCT collector_id), coalesce(sum(cents), 0),
                      count(*) FILTER (WHERE unsent)
               FROM left_over""",
            {"week": week, "since": since, "held": held},
        )
        videos, collectors, cents, unsent = cur.fetchone()
        cur.execute(
            """SELECT batch_id FROM payout_batches
               WHERE week_start = %s AND state = 'rejected' AND closed_at >= %s
               ORDER BY batch_id""",
            (week, since),
        )
        rejected = [r[0] for r in cur.fetchall()]
    return Unsettled(week, videos, collectors, int(cents), unsent, rejected)


def approve_batches(
    conn: psycopg2.extensions.connection,
    fingerprint: dict[str, list[int]],
    approved_by: str,
) -> list[int]:
    """draft -> approved for exactly what finance saw; a changed batch is refused (fails closed).

    Already approved or submitted batches pass (a retry after approval); anything else raises.
    """
    approved = []
    with conn.cursor() as cur:
        for batch_id, (items, cents) in fingerprint.items():
            cur.execute(
                """SELECT state, item_count, total_cents FROM payout_batches
                   WHERE batch_id = %s FOR UPDATE""",
                (int(batch_id),),
            )
            row = cur.fetchone()
            if row is None:
                raise LedgerError(f"batch {batch_id} does not exist")
            state, item_count, total = row
            if (item_count, total) != (items, cents):
                raise LedgerError(
                    f"batch {batch_id} changed since the report: {item_count} items / {total} "
                    f"cents, finance approved {items} items / {cents} cents"
                )
            if state in ("approved", "submitted", "reconciled"):
                continue
            if state != "draft":
                raise LedgerError(f"batch {batch_id} is {state}; only a draft can be approved")
            cur.execute(
                """UPDATE payout_batches SET state = 'approved', approved_at = now(),
                          approved_by = %s WHERE batch_id = %s""",
                (approved_by, int(batch_id)),
            )
            batch_event(cur, int(batch_id), "approved", approved_by)
            approved.append(int(batch_id))
    return approved


def close_unsubmitted(
    conn: psycopg2.extensions.connection,
    batch_ids: list[int],
    state: str,
    actor: str,
    reason: str,
) -> list[int]:
    """Reject or cancel draft/approved batches: nothing was sent, every video is released."""
    if state not in ("rejected", "cancelled", "denied"):
        raise LedgerError(f"cannot close a batch as {state!r}")
    closed = []
    with conn.cursor() as cur:
        for batch_id in batch_ids:
            cur.execute(
                "SELECT state FROM payout_batches WHERE batch_id = %s FOR UPDATE", (batch_id,)
            )
            (current,) = cur.fetchone()
            allowed = ("draft", "approved") + (("submitted",) if state == "denied" else ())
            if current not in allowed:
                if current == state:
                    continue
                raise LedgerError(f"batch {batch_id} is {current}; it cannot become {state}")
            cur.execute(
                """UPDATE payout_batches SET state = %s, state_reason = %s, closed_at = now()
                   WHERE batch_id = %s""",
                (state, reason, batch_id),
            )
            item_status = "failed" if state == "denied" else "released"
            cur.execute(
                """UPDATE payout_items SET status = %s, failure_reason = %s, updated_at = now()
                   WHERE batch_id = %s""",
                (item_status, reason, batch_id),
            )
            cur.execute(
                """UPDATE payout_item_videos v SET released_at = now() FROM payout_items i
                   WHERE i.item_id = v.item_id AND i.batch_id = %s AND v.released_at IS NULL""",
                (batch_id,),
            )
            batch_event(cur, batch_id, state, actor, {"reason": reason})
            closed.append(batch_id)
    return closed


def open_batches(
    conn: psycopg2.extensions.connection, week: date, states: tuple[str, ...]
) -> list[tuple[int, str, str]]:
    """(batch_id, provider, state) of the week's batches in these states."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT batch_id, provider, state FROM payout_batches
               WHERE week_start = %s AND state = ANY(%s) ORDER BY provider""",
            (week, list(states)),
        )
        return cur.fetchall()


@dataclass(frozen=True)
class ItemOutcome:
    """What a provider says about one item, in its own words."""

    idempotency_key: str
    provider_status: str
    provider_item_id: str | None = None
    reason: str | None = None


def record_outcomes(
    conn: psycopg2.extensions.connection,
    provider: str,
    outcomes: list[ItemOutcome],
    actor: str,
) -> dict[str, int]:
    """Apply provider outcomes; release failed/returned videos; reconcile finished batches.

    Paid stays paid: a provider status that would move a paid item elsewhere than returned is
    refused loudly rather than applied.
    """
    counts: dict[str, int] = {}
    touched: set[int] = set()
    with conn.cursor() as cur:
        for outcome in outcomes:
            status = ledger_status(provider, outcome.provider_status)
            cur.execute(
                """SELECT item_id, batch_id, status FROM payout_items
                   WHERE idempotency_key = %s FOR UPDATE""",
                (outcome.idempotency_key,),
            )
            row = cur.fetchone()
            if row is None:
                raise LedgerError(f"{provider} reported an unknown item {outcome.idempotency_key}")
            item_id, batch_id, current = row
            if current in ("released",) or (current == "paid" and status == "pending"):
                continue
            if current == "paid" and status not in ("paid", "returned"):
                raise LedgerError(
                    f"item {outcome.idempotency_key} was paid; {provider} now says "
                    f"{outcome.provider_status}"
                )
            if current in RELEASING and status != current:
                continue  # already released and rolled over; history stays as it was
            cur.execute(
                """UPDATE payout_items
                   SET status = %s, provider_status = %s,
                       provider_item_id = coalesce(%s, provider_item_id),
                       failure_reason = coalesce(%s, failure_reason), updated_at = now()
                   WHERE item_id = %s AND (status, provider_status) IS DISTINCT FROM (%s, %s)""",
                (
                    status,
                    outcome.provider_status,
                    outcome.provider_item_id,
                    outcome.reason,
                    item_id,
                    status,
                    outcome.provider_status,
                ),
            )
            if cur.rowcount:
                counts[status] = counts.get(status, 0) + 1
                touched.add(batch_id)
                if status in RELEASING:
                    cur.execute(
                        """UPDATE payout_item_videos SET released_at = now()
                           WHERE item_id = %s AND released_at IS NULL""",
                        (item_id,),
                    )
                    batch_event(
                        cur,
                        batch_id,
                        f"item_{status}",
                        actor,
                        {"item": outcome.idempotency_key, "reason": outcome.reason},
                    )
        for batch_id in sorted(touched):
            _reconcile_if_done(cur, batch_id, actor)
    return counts


def _reconcile_if_done(cur, batch_id: int, actor: str) -> None:
    cur.execute(
        """UPDATE payout_batches b SET state = 'reconciled', closed_at = now()
           WHERE batch_id = %s AND state = 'submitted'
             AND NOT EXISTS (SELECT 1 FROM payout_items i WHERE i.batch_id = b.batch_id
                             AND i.status IN ('frozen', 'pending'))""",
        (batch_id,),
    )
    if cur.rowcount:
        batch_event(cur, batch_id, "reconciled", actor)
