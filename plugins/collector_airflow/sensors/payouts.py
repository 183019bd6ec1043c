"""Wait for payout batches without holding a worker slot."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import BaseOperator

from collector_airflow.triggers.payouts import PayoutBatchTrigger


class PayoutBatchSensor(BaseOperator):
    """Done when every item of ``batch_ids`` is terminal at its provider (or nothing to wait
    for). Always deferrable: the wait happens in the triggerer. ``batch_ids`` may be a list or
    the submit operator's ``{"batch_ids": [...]}``."""

    template_fields = ("batch_ids", "poll_interval")

    def __init__(
        self,
        *,
        batch_ids: list[int] | Any,
        warehouse_conn_id: str = "collector_warehouse",
        conn_ids: dict[str, str] | None = None,
        poll_interval: float | str = 60.0,
        wait_timeout: timedelta = timedelta(days=2),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.batch_ids = batch_ids
        self.warehouse_conn_id = warehouse_conn_id
        self.conn_ids = conn_ids or {}
        self.poll_interval = poll_interval
        self.wait_timeout = wait_timeout

    def execute(self, context: Any) -> dict:
        value = self.batch_ids or []
        if isinstance(value, dict):  # SubmitPayoutBatchOperator's return value
            value = value.get("batch_ids") or []
        batch_ids = [int(b) for b in value]
        if not batch_ids:
            self.log.info("No submitted batches: nothing to wait for")
            return {"status": "done", "batch_ids": []}
        self.log.info("Deferring until the providers finish batches %s", batch_ids)
        self.defer(
            trigger=PayoutBatchTrigger(
                batch_ids, self.warehouse_conn_id, self.conn_ids, float(self.poll_interval)
            ),
            method_name="execute_complete",
            timeout=self.wait_timeout,
        )

    def execute_complete(self, context: Any, event: dict) -> dict:
        if event.get("status") != "done":
            raise RuntimeError(
                f"Gave up waiting for the providers: {event.get('message')}. The batches stay "
                "submitted; clear this task to wait again (nothing is sent twice)."
            )
        self.log.info("Every item of batches %s is final at its provider", event["batch_ids"])
        return event
