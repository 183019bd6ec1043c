"""Server processes tests start (Airflow components, the sandbox): stopped with their children.

`airflow api-server` forks its workers and the scheduler its LocalExecutor workers; terminating
only the parent left them running after the test (seen: idle workers and api_server processes
adopted by init). Each process gets a session of its own and the whole group is stopped.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.error
import urllib.request


def start_group(args: list[str], **kwargs) -> subprocess.Popen:
    """``subprocess.Popen(args, **kwargs)`` as the leader of a new process group."""
    return subprocess.Popen(args, start_new_session=True, **kwargs)


def stop_group(process: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM the process group, SIGKILL whatever of it is left after ``timeout`` seconds."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # children that outlived their parent
    except ProcessLookupError:
        pass
    process.wait(5)


def start_api_server(env: dict, log_path) -> tuple[subprocess.Popen, str]:
    """``airflow api-server`` on a free port as a group leader, once it answers
    ``/api/v2/version`` (120 s at most): (the process, its base URL). Stop it with stop_group."""
    import socket
    import sys
    import time
    import urllib.request
    from pathlib import Path

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    airflow = str(Path(sys.executable).parent / "airflow")
    with open(log_path, "w") as log:
        server = start_group(
            [airflow, "api-server", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/v2/version", timeout=2)
            return server, base
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                stop_group(server)
                raise AssertionError(
                    f"api-server did not start: {Path(log_path).read_text()[-3000:]}"
                ) from None
            time.sleep(0.5)


def call_json(
    url: str, method: str = "GET", body=None, token: str | None = None, timeout: float = 60
) -> tuple[int, object]:
    """One JSON request to a local server (Airflow's API, the sandbox): (HTTP status, the
    decoded answer), or (status, the error body as text) for an HTTP error."""
    request = urllib.request.Request(
        url,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}
        | ({"Authorization": f"Bearer {token}"} if token else {}),
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def admin_token(base: str, airflow_home, timeout: float = 60) -> str:
    """A bearer token for the SimpleAuthManager's ``admin`` of the api-server at ``base``,
    whose generated password is in ``airflow_home``; an AssertionError if it refuses."""
    from pathlib import Path

    passwords = Path(airflow_home) / "simple_auth_manager_passwords.json.generated"
    password = json.loads(passwords.read_text())["admin"]
    status, answer = call_json(
        f"{base}/auth/token", "POST", {"username": "admin", "password": password}, timeout=timeout
    )
    assert status in (200, 201), f"POST /auth/token: {status} {answer}"
    return answer["access_token"]
