"""The Dropbox delivery DAG for real (dag.test): one mapped task per linked user; a revoked link
is marked broken while the other users' files arrive; nothing secret in the task logs."""

from __future__ import annotations

from pathlib import Path

import pytest
from demo_pipeline import rows
from dropbox_world import collectors_with_videos, make_world

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def delivery_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS / "dropbox_delivery.py")).get_dag("dropbox_delivery")


@pytest.fixture
def world(seeded_warehouse, warehouse_url, landing, sandbox_url, tmp_path, monkeypatch):
    return make_world(seeded_warehouse, warehouse_url, landing, sandbox_url, tmp_path, monkeypatch)


@pytest.mark.airflow
def test_every_linked_user_is_delivered_and_a_revoked_one_only_marked(
    airflow_db,
    delivery_dag,
    world,
    caplog,
):
    alice, bob, carmen = collectors_with_videos(world.conn)[:3]
    world.link(alice, "alice.box@example.com")
    world.link(bob, "bob.box@example.com")
    world.link(carmen, "carmen.box@example.com")
    world.admin("revoke", {"account": "bob.box@example.com"})

    run = delivery_dag.test()
    assert str(run.state) == "success"
    mapped = [ti for ti in run.get_task_instances() if ti.task_id == "deliver"]
    assert len(mapped) == 3 and {str(ti.state) for ti in mapped} == {"success"}
    assert rows(world.conn, "SELECT collector_id, status FROM dropbox_links ORDER BY 1") == [
        (alice, "linked"),
        (bob, "broken"),
        (carmen, "linked"),
    ]
    for collector, box in ((alice, "alice.box@example.com"), (carmen, "carmen.box@example.com")):
        videos = rows(world.conn, "SELECT count(*) FROM videos WHERE collector_id = %s", collector)
        assert len(world.files(box)) == 2 * videos[0][0]

    tokens = [
        world.vault.decrypt(r[0])
        for r in rows(world.conn, "SELECT refresh_token_enc FROM dropbox_links")
    ]
    assert all(token not in caplog.text for token in tokens)
