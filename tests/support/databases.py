"""Fresh databases on the test PostgreSQL server for tests that start whole stacks (`make
airflow`'s, the Celery cluster): a migrated warehouse and an empty Airflow metadata database,
both dropped afterwards."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg2
import psycopg2.extensions


def airflow_metadata_url(admin_url: str, database: str) -> str:
    """SQLAlchemy URL of ``database`` on the server of ``admin_url`` (Airflow's metadata)."""
    return (
        "postgresql+psycopg2://" + admin_url.split("://", 1)[1].rsplit("/", 1)[0] + f"/{database}"
    )


@dataclass(frozen=True)
class FreshDatabases:
    warehouse_url: str  # postgresql://... of the migrated warehouse
    airflow_url: str  # SQLAlchemy URL (postgresql+psycopg2://...) of Airflow's metadata
    conn: psycopg2.extensions.connection  # open on the warehouse; closed afterwards


@contextlib.contextmanager
def fresh_databases(pg_server: str, prefix: str) -> Iterator[FreshDatabases]:
    """``<prefix>_<tag>`` (migrated) and ``<prefix>_airflow_<tag>`` on the server of the admin
    URL ``pg_server``, dropped (with their connections) when the block ends."""
    from collector.core import db

    tag = uuid.uuid4().hex[:10]
    warehouse, airflow = f"{prefix}_{tag}", f"{prefix}_airflow_{tag}"
    admin = psycopg2.connect(pg_server)
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{warehouse}"')
            cur.execute(f'CREATE DATABASE "{airflow}"')
        base = pg_server.rsplit("/", 1)[0]
        conn = db.connect(f"{base}/{warehouse}")
        try:
            db.migrate(conn)
            airflow_url = airflow_metadata_url(pg_server, airflow)
            yield FreshDatabases(f"{base}/{warehouse}", airflow_url, conn)
        finally:
            conn.close()
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{warehouse}" WITH (FORCE)')
            cur.execute(f'DROP DATABASE IF EXISTS "{airflow}" WITH (FORCE)')
        admin.close()
