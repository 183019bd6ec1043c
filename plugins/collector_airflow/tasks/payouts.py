"""Task-side glue for the weekly payout (collector.payouts: ledger, submission, report) and the
provider hooks, then the payout's Python tasks that dags/weekly_payout.py wires.

Every function here is safe to run again: freezing resumes the open batch, submitting sends
only chunks the provider does not hold (found by their keys), reconciling applies outcomes
idempotently. Logs name batches, chunks, counts and amounts, never receivers' secrets or ours.

The DAG file imports this module at parse time: psycopg2, the provider hooks and the domain are
imported inside the functions, when a task runs.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from airflow.sdk import task

from collector.core.money import dollars
from collector_airflow.assets import PAYOUTS
from collector_airflow.runs import SCHEDULED, run_type_value

log = logging.getLogger(__name__)
DEFAULT_CONN_IDS = {"paypal": "paypal_default", "payoneer": "payoneer_default"}


@contextlib.contextmanager
def _warehouse(conn_id: str) -> Iterator:
    """``CollectorWarehouseHook(conn_id).connection()``: commit at the end, rollback on error."""
    from collector_airflow.hooks.warehouse import CollectorWarehouseHook  # noqa: PLC0415

    with CollectorWarehouseHook(conn_id).connection() as conn:
        yield conn


def refresh_outstanding(
    providers: list[str],
    warehouse_conn_id: str = "collector_warehouse",
    conn_ids: dict[str, str] | None = None,
) -> dict[str, int]:
    """Ask the providers about items sent in earlier weeks that may still change (unclaimed,
    pending): returned money is released here and rolls into the freeze that follows."""
    from collector.payouts.ledger import record_outcomes  # noqa: PLC0415
    from collector.payouts.submission import chunks_of, outstanding_chunks  # noqa: PLC0415
    from collector_airflow.hooks.payouts import provider_hook  # noqa: PLC0415

    conn_ids = {**DEFAULT_CONN_IDS, **(conn_ids or {})}
    changed: dict[str, int] = {}
    with _warehouse(warehouse_conn_id) as conn:
        open_chunks = outstanding_chunks(conn, providers)
        conn.commit()
        for provider, batch_id, chunk_no in open_chunks:
            hook = provider_hook(provider, conn_ids[provider])
            chunk = next(c for c in chunks_of(conn, batch_id) if c.chunk == chunk_no)
            status = hook.chunk_status(chunk, _open_keys(conn, batch_id, chunk_no), True)
            counts = record_outcomes(conn, provider, status.outcomes, "refresh_outstanding")
            conn.commit()
            for key, n in counts.items():
                changed[key] = changed.get(key, 0) + n
    if changed:
        log.info("Earlier payments changed since last week: %s", changed)
    return changed


def _open_keys(conn, batch_id: int, chunk: int) -> list[str]:
    """The chunk's keys still asked about, in a transaction of their own (committed)."""
    from collector.payouts.submission import open_keys  # noqa: PLC0415

    keys = open_keys(conn, batch_id, chunk)
    conn.commit()
    return keys


def resolve_run(params: dict, run_type: object, logical_date, now) -> dict:
    """Week, providers and dry run for this run, from the trigger form or the schedule.

    The Tuesday schedule pays the previous week for real; a run triggered by hand defaults to a
    dry run (the form's box), so a curious click never freezes money.
    """
    from airflow.sdk.exceptions import AirflowFailException  # noqa: PLC0415

    from collector.core.clock import previous_week  # noqa: PLC0415
    from collector.payouts.ledger import PROVIDERS  # noqa: PLC0415

    if params.get("week"):
        week = date.fromisoformat(str(params["week"]))
        if week.weekday() != 0:
            # A wrong form entry is not fixed by a retry: fail at once, say what to enter.
            raise AirflowFailException(
                f"week must be a Monday (payout weeks run Monday to Monday, ET), got {week} ({week:%A})"
            )
    else:
        week = previous_week(logical_date or now)
    providers = list(params.get("providers") or PROVIDERS)
    scheduled = run_type_value(run_type) == SCHEDULED
    dry_run = False if scheduled else bool(params.get("dry_run", True))
    log.info(
        "Payout for the week of %s (Monday to Monday, ET), providers %s, %s",
        week,
        ", ".join(providers),
        "DRY RUN: nothing will be frozen or paid" if dry_run else "for real",
    )
    return {"week": week.isoformat(), "providers": providers, "dry_run": dry_run}


