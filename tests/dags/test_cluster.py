"""`make cluster` as production runs: CeleryExecutor, two workers sharing no disk, S3 for files.

One cluster for the module, started by scripts/cluster.sh exactly as `make cluster` starts it
(real Redis, real Celery workers, the moto S3 server, real Airflow components, metadata in
PostgreSQL), on ports of its own. Then, in order:

1. make demo's DAG sequence (scripts/cluster_demo.py) runs on it: the end state is the demo's,
   every file is in the bucket, and both workers ran tasks;
2. one worker is killed (SIGKILL to every process of it) in the middle of quicklook_generation:
   its task is retried on the other worker and nothing is lost;
and, without a cluster, every storage setting is one the cluster points at the bucket.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from databases import fresh_databases
from payout_checks import admin, assert_paid_exactly_once, rows
from processes import admin_token, call_json, stop_group

ROOT = Path(__file__).resolve().parents[2]
WORKERS = ("worker-1", "worker-2")


def _load_cluster_script():
    spec = importlib.util.spec_from_file_location("cluster", ROOT / "scripts" / "cluster.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(ROOT / "scripts"))
    spec.loader.exec_module(module)
    return module


def _free_base() -> int:
    """A port base whose cluster ports (base+79 .. base+95) are all free."""
    for _ in range(50):
        base = random.randrange(18500, 19900, 100)
        try:
            for offset in (79, 80, 90, 93, 94, 95):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", base + offset))
            return base
        except OSError:
            continue
    raise RuntimeError("no free port range for the cluster")


class Cluster:
    def __init__(self, process, env, home: Path, conn) -> None:
        self.process, self.env, self.home, self.conn = process, env, home, conn
        self.ready = json.loads((home / "ready.json").read_text())
        self.api = self.ready["api"].replace("localhost", "127.0.0.1")
        self.token = None

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        self.token = self.token or admin_token(self.api, self.home / "airflow")
        status, answer = call_json(self.api + path, method, body, token=self.token)
        assert status < 300, f"{method} {path}: {status} {answer}"
        return answer

    def bucket(self):
        import s3fs

        return s3fs.S3FileSystem(
            key="cluster", secret="cluster", endpoint_url=self.ready["s3"], skip_instance_cache=True
        )

    def logs(self) -> str:
        out = []
        for log in sorted((self.home / "airflow" / "logs").glob("*.log")):
            out.append(f"--- {log.name}\n" + log.read_text(errors="replace")[-1500:])
        return "\n".join(out)

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit=1000"
        return self.call("GET", path)["task_instances"]


@pytest.fixture(scope="module")
def cluster(pg_server, sandbox_url, sandbox_home, sandbox_smtp_port, tmp_path_factory):
    with fresh_databases(pg_server, "cluster") as dbs:
        admin(sandbox_url, "payments/reset", {})
        admin(sandbox_url, "payments/faults/clear", {})
        admin(sandbox_url, "payments/settings", {"processing_seconds": 0.2})
        home = tmp_path_factory.mktemp("cluster")
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "COLLECTOR_STATE_DIR": str(sandbox_home),
            "SANDBOX_PORT": sandbox_url.rsplit(":", 1)[1],
            "SANDBOX_SMTP_PORT": str(sandbox_smtp_port),
            "COLLECTOR_DB_URL": dbs.warehouse_url,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": dbs.airflow_url,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "COLLECTOR_CLUSTER_DIR": str(home),
            "COLLECTOR_CLUSTER_PORT_BASE": str(_free_base()),
            "COLLECTOR_CLUSTER_SCHEDULE": "off",  # runs only when triggered, as make demo
            "COLLECTOR_CLUSTER_RESTART_WORKERS": "off",  # a killed worker is a lost machine
        }
        process = subprocess.Popen(
            ["bash", str(ROOT / "scripts" / "cluster.sh"), "run"],
            env=env,
            stdout=(home / "cluster.out").open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 300
            while not (home / "ready.json").exists():
                assert process.poll() is None, (home / "cluster.out").read_text()[-5000:]
                assert time.monotonic() < deadline, (home / "cluster.out").read_text()[-5000:]
                time.sleep(1)
            yield Cluster(process, env, home, dbs.conn)
        finally:
            stop_group(process, timeout=120)


@pytest.mark.slow
def test_the_demo_runs_on_two_workers_with_every_file_in_the_bucket(cluster, sandbox_url):
    started = time.monotonic()
    demo = subprocess.run(
        ["bash", str(ROOT / "scripts" / "cluster.sh"), "demo"],
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    print(demo.stdout, f"\ncluster demo: {time.monotonic() - started:.0f} s")
    assert demo.returncode == 0, demo.stdout[-4000:] + demo.stderr[-4000:] + cluster.logs()
    conn, s3 = cluster.conn, cluster.bucket()
    assert rows(conn, "SELECT count(*) FROM videos")[0][0] >= 5
    images = rows(conn, "SELECT image_uri FROM quicklooks WHERE status = 'ok'")
    assert images and all(uri.startswith("s3://collector/quicklooks/") for (uri,) in images)
    assert all(s3.exists(uri) for (uri,) in images)
    assert rows(conn, "SELECT count(*) FROM video_scores")[0][0] >= 5
    assert rows(conn, "SELECT count(*) FROM collector_dashboards")[0][0] >= 2
    assert s3.ls("collector/dashboards") and s3.ls("collector/payout_reports")
    reports = rows(conn, "SELECT html_path, csv_path FROM payout_reports")
    files = [path for report in reports for path in report]
    assert files and all(path.startswith("s3://collector/payout_reports/") for path in files)
    assert all(s3.exists(path) for path in files)  # where the portal reads them
    paid = rows(conn, "SELECT count(*) FROM payout_items WHERE status = 'paid'")[0][0]
    assert paid == 2
    assert_paid_exactly_once(conn, sandbox_url)
    assert s3.exists("collector/releases/people-in-public-demo/1.0/manifest.json")
    assert s3.exists("collector/catalog/collections.json")
    # Every task that ran, ran on one of the two workers (an EmptyOperator is only marked done
    # by the scheduler, a skipped task never runs: neither has a host).
    hosts = rows(
        _airflow(cluster),
        "SELECT hostname, state, operator, count(*) FROM task_instance GROUP BY 1, 2, 3 ORDER BY 1",
    )
    assert {host for host, *_ in hosts if host} == set(WORKERS), hosts  # both ran tasks
    assert all(state == "skipped" or op == "EmptyOperator" for host, state, op, _ in hosts if not host), hosts  # fmt: skip
    # Nothing of the pipelines on the workers' own disks: files went to the bucket only.
    for worker in WORKERS:
        own = cluster.home / worker
        assert not [p for p in (own / "work").rglob("*") if p.is_file()], worker
        assert not [p for p in (own / "tmp").rglob("*") if p.is_file()], worker


def _airflow(cluster):
    import psycopg2

    url = cluster.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].replace("+psycopg2", "")
    if not hasattr(cluster, "metadata"):
        cluster.metadata = psycopg2.connect(url)
    return cluster.metadata


def _kill_worker(cluster, name: str) -> list[int]:
    """SIGKILL every process of the worker (its session): the machine is gone."""
    session = cluster.ready["pids"][name]
    killed = []
    for proc in psutil.process_iter():
        try:
            if os.getsid(proc.pid) == session:
                proc.send_signal(signal.SIGKILL)
                killed.append(proc.pid)
        except (psutil.NoSuchProcess, ProcessLookupError, PermissionError):
            continue
    return killed


@pytest.mark.slow
def test_a_worker_killed_mid_quicklooks_loses_nothing(cluster):
    conn, s3 = cluster.conn, cluster.bucket()
    before = set(rows(conn, "SELECT video_id, activity_index, status FROM quicklooks"))
    assert before, "the demo test runs first and leaves quicklooks"
    with conn.cursor() as cur:  # every activity needs its quicklook again
        cur.execute("DELETE FROM quicklooks")
    conn.commit()
    cluster.call("PATCH", "/api/v2/dags/quicklook_generation", {"is_paused": False})
    run = cluster.call(
        "POST",
        "/api/v2/dags/quicklook_generation/dagRuns",
        {"logical_date": None, "conf": {"batch_size": 2}},
    )
    run_id = run["dag_run_id"]
    deadline = time.monotonic() + 300
    victim = None
    while victim is None:
        assert time.monotonic() < deadline, cluster.logs()
        for ti in cluster.task_instances("quicklook_generation", run_id):
            if ti["task_id"] == "render_batch" and ti["state"] == "running" and ti["hostname"]:
                victim = ti
                break
        else:
            time.sleep(0.2)
    killed = _kill_worker(cluster, victim["hostname"])
    print(f"killed {victim['hostname']} (pids {killed}) while it ran render_batch "
          f"[{victim['map_index']}] try {victim['try_number']}")  # fmt: skip
    assert killed
    path = f"/api/v2/dags/quicklook_generation/dagRuns/{run_id}"
    deadline = time.monotonic() + 900
    while cluster.call("GET", path)["state"] not in ("success", "failed"):
        assert time.monotonic() < deadline, cluster.logs()
        time.sleep(2)
    assert cluster.call("GET", path)["state"] == "success", cluster.logs()
    survivor = ({*WORKERS} - {victim["hostname"]}).pop()
    tries = cluster.call(
        "GET",
        f"{path}/taskInstances/render_batch/{victim['map_index']}/tries",
    )["task_instances"]
    print("tries:", [(t["try_number"], t["hostname"], t["state"]) for t in tries])
    assert tries[0]["hostname"] == victim["hostname"] and tries[0]["state"] != "success"
    assert tries[-1]["hostname"] == survivor and tries[-1]["state"] == "success"
    after = rows(conn, "SELECT video_id, activity_index, status, image_uri FROM quicklooks")
    # Nothing lost: every quicklook is back with the same outcome (and the self-serve videos
    # ingested after the demo's quicklook run have theirs now), every image in the bucket.
    assert before <= {(v, i, status) for v, i, status, _ in after}
    assert all(s3.exists(uri) for *_, status, uri in after if status == "ok")
    assert victim["hostname"] in (cluster.home / "cluster.out").read_text()  # "... not restarted"


def test_every_storage_setting_is_a_bucket_url_on_the_cluster():
    """A setting whose default is a local path (under the state directory) must be one the
    cluster points at s3:// (config/cluster.env) or hands to every process as a value; a new
    local-path setting fails here until the cluster covers it."""
    tree = ast.parse((ROOT / "include" / "collector" / "core" / "settings.py").read_text())
    local: dict[str, set[str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or node.name in (
            "state_dir",
            "warehouse_url_file",
        ):
            continue
        calls = {n.func.id for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}  # fmt: skip
        if calls & {"state_dir", "warehouse_url_file"}:
            local[node.name] = {
                n.value
                for n in ast.walk(node)
                if isinstance(n, ast.Constant) and str(n.value).startswith("COLLECTOR_")
            }
    cluster = _load_cluster_script()
    env = cluster.cluster_environment(
        {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": "postgresql+psycopg2://u@h/airflow",
         "COLLECTOR_DB_URL": "postgresql://u@h/collector", "COLLECTOR_TOKEN_KEYS": "k",
         "COLLECTOR_PORTAL_SECRET": "s"}
    )  # fmt: skip
    storage = {n for n, variables in local.items() if variables & set(cluster.STORAGE_SETTINGS)}
    assert {"landing_url", "quarantine_url", "quicklook_url", "releases_url", "catalog_url",
            "dashboard_html_url", "payout_reports_url"} <= storage  # fmt: skip
    for name, variables in local.items():
        assert variables, f"settings.{name}() reads a local file with no variable to set"
        for variable in variables:
            assert variable in env, f"settings.{name}(): the cluster does not set {variable}"
            if variable.endswith("_URL") and variable != "COLLECTOR_DB_URL":  # a place for files
                assert variable in cluster.STORAGE_SETTINGS, f"settings.{name}(): {variable}"
                assert env[variable].startswith("s3://"), (name, variable, env[variable])
    compose_env = cluster.read_env_file()
    assert all(compose_env[v].startswith("s3://") for v in cluster.STORAGE_SETTINGS)
