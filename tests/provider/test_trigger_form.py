"""Every DAG can be triggered from the UI's form with its defaults (issue 17, item 4).

The rules below are Airflow 3.3.2's own, read from the installed package:

* The form gets each param from the REST API's DAG details, whose ``params`` field is
  ``{k: v.dump() for k, v in params.items()}`` on the *deserialized* DAG
  (``api_fastapi/core_api/datamodels/dags.py``). ``SerializedParam.dump()`` sends
  ``"value": self.resolve()``, which is ``None`` when the default does not validate.
* The React form (``ui/dist/assets/index-*.js``, ``isRequired`` and the section check in
  ``FlexibleForm``) disables **Trigger** while any param whose ``schema.type`` is set and is not
  a list containing ``"null"`` has a value of ``null``, ``undefined`` or ``""``. Clearing a text
  field sends ``null``, never ``""``.
* Submitting posts the form's values as ``conf``; ``create_dagrun`` then runs
  ``dag.params.deep_merge(conf).validate()`` (``serialization/definitions/dag.py``) and the API
  answers 400 on a ``ParamValidationError``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def served_dags():
    """Each DAG as the API server holds it: serialized, then deserialized."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.serialization.serialized_objects import DagSerialization

    bag = DagBag(dag_folder=str(DAGS))
    assert bag.import_errors == {}
    return {
        dag_id: DagSerialization.from_dict(DagSerialization.to_dict(dag))
        for dag_id, dag in sorted(bag.dags.items())
    }


def ui_is_required(spec: dict) -> bool:
    """The UI's ``isRequired``: a type is set and it does not allow null."""
    kind = spec["schema"].get("type")
    return bool(kind) and not (isinstance(kind, list) and "null" in kind)


def form_blockers(served_dag) -> list[str]:
    """Params that keep the Trigger button disabled when the form shows the defaults."""
    specs = {k: v.dump() for k, v in served_dag.params.items()}  # what the API sends
    return [
        f"{name} (default {spec['value']!r}, type {spec['schema'].get('type')})"
        for name, spec in specs.items()
        if ui_is_required(spec) and spec["value"] in (None, "")
    ]


def form_conf(served_dag) -> dict:
    """What the form posts as ``conf`` when nothing was changed."""
    return {k: v.dump()["value"] for k, v in served_dag.params.items()}


def test_every_dag_has_params_or_none_and_was_found(served_dags):
    assert len(served_dags) >= 11
    assert {"collection_updates", "submission_ingest", "quicklook_generation"} <= set(served_dags)
    assert "dataset_release" in served_dags


@pytest.mark.parametrize(
    "dag_id",
    [p.stem for p in sorted(DAGS.glob("*.py")) if not p.name.startswith("_")],
)
def test_trigger_button_is_enabled_with_the_defaults(served_dags, dag_id):
    served = served_dags[dag_id]
    assert form_blockers(served) == [], (
        f"{dag_id}: the UI's Trigger button stays disabled: give these a valid default or a "
        'nullable type (type=["null", ...]) and treat None as "use the setting"'
    )
    # Every default validates on its own (the API would send null for one that does not).
    served.params.validate()


@pytest.mark.parametrize(
    "dag_id",
    [p.stem for p in sorted(DAGS.glob("*.py")) if not p.name.startswith("_")],
)
@pytest.mark.parametrize("source", ["form with defaults", "conf {}"])
def test_trigger_with_defaults_passes_create_dagruns_validation(served_dags, dag_id, source):
    served = served_dags[dag_id]
    conf = form_conf(served) if source == "form with defaults" else {}
    served.params.deep_merge(conf).validate()  # exactly what create_dagrun does before insert


def test_cleared_optional_fields_are_valid_and_provided_values_still_checked(served_dags):
    """Clearing an "empty = the setting" field sends null; a bad value is still refused."""
    from airflow.exceptions import ParamValidationError

    cleared = {
        "collection_updates": ["spreadsheet_id", "worksheet", "catalog_url"],
        "submission_ingest": ["landing_url", "quarantine_url", "mp4_wait_minutes"],
        "quicklook_generation": ["collected_from", "collected_to", "output_url"],
        "dataset_release": ["version", "collected_from", "collected_to", "output_url"],
    }
    for dag_id, names in cleared.items():
        params = served_dags[dag_id].params
        for name in names:
            assert not ui_is_required(params.get_param(name).dump()), f"{dag_id}.{name}"
        params.deep_merge(dict.fromkeys(names)).validate()

    bad = [
        ("submission_ingest", {"mp4_wait_minutes": -1}),
        ("quicklook_generation", {"collected_from": "17/11/2026"}),
        ("quicklook_generation", {"batch_size": 0}),
        ("dataset_release", {"version": "one"}),
        ("dataset_release", {"name": "Not A Name"}),
        ("collection_updates", {"spreadsheet_id": 42}),
    ]
    for dag_id, conf in bad:
        with pytest.raises(ParamValidationError):
            served_dags[dag_id].params.deep_merge(conf).validate()