def freeze(
    week: date,
    providers: list[str],
    frozen_by: str,
    warehouse_conn_id: str = "collector_warehouse",
) -> list[dict]:
    """Freeze the week's batches (or find the open ones) and commit."""
    from collector.payouts.ledger import freeze_week  # noqa: PLC0415

    with _warehouse(warehouse_conn_id) as conn:
        frozen = freeze_week(conn, week, providers, frozen_by)
    return [
        {"batch_id": b.batch_id, "provider": b.provider, "state": b.state, "resumed": b.resumed}
        for b in frozen.batches
    ]


def next_step(report: dict, run: dict, approve: str, resume: str) -> list[str]:
    """After the report: ask finance (drafts), resume what was approved (a retry or a
    re-trigger), or stop (dry run, nothing to pay)."""
    if report["dry_run"]:
        return []
    if report["needs_approval"]:
        return [approve]
    if batches_in(date.fromisoformat(run["week"]), ("approved", "submitted"), run["providers"]):
        return [resume]
    return []


def release_if_rejected(ti, run: dict, approval: str, submit: str) -> list[int]:
    """A rejection skips ``submit`` from inside the ApprovalOperator, which then pushes no
    answer: recognise it from the task states (approval succeeded, submit skipped)."""
    states = ti.get_task_states(
        dag_id=ti.dag_id, task_ids=[approval, submit], run_ids=[ti.run_id]
    ).get(ti.run_id, {})
    rejected = states.get(approval) == "success" and states.get(submit) == "skipped"
    return release_rejected(date.fromisoformat(run["week"]), run["providers"], rejected)


def release_rejected(
    week: date,
    providers: list[str],
    rejected: bool,
    warehouse_conn_id: str = "collector_warehouse",
) -> list[int]:
    """When finance rejected the payout: close the week's drafts, release their videos.

    Who rejected is recorded by Airflow on the approval task (its Required Actions entry).
    """
    from collector.payouts.ledger import close_unsubmitted  # noqa: PLC0415

    if not rejected:
        return []
    by = "finance (Airflow UI: approve_payout)"
    drafts = batches_in(week, ("draft",), providers, warehouse_conn_id)
    with _warehouse(warehouse_conn_id) as conn:
        closed = close_unsubmitted(
            conn, drafts, "rejected", by, "rejected by finance in the Airflow UI"
        )
    log.warning(
        "%s rejected the payout for the week of %s: batches %s closed, their videos go to the next batch",
        by,
        week,
        closed,
    )
    return closed


def freeze_and_report(
    week: date,
    providers: list[str],
    dry_run: bool,
    frozen_by: str,
    try_number: int = 1,
    warehouse_conn_id: str = "collector_warehouse",
) -> dict:
    """Freeze the week (or preview it, rolled back), write this try's finance report and record it.

    The HTML and CSV are new files named by week, run and try (``report_stem``), opened ``xb``:
    a re-run, retry or clear adds a report and never rewrites one. Their SHA-256 goes into
    ``payout_reports`` in the freeze's own transaction (a real run: both commit or neither;
    a dry run: the freeze is rolled back, the record kept). Raises ReportFileError if a file
    exists already (nothing is frozen then).

    Returns what the approval and the submit step need: ``report_id``, the portal ``report_url``,
    the ``subject`` (amount, collectors, week), the markdown summary (payees masked) and the
    fingerprint finance approves.
    """
    from collector.core import settings  # noqa: PLC0415
    from collector.payouts.report import report_stem  # noqa: PLC0415
    from collector_airflow.storage import storage_path  # noqa: PLC0415

    folder = storage_path(settings.payout_reports_url())
    folder.mkdir(parents=True, exist_ok=True)
    stem = report_stem(week, frozen_by, try_number, dry_run)
    files = _ReportFiles(folder / f"{stem}.csv", folder / f"{stem}.html")
    with _warehouse(warehouse_conn_id) as conn:
        frozen, report, stored = _freeze_and_record(
            conn, week, providers, dry_run, frozen_by, try_number, files
        )
        conn.commit()
    url = f"{settings.portal_url()}/ops/payout-reports/{stored.report_id}"
    _log_freeze(frozen, dry_run, stored.report_id, url, files)
    batch_ids = [b.batch_id for b in frozen.batches]
    return {
        "week": week.isoformat(),
        "dry_run": dry_run,
        "report_id": stored.report_id,
        "report_url": url,
        "report_html": str(files.html),
        "report_csv": str(files.csv),
        "subject": report.subject(),
        "summary": report.summary(),
        "markdown": report.markdown() + f"\n\nFull report (portal, ops login): [{url}]({url})",
        "fingerprint": frozen.fingerprint(),
        "needs_approval": any(b.state == "draft" for b in frozen.batches) and not dry_run,
        "batch_ids": batch_ids,
    }


