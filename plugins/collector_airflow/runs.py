"""What a task knows about its DAG run, read as the Task SDK gives it at run time.

``dag_run.run_type`` inside a task is ``airflow.sdk.api.datamodels._generated.DagRunType``, a
``str``-mixin Enum: ``str(DagRunType.SCHEDULED)`` is ``'DagRunType.SCHEDULED'`` on Python 3.11+,
so ``str(run_type) == "scheduled"`` is never true (that once made every Tuesday payout a dry run).
Compare values, never ``str()`` of the enum.
"""

from __future__ import annotations

from enum import Enum

SCHEDULED = "scheduled"
BACKFILL = "backfill"
MANUAL = "manual"
ASSET_TRIGGERED = "asset_triggered"


def run_type_value(run_type: object) -> str | None:
    """The run type's value (``"scheduled"``, ``"backfill"``, ``"manual"``,
    ``"asset_triggered"``) whether Airflow hands an Enum member or a plain string; None for none.

    Raises ValueError for anything else (a value we would otherwise silently mistake for manual).
    """
    if run_type is None:
        return None
    value = run_type.value if isinstance(run_type, Enum) else run_type
    if not isinstance(value, str) or "." in value:
        raise ValueError(f"run type {run_type!r} is not a DagRunType value")
    return value
