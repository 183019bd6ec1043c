"""docker-compose.yaml cannot run here (no Docker engine), so check it is consistent."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
ENV_FILE = "config/cluster.env"  # what `make cluster` ran with (scripts/cluster.py reads it)
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


def cluster_env() -> dict[str, str]:
    """config/cluster.env as compose's env_file reads it (KEY=value lines)."""
    lines = (ROOT / ENV_FILE).read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {key: value for key, value in pairs}


def effective_env(name: str) -> dict[str, str]:
    """What a service's processes see: the env_file, then ``environment`` on top."""
    service = SERVICES[name]
    files = service.get("env_file", [])
    files = [files] if isinstance(files, str) else files
    base = cluster_env() if ENV_FILE in files else {}
    return {**base, **service.get("environment", {})}


def test_celery_is_the_executor_and_runs_without_a_profile():
    """The cluster that ran here (make cluster) is what compose starts: Redis and workers too."""
    assert cluster_env()["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert all("profiles" not in service for service in SERVICES.values())
    assert SERVICES["airflow-worker"]["command"] == "celery worker"
    assert "redis" in SERVICES["airflow-worker"]["depends_on"]


def test_one_configuration_the_cluster_script_and_compose_share():
    """Every Airflow service and the portal read config/cluster.env, and none overrides a key
    of it: the file is the one place the executor, Celery options and storage URLs are set."""
    shared = cluster_env()
    for name in [*AIRFLOW_SERVICES, "portal"]:
        service = SERVICES[name]
        assert service.get("env_file") == ENV_FILE, name
        assert not set(shared) & set(service.get("environment", {})), name
    script = (ROOT / "scripts" / "cluster.py").read_text()
    assert 'ENV_FILE = ROOT / "config" / "cluster.env"' in script


def test_every_file_is_in_the_bucket_not_on_a_volume():
    storage = {
        k: v for k, v in cluster_env().items() if k.startswith("COLLECTOR_") and k.endswith("_URL")
    }
    assert len(storage) == 7 and all(v.startswith("s3://") for v in storage.values()), storage
    assert set(COMPOSE["volumes"]) == {"postgres-db-volume", "warehouse-db-volume", "airflow-logs"}


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
        env = effective_env(name)
        assert env["AIRFLOW__CORE__DEFAULT_TIMEZONE"] == "America/New_York", name
        assert not any("UI_TIMEZONE" in key for key in env), name


def test_the_portal_reads_the_finance_reports_where_the_workers_write_them():
    """The approval links a report on the portal; the portal reads the object the workers wrote
    (its URL is recorded in payout_reports): both take the bucket URL from the same env_file."""
    portal, workers = effective_env("portal"), effective_env("airflow-worker")
    url = workers["COLLECTOR_PAYOUT_REPORTS_URL"]
    assert url.startswith("s3://") and portal["COLLECTOR_PAYOUT_REPORTS_URL"] == url
    assert "COLLECTOR_PORTAL_URL" in workers
    assert workers["COLLECTOR_PORTAL_SECRET"] and portal["COLLECTOR_PORTAL_SECRET"]
