"""The daily collection update, run for real against the sandbox's master sheet."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pendulum
import pytest
from collector_tools.demo_files import demo_collections

from collector.catalog.master_sheet import MASTER_HEADER, definition_row

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def update_dag(airflow_db):  # DagBag.get_dag reads the metadata DB
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS / "collection_updates.py")).get_dag("collection_updates")


def test_scheduled_at_8am_new_york_across_dst_changes(update_dag):
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import DataInterval, TimeRestriction

    timetable = coerce_to_core_timetable(update_dag.timetable)
    restriction = TimeRestriction(earliest=None, latest=None, catchup=True)

    def runs_after(start: datetime, count: int) -> list[datetime]:
        last, runs = DataInterval(start, start), []
        for _ in range(count):
            info = timetable.next_dagrun_info(
                last_automated_data_interval=last, restriction=restriction
            )
            runs.append(info.run_after.astimezone(UTC))
            last = info.data_interval
        return runs

    # 2026-03-08: clocks spring forward in New York; 2026-11-01: they fall back.
    spring = runs_after(pendulum.datetime(2026, 3, 6, 14, tz="UTC"), 3)
    assert [r.strftime("%m-%d %H:%M") for r in spring] == [
        "03-07 13:00",
        "03-08 12:00",
        "03-09 12:00",
    ]
    autumn = runs_after(pendulum.datetime(2026, 10, 30, 13, tz="UTC"), 3)
    assert [r.strftime("%m-%d %H:%M") for r in autumn] == [
        "10-31 12:00",
        "11-01 13:00",
        "11-02 13:00",
    ]
    ny = [r.astimezone(pendulum.timezone("America/New_York")).hour for r in spring + autumn]
    assert set(ny) == {8}


def _status(conn) -> dict[str, tuple[bool, str]]:
    with conn.cursor() as cur:
        cur.execute("SELECT collection_id, enabled, reason FROM collection_status")
        rows = {r[0]: (r[1], r[2]) for r in cur.fetchall()}
    conn.commit()
    return rows


def _versions(conn) -> dict[str, int]:
    with conn.cursor() as cur:
        cur.execute("SELECT collection_id, max(version) FROM collection_versions GROUP BY 1")
        rows = dict(cur.fetchall())
    conn.commit()
    return rows


def _threshold(conn, cid: str) -> Decimal:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT score_threshold FROM collection_versions WHERE collection_id = %s "
            "AND valid_to IS NULL",
            (cid,),
        )
        value = cur.fetchone()[0]
    conn.commit()
    return value


@pytest.mark.airflow
@pytest.mark.slow  # 4-8 s: the fast lane skips it
def test_versions_status_catalog_and_bad_rows(
    airflow_db, update_dag, warehouse, sheets_connection, tmp_path
):
    from collector_airflow.hooks.sheets import GoogleSheetsHook

    hook = GoogleSheetsHook()
    sheet_id = hook.create_and_share("Collections master", worksheets=["Collections"])
    rows = [definition_row(d) for d in demo_collections()]
    hook.write_table(sheet_id, "Collections", MASTER_HEADER, rows)
    catalog_file = tmp_path / "catalog" / "collections.json"
    conf = {"spreadsheet_id": sheet_id, "catalog_url": str(catalog_file)}

    first = update_dag.test(run_conf=conf)
    assert str(first.state) == "success"
    assert _versions(warehouse) == {d.collection_id: 1 for d in demo_collections()}
    assert all(enabled for enabled, _ in _status(warehouse).values())
    catalog = json.loads(catalog_file.read_text())
    assert [c["collection_id"] for c in catalog["collections"]] == sorted(
        d.collection_id for d in demo_collections()
    )
    door = next(c for c in catalog["collections"] if c["collection_id"] == "P004C009")
    assert door["activities"] == [
        {"shortname": "Open", "category": "person_opens_door"},
        {"shortname": "Close", "category": "person_closes_door"},
    ]

    # Ops edit the sheet: one change, one bad row, an ended window, a new collection, and a
    # collection whose target of accepted videos is reached.
    col = MASTER_HEADER.index
    rows[0][col("score_threshold")] = "0.8"  # P004C009 changes
    rows[1][col("score_threshold")] = "high"  # P004C010: bad cell, row 3 of the sheet
    rows[2][col("end_date")] = "2020-01-31"  # P005C001 ended
    rows[3][col("target_accepted_count")] = "5"  # P000C001: target reached below
    new = list(rows[0])
    new[col("collection_id")], new[col("name")] = "P004C011", "Knock on a door"
    rows.append(new)
    hook.write_table(sheet_id, "Collections", MASTER_HEADER, rows)
    with warehouse.cursor() as cur:
        cur.execute(
            "CREATE OR REPLACE VIEW collection_accepted_counts AS "
            "SELECT collection_id, CASE WHEN collection_id = 'P000C001' THEN 5 ELSE 0 END::bigint "
            "AS accepted FROM collections"
        )
    warehouse.commit()

    second = update_dag.test(run_conf=conf)
    assert str(second.state) == "success"
    versions = _versions(warehouse)
    assert versions["P004C009"] == 2 and _threshold(warehouse, "P004C009") == Decimal("0.8")
    assert versions["P004C010"] == 1 and _threshold(warehouse, "P004C010") == Decimal(
        "0.8"
    )  # unchanged
    assert versions["P004C011"] == 1 and versions["P005C001"] == 2
    status = _status(warehouse)
    assert status["P005C001"] == (False, "ended 2020-01-31")
    assert status["P000C001"] == (False, "target of 5 accepted videos reached (5)")
    assert status["P004C010"] == (True, "enabled")  # its previous version stays in force
    catalog = json.loads(catalog_file.read_text())
    assert [c["collection_id"] for c in catalog["collections"]] == [
        "P004C009",
        "P004C010",
        "P004C011",
    ]
    problems = hook.get_rows(sheet_id, "Problems")
    threshold_cell = f"{chr(65 + col('score_threshold'))}3"
    assert any(
        row[1].startswith(f"{threshold_cell} score_threshold (P004C010)") for row in problems[1:]
    )
    assert len(problems) == 2  # header + the one problem

    # An owner defines a self-serve collection: not in the sheet, yet never disabled for it;
    # only in its owner's catalog file.
    from collector.catalog.self_serve import define_collection
    from collector.catalog.updates import owner_catalog_name

    own = define_collection(
        warehouse,
        "name: My door\nactivity_shortnames: [Open]\nactivity_categories: [person_opens_door]\n",
        "owner@example.com",
    ).collection_id

    third = update_dag.test(run_conf=conf)  # nothing changed: no new versions
    assert str(third.state) == "success" and _versions(warehouse) == {**versions, own: 1}
    assert _status(warehouse)[own] == (True, "enabled")
    public = [c["collection_id"] for c in json.loads(catalog_file.read_text())["collections"]]
    assert public == ["P004C009", "P004C010", "P004C011"]
    owned = catalog_file.parent / owner_catalog_name("owner@example.com")
    assert [c["collection_id"] for c in json.loads(owned.read_text())["collections"]] == [
        *public,
        own,
    ]


@pytest.mark.airflow
def test_a_wrong_sheet_id_fails_at_once_with_what_to_check(
    airflow_db, update_dag, warehouse, sheets_connection, tmp_path
):
    run = update_dag.test(
        run_conf={"spreadsheet_id": "no-such-sheet", "catalog_url": str(tmp_path / "c.json")}
    )
    assert str(run.state) == "failed"
    [ti] = [t for t in run.get_task_instances() if t.task_id == "read_master_sheet"]
    assert str(ti.state) == "failed" and ti.try_number == 1  # no retries for a config error


def _pay(conn, cid: str) -> tuple[int, int]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT max(version), (array_agg(pay_per_video_cents ORDER BY version DESC))[1] "
            "FROM collection_versions WHERE collection_id = %s",
            (cid,),
        )
        version, cents = cur.fetchone()
    conn.commit()
    return version, cents


def _german(definition) -> list[str]:
    """A master-sheet row as ops in Germany type it: decimal commas, dd.mm.yyyy, WAHR."""
    row = definition_row(definition)
    col = MASTER_HEADER.index
    for name in ("pay_per_video_usd", "perfect_bonus_usd", "score_threshold"):
        row[col(name)] = row[col(name)].replace(".", ",")
    row[col("start_date")] = "01.12.2026"
    row[col("enabled")] = "WAHR"
    return row


@pytest.mark.airflow
@pytest.mark.slow  # a dag.test(), twice: the fast lane skips it
def test_a_german_master_sheet_pays_what_ops_typed_and_the_bound_holds(
    airflow_db, update_dag, warehouse, sheets_connection, tmp_path, monkeypatch
):
    """Issue 19: in a de_DE master sheet ``3,50`` is $3.50 (350 cents, not 35000); a pay above
    COLLECTOR_MAX_PAY_PER_VIDEO_USD is a problem of its cell in the Problems tab, and that
    collection keeps the version in force (the others publish)."""
    from collector_airflow.hooks.sheets import GoogleSheetsHook

    monkeypatch.delenv("COLLECTOR_MAX_PAY_PER_VIDEO_USD", raising=False)  # $50.00
    hook = GoogleSheetsHook()
    sheet_id = hook.create_and_share("Sammlungen", worksheets=["Collections"])
    hook.open(sheet_id).update_locale("de_DE")
    door, door_close = demo_collections()[:2]
    # P004C009 as typed before the locale mattered, but its pay typed the German way; P004C010
    # all German (0,80, 01.12.2026, WAHR).
    rows = [definition_row(door), _german(door_close)]
    rows[0][MASTER_HEADER.index("pay_per_video_usd")] = "3,50"
    hook.write_table(sheet_id, "Collections", MASTER_HEADER, rows)
    shown = hook.get_rows(sheet_id, "Collections")  # the formatted read the project parsed
    assert shown[1][MASTER_HEADER.index("pay_per_video_usd")] == "3,5"
    conf = {"spreadsheet_id": sheet_id, "catalog_url": str(tmp_path / "collections.json")}

    assert str(update_dag.test(run_conf=conf).state) == "success"
    assert _pay(warehouse, "P004C009") == (1, 350)
    assert _pay(warehouse, "P004C010") == (1, 400)
    with warehouse.cursor() as cur:
        cur.execute(
            "SELECT score_threshold, start_date, enabled FROM collection_versions "
            "WHERE collection_id = 'P004C010'"
        )
        assert cur.fetchone() == (Decimal("0.80"), datetime(2026, 12, 1).date(), True)
    warehouse.commit()
    assert hook.get_rows(sheet_id, "Problems")[1][1] == "no problems"

    # Ops mistype: $350.00 a video for P004C010 (and "1e2", $100, would be refused alike).
    rows[0][MASTER_HEADER.index("score_threshold")] = "0,8"  # P004C009 changes: publishes
    rows[1][MASTER_HEADER.index("pay_per_video_usd")] = "350"
    hook.write_table(sheet_id, "Collections", MASTER_HEADER, rows)
    assert str(update_dag.test(run_conf=conf).state) == "success"
    assert _pay(warehouse, "P004C009") == (2, 350)
    assert _pay(warehouse, "P004C010") == (1, 400)  # the version in force stays
    problems = [row[1] for row in hook.get_rows(sheet_id, "Problems")[1:]]
    pay_cell = f"{chr(65 + MASTER_HEADER.index('pay_per_video_usd'))}3"
    assert problems == [
        f"{pay_cell} pay_per_video_usd (P004C010): $350.00 a video is above the bound of "
        "$50.00 a video (COLLECTOR_MAX_PAY_PER_VIDEO_USD); the collection keeps its current "
        "version: fix the cell, or raise the bound if the amount is right"
    ]
