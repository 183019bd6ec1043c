"""`make cluster`: Airflow on the CeleryExecutor with two workers that share no disk, here.

What runs, each a component of the same supervisor as `make airflow` (scripts/airflow_supervisor.py:
restarts, logs in ``$AIRFLOW_HOME/logs/<component>.log``, and SIGTERM stopping every process):

- ``redis``: Debian's ``redis-server`` as the Celery broker, on loopback, its own data directory
  (installed with apt-get when missing and we are root, as ``.ci/run`` runs);
- ``s3``: an S3 emulator (``moto_server``) on loopback, with the bucket(s) the storage settings
  name created in it; every file of the pipelines lives there (``config/cluster.env``);
- Airflow's ``api-server``, ``scheduler``, ``dag-processor``, ``triggerer``, and two Celery
  workers, ``worker-1`` and ``worker-2``, each in its own working directory with its own
  ``TMPDIR`` and task-log folder, and its own name in ``TaskInstance.hostname``
  (``[core] hostname_callable`` = ``collector_airflow.hostname.hostname``);
- Airflow's metadata and the Celery result backend in a PostgreSQL database beside the warehouse
  (``airflow_cluster`` on the embedded server unless ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN``).

The settings shared with docker-compose.yaml (executor, storage URLs, Celery options) come from
``config/cluster.env`` (compose's ``env_file``); only addresses are set here: loopback ports from
``COLLECTOR_CLUSTER_PORT_BASE`` (18400: broker +79, API +80, S3 +90, worker log servers +93 and
+94, triggerer log server +95). State under ``COLLECTOR_CLUSTER_DIR`` (``.local/cluster``).

Usage (environment from scripts/cluster.sh): ``cluster.py run`` supervises in the foreground;
``cluster.py start`` runs it in the background and returns once both workers are ready;
``cluster.py stop`` stops it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from airflow_supervisor import Component, Stack

ROOT = Path(__file__).resolve().parents[1]
ENV_FILE = ROOT / "config" / "cluster.env"
WORKERS = ("worker-1", "worker-2")
STORAGE_SETTINGS = (
    "COLLECTOR_LANDING_URL",
    "COLLECTOR_QUARANTINE_URL",
    "COLLECTOR_QUICKLOOK_URL",
    "COLLECTOR_RELEASES_URL",
    "COLLECTOR_CATALOG_URL",
    "COLLECTOR_DASHBOARD_HTML_URL",
    "COLLECTOR_PAYOUT_REPORTS_URL",
)
# The emulator takes any key; a real bucket gets its keys from the connection or a role.
EMULATOR_KEYS = {"AWS_ACCESS_KEY_ID": "cluster", "AWS_SECRET_ACCESS_KEY": "cluster"}


def read_env_file(path: Path = ENV_FILE) -> dict[str, str]:
    """``KEY=VALUE`` lines as docker compose's ``env_file`` reads them (no quotes, no ``$``)."""
    values = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.isidentifier() or "$" in value or value[:1] in "'\"":
            raise SystemExit(f"{path}:{number}: expected KEY=value (no quotes, no $), got {line!r}")
        values[key] = value
    return values


def ports(env: dict[str, str]) -> dict[str, int]:
    base = int(env.get("COLLECTOR_CLUSTER_PORT_BASE", "18400"))
    return {
        "redis": base + 79,
        "api": base + 80,
        "s3": base + 90,
        "worker-1": base + 93,
        "worker-2": base + 94,
        "trigger-logs": base + 95,
    }


def buckets(env: dict[str, str]) -> list[str]:
    return sorted({env[k].split("://", 1)[1].split("/", 1)[0] for k in STORAGE_SETTINGS})


