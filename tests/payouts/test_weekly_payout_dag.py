"""The weekly payout DAG end to end with real Airflow: `airflow dags test` in its own process,
finance's answer given over the REST API the way the UI gives it, the wait deferred to a
trigger, the sandbox paying through the real clients. Plus: a rejection, a dry run, and a scan
for secrets in everything a task leaves behind."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from payout_checks import admin, assert_paid_exactly_once, payout_week, rows
from processes import start_api_server, stop_group

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).parent / "airflow")
WEEK = "2026-11-16"


@pytest.fixture(scope="module")
def api_server(airflow_db):
    """A lone Airflow API server on the tests' metadata DB: where the approval is answered."""
    env = {**os.environ, "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin"}
    process, url = start_api_server(env, airflow_db / "api-server-test.log")
    yield url
    stop_group(process)


@pytest.fixture
def payout_world(warehouse, payment_connections):
    payees = {
        "ann@x.org": ("paypal", "ann@x.org"),
        "bob@x.org": ("paypal", "bob+unclaimed@x.org"),
        "dee@x.org": ("payoneer", "DEE-1"),
        "nop@x.org": None,  # no payment details: held
    }
    payout_week(warehouse, payees)
    return payment_connections


def _dags_test(conf: dict, tmp_path: Path) -> subprocess.Popen:
    out = open(tmp_path / "dags-test.log", "w")
    return subprocess.Popen(
        [AIRFLOW, "dags", "test", "weekly_payout", "-c", json.dumps(conf)],
        stdout=out,
        stderr=subprocess.STDOUT,
        env={**os.environ, "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin"},
    )


def _answer(api: str, decision: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "approve_payout.py"),
            "--api",
            api,
            "--decision",
            decision,
            "--timeout",
            "180",
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )


def _finish(run: subprocess.Popen, tmp_path: Path) -> str:
    try:
        run.wait(240)
    except subprocess.TimeoutExpired:
        run.kill()
        raise
    output = (tmp_path / "dags-test.log").read_text()
    assert run.returncode == 0, output[-5000:]
    return output


def _api(api: str, path: str) -> dict:
    from importlib import util

    spec = util.spec_from_file_location("approve_payout", ROOT / "scripts" / "approve_payout.py")
    module = util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.api_call(api, "GET", path, module.login(api))


@pytest.mark.slow  # about 30 s: the whole payout through the sandbox
def test_approved_payout_is_paid_reconciled_and_published(
    payout_world, api_server, warehouse, sandbox_url, tmp_path
):
    started = time.time()
    run = _dags_test({"week": WEEK, "dry_run": False}, tmp_path)
    answered = _answer(api_server, "Approve")
    output = _finish(run, tmp_path)
    assert answered.returncode == 0, answered.stderr
    assert "**$19.50** to pay" in answered.stdout  # finance read the report's summary
    assert (
        "Approval pending: Approve $19.50 to 3 collectors for the week of 2026-11-16"
        in answered.stdout
    )
    assert "| bob@x.org | paypal | bo…@…org | 6.50 |" in answered.stdout
    assert "/ops/payout-reports/" in answered.stdout and "file://" not in answered.stdout
    assert "Held (not paid, with the reason): 1 collectors" in answered.stdout

    states = rows(warehouse, "SELECT provider, state, approved_by FROM payout_batches")
    assert sorted(states) == [
        ("payoneer", "reconciled", "admin"),
        ("paypal", "reconciled", "admin"),
    ]
    statuses = dict(rows(warehouse, "SELECT collector_id, status FROM payout_items"))
    assert statuses == {"ann@x.org": "paid", "bob@x.org": "unclaimed", "dee@x.org": "paid"}
    assert_paid_exactly_once(warehouse, sandbox_url)
    assert "Deferring until the providers finish" in output

    run_id = answered.stdout.strip().rsplit("(run ", 1)[1].rstrip(")")
    events = _api(api_server, "/api/v2/assets/events?source_dag_id=weekly_payout")
    assert any(e["source_run_id"] == run_id for e in events["asset_events"])

    # Secrets: nothing a task leaves behind holds a client secret, a Basic header or a token.
    clients = payout_world
    secrets = {clients["paypal"]["client_secret"], clients["payoneer"]["client_secret"]}
    for provider in ("paypal", "payoneer"):
        pair = f"{clients[provider]['client_id']}:{clients[provider]['client_secret']}"
        secrets.add(base64.b64encode(pair.encode()).decode())
    tokens = Path(admin(sandbox_url, "payments/state-dir")["path"]) / "tokens.json"
    issued = json.loads(tokens.read_text())  # provider -> {access token: expiry}
    secrets |= {token for by_token in issued.values() for token in by_token}
    assert len(secrets) >= 6  # 2 secrets, 2 Basic headers, a token per provider at least
    places = {"dags test output": output}
    for log in Path(os.environ["AIRFLOW_HOME"], "logs").rglob("*"):
        if log.is_file() and log.stat().st_mtime >= started:
            places[str(log)] = log.read_text(errors="replace")
    tis = _api(api_server, f"/api/v2/dags/weekly_payout/dagRuns/{run_id}/taskInstances")
    places["rendered fields"] = json.dumps(
        [ti.get("rendered_fields") for ti in tis["task_instances"]]
    )
    xcoms = _api(
        api_server,
        f"/api/v2/dags/weekly_payout/dagRuns/{run_id}/taskInstances/~/xcomEntries?limit=100",
    )
    for entry in xcoms["xcom_entries"]:
        value = _api(
            api_server,
            f"/api/v2/dags/weekly_payout/dagRuns/{run_id}/taskInstances/{entry['task_id']}"
            f"/xcomEntries/{entry['key']}?map_index={entry['map_index']}",
        )
        places[f"xcom {entry['task_id']}"] = json.dumps(value)
    reports = Path(os.environ["COLLECTOR_PAYOUT_REPORTS_URL"])
    for report in reports.iterdir():
        places[str(report)] = report.read_text()
    assert any("finance_report" in p for p in places), sorted(places)
    assert len(places) > 10
    leaks = [(where, s[:6]) for where, text in places.items() for s in secrets if s in text]
    assert not leaks, leaks

    # Finance triggers the same week again: nothing new to freeze, nothing sent, no approval;
    # the first report stays byte for byte and a new one is added beside it.
    first_reports = {p: p.read_bytes() for p in reports.iterdir()}
    assert len(first_reports) == 2  # the run's HTML and CSV
    creates = admin(sandbox_url, "payments/stats")["paypal"]["create"]
    again = _finish(_dags_test({"week": WEEK, "dry_run": False}, tmp_path), tmp_path)
    assert {p: p.read_bytes() for p in first_reports} == first_reports
    assert len(list(reports.iterdir())) == 4
    assert rows(warehouse, "SELECT total_cents FROM payout_reports ORDER BY report_id") == [
        (1950,),
        (0,),
    ]
    assert "Branch into []" in again  # neither approval nor submit
    assert "Resumed" not in again and "Froze" not in again
    assert rows(warehouse, "SELECT count(*) FROM payout_batches") == [(2,)]
    assert admin(sandbox_url, "payments/stats")["paypal"]["create"] == creates
    assert_paid_exactly_once(warehouse, sandbox_url)


