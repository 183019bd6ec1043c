"""Answer a pending Airflow approval over the REST API, exactly as the UI's button does.

Used by ``make demo`` (which says it approves on finance's behalf) and the whole-DAG tests.
``python scripts/approve_payout.py --api http://127.0.0.1:8080 --decision Approve``
Logs in as the SimpleAuthManager admin (password from ``$AIRFLOW_HOME``), waits for the
``weekly_payout`` approval to be pending, prints what finance would read, and answers.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def api_call(
    api: str, method: str, path: str, token: str | None = None, body=None, timeout: float = 30
) -> dict:
    """One JSON request to Airflow's REST API; its JSON answer. An HTTP error is raised as
    ``HTTPError`` whose message carries the start of the answer's body (what Airflow said)."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(api + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        said = error.read()[:500].decode(errors="replace")
        raise urllib.error.HTTPError(
            error.url, error.code, f"{method} {path}: {error.reason}: {said}", error.headers, None
        ) from None


def login(api: str, user: str = "admin") -> str:
    passwords = Path(os.environ["AIRFLOW_HOME"]) / "simple_auth_manager_passwords.json.generated"
    password = json.loads(passwords.read_text())[user]
    return api_call(api, "POST", "/auth/token", body={"username": user, "password": password})[
        "access_token"
    ]


def pending(api: str, token: str, dag_id: str) -> list[dict]:
    found = api_call(api, "GET", f"/api/v2/dags/{dag_id}/dagRuns/~/hitlDetails", token)
    return [d for d in found.get("hitl_details", []) if not d.get("response_received")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--api", required=True, help="api-server base URL")
    parser.add_argument("--decision", choices=["Approve", "Reject"], default="Approve")
    parser.add_argument("--dag-id", default="weekly_payout")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    deadline = time.monotonic() + args.timeout
    token = None
    while time.monotonic() < deadline:
        try:
            token = token or login(args.api)
            waiting = pending(args.api, token, args.dag_id)
        except (OSError, urllib.error.URLError, KeyError):
            waiting = []
        if waiting:
            break
        time.sleep(1)
    else:
        print(
            f"no approval of {args.dag_id} became pending in {args.timeout:.0f} s", file=sys.stderr
        )
        return 1
    detail = waiting[0]
    ti = detail["task_instance"]
    print(f"Approval pending: {detail['subject']}")
    for line in (detail.get("body") or "").splitlines():
        print(f"  | {line}")
    # An answer that resumes the task before the scheduler has heard that the parked try's
    # process ended gets the resumed try failed and the approval asked again (Airflow 3.3.2;
    # docs/airflow-facts.md). That process took 5 s to end on a loaded machine: wait 10 s.
    time.sleep(10)
    api_call(
        args.api,
        "PATCH",
        f"/api/v2/dags/{ti['dag_id']}/dagRuns/{ti['dag_run_id']}/taskInstances/"
        f"{ti['task_id']}/{ti.get('map_index', -1)}/hitlDetails",
        token,
        {"chosen_options": [args.decision], "params_input": {}},
    )
    print(f"Answered {args.decision!r} as user admin (run {ti['dag_run_id']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
