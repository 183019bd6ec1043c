"""Sending a frozen, approved batch to its provider, and asking about it afterwards (FAQ 13).

The ledger (``collector.payouts.ledger``) freezes and approves; this module holds what the
submit, reconcile and wait steps read and write: a batch's chunks (one provider request each,
with its own idempotency key), the progress marks committed before and after each provider call,
the lock the submit holds, and the summaries its logs and XComs are made of. Nothing here talks
to a provider (``collector_airflow.hooks.payouts`` does). Rules: docs/decisions.md,
"Weekly payouts (issue 7)".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

import psycopg2.extensions

from collector.payouts.ledger import LedgerError, batch_event

# How long a provider remembers an idempotency key, where it forgets: PayPal de-duplicates a
# sender_batch_id "used in the last 30 days" and, after that, pays the same request again.
# (Payoneer: its hook looks every client_reference_id up before it re-sends.)
KEY_MEMORY = {"paypal": timedelta(days=30)}
# A chunk attempted longer ago than this is never re-sent blind: 20 days leaves 10 days of
# margin against the 30 for a slow DAG retry, a weekend, clock skew between us and PayPal, and
# a PayPal that counts the 30 days from its own acceptance rather than our attempt.
RESEND_MARGIN = timedelta(days=20)
# An attempted chunk the provider has not confirmed for this long is stuck: ops hear daily.
UNCONFIRMED_ALERT = timedelta(days=1)


class NeedsReconciliation(LedgerError):
    """A chunk may have been paid and cannot be safely re-sent: a person must look it up."""


@dataclass(frozen=True)
class Instruction:
    """One payment to send: what a provider hook needs, nothing else."""

    idempotency_key: str
    receiver: str
    amount_cents: int
    currency: str
    note: str


@dataclass
class Chunk:
    batch_id: int
    chunk: int
    idempotency_key: str
    provider_batch_id: str | None
    attempted: bool
    accepted: bool
    items: list[Instruction]
    attempted_at: datetime | None = None  # when a call first may have reached the provider


def chunks_of(conn: psycopg2.extensions.connection, batch_id: int) -> list[Chunk]:
    """The batch's provider requests with their items, in a stable order."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT b.week_start, s.chunk, s.idempotency_key, s.provider_batch_id,
                      s.attempted_at IS NOT NULL, s.accepted_at IS NOT NULL, s.attempted_at
               FROM payout_submissions s JOIN payout_batches b USING (batch_id)
               WHERE s.batch_id = %s ORDER BY s.chunk""",
            (batch_id,),
        )
        chunks = {
            row[1]: Chunk(batch_id, row[1], row[2], row[3], row[4], row[5], [], row[6])
            for row in cur.fetchall()
        }
        cur.execute("SELECT week_start FROM payout_batches WHERE batch_id = %s", (batch_id,))
        (week,) = cur.fetchone()
        cur.execute(
            """SELECT chunk, idempotency_key, receiver, amount_cents, currency FROM payout_items
               WHERE batch_id = %s ORDER BY chunk, item_id""",
            (batch_id,),
        )
        note = f"Collector payment for the week of {week:%b %d, %Y}"
        for chunk, key, receiver, cents, currency in cur.fetchall():
            chunks[chunk].items.append(Instruction(key, receiver, int(cents), currency, note))
    return list(chunks.values())


def resend_refusal(provider: str, chunk: Chunk, now: datetime) -> str | None:
    """Why this chunk must not be sent again, or None when sending it is safe.

    A chunk attempted and not confirmed more than :data:`RESEND_MARGIN` ago, for a provider
    that forgets its keys (:data:`KEY_MEMORY`), may have been paid under a key the provider no
    longer recognises: re-sending would pay everyone in it twice. One sentence, for ops.
    """
    if provider not in KEY_MEMORY or chunk.accepted or chunk.attempted_at is None:
        return None
    age = now - chunk.attempted_at
    if age <= RESEND_MARGIN:
        return None
    memory = KEY_MEMORY[provider].days
    return (
        f"{provider} batch {chunk.batch_id} chunk {chunk.chunk} (sender_batch_id "
        f"{chunk.idempotency_key}, {len(chunk.items)} payments) was sent {age.days} days ago "
        f"and never confirmed, and {provider} forgets a sender_batch_id after {memory} days, so "
        "it is not sent again: look that sender_batch_id up in the PayPal account "
        "(Activity → Payouts) and record what you find with `collector payouts chunk-found "
        f"{chunk.batch_id} {chunk.chunk} PAYOUT_BATCH_ID` (PayPal has it) or `collector payouts "
        f"chunk-not-sent {chunk.batch_id} {chunk.chunk}` (PayPal never got it: its videos roll "
        "into the next payout), then re-trigger the week."
    )


def record_chunk_found(
    conn: psycopg2.extensions.connection,
    batch_id: int,
    chunk: int,
    provider_batch_id: str,
    actor: str,
) -> None:
    """A person found an unconfirmed chunk at the provider: it is accepted under that batch id
    (the next run submits and reconciles it from the provider's answer). Committed."""
    _unconfirmed(conn, batch_id, chunk)
    if not provider_batch_id.strip():
        raise LedgerError("the provider's batch id (PayPal payout_batch_id) is required")
    mark_accepted(conn, batch_id, chunk, provider_batch_id.strip(), actor)
    with conn.cursor() as cur:
        batch_event(cur, batch_id, "chunk_found_by_hand", actor, {"chunk": chunk})
    conn.commit()


def record_chunk_not_sent(
    conn: psycopg2.extensions.connection, batch_id: int, chunk: int, actor: str
) -> None:
    """A person found that the provider never got an unconfirmed chunk: its items fail and
    their videos roll into the next payout, under new keys (never this forgotten one)."""
    _unconfirmed(conn, batch_id, chunk)
    deny_chunk(conn, batch_id, chunk, f"not found at the provider (checked by {actor})", actor)
    conn.commit()


def _unconfirmed(conn: psycopg2.extensions.connection, batch_id: int, chunk: int) -> None:
    """LedgerError unless the chunk exists, of a batch still being sent, attempted, unaccepted."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT b.state, s.attempted_at IS NOT NULL, s.accepted_at IS NOT NULL
               FROM payout_submissions s JOIN payout_batches b USING (batch_id)
               WHERE s.batch_id = %s AND s.chunk = %s""",
            (batch_id, chunk),
        )
        row = cur.fetchone()
    if row is None:
        raise LedgerError(f"batch {batch_id} has no chunk {chunk}")
    state, attempted, accepted = row
    if state != "approved" or not attempted or accepted:
        raise LedgerError(
            f"batch {batch_id} chunk {chunk} is not waiting for reconciliation (batch {state}, "
            f"{'attempted' if attempted else 'never attempted'}, "
            f"{'accepted' if accepted else 'not accepted'}): nothing recorded"
        )


