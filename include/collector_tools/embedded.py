"""The embedded warehouse: a real PostgreSQL started from the ``pgserver`` wheel's binaries.

Why not ``pgserver.get_server``: it listens on a Unix socket only, while Airflow connections,
``psql`` and other machines expect ``host:port``. We reuse its binaries (or a ``postgres`` found
on PATH) and start the server on 127.0.0.1 with a port recorded next to the data.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

SERVICE_USER = "collector-pg"  # PostgreSQL refuses to run as root
DATABASE = "collector"


class EmbeddedPostgresUnavailable(RuntimeError):
    """Neither pgserver nor a postgres on PATH; the message says what to do."""


def bin_dir() -> Path:
    """Directory with initdb/pg_ctl/postgres: pgserver's wheel first, then PATH."""
    # find_spec, not import: importing pgserver has side effects (runtime dirs, warnings).
    spec = importlib.util.find_spec("pgserver")  # no wheel for CPython >= 3.13
    if spec is not None and spec.origin:
        candidate = Path(spec.origin).parent / "pginstall" / "bin"
        if (candidate / "pg_ctl").exists():
            return candidate
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl and shutil.which("initdb", path=str(Path(pg_ctl).parent)):
        return Path(pg_ctl).parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        bindir = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout
        if (Path(bindir.strip()) / "pg_ctl").exists():
            return Path(bindir.strip())
    raise EmbeddedPostgresUnavailable(
        "No PostgreSQL binaries: install the `pgserver` wheel (CPython 3.9-3.12), or install "
        "PostgreSQL so that pg_ctl and initdb are on PATH, or point COLLECTOR_DB_URL at a server."
    )


def _service_account() -> tuple[int, int] | None:
    """(uid, gid) to run PostgreSQL as when we are root, creating the user if needed."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SERVICE_USER,
            ],
            check=True,
            capture_output=True,
        )
        entry = pwd.getpwnam(SERVICE_USER)
    return entry.pw_uid, entry.pw_gid


def _run(args: list[str], account: tuple[int, int] | None, **kwargs) -> subprocess.CompletedProcess:
    if account is not None:
        kwargs.update(user=account[0], group=account[1], extra_groups=[])
    return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    """Serialise start/stop of one data directory across processes."""
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(data_dir.parent / f".{data_dir.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _is_running(data_dir: Path, bins: Path, account: tuple[int, int] | None) -> bool:
    if not (data_dir / "postmaster.pid").exists():
        return False
    try:
        _run([str(bins / "pg_ctl"), "-D", str(data_dir), "status"], account)
    except subprocess.CalledProcessError:
        return False
    return True


def start(data_dir: Path, *, fast_unsafe: bool = False) -> str:
    """Start (or reuse) the server for ``data_dir`` and return the ``collector`` database URL.

    ``fast_unsafe`` turns off fsync for throwaway test clusters only.
    """
    data_dir = data_dir.resolve()
    bins = bin_dir()
    account = _service_account()
    with _locked(data_dir):
        port_file = data_dir.parent / f"{data_dir.name}.port"
        if not (data_dir / "PG_VERSION").exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            if account is not None:
                os.chown(data_dir, *account)
            os.chmod(data_dir, 0o700)
            _run(
                [
                    str(bins / "initdb"),
                    "-D",
                    str(data_dir),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-locale",
                ],
                account,
            )
        if not _is_running(data_dir, bins, account):
            port = int(port_file.read_text()) if port_file.exists() else _free_port()
            if _port_in_use(port):
                port = _free_port()
            options = f"-h 127.0.0.1 -p {port} -k {data_dir}"
            if fast_unsafe:
                options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            try:
                _run(
                    [
                        str(bins / "pg_ctl"),
                        "-D",
                        str(data_dir),
                        "-l",
                        str(data_dir / "server.log"),
                        "-w",
                        "-t",
                        "60",
                        "-o",
                        options,
                        "start",
                    ],
                    account,
                )
            except subprocess.CalledProcessError as exc:
                log = data_dir / "server.log"
                tail = log.read_text()[-2000:] if log.exists() else "(no server.log)"
                raise EmbeddedPostgresUnavailable(
                    f"PostgreSQL in {data_dir} did not start: {exc.stderr.strip()}\n{tail}"
                ) from exc
            port_file.write_text(str(port))
        port = int(port_file.read_text())
        admin_url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        ensure_database(admin_url, DATABASE)
        return f"postgresql://postgres@127.0.0.1:{port}/{DATABASE}"


def ensure_database(admin_url: str, name: str) -> None:
    """Create database ``name`` unless it exists (CREATE DATABASE cannot run in a transaction)."""
    from collector.core import db  # noqa: PLC0415

    with db.connection(admin_url) as conn:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{name}"')


def stop(data_dir: Path) -> bool:
    """Stop the server if it runs; True when it was running."""
    data_dir = data_dir.resolve()
    bins = bin_dir()
    account = _service_account()
    with _locked(data_dir):
        if not _is_running(data_dir, bins, account):
            return False
        _run([str(bins / "pg_ctl"), "-D", str(data_dir), "-w", "-m", "fast", "stop"], account)
        return True
