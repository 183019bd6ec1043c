"""What every pipeline DAG of this project shares: an owner ops can reach, retries, a start."""

from datetime import datetime, timedelta

START_DATE = datetime(2026, 1, 1)


def default_args(retry_delay: timedelta = timedelta(minutes=2), retries: int = 2) -> dict:
    return {"owner": "data-ops", "retries": retries, "retry_delay": retry_delay}
