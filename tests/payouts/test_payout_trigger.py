"""The deferrable wait's trigger: serializable for the triggerer, and its async loop ends with
"done" once the provider finished, or "error" after repeated failures."""

from __future__ import annotations

import asyncio
import importlib
from datetime import date

from scoring_world import World

from collector.payouts.ledger import approve_batches, freeze_week
from collector.payouts.profiles import set_payment_profile
from collector.scoring.scores import score_videos
from collector_airflow.tasks.payouts import submit_batch
from collector_airflow.triggers.payouts import PayoutBatchTrigger


def _first_event(trigger: PayoutBatchTrigger, timeout: float = 30):
    async def first():
        async for event in trigger.run():
            return event.payload

    return asyncio.run(asyncio.wait_for(first(), timeout))


def test_trigger_round_trips_through_its_serialized_form():
    trigger = PayoutBatchTrigger([3, 4], "wh", {"paypal": "pp"}, poll_interval=5, max_errors=2)
    classpath, kwargs = trigger.serialize()
    module, name = classpath.rsplit(".", 1)
    assert module.startswith("collector_airflow.")  # importable by the triggerer, not dags/
    again = getattr(importlib.import_module(module), name)(**kwargs)
    assert again.serialize() == (classpath, kwargs)


def test_trigger_fires_when_the_provider_is_done(warehouse, payment_connections):
    world = World(warehouse, pay_per_video_cents=300)
    world.video(collector="ann@x.org")
    score_videos(warehouse)
    set_payment_profile(warehouse, "ann@x.org", "paypal", "ann@x.org", "test")
    frozen = freeze_week(warehouse, date(2026, 11, 16), ["paypal"], "test")
    approve_batches(warehouse, frozen.fingerprint(), "finance@x.org")
    warehouse.commit()
    batch_id = frozen.batches[0].batch_id
    submit_batch(batch_id)
    trigger = PayoutBatchTrigger([batch_id], poll_interval=0.1)
    assert trigger.waiting()  # just sent: PayPal is still processing (0.2 s)
    assert _first_event(trigger) == {"status": "done", "batch_ids": [batch_id]}


def test_trigger_gives_up_after_repeated_errors(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_BROKEN_WAREHOUSE", "postgresql://nobody@127.0.0.1:1/none")
    trigger = PayoutBatchTrigger([1], "broken_warehouse", poll_interval=0.01, max_errors=3)
    event = _first_event(trigger)
    assert event["status"] == "error"
    # The failure reads as a sentence naming the connection and the next step.
    assert event["message"].startswith("WarehouseUnavailable: ")
    assert "`broken_warehouse`" in event["message"] and "Next step" in event["message"]
