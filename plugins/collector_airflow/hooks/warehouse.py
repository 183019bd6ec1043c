"""The warehouse (PostgreSQL) as an Airflow hook that hands out psycopg2 connections.

Why not ``PostgresHook`` itself: with psycopg 3 installed it may return a psycopg 3
connection, while ``collector`` is written against psycopg2. This hook reads the same
``postgres`` connection type and always returns psycopg2.

A warehouse that cannot be reached or refuses the login raises :class:`WarehouseUnavailable`:
still a ``psycopg2.OperationalError``, whose message is one sentence naming the connection,
host:port and database, what happened and the next step (service_errors.py). The password is
never in it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import psycopg2
import psycopg2.extensions
from airflow.sdk import BaseHook

from collector_airflow.hooks.service_errors import ExternalServiceError, one_line


class WarehouseUnavailable(ExternalServiceError, psycopg2.OperationalError):
    """The warehouse could not be reached or refused us; still an ``OperationalError``."""

    def __init__(self, **fields: Any) -> None:
        ExternalServiceError.__init__(self, service="Warehouse (PostgreSQL)", **fields)


def _why(error: psycopg2.OperationalError) -> tuple[str, str]:
    """(status, kind) from libpq's message: refused, timeout, auth, no database, other."""
    text = str(error)
    if "Connection refused" in text or "No such file or directory" in text:
        return "connection refused", "down"
    if "timeout expired" in text or "timed out" in text:
        return "connect timed out", "down"
    if "could not translate host name" in text:
        return "host name not resolved", "down"
    if "password authentication failed" in text or "no password supplied" in text:
        return "password refused", "auth"
    if "does not exist" in text and "database" in text:
        return "database does not exist", "database"
    if "too many clients" in text or "remaining connection slots" in text:
        return "too many connections", "busy"
    return one_line(text.split("\n")[0], 160), "down"


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
        """A new psycopg2 connection; :class:`WarehouseUnavailable` when none can be opened."""
        from collector.core.db import connect  # noqa: PLC0415

        try:
            return connect(self.get_uri())
        except psycopg2.OperationalError as exc:
            raise self._unavailable(exc) from exc

    @contextmanager
    def connection(self) -> Iterator[psycopg2.extensions.connection]:
        """A connection for one ``with`` block: committed when the block ends normally (a
        ``return`` inside it included), rolled back when an exception leaves it, always closed.

        Opening it raises :class:`WarehouseUnavailable` (one sentence naming the connection,
        host:port, database and the next step) like :meth:`get_conn`. Commits the block makes
        itself stay where they are: this only ends the transaction still open at the end.
        """
        from collector.core.db import closing_transaction  # noqa: PLC0415

        with closing_transaction(self.get_conn()) as conn:
            yield conn

    def _unavailable(self, error: psycopg2.OperationalError) -> WarehouseUnavailable:
        conn = self.get_connection(self.warehouse_conn_id)
        host, port = conn.host or "127.0.0.1", conn.port or 5432
        database = conn.schema or "collector"
        status, kind = _why(error)
        where = f"`{self.warehouse_conn_id}` (Admin → Connections)"
        steps = {
            "down": f"check that PostgreSQL runs at {host}:{port} and the connection {where}",
            "auth": f"update the login and password of the connection {where}",
            "database": f"create the database {database!r} or fix the connection {where}",
            "busy": f"the server is out of connection slots: wait, or raise max_connections "
            f"on {host}:{port}",
        }
        return WarehouseUnavailable(
            conn_id=self.warehouse_conn_id,
            endpoint=f"CONNECT postgresql://{host}:{port}/{database}",
            status=status,
            next_step=steps[kind],
            secrets=[conn.password],
        )

    def migrate(self) -> list[str]:
        """Apply pending warehouse migrations (safe when several tasks do it at once)."""
        from collector.core.db import migrate  # noqa: PLC0415

        with self.connection() as conn:
            applied = migrate(conn)
        if applied:
            self.log.info("Applied warehouse migrations: %s", ", ".join(applied))
        else:
            self.log.info("Warehouse schema is up to date")
        return applied

    def test_connection(self) -> tuple[bool, str]:
        """Preflight (``collector doctor``): connect, then compare ``schema_migrations`` with the
        migrations this code ships (read only: nothing is migrated). Never names the password."""
        from collector.core.db import closing_transaction, pending_migrations  # noqa: PLC0415

        conn = self.get_connection(self.warehouse_conn_id)
        where = f"{conn.host or '127.0.0.1'}:{conn.port or 5432}/{conn.schema or 'collector'}"
        try:
            with closing_transaction(self.get_conn()) as db:
                pending, changed = pending_migrations(db)
        except WarehouseUnavailable as err:
            fix = {
                "password refused": "the login and password",
                "database does not exist": "the schema (the database name; or create it)",
            }.get(err.status, "the host and port (is PostgreSQL running there?)")
            return False, f"{err.status} at {where}; set {fix} of `{self.warehouse_conn_id}`"
        if changed:
            return False, (
                f"reached {where}, but applied migrations changed since: {', '.join(changed)}; "
                "restore those files from the release (a schema change is a new migration)"
            )
        if pending:
            return False, (
                f"reached {where}, but {len(pending)} migration(s) are not applied: "
                f"{', '.join(pending)}; run `collector db migrate` (or the hook's migrate())"
            )
        return True, f"reached {where} as {conn.login or '(no login)'}; schema up to date"