@pytest.mark.slow  # about 10 s: the fast lane skips it
def test_rejected_payout_pays_nothing_and_releases_the_videos(
    payout_world, api_server, warehouse, sandbox_url, tmp_path
):
    run = _dags_test({"week": WEEK, "dry_run": False}, tmp_path)
    answered = _answer(api_server, "Reject")
    output = _finish(run, tmp_path)
    assert answered.returncode == 0, answered.stderr
    assert "rejected the payout for the week of 2026-11-16" in output
    assert {s for (s,) in rows(warehouse, "SELECT state FROM payout_batches")} == {"rejected"}
    assert rows(warehouse, "SELECT count(*) FROM payout_item_videos WHERE released_at IS NULL") == [
        (0,)
    ]
    assert admin(sandbox_url, "payments/stats")["paypal"]["create"] == 0
    assert admin(sandbox_url, "payments/batches") == {"paypal": [], "payoneer": []}


@pytest.mark.slow  # about 10 s: the fast lane skips it
def test_hand_triggered_run_defaults_to_a_dry_run(payout_world, airflow_db, warehouse, tmp_path):
    run = _dags_test({"week": WEEK}, tmp_path)
    output = _finish(run, tmp_path)
    assert "DRY RUN: nothing will be frozen or paid" in output
    assert rows(warehouse, "SELECT count(*) FROM payout_batches") == [(0,)]
    assert rows(warehouse, "SELECT count(*) FROM payout_holds") == [(0,)]
    [html] = Path(os.environ["COLLECTOR_PAYOUT_REPORTS_URL"]).glob(
        f"payout-{WEEK}-manual__*-try1-dry-run.html"
    )
    assert "DRY RUN: nothing was frozen, approved or paid." in html.read_text()
    assert "$19.50" in html.read_text()
    assert rows(warehouse, "SELECT dry_run, total_cents FROM payout_reports") == [(True, 1950)]
    # Unpaid videos are left, but a run by hand is finance's to watch: no ops alert.
    assert "Not a scheduled run: whoever triggered it sees its outcome" in output


