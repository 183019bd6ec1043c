"""Issue 21: a payment that failed on our side (our PayPal balance, a denied batch) tells the
collector there is nothing for them to do and that it goes out with the next payout, without
batch keys, provider error names or our balance; one the collector can fix (a Payoneer payee
id that is not registered) says what to do. Through the payment sandbox (insufficient funds
fault), the payout tasks, and the collector_emails DAG to the SMTP sandbox."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from payout_checks import admin, payout_week, rows, wait_until_final

from collector.payouts.ledger import approve_batches

DAGS = Path(__file__).resolve().parents[2] / "dags"
WEEK = date(2026, 11, 16)
INTERNAL = ("insufficient", "funds", "balance", "denied", "batch", "http ", "refused")


@pytest.fixture
def failed_week(warehouse, payment_connections, smtp_connection, sandbox_url, monkeypatch):
    from collector_airflow.tasks.payouts import freeze_and_report, reconcile_batches, submit_batch

    monkeypatch.setenv("COLLECTOR_PORTAL_URL", "https://portal.example.com")
    payout_week(
        warehouse,
        {"ann@x.org": ("paypal", "ann@x.org"), "dee@x.org": ("payoneer", "DEE-unregistered")},
    )
    admin(sandbox_url, "payments/faults", {"provider": "paypal", "kind": "insufficient_funds"})
    report = freeze_and_report(WEEK, ["paypal", "payoneer"], False, "scheduled__wording", 1)
    approve_batches(warehouse, report["fingerprint"], "finance@x.org")
    warehouse.commit()
    for batch_id in report["batch_ids"]:
        submit_batch(batch_id)
    wait_until_final(report["batch_ids"])
    reconcile_batches(report["batch_ids"])
    return smtp_connection


@pytest.mark.airflow
def test_our_failure_says_nothing_to_do_and_a_receiver_failure_says_what_to_do(
    airflow_db, failed_week, warehouse
):
    from airflow.dag_processing.dagbag import DagBag

    assert rows(warehouse, "SELECT collector_id, status FROM payout_items ORDER BY 1") == [
        ("ann@x.org", "failed"),
        ("dee@x.org", "failed"),
    ]
    [(ann_reason,)] = rows(
        warehouse, "SELECT failure_reason FROM payout_items WHERE collector_id = 'ann@x.org'"
    )
    assert "INSUFFICIENT_FUNDS" in ann_reason  # finance and ops keep the provider's words
    internal = [
        value
        for (value,) in rows(
            warehouse,
            """SELECT idempotency_key FROM payout_items UNION ALL
               SELECT idempotency_key FROM payout_submissions UNION ALL
               SELECT provider_batch_id FROM payout_submissions
               WHERE provider_batch_id IS NOT NULL""",
        )
    ]
    dag = DagBag(dag_folder=str(DAGS / "collector_emails.py")).get_dag("collector_emails")
    assert dag.test().state == "success"
    messages = failed_week()
    ann = [m for m in messages if m["to"] == "ann@x.org"]
    [problem] = [m for m in ann if "payment" in m["subject"] and "week" not in m["subject"]]
    assert problem["subject"] == "Your payment of $6.50 is delayed: nothing for you to do"
    assert "a problem on our side, not with your details" in problem["text"]
    assert "We will send it with the next payout." in problem["text"]
    [dee] = [m for m in messages if m["to"] == "dee@x.org" and "did not arrive" in m["subject"]]
    assert "the payee id under Profile is not registered or not active at Payoneer" in dee["text"]
    assert "https://portal.example.com/profile" in dee["text"]
    for message in messages:
        body = message["subject"] + message["text"] + message["html"]
        assert "check your payment details" not in body.lower(), message["subject"]
        for word in INTERNAL:
            assert word not in body.lower(), (word, message["subject"])
        for key in internal:  # idempotency keys, sender_batch_ids, PayPal's batch ids
            assert key not in body, (key, message["subject"])
    [digest] = [m for m in ann if "Your week of" in m["subject"]]
    assert "delayed by a problem on our side" in digest["text"]
