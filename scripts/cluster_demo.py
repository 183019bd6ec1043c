"""`make cluster-demo`: make demo's DAG sequence, run by the Celery cluster (scripts/cluster.py).

The same runs in the same order as scripts/demo.sh, but each one triggered over the REST API and
executed by the scheduler and the two Celery workers, with every file in the bucket: the landing
area is uploaded to ``COLLECTOR_LANDING_URL`` (``s3://``) before ingest; quicklooks, dashboards,
finance reports, the catalog and the release are written there by whichever worker runs the
task. The payout's wait is deferred to the triggerer and the approval is answered through the
REST API (scripts/approve_payout.py), as finance's button does.

The cluster must run with ``COLLECTOR_CLUSTER_SCHEDULE=off`` (the scheduler then creates no
scheduled or Asset-triggered runs, like `make demo`'s ``dags test``); each DAG is unpaused once
and run when this script triggers it. Environment: scripts/cluster.sh demo.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from approve_payout import api_call, login
from cluster import cluster_environment  # the same ports, bucket and settings as the cluster

ROOT = Path(__file__).resolve().parents[1]
OWNER = "owner@example.com"


class Api:
    """The cluster's REST API as the SimpleAuthManager's admin ($AIRFLOW_HOME's password)."""

    def __init__(self, base: str) -> None:
        self.base = base.replace("localhost", "127.0.0.1")
        self.token = login(self.base)

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        return api_call(self.base, method, path, self.token, body, timeout=60)

    def run(self, dag_id: str, conf: dict, label: str, timeout: float = 600) -> dict:
        """Trigger ``dag_id`` and wait for the run to end; fail loudly unless it succeeded."""
        print(f"   {dag_id:<22} {'(' + label + ')':<34}", end="", flush=True)
        started = time.monotonic()
        self.call("PATCH", f"/api/v2/dags/{dag_id}", {"is_paused": False})
        run = self.call(
            "POST", f"/api/v2/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf}
        )
        path = f"/api/v2/dags/{dag_id}/dagRuns/{run['dag_run_id']}"
        while time.monotonic() - started < timeout:
            run = self.call("GET", path)
            if run["state"] in ("success", "failed"):
                break
            time.sleep(1)
        tis = self.call("GET", f"{path}/taskInstances?limit=1000")["task_instances"]
        hosts = sorted({ti["hostname"] for ti in tis if ti.get("hostname")})
        print(f"{run['state']:<8} {time.monotonic() - started:5.0f} s  on {', '.join(hosts)}")
        if run["state"] != "success":
            failed = [f"{t['task_id']}[{t['map_index']}]" for t in tis if t["state"] != "success"]
            raise SystemExit(f"{dag_id} run {run['dag_run_id']} ended {run['state']}: {failed}")
        return run


def sh(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout.strip()


def upload(local: Path, url: str) -> None:
    """Put the local landing files into the bucket, as the app's uploads arrive there."""
    import s3fs  # noqa: PLC0415 (the cluster's packages, not make demo's)

    fs = s3fs.S3FileSystem()
    target = url.split("://", 1)[1].rstrip("/")
    for path in sorted(p for p in local.rglob("*") if p.is_file()):
        fs.put_file(str(path), f"{target}/{path.relative_to(local).as_posix()}")


def main() -> int:
    os.environ.update(cluster_environment(dict(os.environ)))
    api = Api(os.environ["AIRFLOW__API__BASE_URL"])
    landing = os.environ["COLLECTOR_LANDING_URL"]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cluster-demo-") as tmp:
        sh("collector", "demo", "generate", "--landing", f"{tmp}/landing")
        upload(Path(tmp) / "landing", landing)
    print(f"== demo landing area uploaded to {landing}")
    sheet = sh(sys.executable, str(ROOT / "scripts" / "seed_sandbox.py"), "master-sheet")
    api.call("POST", "/api/v2/variables", {"key": "payout_poll_seconds", "value": "2"})
    ingest = {"mp4_wait_minutes": 0}
    api.run("collection_updates", {"spreadsheet_id": sheet.splitlines()[-1]}, "master sheet -> versions")  # fmt: skip
    api.run("submission_ingest", ingest, "landing area -> warehouse")
    api.run("quicklook_generation", {}, "activities -> montages")
    api.run("review_queue", {}, "activities -> review sheet")
    review = sh("collector", "show", "sheet", "review_queue")
    sh(sys.executable, str(ROOT / "scripts" / "seed_sandbox.py"), "ratings", review)
    api.run("review_queue", {}, "ratings -> warehouse")
    api.run("score_aggregation", {}, "ratings -> scores")
    api.run("dashboard_refresh", {}, "scores -> collector sheets")
    sh("collector", "demo", "seed-profiles")
    payout(api)
    sh("collector", "demo", "seed-accounts")
    api.run("collector_emails", {}, "welcome, digest -> inbox")
    release = {"name": "people-in-public-demo", "version": "1.0", "dry_run": False}
    api.run("dataset_release", release, "accepted, consented -> release")
    example = ROOT / "config" / "examples" / "self-serve-collection.yaml"
    sh("collector", "collections", "define", str(example), "--owner", OWNER)
    with tempfile.TemporaryDirectory(prefix="cluster-demo-") as tmp:
        Path(tmp, "landing").mkdir()
        sh("collector", "demo", "self-serve", "--owner", OWNER, "--landing", f"{tmp}/landing")
        upload(Path(tmp) / "landing", landing)
    api.run("submission_ingest", ingest, "self-serve videos -> warehouse")
    sh(
        sys.executable,
        str(ROOT / "scripts" / "link_dropbox.py"),
        OWNER,
        "owner.dropbox@example.com",
    )
    api.run("dropbox_delivery", {}, "own videos -> owner's Dropbox")
    print(f"Cluster demo finished in {time.monotonic() - started:.0f} s; files in {landing.rsplit('/', 1)[0]}")  # fmt: skip
    return 0


def payout(api: Api) -> None:
    """The weekly payout, approved over the REST API while its run waits for the answer."""
    week = sh(
        sys.executable,
        "-c",
        "from collector_tools.demo_files import DEMO_EPOCH; "
        "from collector.core.clock import week_start; print(week_start(DEMO_EPOCH))",
    )
    approval = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "approve_payout.py"), "--api", api.base],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        api.run("weekly_payout", {"week": week, "dry_run": False}, "approve -> PayPal, Payoneer")
    finally:
        out, _ = approval.communicate(timeout=120)
    print("\n".join("     " + line for line in out.splitlines()))
    if approval.returncode:
        raise SystemExit("the approval was not answered")


if __name__ == "__main__":
    sys.exit(main())
