"""The warehouse (PostgreSQL) as an Airflow hook that hands out psycopg2 connections.

Why not ``PostgresHook`` itself: with psycopg 3 installed it may return a psycopg 3
connection, while ``collector`` is written against psycopg2. This hook reads the same
``postgres`` connection type and always returns psycopg2.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import psycopg2.extensions
from airflow.sdk import BaseHook


class CollectorWarehouseHook(BaseHook):
    """psycopg2 connections to the collector warehouse, from an Airflow ``postgres`` connection."""

    conn_name_attr = "warehouse_conn_id"
    default_conn_name = "collector_warehouse"
    conn_type = "postgres"
    hook_name = "Collector warehouse"

    def __init__(self, warehouse_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.warehouse_conn_id = warehouse_conn_id

    def get_uri(self) -> str:
        """libpq URL of the connection (contains the password: never log it)."""
        conn = self.get_connection(self.warehouse_conn_id)
        auth = quote(conn.login or "", safe="")
        if conn.password:
            auth += ":" + quote(conn.password, safe="")
        host = conn.host or "127.0.0.1"
        port = f":{conn.port}" if conn.port else ""
        database = conn.schema or "collector"
        query = "&".join(
            f"{k}={quote(str(v), safe='')}" for k, v in (conn.extra_dejson or {}).items()
        )
        return f"postgresql://{auth}@{host}{port}/{database}" + (f"?{query}" if query else "")

    def get_conn(self) -> psycopg2.extensions.connection:
        from collector.db import connect  # noqa: PLC0415

        return connect(self.get_uri())

    def migrate(self) -> list[str]:
        """Apply pending warehouse migrations (safe when several tasks do it at once)."""
        from collector.db import migrate  # noqa: PLC0415

        conn = self.get_conn()
        try:
            applied = migrate(conn)
        finally:
            conn.close()
        if applied:
            self.log.info("Applied warehouse migrations: %s", ", ".join(applied))
        else:
            self.log.info("Warehouse schema is up to date")
        return applied