def cluster_environment(base: dict[str, str]) -> dict[str, str]:
    """The environment every component gets: config/cluster.env, then this machine's addresses."""
    env = {**base, **read_env_file()}
    home = Path(env.get("COLLECTOR_CLUSTER_DIR") or ROOT / ".local" / "cluster").resolve()
    port = ports(env)
    metadata = env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    s3 = f"http://127.0.0.1:{port['s3']}"
    env.update(
        {
            "COLLECTOR_CLUSTER_DIR": str(home),
            "AIRFLOW_HOME": str(home / "airflow"),
            "PYTHONPATH": os.pathsep.join(
                [str(ROOT / "include"), str(ROOT / "plugins"), base.get("PYTHONPATH", "")]
            ).rstrip(os.pathsep),
            "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{port['redis']}/0",
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+postgresql://" + metadata.split("://", 1)[1],
            "AIRFLOW__API__PORT": str(port["api"]),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port['api']}/execution/",
            "AIRFLOW__API__BASE_URL": f"http://localhost:{port['api']}",
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(port["trigger-logs"]),
            # Airflow's tasks reach the bucket through this connection (collector_airflow.fs.s3);
            # the portal and the CLI, which have no Airflow, through the same AWS_* settings.
            "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(
                {
                    "conn_type": "aws",
                    "login": EMULATOR_KEYS["AWS_ACCESS_KEY_ID"],
                    "password": EMULATOR_KEYS["AWS_SECRET_ACCESS_KEY"],
                    "extra": {"endpoint_url": s3, "region_name": "us-east-1"},
                }
            ),
            "AWS_ENDPOINT_URL": s3,
            "AWS_DEFAULT_REGION": "us-east-1",
            **EMULATOR_KEYS,
        }
    )
    env.update(machine_secrets(env))
    if env.get("COLLECTOR_CLUSTER_SCHEDULE") == "off":  # runs only when triggered (cluster demo)
        env["AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE"] = "False"
    # Reviewers' browsers load quicklooks from the bucket (the emulator serves objects).
    quicklooks = env["COLLECTOR_QUICKLOOK_URL"].split("://", 1)[1]
    env.setdefault("COLLECTOR_QUICKLOOK_PUBLIC_URL", f"{s3}/{quicklooks}")
    return env


def machine_secrets(env: dict[str, str]) -> dict[str, str]:
    """What the settings would otherwise read from files under the state directory (the
    warehouse URL, the token keys, the portal's cookie key), handed to every process as values:
    each worker has a state directory of its own, so a setting read from a file there would
    differ between workers (and between machines)."""
    from collector.core import settings  # noqa: PLC0415

    values = {
        "COLLECTOR_DB_URL": settings.database_url,
        "COLLECTOR_TOKEN_KEYS": lambda: ",".join(settings.token_keys()),
        "COLLECTOR_PORTAL_SECRET": settings.portal_secret,
    }
    return {name: env.get(name) or value() for name, value in values.items()}


def components(env: dict[str, str]) -> dict[str, Component]:
    home = Path(env["COLLECTOR_CLUSTER_DIR"])
    port = ports(env)
    airflow = str(Path(sys.executable).parent / "airflow")
    redis_dir = home / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    found = {
        "redis": Component(
            [
                redis_server(),
                "--bind",
                "127.0.0.1",
                "--port",
                str(port["redis"]),
                "--dir",
                str(redis_dir),
                "--daemonize",
                "no",
                "--appendonly",
                "yes",
                "--save",
                "",
            ]
        ),
        "s3": Component(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port["s3"])]
        ),
        "api-server": Component([airflow, "api-server", "--port", str(port["api"])]),
        "scheduler": Component([airflow, "scheduler"]),
        "dag-processor": Component([airflow, "dag-processor"]),
        "triggerer": Component([airflow, "triggerer"]),
    }
    restart = env.get("COLLECTOR_CLUSTER_RESTART_WORKERS", "on") != "off"
    for name in WORKERS:
        own = home / name
        for folder in ("work", "tmp", "logs", "state"):
            (own / folder).mkdir(parents=True, exist_ok=True)
        found[name] = Component(
            [airflow, "celery", "worker", "--celery-hostname", f"{name}@%h"],
            env={
                "COLLECTOR_HOSTNAME": name,
                "COLLECTOR_STATE_DIR": str(own / "state"),
                "TMPDIR": str(own / "tmp"),
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(own / "logs"),
                "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(port[name]),
            },
            cwd=str(own / "work"),
            restart=restart,
        )
    return found


