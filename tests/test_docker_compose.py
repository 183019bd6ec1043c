"""docker-compose.yaml cannot run here (no Docker engine), so check it is consistent."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
SERVICES = COMPOSE["services"]
AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-worker",
}


def test_the_official_airflow_3_services_our_warehouse_and_portal_are_there():
    assert {"postgres", "warehouse", "redis", "portal", *AIRFLOW_SERVICES} == set(SERVICES)


def test_celery_pieces_are_behind_the_celery_profile():
    assert SERVICES["redis"]["profiles"] == ["celery"]
    assert SERVICES["airflow-worker"]["profiles"] == ["celery"]
    core = set(SERVICES) - {"redis", "airflow-worker"}
    assert all("profiles" not in SERVICES[name] for name in core)


def test_every_named_volume_is_declared_and_every_declared_volume_used():
    declared = set(COMPOSE["volumes"])
    used = set()
    for service in SERVICES.values():
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if not source.startswith((".", "/")):
                used.add(source)
    assert used == declared


def test_bind_mounts_point_at_folders_of_this_repository():
    for name, service in SERVICES.items():
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).is_dir(), f"{name} mounts missing {source}"


def test_depends_on_names_existing_services():
    for name, service in SERVICES.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in SERVICES, f"{name} depends on unknown {dependency}"


def test_airflow_services_share_one_image_and_reach_the_warehouse_connection():
    for name in AIRFLOW_SERVICES:
        service = SERVICES[name]
        assert service["image"] == "collector-airflow:3.3.2", name
        env = service["environment"]
        assert env["AIRFLOW_CONN_COLLECTOR_WAREHOUSE"].endswith("@warehouse:5432/collector"), name
        assert "/opt/airflow/include" in env["PYTHONPATH"], name


def test_dockerfile_installs_the_versions_pinned_in_requirements():
    dockerfile = (ROOT / "Dockerfile").read_text()
    pins = (ROOT / "requirements.txt").read_text()
    pattern = re.search(r"grep -E '\^\((.*?)\)==", dockerfile).group(1)
    # The adapters' clients, and every dependency the package declares (a portal or worker
    # image without argon2-cffi, zxcvbn or email-validator cannot import our code).
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = [re.match(r"[A-Za-z0-9_.-]+", spec).group(0) for spec in declared]
    for package in ("gspread", "paypalrestsdk", "itsdangerous", *names):
        assert re.fullmatch(pattern, package), f"the Dockerfile does not install {package}"
        assert re.search(rf"^{re.escape(package)}==", pins, re.M), package
    assert "FROM apache/airflow:3.3.2" in dockerfile


def test_the_portal_is_its_own_service_without_airflow():
    portal = SERVICES["portal"]
    assert "portal" in portal["entrypoint"] and "airflow" not in " ".join(portal["entrypoint"])
    env = portal["environment"]
    assert env["COLLECTOR_DB_URL"].endswith("@warehouse:5432/collector")
    assert "COLLECTOR_PORTAL_SECRET" in env and "AIRFLOW__CORE__EXECUTOR" not in env
    assert portal["ports"] == ["8790:8790"]


def test_the_business_time_zone_is_airflows_default_for_every_airflow_service():
    """`[core] default_timezone` is the only time-zone option Airflow 3.3 has (its config.yml);
    `[webserver] default_ui_timezone` is gone with the Flask UI, so nothing may pretend to set it."""
    import airflow

    options = yaml.safe_load(
        (Path(airflow.__file__).parent / "config_templates" / "config.yml").read_text()
    )
    assert "default_timezone" in options["core"]["options"]
    assert not any("ui_timezone" in o for s in options.values() for o in s.get("options", {}))
    for name in AIRFLOW_SERVICES:
        env = SERVICES[name]["environment"]
        assert env["AIRFLOW__CORE__DEFAULT_TIMEZONE"] == "America/New_York", name
        assert not any("UI_TIMEZONE" in key for key in env), name


def test_the_portal_reads_the_finance_reports_where_the_workers_write_them():
    """The approval links a report on the portal; the portal serves the file the workers wrote
    (its path is recorded in payout_reports), so both see the same volume at the same path."""
    portal = SERVICES["portal"]
    workers = SERVICES["airflow-worker"]
    folder = workers["environment"]["COLLECTOR_PAYOUT_REPORTS_URL"].split(":-")[-1].rstrip("}")
    assert portal["environment"]["COLLECTOR_PAYOUT_REPORTS_URL"].endswith(f":-{folder}}}")
    mounts = {m.split(":")[0]: m.split(":")[1] for m in portal["volumes"]}
    assert mounts["payout_reports"] == folder
    assert f"payout_reports:{folder}" in workers["volumes"]
    assert "COLLECTOR_PORTAL_URL" in workers["environment"]
