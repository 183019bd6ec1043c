"""Issue 21, through the weekly payout DAG (a dry run, `airflow dags test`): receivers stored
before the entry rules are checked again at freeze and held with a reason instead of paid, the
others are frozen; and the finance CSV neutralizes every cell a spreadsheet would run."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from payout_checks import payout_week, rows

AIRFLOW = str(Path(sys.executable).parent / "airflow")
WEEK = "2026-11-16"
# Stored before issue 21's rules (straight into the table, as the old Profile page did).
LEGACY = {
    "wide@x.org": "ｗide@x.org",  # fullwidth w
    "long@x.org": "a" * 1_000_000 + "@x.com",
    "tag@x.org": "<script>@x.com",
    "link@x.org": '=HYPERLINK("https://evil.example","pay")@x.com',
}


@pytest.fixture
def world(warehouse, payment_connections):
    payout_week(
        warehouse,
        {
            "ann@x.org": ("paypal", "-1+2@x.org"),  # valid, yet a formula to a spreadsheet
            "+1+1@x.org": ("paypal", "plain@x.org"),  # a collector id from the app
            "dee@x.org": ("payoneer", "DEE-12345"),
            **dict.fromkeys(LEGACY, ("paypal", "placeholder@x.org")),
        },
    )
    with warehouse.cursor() as cur:
        for collector, receiver in LEGACY.items():
            cur.execute(
                "UPDATE payment_profiles SET receiver = %s WHERE collector_id = %s",
                (receiver, collector),
            )
    warehouse.commit()


def _dry_run(tmp_path: Path) -> str:
    log = tmp_path / "dags-test.log"
    with open(log, "w") as out:
        run = subprocess.run(
            [AIRFLOW, "dags", "test", "weekly_payout", "-c", json.dumps({"week": WEEK})],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin"},
            timeout=240,
        )
    output = log.read_text()
    assert run.returncode == 0, output[-5000:]
    return output


@pytest.mark.slow  # about 15 s: a dry run of the payout DAG
def test_a_stored_receiver_that_fails_the_rules_is_held_and_the_csv_runs_nothing(
    world, airflow_db, warehouse, tmp_path
):
    output = _dry_run(tmp_path)
    assert "DRY RUN: nothing will be frozen or paid" in output
    folder = Path(os.environ["COLLECTOR_PAYOUT_REPORTS_URL"])
    [page] = folder.glob(f"payout-{WEEK}-manual__*-try1-dry-run.html")
    [sheet] = folder.glob(f"payout-{WEEK}-manual__*-try1-dry-run.csv")
    html = page.read_text()
    # Three payable collectors (6.50 each), the four legacy receivers held with the reason.
    assert "$19.50" in html and "Held collectors" in html
    for collector in LEGACY:
        assert f"<td>{collector}</td><td>payment details on file cannot be paid: PayPal email" in (
            html
        ), collector
    assert "UTF-8 bytes" in html and "FULLWIDTH LATIN SMALL LETTER W" in html
    assert "HYPERLINK" not in html and "<script>" not in html and "aaaaaaaa" not in html
    # The CSV: UTF-8 with a BOM for Excel; no cell a spreadsheet would run; numbers numbers.
    raw = sheet.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    body = [row for row in table[1:]]
    assert len(body) == 3
    for row in body:
        for cell in row:
            assert not cell.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r")), row
    by_collector = {row[5]: row for row in body}
    assert by_collector["'+1+1@x.org"][6] == "plain@x.org"
    assert by_collector["ann@x.org"][6] == "'-1+2@x.org"
    assert by_collector["ann@x.org"][7:9] == ["6.50", "650"]
    for receiver in LEGACY.values():
        assert receiver[:20] not in raw.decode("utf-8-sig")
    assert rows(warehouse, "SELECT count(*) FROM payout_batches") == [(0,)]  # a dry run
