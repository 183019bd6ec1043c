"""Warehouse connections and the migrations runner.

Migrations are ``sql/NNN_name.sql`` files applied in order, each in its own transaction, and
recorded in ``schema_migrations`` with a checksum. A session-level advisory lock makes the
runner safe to start from several tasks at once: the others wait, then find nothing to do.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.resources
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import psycopg2.extensions

from collector.core import settings

MIGRATION_LOCK_KEY = 0x636F6C6C  # "coll": one advisory lock id for the whole runner
_MIGRATION_NAME = re.compile(r"^(\d{3,})_([a-z0-9_]+)\.sql$")


class MigrationError(RuntimeError):
    """A migration is malformed, failed, or was edited after it was applied."""


def connect(url: str | None = None) -> psycopg2.extensions.connection:
    """Open a psycopg2 connection to the warehouse (``settings.database_url()`` by default)."""
    return psycopg2.connect(url or settings.database_url(), application_name="collector")


@contextlib.contextmanager
def connection(url: str | None = None) -> Iterator[psycopg2.extensions.connection]:
    """A warehouse connection for one ``with`` block: committed when the block ends normally
    (a ``return`` inside it included), rolled back when an exception leaves it, always closed.

    ``url`` defaults to ``settings.database_url()``. Commits the block makes itself stay where
    they are (a step that must be durable before a provider call keeps its own ``commit()``):
    this only ends the transaction that is still open at the end. Raises what
    :func:`connect` raises (``psycopg2.OperationalError`` when the server cannot be reached);
    an error while rolling back never hides the block's own exception.
    """
    conn = connect(url)
    with closing_transaction(conn):
        yield conn


@contextlib.contextmanager
def closing_transaction(
    conn: psycopg2.extensions.connection,
) -> Iterator[psycopg2.extensions.connection]:
    """End ``conn``'s open transaction with the block (commit, or rollback on an exception)
    and close it: the body of :func:`connection`, for a connection opened elsewhere (the
    Airflow hook's, whose connect errors are translated)."""
    try:
        yield conn
    except BaseException:
        if not conn.closed:
            with contextlib.suppress(psycopg2.Error):
                conn.rollback()
        raise
    else:
        conn.commit()
    finally:
        conn.close()


@functools.cache
def ping(conn: psycopg2.extensions.connection) -> None:
    """One round trip to the warehouse (health checks); raises psycopg2.Error when it is down."""
    with conn.cursor() as cur:
        cur.execute("SELECT 1")


@functools.cache
def packaged_sql(package: str, name: str) -> str:
    """The text of ``<package>/sql/<name>.sql``: a stage's long set-based query, kept as SQL
    beside the module that runs it (``packaged_sql("collector.scoring", "score_videos")``).

    The files ship with the package (``[tool.setuptools.package-data]`` in pyproject.toml).
    Raises FileNotFoundError for an unknown name; read once per process.
    """
    return importlib.resources.files(package).joinpath("sql", f"{name}.sql").read_text()


def sibling_database_url(name: str, url: str | None = None) -> str:
    """libpq URL of database ``name`` on the warehouse's server, created when missing.

    Airflow's metadata lives this way beside the warehouse (``collector db airflow-url``):
    same server, credentials and options, a database of its own. Raises
    psycopg2.OperationalError when the server is down, and psycopg2.errors.InsufficientPrivilege
    when the role may not create databases (then create it by hand, or set the URL yourself).
    """
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
        raise ValueError(f"database name {name!r}: lowercase letters, digits and _ only")
    parts = urlsplit(url or settings.database_url())
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"warehouse URL scheme {parts.scheme!r}: expected postgresql://")
    sibling = urlunsplit(parts._replace(path=f"/{name}"))
    with connection(url) as conn:
        conn.autocommit = True  # CREATE DATABASE cannot run inside a transaction
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{name}"')
    return sibling


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text()

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def discover_migrations(sql_dir: Path | None = None) -> list[Migration]:
    """Numbered migrations in ``sql_dir``, in order; gaps or duplicates are errors."""
    folder = sql_dir or settings.sql_dir()
    found: dict[int, Migration] = {}
    for path in sorted(folder.glob("[0-9]*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path}: migration files are named NNN_lower_snake.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"{path}: version {version} also used by {found[version].path}")
        found[version] = Migration(version, match.group(2), path)
    return [found[v] for v in sorted(found)]


def migrate(conn: psycopg2.extensions.connection, sql_dir: Path | None = None) -> list[str]:
    """Apply pending migrations; return the names applied (empty when up to date).

    Commits the caller's open transaction first: migrations run in transactions of their own.
    """
    migrations = discover_migrations(sql_dir)
    applied_now: list[str] = []
    was_autocommit = conn.autocommit
    if was_autocommit:
        conn.autocommit = False  # one transaction per migration, recorded with it
    conn.commit()
    with conn.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        conn.commit()
    try:
        with conn.cursor() as cur:
            cur.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       version integer PRIMARY KEY, name text NOT NULL,
                       checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            cur.execute("SELECT version, name, checksum FROM schema_migrations")
            applied = {row[0]: (row[1], row[2]) for row in cur.fetchall()}
        conn.commit()
        for migration in migrations:
            if migration.version in applied:
                _, checksum = applied[migration.version]
                if checksum != migration.checksum:
                    raise MigrationError(
                        f"{migration.path.name} changed after it was applied; add a new "
                        "migration instead of editing an applied one"
                    )
                continue
            try:
                with conn.cursor() as cur:
                    cur.execute(migration.sql)
                    cur.execute(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES (%s,%s,%s)",
                        (migration.version, migration.name, migration.checksum),
                    )
                conn.commit()
            except psycopg2.Error as exc:
                conn.rollback()
                raise MigrationError(f"{migration.path.name} failed: {exc}".strip()) from exc
            applied_now.append(migration.path.name)
    finally:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))
        conn.commit()
        conn.autocommit = was_autocommit
    return applied_now


def pending_migrations(
    conn: psycopg2.extensions.connection, sql_dir: Path | None = None
) -> tuple[list[str], list[str]]:
    """``(pending, changed)`` file names, read only (no table is created, no lock taken):
    migrations not yet applied, and applied ones whose file changed since (both empty when the
    schema is what the code expects). Leaves the connection's transaction open."""
    migrations = discover_migrations(sql_dir)
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass('schema_migrations') IS NOT NULL")
        applied: dict[int, str] = {}
        if cur.fetchone()[0]:
            cur.execute("SELECT version, checksum FROM schema_migrations")
            applied = dict(cur.fetchall())
    pending = [m.path.name for m in migrations if m.version not in applied]
    changed = [
        m.path.name for m in migrations if m.version in applied and applied[m.version] != m.checksum
    ]
    return pending, changed
