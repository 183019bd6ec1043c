"""Server processes tests start (Airflow components, the sandbox): stopped with their children.

`airflow api-server` forks its workers and the scheduler its LocalExecutor workers; terminating
only the parent left them running after the test (seen: idle workers and api_server processes
adopted by init). Each process gets a session of its own and the whole group is stopped.
"""

from __future__ import annotations

import os
import signal
import subprocess


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
