"""What every pipeline DAG of this project shares: an owner ops can reach, retries, a start,
and one failure email to ops per failed task (collector_airflow.alerts)."""

from datetime import datetime, timedelta

START_DATE = datetime(2026, 1, 1)


def default_args(retry_delay: timedelta = timedelta(minutes=2), retries: int = 2) -> dict:
    from collector_airflow.alerts import OpsFailureNotifier  # noqa: PLC0415

    return {
        "owner": "data-ops",
        "retries": retries,
        "retry_delay": retry_delay,
        "on_failure_callback": [OpsFailureNotifier()],
    }
