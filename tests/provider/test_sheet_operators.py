"""The reusable Sheets operators, run in a real DAG (dag.test) against the sandbox."""

from __future__ import annotations

import pytest


def _run(dag):
    """dag.test() of a DAG defined in a test (docs/airflow-facts.md: bag it and sync it first)."""
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db

    bag = DagBag(dag_folder="/nonexistent")
    bag.bag_dag(dag)
    sync_bag_to_db(bag, "dags-folder", None)
    return dag.test()


@pytest.mark.airflow
def test_create_write_read_round_trip(airflow_db, sheets_connection):
    from airflow.sdk import DAG

    from collector_airflow.operators.sheets import (
        CreateAndShareSpreadsheetOperator,
        DataFrameToSheetOperator,
        SheetToDataFrameOperator,
    )

    records = [
        {
            "collector": "a@example.com",
            "videos": 3,
            "paid": "12.50",
            "active": True,
            "since": "2026-11-02",
        },
        {
            "collector": "b@example.com",
            "videos": 0,
            "paid": "0",
            "active": False,
            "since": "2026-11-09",
        },
    ]
    with DAG("sheet_operators_round_trip", schedule=None, default_args={"owner": "tests"}) as dag:
        created = CreateAndShareSpreadsheetOperator(
            task_id="create",
            title="Operators test",
            worksheets=["Table"],
            readers=["reader@example.com"],
        )
        written = DataFrameToSheetOperator(
            task_id="write",
            spreadsheet_id=created.output,
            worksheet="Table",
            records=records,
            formatting=[],
        )
        read = SheetToDataFrameOperator(
            task_id="read",
            spreadsheet_id=created.output,
            worksheet="Table",
            columns={
                "collector": "str",
                "videos": "int",
                "paid": "decimal",
                "active": "bool",
                "since": "date",
            },
            required=["collector"],
        )
        written >> read
    run = _run(dag)
    assert str(run.state) == "success"
    [ti] = [t for t in run.get_task_instances() if t.task_id == "read"]
    assert ti.xcom_pull(task_ids="read") == [
        {
            "collector": "a@example.com",
            "videos": 3,
            "paid": "12.5",  # typed in as 12.50, shown by Sheets as 12.5
            "active": True,
            "since": "2026-11-02",
        },
        {
            "collector": "b@example.com",
            "videos": 0,
            "paid": "0",
            "active": False,
            "since": "2026-11-09",
        },
    ]


def test_typed_frame_names_every_bad_cell():
    from collector.core.tables import SheetTableError, typed_frame

    rows = [["name", "count", "when"], ["a", "3", "2026-11-01"], ["", "x", "soon"]]
    with pytest.raises(SheetTableError) as caught:
        typed_frame(rows, {"name": "str", "count": "int", "when": "date"}, required=["name"])
    cells = [p.cell for p in caught.value.problems]
    assert cells == ["A3", "B3", "C3"]
    with pytest.raises(SheetTableError, match="missing column"):
        typed_frame(rows, {"name": "str", "price": "decimal"})
    frame = typed_frame(rows[:2], {"count": "int", "name": "str"})
    assert list(frame.columns) == ["count", "name"] and frame.iloc[0]["count"] == 3


def test_the_hook_writes_outside_text_as_text_and_only_declared_formulas_live(sheets_connection):
    """Issue 21's guard at the hook: every write path (write_table, append_rows, write_ranges,
    and so DataFrameToSheetOperator) writes a string that would start a formula as text; a
    SheetFormula stays a formula. Read back as written (FORMULA) and as shown."""
    from collector.core.cells import SheetFormula
    from collector_airflow.hooks.sheets import GoogleSheetsHook

    hook = GoogleSheetsHook()
    book_id = hook.create_and_share("Test: formulas", worksheets=["T"])
    ours = SheetFormula('=IF(1>=0,"YES","NO")')
    evil = ['=HYPERLINK("https://evil.example","pay")', "+1+1", "-2+3", "@SUM(1)"]
    hook.write_table(book_id, "T", ["a", "b", "c", "d", "e"], [[*evil, ours]], spare_rows=5)
    hook.append_rows(book_id, "T", [[*evil, ours]])
    hook.write_ranges(book_id, [{"range": "'T'!A4", "values": [[*evil, ours]]}])
    book = hook.open(book_id)
    written = book.values_get("'T'!A2:E4", params={"valueRenderOption": "FORMULA"})["values"]
    shown = book.values_get("'T'!A2:E4")["values"]
    assert written == [[*evil, str(ours)]] * 3
    assert shown == [[*evil, "YES"]] * 3
