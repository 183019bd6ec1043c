"""Submit a week's approved payout batches, exactly once per chunk."""

from __future__ import annotations

from datetime import date
from typing import Any

from airflow.sdk import BaseOperator


class SubmitPayoutBatchOperator(BaseOperator):
    """Approve what finance approved (when ``approval_task_id`` answered), then send every
    approved batch of ``week`` to its provider in chunks, resuming by idempotency key.

    Returns ``{"batch_ids": [...], "states": {...}}`` for the sensor and the reconcile step.
    Fails closed: a draft nobody approved, or a batch that changed since the report, is not
    sent; a chunk attempted too long ago to re-send safely fails the task (no retry) with the
    sentence saying how to reconcile it, after the other batches were sent.
    """

    template_fields = ("week", "providers")

    def __init__(
        self,
        *,
        week: str,
        providers: list[str] | str,
        approval_task_id: str | None = None,
        report_task_id: str | None = None,
        warehouse_conn_id: str = "collector_warehouse",
        conn_ids: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.week = week
        self.providers = providers
        self.approval_task_id = approval_task_id
        self.report_task_id = report_task_id
        self.warehouse_conn_id = warehouse_conn_id
        self.conn_ids = conn_ids or {}

    def execute(self, context: Any) -> dict:
        from airflow.sdk.exceptions import AirflowFailException  # noqa: PLC0415

        from collector.payouts import ledger  # noqa: PLC0415
        from collector.payouts.submission import NeedsReconciliation  # noqa: PLC0415
        from collector_airflow.hooks.warehouse import CollectorWarehouseHook  # noqa: PLC0415
        from collector_airflow.tasks.payouts import batches_in, submit_batch  # noqa: PLC0415

        week = date.fromisoformat(str(self.week))
        providers = (
            list(self.providers)
            if isinstance(self.providers, list)
            else [p for p in str(self.providers).split(",") if p]
        )
        ti = context["ti"]
        answer = ti.xcom_pull(task_ids=self.approval_task_id) if self.approval_task_id else None
        if answer and answer.get("chosen_options") == ["Approve"]:
            report = ti.xcom_pull(task_ids=self.report_task_id) or {}
            who = answer.get("responded_by_user") or {}
            approver = who.get("name") or who.get("id") or "unknown"
            with CollectorWarehouseHook(self.warehouse_conn_id).connection() as conn:
                approved = ledger.approve_batches(conn, report["fingerprint"], approver)
            self.log.info("Batches %s approved by %s in the Airflow UI", approved, approver)
        drafts = batches_in(week, ("draft",), providers, self.warehouse_conn_id)
        if drafts:
            raise ledger.LedgerError(
                f"batches {drafts} of week {week} are not approved: nothing sent. Approve them "
                "in the approval task of this run (or re-trigger the week)."
            )
        states, stuck = {}, []
        for batch_id in batches_in(
            week, ("approved", "submitted"), providers, self.warehouse_conn_id
        ):
            try:
                states[str(batch_id)] = submit_batch(
                    batch_id, self.warehouse_conn_id, self.conn_ids
                )
            except NeedsReconciliation as waiting:  # the other batches still go
                self.log.error("%s", waiting)
                stuck.append(str(waiting))
        if stuck:  # a retry would not help: a person must look the chunk up first
            raise AirflowFailException(" ".join(stuck))
        sent = [int(b) for b, s in states.items() if s == "submitted"]
        return {"batch_ids": sent, "states": states}
