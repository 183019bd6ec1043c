"""`make airflow` as ops, finance and engineers use it: the real scheduler, not dag.test().

One stack for the module, started by scripts/airflow.sh exactly as `make airflow` starts it
(PostgreSQL metadata, the supervisor, every component), on NON-default ports for the API, the
execution API and both log servers. Then, in order:

1. the scheduler itself creates the Tuesday run of weekly_payout (the latest missed Tuesday
   12:00 New York time, as when the scheduler comes back or the DAG is unpaused), finance
   approves it over the REST API as the UI does, and the sandbox receives the payments;
2. a backfill of score_aggregation over that week, created through the REST API as the UI's
   dialog creates it, re-scores the week's videos and changes nothing while the rules are the
   same; after a rules change a second one moves exactly the videos the new rules affect;
3. SIGTERM to the supervisor leaves no process of the stack behind.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psutil
import pytest
from databases import fresh_databases
from payout_checks import admin, assert_paid_exactly_once, rows
from processes import admin_token, call_json, stop_group
from scoring_world import World

from collector.core.clock import previous_week
from collector.payouts.profiles import set_payment_profile
from collector.scoring.scores import score_videos

ROOT = Path(__file__).resolve().parents[2]
NY = ZoneInfo("America/New_York")
PAID = {"ann@x.org": ("paypal", "ann@x.org"), "dee@x.org": ("payoneer", "DEE-1")}
HELD = "held@x.org"  # no payment details: never paid, so re-scoring it touches no payment

pytestmark = [pytest.mark.airflow, pytest.mark.slow]  # make airflow itself: minutes


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def latest_tuesday_noon(now: datetime) -> datetime:
    """The last Tuesday 12:00 New York time at or before ``now``: the run the scheduler makes."""
    local = now.astimezone(NY)
    day = local.date() - timedelta(days=(local.weekday() - 1) % 7)
    noon = datetime(day.year, day.month, day.day, 12, tzinfo=NY)
    return noon if noon <= local else noon - timedelta(days=7)


class Stack:
    """The running `make airflow` and a REST client logged in as the admin."""

    def __init__(self, process: subprocess.Popen, env: dict, home: Path, warehouse_url: str):
        self.process, self.env, self.home, self.warehouse_url = process, env, home, warehouse_url
        self.api = f"http://127.0.0.1:{env['AIRFLOW__API__PORT']}"
        self.token = None

    def call(self, method: str, path: str, body: dict | None = None) -> dict:
        self.token = self.token or admin_token(self.api, self.home, timeout=30)
        status, answer = call_json(self.api + path, method, body, self.token, timeout=30)
        if status >= 400:
            raise AssertionError(f"{method} {path}: {status} {str(answer)[:500]!r}")
        return answer or {}

    def runs(self, dag_id: str) -> list[dict]:
        """Every run of the DAG (the API answers at most 100 a page)."""
        found: list[dict] = []
        while True:
            page = self.call("GET", f"/api/v2/dags/{dag_id}/dagRuns?limit=100&offset={len(found)}")
            found += page["dag_runs"]
            if not page["dag_runs"] or len(found) >= page["total_entries"]:
                return found

    def logs(self) -> str:
        out = []
        for name in ("scheduler", "api-server", "triggerer", "dag-processor"):
            log = self.home / "logs" / f"{name}.log"
            if log.exists():
                out.append(f"--- {name}\n" + log.read_text(errors="replace")[-2500:])
        return "\n".join(out)

    def wait(self, what: str, check, timeout: float = 300, every: float = 2):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"make airflow exited\n{self.logs()}"
            found = check()
            if found:
                return found
            time.sleep(every)
        pytest.fail(f"{what}: not within {timeout:.0f} s\n{self.logs()}")


def _seed(conn, week_start) -> dict:
    """Accepted videos in the payout week for two paid collectors and one held one, plus a
    video the week before; every input backdated to when it arrived (hourly runs find nothing
    new)."""
    monday = datetime(week_start.year, week_start.month, week_start.day, 9, tzinfo=NY)
    world = World(conn, pay_per_video_cents=300, perfect_bonus_cents=50)
    videos = {"paid": [], "moves": [], "outside": []}
    for n, collector in enumerate(PAID):
        videos["paid"].append(world.video(collector=collector, at=monday + timedelta(minutes=n)))
        videos["paid"].append(
            world.video(
                collector=collector,
                at=monday + timedelta(days=1, minutes=n),
                labels=("good", "perfect"),
            )
        )
        set_payment_profile(conn, collector, *PAID[collector], "test")
    for day in (2, 3, 4):  # the new rules below reject a repeated scene
        videos["moves"].append(
            world.video(
                collector=HELD,
                at=monday + timedelta(days=day),
                labels=("good", "repeated_scene"),
            )
        )
    videos["held"] = [world.video(collector=HELD, at=monday + timedelta(days=5, hours=3))]
    videos["outside"].append(
        world.video(
            collector="early@x.org",
            at=monday - timedelta(days=3),
            labels=("good", "repeated_scene"),
        )
    )
    with conn.cursor() as cur:
        cur.execute("UPDATE videos SET first_ingested_at = collected_at")
        cur.execute("UPDATE consent_records SET ingested_at = consented_at")
    conn.commit()
    score_videos(conn)
    return videos


@pytest.fixture(scope="module")
def stack(pg_server, sandbox_url, sandbox_home, tmp_path_factory):
    with fresh_databases(pg_server, "stack") as dbs:
        yield from _running_stack(dbs, sandbox_url, sandbox_home, tmp_path_factory)


def _running_stack(dbs, sandbox_url, sandbox_home, tmp_path_factory):
    """`make airflow` over ``dbs`` until the module's tests are done; stopped with every process
    it started."""
    conn, warehouse_url = dbs.conn, dbs.warehouse_url

    payout_at = latest_tuesday_noon(datetime.now(UTC))
    week = previous_week(payout_at)
    videos = _seed(conn, week)
    admin(sandbox_url, "payments/reset", {})
    admin(sandbox_url, "payments/faults/clear", {})
    admin(sandbox_url, "payments/settings", {"processing_seconds": 0.2})

    home = tmp_path_factory.mktemp("make-airflow")
    marker = uuid.uuid4().hex
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "AIRFLOW_HOME": str(home),
        "COLLECTOR_STATE_DIR": str(sandbox_home),
        "SANDBOX_PORT": sandbox_url.rsplit(":", 1)[1],
        "SANDBOX_SMTP_PORT": "0",
        "COLLECTOR_DB_URL": warehouse_url,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": dbs.airflow_url,
        # Not 8080 / 8793 / 8794: every component must follow the settings.
        "AIRFLOW__API__PORT": str(_free_port()),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(_free_port()),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "8",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
        "AIRFLOW_VAR_PAYOUT_POLL_SECONDS": "1",
        "COLLECTOR_PAYOUT_REPORTS_URL": str(home / "payout_reports"),
        "COLLECTOR_DEADLINE_ALERTS": "on",  # a scheduler runs: as in production
        "COLLECTOR_AIRFLOW_STACK": marker,
    }
    process = subprocess.Popen(
        ["bash", str(ROOT / "scripts" / "airflow.sh")],
        env=env,
        stdout=(home / "make-airflow.out").open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    running = Stack(process, env, home, warehouse_url)
    running.week, running.payout_at, running.videos, running.marker = (
        week,
        payout_at,
        videos,
        marker,
    )
    running.conn = conn
    try:
        running.wait(
            "the API server answers on the port set",
            lambda: _answers(f"{running.api}/api/v2/version"),
            timeout=240,
        )
        for dag_id in ("weekly_payout", "score_aggregation"):
            running.wait(
                f"{dag_id} parsed by the dag-processor",
                lambda dag_id=dag_id: _exists(running, dag_id),
                timeout=240,
            )
        running.sessions = _components(running)
        yield running
    finally:
        stop_group(process, timeout=60)
        for proc in _stack_processes(marker, getattr(running, "sessions", set())):
            proc.kill()


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


def _exists(stack: Stack, dag_id: str) -> bool:
    try:
        stack.call("GET", f"/api/v2/dags/{dag_id}")
        return True
    except AssertionError:
        return False


def _stack_processes(marker: str, sessions: set[int]) -> list[psutil.Process]:
    """Processes in the components' sessions or with the stack's marker in their environment
    (a process that sets its title, like `airflow api_server`, hides its environment)."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if (
                os.getsid(proc.pid) in sessions
                or proc.environ().get("COLLECTOR_AIRFLOW_STACK") == marker
            ):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
            continue
    return found