def unconfirmed_chunks(
    conn: psycopg2.extensions.connection, now: datetime
) -> list[tuple[str, int, int, datetime]]:
    """(provider, batch, chunk, attempted_at) of chunks attempted more than
    :data:`UNCONFIRMED_ALERT` ago that the provider has not confirmed, oldest first."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT b.provider, s.batch_id, s.chunk, s.attempted_at
               FROM payout_submissions s JOIN payout_batches b USING (batch_id)
               WHERE s.accepted_at IS NULL AND s.attempted_at < %s
                 AND b.state IN ('approved', 'submitted')
               ORDER BY s.attempted_at""",
            (now - UNCONFIRMED_ALERT,),
        )
        return list(cur.fetchall())


def mark_attempted(conn: psycopg2.extensions.connection, batch_id: int, chunk: int) -> None:
    """Written and committed before the call: a later run knows to look the key up first."""
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE payout_submissions SET attempted_at = coalesce(attempted_at, now())
               WHERE batch_id = %s AND chunk = %s""",
            (batch_id, chunk),
        )
    conn.commit()


def mark_accepted(
    conn: psycopg2.extensions.connection,
    batch_id: int,
    chunk: int,
    provider_batch_id: str | None,
    actor: str,
) -> None:
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE payout_submissions
               SET provider_batch_id = %s, accepted_at = now(), last_error = NULL
               WHERE batch_id = %s AND chunk = %s""",
            (provider_batch_id, batch_id, chunk),
        )
        cur.execute(
            """UPDATE payout_items SET status = 'pending', updated_at = now()
               WHERE batch_id = %s AND chunk = %s AND status = 'frozen'""",
            (batch_id, chunk),
        )
        batch_event(
            cur, batch_id, "chunk_accepted", actor, {"chunk": chunk, "ref": provider_batch_id}
        )
    conn.commit()


