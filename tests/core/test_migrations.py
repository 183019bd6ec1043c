"""The migrations runner against a real PostgreSQL: idempotent, concurrent-safe, tamper-evident."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest

from collector.core import db


def _tables(conn) -> set[str]:
    with conn.cursor() as cur:
        cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {r[0] for r in cur.fetchall()}


def test_core_tables_exist_and_rerun_applies_nothing(warehouse):
    assert {
        "collectors",
        "collections",
        "collection_versions",
        "videos",
        "activities",
        "object_tracks",
        "track_boxes",
        "annotation_versions",
        "ingested_files",
        "ingest_quarantine",
        "schema_migrations",
    } <= _tables(warehouse)
    assert db.migrate(warehouse) == []


def _copy_migrations(tmp_path: Path) -> Path:
    folder = tmp_path / "sql"
    folder.mkdir()
    for migration in db.discover_migrations():
        (folder / migration.path.name).write_text(migration.sql)
    return folder


def test_concurrent_runners_apply_each_migration_once(pg_server, tmp_path):
    import psycopg2

    admin = psycopg2.connect(pg_server)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute('DROP DATABASE IF EXISTS "concurrent_migrations" WITH (FORCE)')
        cur.execute('CREATE DATABASE "concurrent_migrations"')
    url = pg_server.rsplit("/", 1)[0] + "/concurrent_migrations"
    folder = _copy_migrations(tmp_path)
    # A slow extra migration widens the window in which runners overlap.
    (folder / "900_slow.sql").write_text("SELECT pg_sleep(0.5); CREATE TABLE slow_marker (id int);")
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            conn = db.connect(url)
            try:
                results.append(db.migrate(conn, folder))
            finally:
                conn.close()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    applied = [name for result in results for name in result]
    assert sorted(applied) == sorted({*applied})  # nothing applied twice
    assert "900_slow.sql" in applied
    assert sum(1 for r in results if r) == 1  # one runner did the work, the others waited
    with admin.cursor() as cur:
        cur.execute('DROP DATABASE "concurrent_migrations" WITH (FORCE)')
    admin.close()


def test_editing_an_applied_migration_is_refused(warehouse, tmp_path):
    folder = _copy_migrations(tmp_path)
    first = sorted(folder.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited later\n")
    with pytest.raises(db.MigrationError, match="changed after it was applied"):
        db.migrate(warehouse, folder)


def test_a_failing_migration_names_itself_and_leaves_nothing_half_done(warehouse, tmp_path):
    folder = _copy_migrations(tmp_path)
    (folder / "901_broken.sql").write_text("CREATE TABLE half_done (id int); SELECT no_such_fn();")
    with pytest.raises(db.MigrationError, match=re.escape("901_broken.sql failed")):
        db.migrate(warehouse, folder)
    assert "half_done" not in _tables(warehouse)


def test_badly_named_migration_is_an_error(tmp_path):
    (tmp_path / "1-init.sql").write_text("SELECT 1")
    with pytest.raises(db.MigrationError, match=re.escape("NNN_lower_snake.sql")):
        db.discover_migrations(tmp_path)
