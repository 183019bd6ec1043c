"""Finance's records (issue 17, item 6) against a real warehouse and the payment sandbox: one
report per run and try, never overwritten, recorded with its SHA-256 in an append-only table;
payees listed with masked receivers, what earlier batches already paid, a subject with the
amount and the week; the portal serving a report to ops only."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import psycopg2
import pytest
from fastapi.testclient import TestClient
from payout_checks import payout_week, rows, wait_until_final
from portal_client import SECRET, member

from collector.core.money import usd
from collector.payouts.ledger import approve_batches
from collector.payouts.report import (
    FinanceReport,
    ReportFileError,
    read_recorded,
    report_stem,
    write_new,
)
from collector_airflow.tasks.payouts import freeze_and_report, reconcile_batches, submit_batch

WEEK = date(2026, 11, 16)
PROVIDERS = ["paypal", "payoneer"]
SCHEDULED_RUN = "scheduled__2026-11-24T17:00:00+00:00"
PAYEES = {
    "ann@x.org": ("paypal", "ann.pays@x.org"),
    "bob@x.org": ("paypal", "bob+unclaimed@x.org"),
    "dee@x.org": ("payoneer", "DEE-12345"),
    "nop@x.org": None,  # no payment details: held
}


@pytest.fixture
def week(warehouse, payment_connections, monkeypatch):
    """Two accepted videos per collector (one perfect: 3.00 + 3.50), three of four payable."""
    monkeypatch.setenv("COLLECTOR_PORTAL_URL", "https://portal.example.com/")
    return payout_week(warehouse, PAYEES)


def _local(path: str) -> Path:
    return Path(path.removeprefix("file://"))


def _pay(conn, report: dict) -> None:
    """Finance approves what the report showed; the batches are sent and reconciled."""
    approve_batches(conn, report["fingerprint"], "finance@x.org")
    conn.commit()
    for batch_id in report["batch_ids"]:
        assert submit_batch(batch_id) == "submitted"
    wait_until_final(report["batch_ids"])
    reconcile_batches(report["batch_ids"])


def test_rerunning_a_paid_week_keeps_the_first_report_byte_identical_and_adds_one(warehouse, week):
    first = freeze_and_report(WEEK, PROVIDERS, False, SCHEDULED_RUN, 1)
    html, csv = _local(first["report_html"]), _local(first["report_csv"])
    kept = {html: html.read_bytes(), csv: csv.read_bytes()}
    assert first["summary"]["total_usd"] == "19.50"
    _pay(warehouse, first)

    again = freeze_and_report(WEEK, PROVIDERS, False, "manual__2026-11-25T09:00:00+00:00", 1)
    assert again["summary"]["total_usd"] == "0.00" and again["batch_ids"] == []
    assert {path: path.read_bytes() for path in kept} == kept  # the record of what was paid
    assert _local(again["report_html"]) not in kept and _local(again["report_html"]).exists()
    # The re-run's report says what the week already paid: ann and dee paid, bob unclaimed.
    page = _local(again["report_html"]).read_text()
    assert "Already paid for this week by earlier batches: $19.50" in page
    assert "an…@…org" in page and "bo…@…org" in page and "****2345" in page
    assert "ann.pays@x.org" not in page and "DEE-12345" not in page
    assert (
        "**Already paid for this week** by earlier batches: 3 payments, $19.50."
        in (again["markdown"])
    )

    recorded = rows(
        warehouse,
        """SELECT report_id, week_start, run_id, try_number, dry_run, total_cents, html_path,
                  html_sha256, csv_path, csv_sha256, cardinality(batch_ids)
           FROM payout_reports ORDER BY report_id""",
    )
    assert [(r[0], r[2], r[3], r[4], r[5], r[10]) for r in recorded] == [
        (first["report_id"], SCHEDULED_RUN, 1, False, 1950, 2),
        (again["report_id"], "manual__2026-11-25T09:00:00+00:00", 1, False, 0, 0),
    ]
    for _, monday, _, _, _, _, html_path, html_sha, csv_path, csv_sha, _ in recorded:
        assert monday == WEEK
        assert hashlib.sha256(_local(html_path).read_bytes()).hexdigest() == html_sha
        assert hashlib.sha256(_local(csv_path).read_bytes()).hexdigest() == csv_sha

    # The same run and try again (a crash replayed by hand): refused, nothing frozen or recorded.
    with pytest.raises(ReportFileError, match="never overwritten"):
        freeze_and_report(WEEK, PROVIDERS, False, SCHEDULED_RUN, 1)
    assert {path: path.read_bytes() for path in kept} == kept
    assert rows(warehouse, "SELECT count(*) FROM payout_reports") == [(2,)]
    assert rows(warehouse, "SELECT count(*) FROM payout_batches") == [(2,)]
    # A retry of the task is a new try: a new report beside the others.
    retry = freeze_and_report(WEEK, PROVIDERS, False, SCHEDULED_RUN, 2)
    assert retry["report_html"].endswith("-try2.html")
    assert rows(warehouse, "SELECT count(*) FROM payout_reports") == [(3,)]

    # Append-only: the table refuses changes, whoever asks.
    for sql in (
        "UPDATE payout_reports SET total_cents = 0",
        "DELETE FROM payout_reports",
    ):
        with pytest.raises(psycopg2.errors.RaiseException, match="payout reports are final"):
            with warehouse.cursor() as cur:
                cur.execute(sql)
        warehouse.rollback()


def test_the_report_lists_payees_masked_with_a_subject_and_a_browser_link(warehouse, week):
    report = freeze_and_report(WEEK, PROVIDERS, False, SCHEDULED_RUN, 1)
    assert report["subject"] == "Approve $19.50 to 3 collectors for the week of 2026-11-16"
    url = f"https://portal.example.com/ops/payout-reports/{report['report_id']}"
    assert report["report_url"] == url
    markdown = report["markdown"]
    assert f"[{url}]({url})" in markdown and "file://" not in markdown
    assert "**Payees**: 3 payments to 3 collectors:" in markdown
    assert "| bob@x.org | paypal | bo…@…org | 6.50 |" in markdown
    assert "| dee@x.org | payoneer | ****2345 | 6.50 |" in markdown
    assert "bob+unclaimed@x.org" not in markdown and "DEE-12345" not in markdown
    page = _local(report["report_html"]).read_text()
    assert "Payees: 3 payments to 3 collectors" in page
    for collector, receiver in (("ann@x.org", "an…@…org"), ("dee@x.org", "****2345")):
        assert f"<td>{collector}</td><td>{PAYEES[collector][0]}</td><td>{receiver}</td>" in page
    assert "bob+unclaimed@x.org" not in page and "DEE-12345" not in page
    assert f"Written by run <code>{SCHEDULED_RUN}</code>, try 1." in page
    # Accounting's CSV keeps whole receivers (it is what providers were sent).
    assert "bob+unclaimed@x.org" in _local(report["report_csv"]).read_text()


def test_a_dry_run_is_recorded_too_and_freezes_nothing(warehouse, week):
    report = freeze_and_report(WEEK, PROVIDERS, True, "manual__2026-11-24T18:00:00+00:00", 1)
    assert report["report_html"].endswith("-try1-dry-run.html")
    assert report["subject"].endswith("for the week of 2026-11-16 (dry run)")
    assert rows(warehouse, "SELECT count(*) FROM payout_batches") == [(0,)]
    assert rows(warehouse, "SELECT dry_run, total_cents, batch_ids FROM payout_reports") == [
        (True, 1950, [])
    ]


def test_money_and_names_helpers():
    assert [usd(c) for c in (123456, 5, 100, -150, 0)] == [
        "$1,234.56",
        "$0.05",
        "$1.00",
        "-$1.50",
        "$0.00",
    ]
    assert report_stem(WEEK, "manual__2026-11-24T17:00:00+00:00", 3, False) == (
        "payout-2026-11-16-manual__2026-11-24T17-00-00-00-00-try3"
    )
    assert report_stem(WEEK, "../../etc/passwd", 1, True) == (
        "payout-2026-11-16-etc-passwd-try1-dry-run"
    )
    with pytest.raises(ValueError, match="try_number starts at 1"):
        report_stem(WEEK, "r", 0, False)
    assert FinanceReport(WEEK, False).subject() == (
        "Approve $0.00 to 0 collectors for the week of 2026-11-16"
    )


def test_write_new_refuses_an_existing_file_and_read_recorded_refuses_an_altered_one(tmp_path):
    target = tmp_path / "r.html"
    sha = write_new(target, b"<p>paid $1.00</p>")
    with pytest.raises(ReportFileError, match="already exists"):
        write_new(target, b"<p>paid $0.00</p>")
    assert target.read_bytes() == b"<p>paid $1.00</p>"
    assert read_recorded(f"file://{target}", sha) == b"<p>paid $1.00</p>"
    target.write_bytes(b"<p>paid $9.00</p>")
    with pytest.raises(ReportFileError, match="altered"):
        read_recorded(f"file://{target}", sha)
    with pytest.raises(ReportFileError, match="missing"):
        read_recorded(str(tmp_path / "gone.html"), sha)


def test_the_portal_serves_reports_to_ops_only(warehouse, warehouse_url, week):
    from portal.app import create_app

    report = freeze_and_report(WEEK, PROVIDERS, False, SCHEDULED_RUN, 1)
    written = _local(report["report_html"]).read_bytes()
    app = create_app(warehouse_url, SECRET, "https://sheets.example/d/")
    path = f"/ops/payout-reports/{report['report_id']}"

    ops = member(app, warehouse, "ops@example.com", role="ops")
    listing = ops.get("/ops/payout-reports")
    assert listing.status_code == 200
    assert f'href="{path}"' in listing.text and "$19.50" in listing.text
    served = ops.get(path)
    assert served.status_code == 200 and served.content == written  # exactly the record
    assert served.headers["content-type"].startswith("text/html")
    assert served.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in served.headers["content-security-policy"]
    for unknown in ("999999", "0", "abc", "..%2F..%2Fetc%2Fpasswd", "1e3", "-1"):
        assert ops.get(f"/ops/payout-reports/{unknown}").status_code == 404, unknown
    assert ops.get("/ops/payout-reports/../../etc/passwd").status_code == 404

    collector = member(app, warehouse, "ann@x.org")
    for url in ("/ops/payout-reports", path):
        refused = collector.get(url)
        assert refused.status_code == 403 and "Only ops accounts" in refused.text
        assert written not in refused.content
    anonymous = TestClient(app, base_url="http://127.0.0.1")
    answer = anonymous.get(path, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login"

    # A report altered on disk after the run is not served as if it were the record.
    _local(report["report_html"]).write_bytes(written.replace(b"19.50", b"1.50"))
    altered = ops.get(path)
    assert altered.status_code == 409 and "altered" in altered.text