def _live(proc: psutil.Process) -> bool:
    """Running and not a zombie: an executor's worker that has just exited stays a zombie until
    its parent reaps it, and `is_running()` is true for it (seen in CI)."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return False


def _describe(proc: psutil.Process) -> tuple:
    """(pid, command line) for an assertion message, even if the process is gone meanwhile."""
    try:
        return proc.pid, proc.cmdline()
    except psutil.Error:
        return proc.pid, "(gone)"


def _components(stack: Stack) -> set[int]:
    """The sessions the supervisor's components lead (each starts one)."""
    return {child.pid for child in psutil.Process(stack.process.pid).children()}


def test_the_scheduler_pays_the_tuesday_payout(stack, sandbox_url):
    stack.call("PATCH", "/api/v2/dags/weekly_payout", {"is_paused": False})
    run = stack.wait(
        "the scheduler creates the Tuesday run",
        lambda: [r for r in stack.runs("weekly_payout") if r["run_type"] == "scheduled"],
    )[0]
    assert datetime.fromisoformat(run["logical_date"]) == stack.payout_at

    approve = ROOT / "scripts" / "approve_payout.py"
    approval = subprocess.run(
        [
            sys.executable,
            str(approve),
            "--api",
            stack.api,
            "--decision",
            "Approve",
            "--timeout",
            "240",
        ],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    # A dry run (the scheduled run read as manual) never asks: nothing would be paid.
    assert approval.returncode == 0, approval.stderr + stack.logs()
    assert f"week of {stack.week}" in approval.stdout

    done = stack.wait(
        "the scheduled payout finishes",
        lambda: [
            r
            for r in stack.runs("weekly_payout")
            if r["dag_run_id"] == run["dag_run_id"] and r["state"] in ("success", "failed")
        ],
        timeout=300,
    )[0]
    assert done["state"] == "success", stack.logs()
    paid = rows(
        stack.conn,
        """SELECT i.collector_id, i.status, count(v.*) FROM payout_items i
           JOIN payout_batches b USING (batch_id) JOIN payout_item_videos v USING (item_id)
           WHERE b.week_start = %s GROUP BY 1, 2 ORDER BY 1""",
        (stack.week,),
    )
    # Both of each paid collector's videos, nothing for the one without payment details.
    assert paid == [("ann@x.org", "paid", 2), ("dee@x.org", "paid", 2)]
    held = admin(sandbox_url, "payments/batches")
    assert len(held["paypal"]) == 1 and len(held["payoneer"]) == 1
    assert_paid_exactly_once(stack.conn, sandbox_url)


def _scores(conn) -> dict[str, tuple]:
    return {
        video: rest
        for video, *rest in rows(
            conn,
            "SELECT video_id, status, score, accepted, rules_version FROM video_scores",
        )
    }


def _backfill(stack: Stack, conf: dict) -> list[dict]:
    """Create a backfill over the payout week as the UI's dialog does; wait until it is done."""
    start = datetime(stack.week.year, stack.week.month, stack.week.day, tzinfo=NY)
    body = {
        "dag_id": "score_aggregation",
        "from_date": start.astimezone(UTC).isoformat(),
        "to_date": (start + timedelta(days=7)).astimezone(UTC).isoformat(),
        "run_backwards": False,
        "dag_run_conf": conf,
        "reprocess_behavior": "completed",
        "max_active_runs": 8,
    }
    created = stack.wait(
        "the backfill is accepted (the previous one completed)",
        lambda: _create_backfill(stack, body),
        timeout=180,
        every=5,
    )
    stack.wait(
        f"backfill {created['id']} completes",
        lambda: stack.call("GET", f"/api/v2/backfills/{created['id']}")["completed_at"],
        timeout=900,
        every=5,
    )
    runs = [r for r in stack.runs("score_aggregation") if r["run_type"] == "backfill"]
    mine = [r for r in runs if (r.get("conf") or {}) == conf]
    assert len(mine) >= 7 * 24 and {r["state"] for r in mine} == {"success"}, stack.logs()
    return mine


def _create_backfill(stack: Stack, body: dict) -> dict | None:
    try:
        return stack.call("POST", "/api/v2/backfills", body)
    except AssertionError as refused:
        if "AlreadyRunningBackfill" in str(refused) or "409" in str(refused):
            return None
        raise


def test_a_ui_backfill_rescores_the_week_and_moves_what_new_rules_affect(stack):
    conn = stack.conn
    stack.call("PATCH", "/api/v2/dags/score_aggregation", {"is_paused": False})
    before = _scores(conn)
    changes = rows(conn, "SELECT count(*) FROM video_score_changes")

    _backfill(stack, {})  # same rules: the week re-scored, nothing moves
    assert _scores(conn) == before
    assert rows(conn, "SELECT count(*) FROM video_score_changes") == changes

    with conn.cursor() as cur:  # the rules change: a repeated scene now halves the activity
        cur.execute("INSERT INTO scoring_rule_sets VALUES (2, 'repeated scenes count', 50, 200)")
        cur.execute(
            "INSERT INTO scoring_label_rules SELECT 2, label, effect, factor "
            "FROM scoring_label_rules WHERE rules_version = 1"
        )
        cur.execute(
            "UPDATE scoring_label_rules SET effect = 'factor', factor = 0.5 "
            "WHERE rules_version = 2 AND label = 'repeated_scene'"
        )
    conn.commit()
    _backfill(stack, {"rules_version": 2})
    after = _scores(conn)
    moved = {v for v in after if after[v][:3] != before[v][:3]}
    assert moved == set(stack.videos["moves"])
    assert all(after[v][1] < before[v][1] for v in moved)  # a repeated scene now costs
    in_week = stack.videos["paid"] + stack.videos["moves"] + stack.videos["held"]
    assert {after[v][3] for v in in_week} == {2}  # the whole week under the new rules
    assert after[stack.videos["outside"][0]] == before[stack.videos["outside"][0]]  # not the week
    # What the backfill left is what a full re-score of the week under rules 2 gives.
    assert score_videos(conn, in_week, rules_version=2).videos_written == 0


def test_sigterm_leaves_no_process_behind(stack):
    sessions = _components(stack)
    assert len(sessions) == 4  # api-server, scheduler, dag-processor, triggerer
    # The components' descendants first (the dag-processor starts a parser now and then), then
    # what the session scan finds: it must hold every descendant still running.
    descendants = [p for c in sessions for p in psutil.Process(c).children(recursive=True)]
    alive = _stack_processes(stack.marker, sessions)
    missed = [p for p in descendants if _live(p) and p not in alive]
    # ... the executor's workers, the API server's worker, the log server under them
    assert len(alive) > 6 and not missed, [_describe(p) for p in missed or alive]
    os.kill(stack.process.pid, signal.SIGTERM)  # the supervisor (airflow.sh exec'd into it)
    stack.process.wait(90)
    out = (stack.home / "make-airflow.out").read_text()
    assert "no process of this stack is left" in out, out[-3000:]
    left = [p for p in alive if _live(p)] + _stack_processes(stack.marker, sessions)
    assert not left, [_describe(p) for p in left]
