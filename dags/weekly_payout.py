"""Weekly payout: freeze -> finance report -> approval in the UI -> PayPal / Payoneer -> reconcile."""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import CronTriggerTimetable, DeadlineReference, Param, dag, task

from collector_airflow.alerts import payout_approval_hours, promise_deadline
from collector_airflow.assets import PAYOUTS
from collector_airflow.defaults import default_args
from collector_airflow.operators.payouts import SubmitPayoutBatchOperator
from collector_airflow.schedules import BUSINESS_TZ, start_date
from collector_airflow.sensors.payouts import PayoutBatchSensor

DOC = """
### Weekly payout (FAQ 13)
Tuesdays 12:00 New York time, for the previous week (Monday 00:00 to Monday 00:00 ET).
Finance can also **Trigger** it with the form: a week (empty = last complete week), the
providers, and *dry run* (on by default for hand-triggered runs: the report is written, nothing
is frozen or paid).

1. **refresh_outstanding**: earlier payments that were unclaimed or pending are looked up;
   returned money is released and rolls into this week.
2. **freeze**: every accepted, unpaid video collected before the week's end, per collector and
   provider; collectors without payment details are held (the report says who and why).
3. **finance_report**: a new CSV for accounting + HTML page per run and try (never
   overwritten, recorded with their SHA-256); the approval links the page on the portal
   (ops accounts) and its subject carries the amount and the week.
4. **approve_payout**: *Required actions* in the UI: Approve sends exactly what the report
   shows; Reject releases the videos for the next batch.
5. **submit** per provider in chunks, under idempotency keys written at freeze time;
   **wait_for_providers** defers (no worker slot); **reconcile** records every outcome and
   publishes the payouts asset the dashboards read.
6. **check_week_settled** (scheduled runs only): fails, emailing ops, when accepted videos of
   collectors with payment details are left unpaid for the week (a rejection included, said so).

Re-triggering a week, or clearing any task, resumes the same batches: nothing is paid twice.
The wait polls every `payout_poll_seconds` (Airflow Variable, default 60).
"""


@dag(
    dag_id="weekly_payout",
    description="Tuesdays 12:00 New York time (DST handled): last week's payout, approved by finance",
    schedule=CronTriggerTimetable("0 12 * * 2", timezone=BUSINESS_TZ),
    start_date=start_date(BUSINESS_TZ),
    catchup=False,
    max_active_runs=1,
    tags=["collector", "payouts", "finance"],
    doc_md=DOC,
    default_args=default_args(retry_delay=timedelta(minutes=5), retries=3),
    # Collectors expect the weekly payment: ops hear when a payout waits (approval, providers)
    # longer than COLLECTOR_PAYOUT_APPROVAL_HOURS (default 24).
    deadline=promise_deadline(
        DeadlineReference.DAGRUN_QUEUED_AT,
        timedelta(hours=payout_approval_hours()),
        "weekly payout finished (approved, paid, reconciled) in time",
    ),
    params={
        "week": Param(
            None,
            type=["null", "string"],
            format="date",
            title="Week (Monday)",
            description="The Monday the payout week starts on; empty = the last complete week.",
        ),
        "providers": Param(
            ["paypal", "payoneer"],
            type="array",
            items={"type": "string", "enum": ["paypal", "payoneer"]},
            uniqueItems=True,
            minItems=1,
            title="Providers",
        ),
        "dry_run": Param(
            True,
            type="boolean",
            title="Dry run",
            description="Report only, nothing frozen or paid. Scheduled Tuesday runs always pay.",
        ),
    },
)
def weekly_payout():
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

    run = resolve_run()
    report = finance_report(run)
    refresh_outstanding(run) >> freeze(run) >> report
    approve_payout = ApprovalOperator(
        task_id="approve_payout",
        subject="{{ ti.xcom_pull(task_ids='finance_report')['subject'] }}",
        body="{{ ti.xcom_pull(task_ids='finance_report')['markdown'] }}",
    )
    submit = SubmitPayoutBatchOperator(
        task_id="submit",
        week="{{ ti.xcom_pull(task_ids='resolve_run')['week'] }}",
        providers="{{ ti.xcom_pull(task_ids='resolve_run')['providers'] | join(',') }}",
        approval_task_id="approve_payout",
        report_task_id="finance_report",
        trigger_rule="none_failed_min_one_success",
    )
    wait_for_providers = PayoutBatchSensor(
        task_id="wait_for_providers",
        batch_ids=submit.output,
        poll_interval="{{ var.value.get('payout_poll_seconds', 60) }}",
    )

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

    already_approved = EmptyOperator(task_id="already_approved")
    route(report, run) >> [approve_payout, already_approved]
    reconciled = reconcile(submit.output)
    [approve_payout, already_approved] >> submit >> wait_for_providers >> reconciled
    released = release_if_rejected(run)
    submit >> released
    # The run's state stays the payout's (a failure upstream fails the run) although the check,
    # which also runs after failures, is skipped on runs triggered by hand.
    payout_finished = EmptyOperator(task_id="payout_finished", trigger_rule="none_failed")
    [reconciled, released] >> payout_finished
    [reconciled, released] >> check_week_settled(run)


weekly_payout()