@dataclass
class _ReportFiles:
    """This try's report files and, once written, their SHA-256."""

    csv: Any
    html: Any
    csv_sha: str = ""
    html_sha: str = ""


def _freeze_and_record(conn, week, providers, dry_run, frozen_by, try_number, files):
    """Freeze, build the report, write its files and record them on ``conn`` (uncommitted;
    a dry run's freeze is rolled back before the record). Returns (frozen, report, stored)."""
    from collector.payouts.ledger import freeze_week  # noqa: PLC0415
    from collector.payouts.report import build_report, record_report, write_new  # noqa: PLC0415

    frozen = freeze_week(conn, week, providers, frozen_by)
    batch_ids = [b.batch_id for b in frozen.batches]
    report = build_report(conn, week, batch_ids, dry_run)
    files.csv_sha = write_new(files.csv, report.csv_text().encode())
    files.html_sha = write_new(files.html, report.html_text(frozen_by, try_number).encode())
    if dry_run:
        conn.rollback()
    stored = record_report(
        conn, report, frozen_by, try_number, [] if dry_run else batch_ids,
        str(files.html), files.html_sha, str(files.csv), files.csv_sha,
    )  # fmt: skip
    return frozen, report, stored


def _log_freeze(frozen, dry_run: bool, report_id: int, url: str, files: _ReportFiles) -> None:
    """One line per batch, the report's line, and a warning when collectors are held."""
    for batch in frozen.batches:
        log.info(
            "%s %s batch %s (attempt %s): %s payments, $%s%s",
            "Previewed" if dry_run else ("Resumed" if batch.resumed else "Froze"),
            batch.provider,
            batch.batch_id,
            batch.attempt,
            batch.item_count,
            dollars(batch.total_cents),
            f", state {batch.state}" if batch.resumed else "",
        )
    log.info(
        "Finance report %s (ops, on the portal): %s; files %s and %s (SHA-256 %s, %s)",
        report_id,
        url,
        files.html,
        files.csv,
        files.html_sha[:12],
        files.csv_sha[:12],
    )
    if frozen.held_collectors:
        log.warning(
            "%d collectors held (see the report): $%s not paid this week",
            frozen.held_collectors,
            dollars(frozen.held_cents),
        )


def submit_batch(
    batch_id: int,
    warehouse_conn_id: str = "collector_warehouse",
    conn_ids: dict[str, str] | None = None,
    actor: str = "weekly_payout",
) -> str:
    """Send every chunk of an approved batch the provider does not hold yet; return the state.

    The batch row stays locked (``FOR NO KEY UPDATE``) on one connection for the whole submit,
    so a concurrent trigger waits and then finds the work done; progress (attempted, accepted)
    is committed on a second connection before and after each call, so a crash anywhere leaves
    enough behind to resume by key without paying twice.

    A chunk attempted too long ago to trust the provider's de-duplication (``resend_refusal``:
    PayPal forgets a sender_batch_id after 30 days) is not sent: the other chunks are, then
    NeedsReconciliation says which chunk to look up and how to record the outcome.
    """
    from collector.payouts.ledger import LedgerError, close_unsubmitted  # noqa: PLC0415
    from collector.payouts.submission import (  # noqa: PLC0415
        NeedsReconciliation,
        batch_failures,
        chunks_of,
        lock_for_submit,
        mark_submitted,
        resend_refusal,
    )
    from collector_airflow.hooks.payouts import provider_hook  # noqa: PLC0415

    conn_ids = {**DEFAULT_CONN_IDS, **(conn_ids or {})}
    with _warehouse(warehouse_conn_id) as lock_conn, _warehouse(warehouse_conn_id) as conn:
        with lock_conn.cursor() as lock:
            provider, state = lock_for_submit(lock, batch_id)
            if state != "approved":
                if state == "draft":
                    raise LedgerError(f"batch {batch_id} is not approved: nothing sent")
                log.info("Batch %s is %s: nothing to send", batch_id, state)
                lock_conn.commit()
                return state
            hook = provider_hook(provider, conn_ids[provider])
            chunks = chunks_of(conn, batch_id)
            conn.commit()
            now = datetime.now(UTC)
            stuck = [r for c in chunks if (r := resend_refusal(provider, c, now))]
            for chunk in chunks:
                if not chunk.accepted and not resend_refusal(provider, chunk, now):
                    _send_chunk(conn, hook, provider, chunk, actor)
            if stuck:  # the others were sent; these wait for a person (fail closed)
                lock_conn.commit()
                raise NeedsReconciliation(" ".join(stuck))
            alive, _, reasons = batch_failures(conn, batch_id)
            conn.commit()
            if not alive:
                close_unsubmitted(lock_conn, [batch_id], "denied", actor, reasons or "refused")
                lock_conn.commit()
                log.error("Batch %s denied, nothing paid: %s", batch_id, reasons)
                return "denied"
            mark_submitted(lock, batch_id, actor)
        lock_conn.commit()
    return "submitted"