def mark_chunk_error(
    conn: psycopg2.extensions.connection, batch_id: int, chunk: int, error: str
) -> None:
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE payout_submissions SET last_error = %s WHERE batch_id = %s AND chunk = %s",
            (error[:2000], batch_id, chunk),
        )
    conn.commit()


def deny_chunk(
    conn: psycopg2.extensions.connection, batch_id: int, chunk: int, reason: str, actor: str
) -> None:
    """The provider refused this chunk's money: its items failed, their videos roll over."""
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE payout_submissions SET accepted_at = now(), last_error = %s
               WHERE batch_id = %s AND chunk = %s""",
            (reason[:2000], batch_id, chunk),
        )
        cur.execute(
            """UPDATE payout_items SET status = 'failed', failure_reason = %s, updated_at = now()
               WHERE batch_id = %s AND chunk = %s AND status IN ('frozen', 'pending')
               RETURNING item_id""",
            (reason[:2000], batch_id, chunk),
        )
        items = [r[0] for r in cur.fetchall()]
        cur.execute(
            """UPDATE payout_item_videos SET released_at = now()
               WHERE item_id = ANY(%s) AND released_at IS NULL""",
            (items,),
        )
        batch_event(cur, batch_id, "chunk_refused", actor, {"chunk": chunk, "reason": reason})


def close_submitted_denied(
    conn: psycopg2.extensions.connection, batch_id: int, actor: str, reason: str
) -> None:
    """After reconciling a chunk the provider denied: a batch that paid nothing is ``denied``
    (finance sees why); one that paid in other chunks stays reconciled, with the reason."""
    with conn.cursor() as cur:
        cur.execute(
            """UPDATE payout_batches b
               SET state = CASE WHEN EXISTS (SELECT 1 FROM payout_items i
                                             WHERE i.batch_id = b.batch_id
                                               AND i.status <> 'failed')
                                THEN state ELSE 'denied' END,
                   state_reason = %s, closed_at = coalesce(closed_at, now())
               WHERE batch_id = %s AND state IN ('submitted', 'reconciled')
               RETURNING state""",
            (reason, batch_id),
        )
        row = cur.fetchone()
        if row:
            batch_event(
                cur, batch_id, "provider_denied", actor, {"reason": reason, "state": row[0]}
            )


def mark_submitted(cur, batch_id: int, actor: str) -> None:
    """approved -> submitted once every chunk is held by the provider (on the locking cursor)."""
    cur.execute(
        """SELECT count(*) FILTER (WHERE accepted_at IS NULL) FROM payout_submissions
           WHERE batch_id = %s""",
        (batch_id,),
    )
    if cur.fetchone()[0]:
        raise LedgerError(f"batch {batch_id} has chunks the provider has not accepted")
    cur.execute(
        """UPDATE payout_batches SET state = 'submitted', submitted_at = now()
           WHERE batch_id = %s AND state = 'approved'""",
        (batch_id,),
    )
    if cur.rowcount:
        batch_event(cur, batch_id, "submitted", actor)


def batch_waiting(conn: psycopg2.extensions.connection, batch_id: int) -> list[str]:
    """Idempotency keys of the batch's items that still wait for the provider."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT idempotency_key FROM payout_items
               WHERE batch_id = %s AND status IN ('frozen', 'pending') ORDER BY item_id""",
            (batch_id,),
        )
        return [r[0] for r in cur.fetchall()]


class OpenChunk(NamedTuple):
    """A provider request holding items sent earlier that may still change."""

    provider: str
    batch_id: int
    chunk: int


def outstanding_chunks(
    conn: psycopg2.extensions.connection, providers: list[str]
) -> list[OpenChunk]:
    """Chunks of submitted or reconciled batches of these providers with an item still
    ``pending`` or ``unclaimed``, ordered by provider, batch and chunk (distinct).

    What the weekly payout asks the providers about before it freezes: money returned since
    is released and rolls into the freeze (docs/decisions.md, "Weekly payouts (issue 7)").
    """
    with conn.cursor() as cur:
        cur.execute(
            """SELECT DISTINCT i.provider, i.batch_id, i.chunk FROM payout_items i
               JOIN payout_batches b USING (batch_id)
               WHERE i.provider = ANY(%s) AND i.status IN ('pending', 'unclaimed')
                 AND b.state IN ('submitted', 'reconciled') ORDER BY 1, 2, 3""",
            (providers,),
        )
        return [OpenChunk(*row) for row in cur.fetchall()]


def open_keys(conn: psycopg2.extensions.connection, batch_id: int, chunk: int) -> list[str]:
    """Idempotency keys of the chunk's items still ``frozen``, ``pending`` or ``unclaimed``, in
    item order: the ones whose outcome is asked for. Empty for an unknown batch or chunk."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT idempotency_key FROM payout_items WHERE batch_id = %s AND chunk = %s
               AND status IN ('frozen', 'pending', 'unclaimed') ORDER BY item_id""",
            (batch_id, chunk),
        )
        return [r[0] for r in cur.fetchall()]


def batch_provider(conn: psycopg2.extensions.connection, batch_id: int) -> str:
    """The provider (``paypal`` or ``payoneer``) of a batch; LedgerError if it does not exist."""
    with conn.cursor() as cur:
        cur.execute("SELECT provider FROM payout_batches WHERE batch_id = %s", (batch_id,))
        row = cur.fetchone()
    if row is None:
        raise LedgerError(f"batch {batch_id} does not exist")
    return row[0]


class LockedBatch(NamedTuple):
    """A batch row locked for its submit: provider and state when the lock was granted."""

    provider: str
    state: str


def lock_for_submit(cur, batch_id: int) -> LockedBatch:
    """Lock the batch row (``FOR NO KEY UPDATE``, waiting up to 15 minutes) on ``cur``'s
    connection for the whole submit, so a concurrent trigger waits and then finds the work done.

    The lock lasts until that connection's transaction ends: keep progress on another one.
    Raises LedgerError for an unknown batch, psycopg2.errors.LockNotAvailable after 15 minutes.
    """
    cur.execute("SET lock_timeout = '15min'")
    cur.execute(
        """SELECT provider, state FROM payout_batches WHERE batch_id = %s
           FOR NO KEY UPDATE""",
        (batch_id,),
    )
    row = cur.fetchone()
    if row is None:
        raise LedgerError(f"batch {batch_id} does not exist")
    return LockedBatch(*row)


class BatchFailures(NamedTuple):
    """After sending every chunk: how many items are not ``failed``, and why the others failed."""

    alive: int
    items: int
    reasons: str | None  # distinct failure reasons joined with "; ", None when none failed


def batch_failures(conn: psycopg2.extensions.connection, batch_id: int) -> BatchFailures:
    """Items still alive (any status but ``failed``), all items, and the failure reasons of a
    batch: a batch whose every chunk the provider refused (``alive == 0``) is denied."""
    with conn.cursor() as cur:
        cur.execute(
            """SELECT count(*) FILTER (WHERE status <> 'failed'), count(*),
                      string_agg(DISTINCT failure_reason, '; ')
               FROM payout_items WHERE batch_id = %s""",
            (batch_id,),
        )
        return BatchFailures(*cur.fetchone())


@dataclass(frozen=True)
class BatchOutcome:
    """Where a batch stands after reconciling: state, its reason, and what was paid."""

    state: str
    reason: str | None
    paid_items: int
    paid_cents: int  # integer cents of the items whose status is ``paid``


def batch_outcome(conn: psycopg2.extensions.connection, batch_id: int) -> BatchOutcome:
    """State, state reason, paid item count and paid cents of a batch with items.

    Raises LedgerError for a batch that does not exist or has no items.
    """
    with conn.cursor() as cur:
        cur.execute(
            """SELECT b.state, b.state_reason, count(i.*) FILTER (WHERE i.status = 'paid'),
                      coalesce(sum(i.amount_cents) FILTER (WHERE i.status = 'paid'), 0)
               FROM payout_batches b JOIN payout_items i USING (batch_id)
               WHERE b.batch_id = %s GROUP BY b.state, b.state_reason""",
            (batch_id,),
        )
        row = cur.fetchone()
    if row is None:
        raise LedgerError(f"batch {batch_id} does not exist or has no items")
    state, reason, paid, paid_cents = row
    return BatchOutcome(state, reason, paid, int(paid_cents))
