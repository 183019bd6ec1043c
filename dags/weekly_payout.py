"""Weekly payout: freeze -> finance report -> approval in the UI -> PayPal / Payoneer -> reconcile."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import CronTriggerTimetable, DeadlineReference, dag

from collector.core.clock import BUSINESS_TZ_NAME as BUSINESS_TZ
from collector_airflow import dag_params
from collector_airflow.alerts import payout_approval_hours, promise_deadline
from collector_airflow.defaults import default_args
from collector_airflow.operators.payouts import SubmitPayoutBatchOperator
from collector_airflow.schedules import start_date
from collector_airflow.sensors.payouts import PayoutBatchSensor
from collector_airflow.tasks import payouts as tasks

DOC = Path(__file__).with_name("docs") / "weekly_payout.md"  # Airflow reads it at parse time


@dag(
    dag_id="weekly_payout",
    description="Tuesdays 12:00 New York time (DST handled): last week's payout, approved by finance",
    schedule=CronTriggerTimetable("0 12 * * 2", timezone=BUSINESS_TZ),
    start_date=start_date(BUSINESS_TZ),
    catchup=False,
    max_active_runs=1,
    tags=["collector", "payouts", "finance"],
    doc_md=str(DOC),
    default_args=default_args(retry_delay=timedelta(minutes=5), retries=3),
    # Collectors expect the weekly payment: ops hear when a payout waits (approval, providers)
    # longer than COLLECTOR_PAYOUT_APPROVAL_HOURS (default 24).
    deadline=promise_deadline(
        DeadlineReference.DAGRUN_QUEUED_AT,
        timedelta(hours=payout_approval_hours()),
        "weekly payout finished (approved, paid, reconciled) in time",
    ),
    params=dag_params.weekly_payout(),
)
def weekly_payout():
    run = tasks.resolve_run_task()
    report = tasks.finance_report_task(run)
    tasks.refresh_outstanding_task(run) >> tasks.freeze_task(run) >> report
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

    already_approved = EmptyOperator(task_id="already_approved")
    tasks.route_task(report, run) >> [approve_payout, already_approved]
    reconciled = tasks.reconcile_task(submit.output)
    [approve_payout, already_approved] >> submit >> wait_for_providers >> reconciled
    released = tasks.release_if_rejected_task(run)
    submit >> released
    # The run's state stays the payout's (a failure upstream fails the run) although the check,
    # which also runs after failures, is skipped on runs triggered by hand.
    payout_finished = EmptyOperator(task_id="payout_finished", trigger_rule="none_failed")
    [reconciled, released] >> payout_finished
    [reconciled, released] >> tasks.check_week_settled_task(run)


weekly_payout()