def _send_chunk(conn, hook, provider: str, chunk, actor: str) -> None:
    """One provider call, its progress committed on ``conn`` before and after: attempted, then
    accepted (or refused: its items fail, their videos roll over). Other errors are recorded on
    the chunk and raised."""
    from collector.payouts.submission import (  # noqa: PLC0415
        deny_chunk,
        mark_accepted,
        mark_attempted,
        mark_chunk_error,
    )
    from collector_airflow.hooks.payouts import PayoutRefused  # noqa: PLC0415

    batch_id = chunk.batch_id
    mark_attempted(conn, batch_id, chunk.chunk)
    try:
        ref = hook.submit_chunk(chunk)
    except PayoutRefused as refused:
        log.error("Batch %s chunk %s refused: %s", batch_id, chunk.chunk, refused)
        deny_chunk(conn, batch_id, chunk.chunk, str(refused), actor)
        conn.commit()
        return
    except Exception as exc:
        mark_chunk_error(conn, batch_id, chunk.chunk, str(exc))
        raise
    mark_accepted(conn, batch_id, chunk.chunk, ref, actor)
    log.info(
        "%s accepted batch %s chunk %s (%s payments) as %s",
        provider,
        batch_id,
        chunk.chunk,
        len(chunk.items),
        ref,
    )


def batches_in(
    week: date,
    states: tuple[str, ...],
    providers: list[str],
    warehouse_conn_id: str = "collector_warehouse",
) -> list[int]:
    """Ids of the week's batches in these states whose provider is one of ``providers``."""
    from collector.payouts.ledger import open_batches  # noqa: PLC0415

    with _warehouse(warehouse_conn_id) as conn:
        return [b for b, p, _ in open_batches(conn, week, states) if p in providers]


def reconcile_batches(
    batch_ids: list[int],
    warehouse_conn_id: str = "collector_warehouse",
    conn_ids: dict[str, str] | None = None,
    actor: str = "weekly_payout",
) -> dict:
    """Fetch every item's outcome and apply it; a batch the provider denied pays nothing."""
    from collector.payouts.submission import batch_outcome  # noqa: PLC0415

    conn_ids = {**DEFAULT_CONN_IDS, **(conn_ids or {})}
    summary: dict = {"items": {}, "batches": {}}
    with _warehouse(warehouse_conn_id) as conn:
        for batch_id in batch_ids:
            provider = _reconcile_one(conn, batch_id, conn_ids, actor, summary["items"])
            outcome = batch_outcome(conn, batch_id)
            conn.commit()
            summary["batches"][str(batch_id)] = {
                "provider": provider,
                "state": outcome.state,
                "reason": outcome.reason,
                "paid_items": outcome.paid_items,
                "paid_cents": outcome.paid_cents,
            }
            log.info(
                "Batch %s (%s): %s, %s payments paid, $%s%s",
                batch_id,
                provider,
                outcome.state,
                outcome.paid_items,
                dollars(outcome.paid_cents),
                f" ({outcome.reason})" if outcome.reason else "",
            )
    return summary


