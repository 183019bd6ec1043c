"""Internationalized recipients (issue 19, case 3) through the outbox, Airflow's SMTP provider
and the sandbox's SMTP server: a non-ASCII address goes out with SMTPUTF8 (RFC 6531) and an
RFC 6532 ``To`` header; a server without SMTPUTF8 fails that one message with the reason
while the rest of the batch is delivered; nothing is left ``sending``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from collector.accounts import logins
from collector.notify.ops_digest import build_ops_digest
from collector_airflow.tasks.notify import enqueue, send_outbox

JOSE = "josé.núñez@example.com"
OTHERS = [f"collector{n}@example.com" for n in range(7)]
DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture
def invited(warehouse, smtp_connection, monkeypatch):
    """José and seven others invited: eight welcomes in one batch, José's in the middle."""
    monkeypatch.setenv("COLLECTOR_PORTAL_URL", "http://portal.test")
    for address in [*OTHERS[:3], "  José.Núñez@Example.com\u200b", *OTHERS[3:]]:
        logins.create_account(warehouse, address)
    warehouse.commit()
    return smtp_connection


def _outbox(conn) -> dict[str, tuple]:
    with conn.cursor() as cur:
        cur.execute("SELECT recipient, status, attempts, last_error FROM email_outbox")
        rows = {r[0]: r[1:] for r in cur.fetchall()}
    conn.commit()
    return rows


def test_the_collector_emails_dag_sends_a_non_ascii_address_with_smtputf8(
    airflow_db, invited, warehouse
):
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(DAGS / "collector_emails.py")).get_dag("collector_emails")
    assert dag.test().state == "success"
    messages = invited()
    assert sorted(m["to"] for m in messages) == sorted([JOSE, *OTHERS])
    [jose] = [m for m in messages if m["to"] == JOSE]
    assert jose["subject"] == "Welcome to the Visym Collector team"
    assert "/set-password?token=" in jose["text"]
    assert {status for status, _, _ in _outbox(warehouse).values()} == {"sent"}
    assert dag.test().state == "success"  # a rerun sends nothing again
    assert len(invited()) == 8


def test_a_server_without_smtputf8_fails_that_message_and_delivers_the_rest(
    invited, warehouse, sandbox_admin
):
    sandbox_admin("mail/smtputf8", {"enabled": False})
    enqueue()
    first = send_outbox()
    assert first["sent"] == {"welcome": 7} and first["failed"] == {"welcome": 1}
    assert sorted(m["to"] for m in invited()) == OTHERS
    rows = _outbox(warehouse)
    status, attempts, error = rows[JOSE]
    assert (status, attempts) == ("failed", 1)
    assert error.startswith("SMTPNotSupportedError: ") and "SMTPUTF8" in error
    assert {rows[o][0] for o in OTHERS} == {"sent"}
    digest = dict(
        (what, value) for what, value, _ in build_ops_digest(warehouse, datetime.now(UTC)).lines
    )
    assert digest["Collector emails failed / stuck in sending"] == "1 / 0"
    # Once the relay offers SMTPUTF8, the next run delivers it, once.
    sandbox_admin("mail/smtputf8", {"enabled": True})
    assert send_outbox()["sent"] == {"welcome": 1}
    assert send_outbox()["sent"] == {}
    assert [m["to"] for m in invited()].count(JOSE) == 1
    assert _outbox(warehouse)[JOSE][:2] == ("sent", 2)
