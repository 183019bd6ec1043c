"""Wait for payout batches in the triggerer: no worker slot is held while PayPal or Payoneer
process the money (minutes to hours)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


class PayoutBatchTrigger(BaseTrigger):
    """Polls the providers until every item of these ledger batches left the pending state.

    Each poll asks one cheap question per chunk (PayPal: the batch header; Payoneer: the items
    still pending). Transient errors are retried up to ``max_errors`` polls in a row.
    """

    def __init__(
        self,
        batch_ids: list[int],
        warehouse_conn_id: str = "collector_warehouse",
        conn_ids: dict[str, str] | None = None,
        poll_interval: float = 60.0,
        max_errors: int = 5,
    ) -> None:
        super().__init__()
        self.batch_ids = [int(b) for b in batch_ids]
        self.warehouse_conn_id = warehouse_conn_id
        self.conn_ids = dict(conn_ids or {})
        self.poll_interval = float(poll_interval)
        self.max_errors = int(max_errors)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "batch_ids": self.batch_ids,
                "warehouse_conn_id": self.warehouse_conn_id,
                "conn_ids": self.conn_ids,
                "poll_interval": self.poll_interval,
                "max_errors": self.max_errors,
            },
        )

    def waiting(self) -> dict[str, int]:
        """Chunk label -> items the provider has not finished (blocking; run in a thread)."""
        from collector.payouts.submission import (  # noqa: PLC0415
            batch_provider,
            batch_waiting,
            chunks_of,
        )
        from collector_airflow.hooks.payouts import provider_hook  # noqa: PLC0415
        from collector_airflow.hooks.warehouse import CollectorWarehouseHook  # noqa: PLC0415

        conn_ids = {"paypal": "paypal_default", "payoneer": "payoneer_default", **self.conn_ids}
        found: dict[str, int] = {}
        with CollectorWarehouseHook(self.warehouse_conn_id).connection() as conn:
            for batch_id in self.batch_ids:
                provider = batch_provider(conn, batch_id)
                waiting = set(batch_waiting(conn, batch_id))
                if not waiting:
                    continue
                hook = provider_hook(provider, conn_ids[provider])
                for chunk in chunks_of(conn, batch_id):
                    keys = [i.idempotency_key for i in chunk.items if i.idempotency_key in waiting]
                    if keys and not hook.chunk_status(chunk, keys, with_items=False).done:
                        found[f"{provider} batch {batch_id} chunk {chunk.chunk}"] = len(keys)
                conn.commit()
        return found

    async def run(self) -> AsyncIterator[TriggerEvent]:
        errors = 0
        while True:
            try:
                waiting = await asyncio.to_thread(self.waiting)
            except Exception as exc:  # the provider or the warehouse is down for a moment
                errors += 1
                self.log.warning("Poll %d/%d failed: %s", errors, self.max_errors, exc)
                if errors >= self.max_errors:
                    yield TriggerEvent(
                        {"status": "error", "message": f"{type(exc).__name__}: {exc}"}
                    )
                    return
            else:
                errors = 0
                if not waiting:
                    yield TriggerEvent({"status": "done", "batch_ids": self.batch_ids})
                    return
                self.log.info("Providers still processing: %s", waiting)
            await asyncio.sleep(self.poll_interval)