def test_the_settled_check_runs_last_whatever_happened_before():
    """check_week_settled sees every ending: paid, rejected (release_if_rejected), failed."""
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(ROOT / "dags" / "weekly_payout.py")).get_dag("weekly_payout")
    check = dag.get_task("check_week_settled")
    assert check.trigger_rule == "all_done"
    assert {"reconcile", "release_if_rejected", "resolve_run"} == check.upstream_task_ids
    assert not check.downstream_task_ids
    # ...and a leaf beside it keeps the run's state the payout's: a failure upstream fails the
    # run even when the check itself is skipped (a run by hand).
    finished = dag.get_task("payout_finished")
    assert finished.trigger_rule == "none_failed" and not finished.downstream_task_ids
    assert {"reconcile", "release_if_rejected"} == finished.upstream_task_ids


@pytest.mark.slow  # about 10 s: the fast lane skips it
def test_a_week_that_is_not_a_monday_is_refused_with_the_reason(payout_world, airflow_db, tmp_path):
    run = _dags_test({"week": "2026-11-18"}, tmp_path)
    run.wait(240)
    output = (tmp_path / "dags-test.log").read_text()
    assert run.returncode != 0
    assert "week must be a Monday" in output and "Wednesday" in output


@pytest.mark.slow  # about 30 s: two runs of the payout through the sandbox
def test_a_chunk_paypal_has_forgotten_is_not_sent_again_and_waits_for_a_person(
    payout_world, airflow_db, warehouse, sandbox_url, tmp_path
):
    """Issue 20: PayPal forgets a sender_batch_id after 30 days. A chunk attempted 31 days ago
    whose answer was lost (PayPal paid it) must not be re-sent: the run stops and says how to
    reconcile it, the other batch still goes, nobody is paid twice; ops see it in the digest;
    once recorded by hand the next run finishes it from PayPal's answer."""
    from datetime import UTC, date, datetime

    from collector_tools.cli import main as collector_cli

    from collector.notify.ops_digest import build_ops_digest
    from collector.payouts.ledger import approve_batches, freeze_week
    from collector.payouts.submission import chunks_of, mark_attempted
    from collector_airflow.hooks.payouts import PayPalPayoutsHook

    frozen = freeze_week(warehouse, date.fromisoformat(WEEK), ["paypal", "payoneer"], "test")
    approve_batches(warehouse, frozen.fingerprint(), "finance@x.org")
    warehouse.commit()
    batch = {b.provider: b.batch_id for b in frozen.batches}["paypal"]
    [chunk] = chunks_of(warehouse, batch)
    warehouse.commit()
    mark_attempted(warehouse, batch, 1)
    original = PayPalPayoutsHook().submit_chunk(chunk)  # PayPal pays; our answer was lost
    with warehouse.cursor() as cur:
        cur.execute("UPDATE payout_submissions SET attempted_at = now() - interval '31 days'")
    warehouse.commit()
    admin(sandbox_url, "payments/clock/advance", {"days": 31})  # PayPal has forgotten the key
    creates = admin(sandbox_url, "payments/stats")["paypal"]["create"]

    run = _dags_test({"week": WEEK, "dry_run": False}, tmp_path)
    run.wait(240)
    output = (tmp_path / "dags-test.log").read_text()
    assert run.returncode != 0, output[-3000:]
    assert (
        f"paypal batch {batch} chunk 1 (sender_batch_id {chunk.idempotency_key}, 2 payments) "
        "was sent 31 days ago and never confirmed" in output
    )
    assert f"`collector payouts chunk-found {batch} 1 PAYOUT_BATCH_ID`" in output
    assert admin(sandbox_url, "payments/stats")["paypal"]["create"] == creates  # not re-sent
    held = admin(sandbox_url, "payments/batches")
    paid_to = [i["payout_item"]["receiver"] for b in held["paypal"] for i in b["items"]]
    assert sorted(paid_to) == ["ann@x.org", "bob+unclaimed@x.org"]  # each once
    assert [p["payee_id"] for p in held["payoneer"]] == ["DEE-1"]  # the other batch went
    assert rows(warehouse, f"SELECT state FROM payout_batches WHERE batch_id = {batch}") == [
        ("approved",)
    ]
    digest = build_ops_digest(warehouse, datetime.now(UTC))
    [line] = [(v, bad) for what, v, bad in digest.lines if what.startswith("Payout requests")]
    assert line == (f"paypal batch {batch} chunk 1 sent 31.0 days ago", True)

    # Ops found the batch in PayPal and record it; the week is re-triggered and finishes.
    assert collector_cli(["payouts", "chunk-found", str(batch), "1", original]) == 0
    _finish(_dags_test({"week": WEEK, "dry_run": False}, tmp_path), tmp_path)
    assert admin(sandbox_url, "payments/stats")["paypal"]["create"] == creates
    statuses = dict(rows(warehouse, "SELECT collector_id, status FROM payout_items"))
    # 31 days on, bob's unclaimed money went back to us: his videos roll into the next payout.
    assert statuses == {"ann@x.org": "paid", "bob@x.org": "returned", "dee@x.org": "paid"}
    assert_paid_exactly_once(warehouse, sandbox_url)
