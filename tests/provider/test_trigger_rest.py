"""The UI's Trigger, over the REST API the UI itself calls: every DAG's form with its defaults
is enabled and its submission (and conf {}) is accepted (issue 17, item 4).

A real `airflow api-server` on a metadata DB of its own (the DAGs reserialized into it): the
params come from `GET /api/v2/dags/{id}/details` exactly as the form gets them, and the runs
are created by `POST /api/v2/dags/{id}/dagRuns`. No scheduler runs, so nothing executes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from processes import admin_token, call_json, start_api_server, stop_group
from test_trigger_form import ui_is_required

AIRFLOW = str(Path(sys.executable).parent / "airflow")
DAG_IDS = sorted(
    p.stem
    for p in (Path(__file__).resolve().parents[2] / "dags").glob("*.py")
    if not p.name.startswith("_")
)


def _call(url: str, method: str = "GET", body=None, token: str | None = None):
    return call_json(url, method, body, token, timeout=30)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    home = tmp_path_factory.mktemp("airflow-rest")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
    }
    for args in (["db", "migrate"], ["dags", "reserialize"]):
        done = subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    server, base = start_api_server(env, home / "api-server.log")
    try:
        yield base, admin_token(base, home)
    finally:
        stop_group(server)


@pytest.mark.airflow
@pytest.mark.parametrize("dag_id", DAG_IDS)
def test_the_form_is_enabled_and_its_defaults_are_accepted(api, dag_id):
    base, token = api
    status, details = _call(f"{base}/api/v2/dags/{dag_id}/details", token=token)
    assert status == 200, details
    params = details["params"] or {}
    blockers = [
        k for k, spec in params.items() if ui_is_required(spec) and spec["value"] in (None, "")
    ]
    assert blockers == [], f"{dag_id}: Trigger stays disabled because of {blockers}"

    form = {k: spec["value"] for k, spec in params.items()}
    for conf in (form, {}):
        status, run = _call(
            f"{base}/api/v2/dags/{dag_id}/dagRuns",
            "POST",
            {"logical_date": None, "conf": conf},
            token,
        )
        assert status == 200, f"{dag_id} with conf {conf}: {status} {run}"
        assert run["state"] == "queued" and run["run_type"] == "manual"
