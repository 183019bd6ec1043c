"""The weekly payout's Python tasks (dags/weekly_payout.py wires them): each reads what the
run gives it and calls the glue in ``collector_airflow.payouts``, imported when the task runs so
that parsing the DAG stays cheap."""

from __future__ import annotations

from airflow.sdk import task

from collector_airflow.assets import PAYOUTS


@task
def resolve_run(params: dict, dag_run=None, logical_date=None) -> dict:
    from datetime import UTC, datetime  # noqa: PLC0415

    from collector_airflow.payouts import resolve_run  # noqa: PLC0415

    return resolve_run(params, dag_run.run_type, logical_date, datetime.now(UTC))


@task
def refresh_outstanding(run: dict) -> dict:
    from collector_airflow.payouts import refresh_outstanding  # noqa: PLC0415

    return refresh_outstanding(run["providers"])


@task
def freeze(run: dict, dag_run=None) -> list:
    from datetime import date  # noqa: PLC0415

    from collector_airflow.payouts import freeze  # noqa: PLC0415

    if run["dry_run"]:
        import logging  # noqa: PLC0415

        logging.getLogger(__name__).info(
            "Dry run: nothing frozen; the report previews the freeze and rolls it back"
        )
        return []
    return freeze(date.fromisoformat(run["week"]), run["providers"], dag_run.run_id)


@task
def finance_report(run: dict, dag_run=None, ti=None) -> dict:
    from datetime import date  # noqa: PLC0415

    from collector_airflow.payouts import freeze_and_report  # noqa: PLC0415

    return freeze_and_report(
        date.fromisoformat(run["week"]),
        run["providers"],
        run["dry_run"],
        dag_run.run_id,
        ti.try_number,
    )


@task.branch
def route(report: dict, run: dict) -> list[str]:
    from collector_airflow.payouts import next_step  # noqa: PLC0415

    return next_step(report, run, approve="approve_payout", resume="already_approved")


@task(outlets=[PAYOUTS])
def reconcile(submitted: dict) -> dict:
    from collector_airflow.payouts import reconcile_batches  # noqa: PLC0415

    return reconcile_batches([int(b) for b in submitted["batch_ids"]])


@task(trigger_rule="none_failed")  # runs when `submit` was skipped by a rejection
def release_if_rejected(run: dict, ti=None) -> list:
    from collector_airflow.payouts import release_if_rejected  # noqa: PLC0415

    return release_if_rejected(ti, run, approval="approve_payout", submit="submit")


@task(trigger_rule="all_done")  # also after a failure or a rejection: that is the point
def check_week_settled(run: dict, dag_run=None) -> dict:
    from collector_airflow.payouts import check_week_settled  # noqa: PLC0415

    return check_week_settled(run, dag_run.run_type, dag_run.start_date)