def _reconcile_one(conn, batch_id: int, conn_ids: dict, actor: str, items: dict) -> str:
    """Apply the provider's outcomes of every accepted chunk (committed chunk by chunk), close
    the batch as denied when the provider denied a chunk; add the counts to ``items``.
    Returns the batch's provider."""
    from collector.payouts.ledger import record_outcomes  # noqa: PLC0415
    from collector.payouts.submission import (  # noqa: PLC0415
        batch_provider,
        chunks_of,
        close_submitted_denied,
    )
    from collector_airflow.hooks.payouts import provider_hook  # noqa: PLC0415

    provider = batch_provider(conn, batch_id)
    hook = provider_hook(provider, conn_ids[provider])
    denied = []
    for chunk in chunks_of(conn, batch_id):
        if not chunk.accepted or (provider == "paypal" and not chunk.provider_batch_id):
            continue
        status = hook.chunk_status(chunk, _open_keys(conn, batch_id, chunk.chunk), True)
        counts = record_outcomes(conn, provider, status.outcomes, actor)
        conn.commit()
        if status.denied:
            denied.append(status.denied)
        for key, n in counts.items():
            items[key] = items.get(key, 0) + n
    if denied:
        close_submitted_denied(conn, batch_id, actor, "; ".join(sorted(set(denied))))
        conn.commit()
    return provider


def check_week_settled(
    run: dict,
    run_type: object,
    since,
    warehouse_conn_id: str = "collector_warehouse",
) -> dict:
    """The last task of a scheduled payout: fail, so ops are emailed, when the week ends with
    accepted, unpaid videos of collectors who have payment details (issue 17, item 1).

    ``run_type`` is ``dag_run.run_type`` as the Task SDK gives it (an Enum; compared by value).
    Runs triggered by hand are skipped: finance is watching those. A rejection by finance fails
    too, and the message says it was deliberate (docs/decisions.md). Returns the counts;
    raises AirflowFailException (no retry: a retry would not pay anything) with one sentence,
    or AirflowSkipException for a run that was not scheduled.
    """
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException  # noqa: PLC0415

    from collector.payouts.ledger import unsettled_week  # noqa: PLC0415

    if run_type_value(run_type) != SCHEDULED:
        raise AirflowSkipException(
            "Not a scheduled run: whoever triggered it sees its outcome; nothing checked"
        )
    if not run:  # resolve_run failed (its own failure alerted ops): no week to check
        raise AirflowSkipException("No payout week was resolved for this run; nothing checked")
    week = date.fromisoformat(run["week"])
    with _warehouse(warehouse_conn_id) as conn:
        left = unsettled_week(conn, week, since)
        conn.rollback()
    counts = {
        "week": week.isoformat(),
        "videos": left.videos,
        "collectors": left.collectors,
        "cents": left.cents,
        "unsent_videos": left.unsent_videos,
        "rejected_batches": left.rejected_batches,
    }
    if sentence := left.sentence():
        raise AirflowFailException(sentence)
    log.info("The week of %s is settled: no accepted, payable video left unpaid", week)
    return counts


# The payout's Python tasks (dags/weekly_payout.py wires them). The Python names end in
# ``_task`` (the glue above keeps the plain names); the task ids are the plain names.


@task(task_id="resolve_run")
def resolve_run_task(params: dict, dag_run=None, logical_date=None) -> dict:
    return resolve_run(params, dag_run.run_type, logical_date, datetime.now(UTC))


@task(task_id="refresh_outstanding")
def refresh_outstanding_task(run: dict) -> dict:
    return refresh_outstanding(run["providers"])


@task(task_id="freeze")
def freeze_task(run: dict, dag_run=None) -> list:
    if run["dry_run"]:
        log.info("Dry run: nothing frozen; the report previews the freeze and rolls it back")
        return []
    return freeze(date.fromisoformat(run["week"]), run["providers"], dag_run.run_id)


@task(task_id="finance_report")
def finance_report_task(run: dict, dag_run=None, ti=None) -> dict:
    return freeze_and_report(
        date.fromisoformat(run["week"]),
        run["providers"],
        run["dry_run"],
        dag_run.run_id,
        ti.try_number,
    )


@task.branch(task_id="route")
def route_task(report: dict, run: dict) -> list[str]:
    return next_step(report, run, approve="approve_payout", resume="already_approved")


@task(task_id="reconcile", outlets=[PAYOUTS])
def reconcile_task(submitted: dict) -> dict:
    return reconcile_batches([int(b) for b in submitted["batch_ids"]])


@task(task_id="release_if_rejected", trigger_rule="none_failed")  # `submit` skipped: rejected
def release_if_rejected_task(run: dict, ti=None) -> list:
    return release_if_rejected(ti, run, approval="approve_payout", submit="submit")


@task(task_id="check_week_settled", trigger_rule="all_done")  # also after a failure: the point
def check_week_settled_task(run: dict, dag_run=None) -> dict:
    return check_week_settled(run, dag_run.run_type, dag_run.start_date)