def redis_server() -> str:
    """Debian's redis-server; installed here when missing (root, as on CI), else say how."""
    found = shutil.which("redis-server")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("make cluster needs Redis: sudo apt-get install redis-server")
    print("installing Debian's redis-server (the Celery broker)", flush=True)
    quiet = {
        "stdout": subprocess.DEVNULL,
        "env": {**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    }
    subprocess.run(["apt-get", "update", "-qq"], check=True, **quiet)
    subprocess.run(["apt-get", "install", "-y", "-qq", "redis-server"], check=True, **quiet)
    return shutil.which("redis-server") or "/usr/bin/redis-server"


def wait_until(what: str, check, stack: Stack, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stack.stopping:
        if check():
            return
        time.sleep(0.3)
    if not stack.stopping:
        stack.stop()
        raise SystemExit(f"{what}: not within {timeout:.0f} s; logs in {stack.logs}")


def _redis_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _http(method: str, url: str) -> bool:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=2):
            return True
    except OSError:
        return False


def prepare(stack: Stack) -> None:
    """Broker and bucket up, Airflow's metadata migrated and pools imported."""
    env, port = stack.env, ports(stack.env)
    for name in ("redis", "s3"):
        stack.start(name)
    wait_until("redis answers PING", lambda: _redis_answers(port["redis"]), stack)
    wait_until("the S3 emulator answers", lambda: _http("GET", env["AWS_ENDPOINT_URL"]), stack)
    for bucket in buckets(env):
        if not _http("PUT", f"{env['AWS_ENDPOINT_URL']}/{bucket}"):
            raise SystemExit(f"could not create bucket {bucket} in the S3 emulator")
    airflow = str(Path(sys.executable).parent / "airflow")
    log = Path(env["AIRFLOW_HOME"]) / "db-migrate.log"
    for argv in (
        [airflow, "db", "migrate"],
        [airflow, "pools", "import", str(ROOT / "config" / "pools.json")],
    ):
        with log.open("a") as out:
            if subprocess.run(argv, env=env, stdout=out, stderr=subprocess.STDOUT).returncode:
                stack.stop()
                raise SystemExit(f"{' '.join(argv[1:3])} failed; see {log}")


def workers_ready(stack: Stack) -> bool:
    return all(
        " ready." in (stack.logs / f"{name}.log").read_text(errors="replace") for name in WORKERS
    )


def run() -> int:
    env = cluster_environment(dict(os.environ))
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    stack = Stack(env, components(env))
    stack.trap_signals()
    prepare(stack)
    for name in stack.components:
        if name not in stack.procs:
            stack.start(name)
    if not stack.wait_for_api():
        stack.stop()
        raise SystemExit(f"the API server did not answer:\n{stack.tail('api-server')}")
    wait_until("both Celery workers ready", lambda: workers_ready(stack), stack, timeout=180)
    ready = {
        "api": env["AIRFLOW__API__BASE_URL"],
        "s3": env["AWS_ENDPOINT_URL"],
        "broker": env["AIRFLOW__CELERY__BROKER_URL"],
        "pids": {name: proc.pid for name, proc in stack.procs.items()},
        "logs": str(stack.logs),
    }
    (Path(env["COLLECTOR_CLUSTER_DIR"]) / "ready.json").write_text(json.dumps(ready, indent=1))
    print(f"cluster ready: {json.dumps(ready)}", flush=True)
    code = stack.watch()
    stopped = stack.shut_down("cluster")
    (Path(env["COLLECTOR_CLUSTER_DIR"]) / "ready.json").unlink(missing_ok=True)
    return code if stopped else 1


def start() -> int:
    """Run the cluster in the background; return once both workers are ready."""
    env = cluster_environment(dict(os.environ))
    home = Path(env["COLLECTOR_CLUSTER_DIR"])
    home.mkdir(parents=True, exist_ok=True)
    pidfile, ready, out = home / "cluster.pid", home / "ready.json", home / "cluster.out"
    if pidfile.exists() and _alive(int(pidfile.read_text())):
        print(f"the cluster is already running (pid {pidfile.read_text().strip()})")
        return 0
    ready.unlink(missing_ok=True)
    with out.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, __file__, "run"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    pidfile.write_text(str(proc.pid))
    deadline = time.monotonic() + 600
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            print(out.read_text()[-4000:], file=sys.stderr)
            return 1
        time.sleep(1)
    info = json.loads(ready.read_text())
    print(
        f"Celery cluster up: UI {info['api']} (login admin, password in {env['AIRFLOW_HOME']}/simple_auth_manager_passwords.json.generated)"
    )
    print(f"  broker {info['broker']}, bucket(s) {', '.join(buckets(env))} at {info['s3']}")
    print(f"  processes {info['pids']}; logs in {info['logs']}; make cluster-stop stops it")
    return 0


def _alive(pid: int) -> bool:
    import psutil  # noqa: PLC0415

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def stop() -> int:
    home = Path(os.environ.get("COLLECTOR_CLUSTER_DIR") or ROOT / ".local" / "cluster").resolve()
    pidfile = home / "cluster.pid"
    if not pidfile.exists() or not _alive(pid := int(pidfile.read_text())):
        print("the cluster is not running")
        pidfile.unlink(missing_ok=True)
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 120
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    print((home / "cluster.out").read_text().splitlines()[-1])
    pidfile.unlink(missing_ok=True)
    return 1 if _alive(pid) else 0


if __name__ == "__main__":
    action = sys.argv[1] if len(sys.argv) > 1 else "run"
    sys.exit({"run": run, "start": start, "stop": stop}[action]())
