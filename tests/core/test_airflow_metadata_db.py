"""`collector db airflow-url`: Airflow's metadata database beside the warehouse, made on demand."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import psycopg2
import pytest

from collector.core.db import sibling_database_url


def test_a_sibling_database_is_created_once_on_the_warehouse_server(warehouse_url):
    name = f"airflow_{uuid.uuid4().hex[:8]}"
    url = sibling_database_url(name, warehouse_url + "?application_name=x")
    assert url == warehouse_url.rsplit("/", 1)[0] + f"/{name}?application_name=x"
    assert sibling_database_url(name, warehouse_url) == warehouse_url.rsplit("/", 1)[0] + f"/{name}"
    conn = psycopg2.connect(url)  # it exists and takes connections
    conn.close()


@pytest.mark.parametrize("name", ["Airflow", "air-flow", "1x", 'a"; DROP DATABASE x; --'])
def test_database_names_are_plain_identifiers(warehouse_url, name):
    with pytest.raises(ValueError, match="lowercase letters"):
        sibling_database_url(name, warehouse_url)


def test_the_cli_prints_a_sqlalchemy_url_airflow_can_use(warehouse_url, monkeypatch):
    cli = str(Path(sys.executable).parent / "collector")
    out = subprocess.run([cli, "db", "airflow-url"], capture_output=True, text=True, check=True)
    url = out.stdout.strip()
    assert (
        url
        == "postgresql+psycopg2://"
        + warehouse_url.split("://", 1)[1].rsplit("/", 1)[0]
        + "/airflow"
    )
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT current_database()")).scalar() == "airflow"
    engine.dispose()
