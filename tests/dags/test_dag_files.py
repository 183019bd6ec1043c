"""DAG files read as tables of contents: wiring only, docs beside them, forms in a factory."""

from __future__ import annotations

from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"
FILES = sorted(DAGS.glob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_each_dag_file_is_under_80_lines(path):
    assert len(path.read_text().splitlines()) < 80, f"{path.name}: move tasks or docs out"


def test_every_dag_shows_its_doc_file_as_text(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS))
    assert not bag.import_errors, bag.import_errors
    assert len(bag.dags) == len(FILES)
    for dag_id, dag in bag.dags.items():
        doc = (DAGS / "docs" / f"{dag_id}.md").read_text()
        assert dag.doc_md == doc, f"{dag_id}: doc_md is not docs/{dag_id}.md's text"
        assert dag.doc_md.lstrip().startswith("###")
