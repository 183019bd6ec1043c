"""`make airflow`: Airflow's components for a laptop, supervised, on the ports you set.

Runs ``api-server``, ``scheduler``, ``dag-processor`` and ``triggerer`` as separate processes
(what ``airflow standalone`` does, minus its gaps):

- **Ports**: the API port (``AIRFLOW__API__PORT``, default 8080) is also where tasks call the
  execution API (``AIRFLOW__CORE__EXECUTION_API_SERVER_URL``) and what log links use
  (``AIRFLOW__API__BASE_URL``), unless those are set; the log servers honour
  ``AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT`` / ``TRIGGER_LOG_SERVER_PORT``. Changing only the
  API port used to move the UI while every task still called 8080 and failed with an empty log.
- **Restarts**: a component that exits on its own (a scheduler crash) is restarted after a
  pause, its last log lines printed; five crashes within ten minutes stop everything.
- **Stopping**: Ctrl-C, SIGTERM or SIGHUP stop every process the stack started, including
  LocalExecutor workers and task processes that moved to process groups of their own: each
  component leads a session of its own, which its descendants keep (and a marker in their
  environment, ``COLLECTOR_AIRFLOW_STACK``, catches one that left it), so nothing is left
  running, orphans included.

Each component writes to ``$AIRFLOW_HOME/logs/<component>.log``.
Usage: ``python scripts/airflow_supervisor.py`` (environment from scripts/airflow-env.sh).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import psutil

COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
MARKER = "COLLECTOR_AIRFLOW_STACK"
CRASH_WINDOW_S = 600
MAX_CRASHES = 5
STOP_GRACE_S = 20


@dataclass
class Component:
    """A process the supervisor runs: its command, environment on top of the stack's, and
    working directory (``make cluster`` gives each Celery worker its own)."""

    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    restart: bool = True  # False: a component that dies stays down (a lost machine)


def stack_environment(env: dict[str, str]) -> dict[str, str]:
    """The environment every component gets: ports made consistent, a stack marker added."""
    env = dict(env)
    port = env.setdefault("AIRFLOW__API__PORT", "8080")
    env.setdefault("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", f"http://127.0.0.1:{port}/execution/")
    env.setdefault("AIRFLOW__API__BASE_URL", f"http://localhost:{port}")
    env[MARKER] = env.get(MARKER) or uuid.uuid4().hex
    return env


def stack_processes(marker: str, sessions: set[int]) -> list[psutil.Process]:
    """Every live process of the stack: in a session one of our components leads, or carrying
    the stack's marker in its environment.

    Sessions are the main net: each component starts a session of its own, and its workers and
    task processes stay in it (they change process group, not session) even when their parent
    died. The environment marker catches a descendant that started a session of its own, but a
    process that sets its title (``airflow api_server``, LocalExecutor workers) overwrites its
    environment as /proc shows it, so the marker alone misses those.
    """
    found = []
    for proc in psutil.process_iter():
        if proc.pid == os.getpid():
            continue
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if os.getsid(proc.pid) in sessions or proc.environ().get(MARKER) == marker:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
            continue
    return found


class Stack:
    def __init__(self, env: dict[str, str], components: dict[str, Component] | None = None):
        self.env = stack_environment(env)
        self.marker = self.env[MARKER]
        self.logs = Path(self.env["AIRFLOW_HOME"]) / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.components = components or {name: Component(self.command(name)) for name in COMPONENTS}
        self.procs: dict[str, subprocess.Popen] = {}
        self.sessions: set[int] = set()  # every session a component (or its restart) led
        self.crashes: deque[float] = deque()
        self.down: set[str] = set()  # components that died and are not restarted
        self.stopping = False
        self.signal: int | None = None  # the signal that asked the stack to stop, if one did

    def trap_signals(self) -> None:
        """SIGINT, SIGTERM and SIGHUP end :meth:`watch` (the one received in ``signal``)."""

        def on_signal(signum, _frame):
            self.signal = signum
            self.stopping = True

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, on_signal)

    def command(self, name: str) -> list[str]:
        airflow = str(Path(sys.executable).parent / "airflow")
        if name == "api-server":
            return [airflow, "api-server", "--port", self.env["AIRFLOW__API__PORT"]]
        return [airflow, name]

    def start(self, name: str) -> None:
        component = self.components[name]
        log = (self.logs / f"{name}.log").open("a")
        self.procs[name] = subprocess.Popen(
            component.argv,
            env={**self.env, **component.env},
            cwd=component.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches us only; we stop the children in order
        )
        self.sessions.add(self.procs[name].pid)
        log.close()

    def tail(self, name: str, lines: int = 20) -> str:
        text = (self.logs / f"{name}.log").read_text(errors="replace").splitlines()
        return "\n".join("    " + line for line in text[-lines:])

    def wait_for_api(self, timeout_s: float = 180) -> bool:
        url = f"http://127.0.0.1:{self.env['AIRFLOW__API__PORT']}/api/v2/version"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not self.stopping:
            try:
                with urllib.request.urlopen(url, timeout=2):
                    return True
            except OSError:
                if self.procs["api-server"].poll() is not None:
                    return False
                time.sleep(0.5)
        return False

    def watch(self) -> int:
        """Restart what exits on its own until asked to stop; the exit code for the script."""
        while not self.stopping:
            time.sleep(1)
            for name, proc in list(self.procs.items()):
                if self.stopping or proc.poll() is None or name in self.down:
                    continue
                if not self.components[name].restart:
                    self.down.add(name)
                    print(f"{name} exited with code {proc.returncode}; not restarted", flush=True)
                    continue
                now = time.monotonic()
                self.crashes.append(now)
                while self.crashes and now - self.crashes[0] > CRASH_WINDOW_S:
                    self.crashes.popleft()
                print(
                    f"airflow {name} exited with code {proc.returncode}; last lines of "
                    f"{self.logs / (name + '.log')}:\n{self.tail(name)}",
                    flush=True,
                )
                if len(self.crashes) >= MAX_CRASHES:
                    print(
                        f"{len(self.crashes)} crashes in {CRASH_WINDOW_S // 60} minutes: stopping "
                        "everything; read the logs above",
                        flush=True,
                    )
                    self.stop()
                    return 1
                time.sleep(min(2 ** len(self.crashes), 30))
                print(f"restarting airflow {name}", flush=True)
                self.start(name)
        return 0

    def shut_down(self, what: str) -> bool:
        """:meth:`stop`, then say whether any process of the stack is left; True when none."""
        self.stop()
        left = stack_processes(self.marker, self.sessions)
        if left:
            print(f"could not stop: {[p.pid for p in left]}", flush=True)
            return False
        print(f"{what} stopped: no process of this stack is left", flush=True)
        return True

    def stop(self) -> None:
        """SIGTERM every process of the stack, SIGKILL what is left after the grace period."""
        self.stopping = True
        for proc in stack_processes(self.marker, self.sessions):
            try:
                proc.terminate()
            except psutil.NoSuchProcess:
                pass
        deadline = time.monotonic() + STOP_GRACE_S
        while time.monotonic() < deadline and stack_processes(self.marker, self.sessions):
            time.sleep(0.3)
        for proc in stack_processes(self.marker, self.sessions):
            try:
                proc.kill()
            except psutil.NoSuchProcess:
                pass
        for proc in self.procs.values():  # reap our direct children
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                pass


def main() -> int:
    stack = Stack(dict(os.environ))
    stack.trap_signals()
    for name in stack.components:
        stack.start(name)
    port = stack.env["AIRFLOW__API__PORT"]
    if stack.wait_for_api():
        print(
            f"Airflow is up: UI http://localhost:{port} (execution API "
            f"{stack.env['AIRFLOW__CORE__EXECUTION_API_SERVER_URL']}); logs in {stack.logs}",
            flush=True,
        )
    elif not stack.stopping:
        print(f"the API server did not answer on port {port}:\n{stack.tail('api-server')}")
    code = stack.watch()
    if not stack.shut_down("Airflow"):
        return 1
    return code if stack.signal is None else 0


if __name__ == "__main__":
    sys.exit(main())
