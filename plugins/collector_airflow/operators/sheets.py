"""Reusable Google Sheets operators: read a tab as a typed table, write a table to a tab,
create and share a spreadsheet. Each takes a connection id; values pass through XCom as
JSON-friendly records."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from airflow.sdk import BaseOperator

from collector_airflow.hooks.sheets import GoogleSheetsHook


def _jsonable(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, Decimal | date):
        return str(value)
    return value.item() if hasattr(value, "item") else value


class SheetToDataFrameOperator(BaseOperator):
    """Read one tab, check its header, type every column; return the rows as records.

    ``columns`` maps a header name to ``str``, ``int``, ``float``, ``decimal``, ``bool`` or
    ``date``. The tab is read unformatted, so the spreadsheet's locale cannot change a value;
    text in a typed column is read only in the forms of ``collector.core.cells``. A missing
    column or a mistyped cell fails the task with every bad cell named.
    Decimals and dates are returned as strings so the records fit an XCom.
    """

    template_fields: Sequence[str] = ("spreadsheet_id", "worksheet")

    def __init__(
        self,
        *,
        spreadsheet_id: str,
        worksheet: str,
        columns: dict[str, str],
        required: list[str] | None = None,
        gcp_conn_id: str = GoogleSheetsHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.spreadsheet_id, self.worksheet = spreadsheet_id, worksheet
        self.columns, self.required, self.gcp_conn_id = columns, required, gcp_conn_id

    def read_frame(self):
        from collector.core.tables import typed_frame  # noqa: PLC0415

        # Unformatted: the spreadsheet's locale cannot change a number, a boolean or a date.
        rows = GoogleSheetsHook(self.gcp_conn_id).get_rows(
            self.spreadsheet_id, self.worksheet, render="UNFORMATTED_VALUE"
        )
        return typed_frame(rows, self.columns, required=self.required)

    def execute(self, context) -> list[dict[str, Any]]:
        frame = self.read_frame()
        self.log.info(
            "read %d rows x %d columns from tab %r", len(frame), len(self.columns), self.worksheet
        )
        return [{k: _jsonable(v) for k, v in record.items()} for record in frame.to_dict("records")]


class DataFrameToSheetOperator(BaseOperator):
    """Replace a tab with a table: grid, frozen header and formatting in one batchUpdate, all
    values in one values request. ``records`` is a list of dicts (for example an XCom)."""

    template_fields: Sequence[str] = ("spreadsheet_id", "worksheet", "records")

    def __init__(
        self,
        *,
        spreadsheet_id: str,
        worksheet: str,
        records: Any,
        columns: list[str] | None = None,
        formatting: list[dict] | None = None,
        gcp_conn_id: str = GoogleSheetsHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.spreadsheet_id, self.worksheet, self.records = spreadsheet_id, worksheet, records
        self.columns, self.formatting, self.gcp_conn_id = columns, formatting, gcp_conn_id

    def execute(self, context) -> int:
        records = list(self.records or [])
        header = self.columns or (list(records[0]) if records else [])
        rows = [["" if r.get(c) is None else r.get(c) for c in header] for r in records]
        GoogleSheetsHook(self.gcp_conn_id).write_table(
            self.spreadsheet_id, self.worksheet, header, rows, formatting=self.formatting
        )
        self.log.info("wrote %d rows to tab %r", len(rows), self.worksheet)
        return len(rows)


class CreateAndShareSpreadsheetOperator(BaseOperator):
    """Create a spreadsheet with tabs and share it; returns its id."""

    template_fields: Sequence[str] = ("title", "readers", "writers")

    def __init__(
        self,
        *,
        title: str,
        worksheets: list[str] | None = None,
        readers: list[str] | None = None,
        writers: list[str] | None = None,
        gcp_conn_id: str = GoogleSheetsHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.title, self.worksheets = title, worksheets
        self.readers, self.writers, self.gcp_conn_id = readers or [], writers or [], gcp_conn_id

    def execute(self, context) -> str:
        return GoogleSheetsHook(self.gcp_conn_id).create_and_share(
            self.title, worksheets=self.worksheets, readers=self.readers, writers=self.writers
        )
