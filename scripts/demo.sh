#!/usr/bin/env bash
# make demo: sandbox Google Sheets, a realistic landing area, then every pipeline DAG run end
# to end with real Airflow, in the order their Assets chain them.
set -euo pipefail
source "$(dirname "$0")/airflow-env.sh"
# `airflow dags test` crashes after a successful run of a DAG with a deadline in Airflow 3.3.2
# (apache/airflow#73428): the demo runs without them; make airflow's scheduler has them.
export COLLECTOR_DEADLINE_ALERTS=off
started=$(date +%s)
landing="$COLLECTOR_STATE_DIR/landing"
quarantine="$COLLECTOR_STATE_DIR/quarantine"
quicklooks="$COLLECTOR_STATE_DIR/quicklooks"
releases="$COLLECTOR_STATE_DIR/releases"
export COLLECTOR_RELEASES_URL="$releases"
export COLLECTOR_CATALOG_URL="$COLLECTOR_STATE_DIR/catalog/collections.json"
export COLLECTOR_QUICKLOOK_URL="$quicklooks"
export COLLECTOR_QUICKLOOK_PUBLIC_URL="$SANDBOX_URL/public"
export COLLECTOR_DASHBOARD_HTML_URL="$COLLECTOR_STATE_DIR/dashboards"
rm -rf "$COLLECTOR_DASHBOARD_HTML_URL"
rm -rf "$quarantine" "$quicklooks" "$releases" "$COLLECTOR_STATE_DIR/catalog" "$COLLECTOR_STATE_DIR/payout_reports"
if [ -z "${COLLECTOR_DB_URL:-}" ]; then collector demo reset; else collector db migrate; fi

echo "== 1/5 sandbox (Google Sheets/Drive, PayPal, Payoneer emulators) on $SANDBOX_URL"
bash "$(dirname "$0")/sandbox.sh" restart
eval "$(python -m sandbox connections --base-url "$SANDBOX_URL" --key-file "$COLLECTOR_STATE_DIR/sandbox-service-account.json" --state-dir "$COLLECTOR_STATE_DIR/sandbox" --smtp-port "${SANDBOX_SMTP_PORT:-8025}")"
export COLLECTOR_PORTAL_URL="http://127.0.0.1:${PORTAL_PORT:-8790}"
export COLLECTOR_SHEETS_WEB_URL="$SANDBOX_URL/sheets/"
echo "== 2/5 demo landing area (real MP4s made with ffmpeg, app JSON in every format)"
collector demo generate --landing "$landing"
echo "== 3/5 Collections master sheet, filled in as ops would"
COLLECTOR_MASTER_SHEET_ID=$(python scripts/seed_sandbox.py master-sheet | tail -1)
export COLLECTOR_MASTER_SHEET_ID
echo "== 4/5 Airflow metadata database"
airflow db migrate >"$AIRFLOW_HOME/db-migrate.log" 2>&1 || { tail -40 "$AIRFLOW_HOME/db-migrate.log"; exit 1; }
airflow pools import config/pools.json >/dev/null
echo "== 5/5 DAG runs"
run_dag() {
  # `dags test` waits out retry delays; the demo stops at the first task failure instead.
  local dag_id=$1 conf=$2 log="$AIRFLOW_HOME/demo-$1-$4.log"
  printf '   %-22s %-34s' "$dag_id" "($3)"
  : >"$log"
  airflow dags test "$dag_id" -c "$conf" >"$log" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    if grep -q "Task failed with exception" "$log"; then
      kill "$pid"; wait "$pid" 2>/dev/null || true
      echo "FAILED   (log: $log)"; grep -A40 "Task failed with exception" "$log" | head -60; exit 1
    fi
    sleep 1
  done
  if wait "$pid"; then echo "success  (log: $log)"; else echo "FAILED   (log: $log)"; tail -60 "$log"; exit 1; fi
}
# `dags test` runs no scheduler, so Asset-triggered DAGs are run here in the order Assets chain them.
run_dag collection_updates "{}" "master sheet -> versions" 1
# The MP4 wait is 0 here so the demo shows the "never arrived" quarantine too.
run_dag submission_ingest "{\"landing_url\": \"$landing\", \"quarantine_url\": \"$quarantine\", \"mp4_wait_minutes\": 0}" "landing area -> warehouse" 2
run_dag quicklook_generation "{\"output_url\": \"$quicklooks\"}" "activities -> montages" 3
run_dag review_queue "{}" "activities -> review sheet" 4
review_sheet=$(collector show sheet review_queue)
python scripts/seed_sandbox.py ratings "$review_sheet" | sed 's/^/   reviewers: /'
run_dag review_queue "{}" "ratings -> warehouse" 5
run_dag score_aggregation "{}" "ratings -> scores" 6
run_dag dashboard_refresh "{}" "scores -> collector sheets" 7
collector demo seed-profiles | sed 's/^/   payment details: /'
week=$(python -c "from collector_tools.demo_files import DEMO_EPOCH; from collector.core.clock import week_start; print(week_start(DEMO_EPOCH))")
export AIRFLOW_VAR_PAYOUT_POLL_SECONDS=2
# The approval is answered over the REST API, so a lone API server runs for the payout.
api_port=$(python -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
# In a session of its own, so that stopping it stops the workers it forks too.
setsid airflow api-server --port "$api_port" >"$AIRFLOW_HOME/demo-api-server.log" 2>&1 &
api_pid=$!
trap 'kill -- -$api_pid 2>/dev/null || true' EXIT
for _ in $(seq 120); do curl -fs "http://127.0.0.1:$api_port/api/v2/version" >/dev/null 2>&1 && break; sleep 0.5; done
echo "   The demo approves the payout itself, as finance would with Approve in the Airflow UI:"
python scripts/approve_payout.py --api "http://127.0.0.1:$api_port" --decision Approve >"$AIRFLOW_HOME/demo-approval.log" 2>&1 &
approval_pid=$!
run_dag weekly_payout "{\"week\": \"$week\", \"dry_run\": false}" "approve -> PayPal, Payoneer" 8
wait "$approval_pid" || { cat "$AIRFLOW_HOME/demo-approval.log"; exit 1; }
sed 's/^/     /' "$AIRFLOW_HOME/demo-approval.log"
kill -- "-$api_pid" 2>/dev/null || true
collector demo seed-accounts >/dev/null
bash "$(dirname "$0")/portal.sh" restart
run_dag collector_emails "{}" "welcome, digest -> inbox" 9
run_dag dataset_release "{\"name\": \"people-in-public-demo\", \"version\": \"1.0\", \"dry_run\": false}" "accepted, consented -> release" 10
# Self-serve (FAQ 3): someone who is not a paid collector defines their own collection, records
# two videos, links Dropbox (as on the portal's Profile page) and gets them delivered.
owner=owner@example.com
collector collections define config/examples/self-serve-collection.yaml --owner "$owner" | sed 's/^/   self-serve: /'
collector demo self-serve --owner "$owner" --landing "$landing" | sed 's/^/   self-serve: /'
run_dag submission_ingest "{\"landing_url\": \"$landing\", \"quarantine_url\": \"$quarantine\", \"mp4_wait_minutes\": 0}" "self-serve videos -> warehouse" 11
python scripts/link_dropbox.py "$owner" "owner.dropbox@example.com" | sed 's/^/   /'
run_dag dropbox_delivery "{}" "own videos -> owner's Dropbox" 12

echo
collector status
echo
collector payouts show "$week"
example=$(collector show scored-video)
echo
echo "Why a video was or was not accepted (collector explain $example):"
collector explain "$example" | sed 's/^/  /'
echo
echo "Demo finished in $(( $(date +%s) - started )) s. Where to look:"
first=$(collector show payee)
password=$(python -c "from collector_tools.demo import DEMO_PASSWORD; print(DEMO_PASSWORD)")
echo "  collector portal    http://127.0.0.1:${PORTAL_PORT:-8790}/   log in as $first / $password (ops: ops@example.com, same password; still running: make portal-stop)"
echo "  collector emails    $SANDBOX_URL/inbox/   (welcome and weekly digest, as collectors get them)"
echo "  sandbox sheets      $SANDBOX_URL/sheets/   (master sheet, review queue, dashboards; still running: make sandbox-stop)"
dashboard=$(collector show dashboard)
echo "  a collector's sheet $SANDBOX_URL/sheets/$dashboard"
ops=$(collector show sheet ops_summary)
echo "  ops summary sheet   $SANDBOX_URL/sheets/$ops"
echo "  static dashboards   $COLLECTOR_STATE_DIR/dashboards/ (one HTML page per collector)"
echo "  payout reports      $COLLECTOR_PORTAL_URL/ops/payout-reports (ops login; HTML + CSV per run in $COLLECTOR_STATE_DIR/payout_reports/)"
echo "  sandbox payouts     $SANDBOX_URL/payouts/   (what PayPal and Payoneer received)"
echo "  app catalog         $COLLECTOR_CATALOG_URL"
echo "  dataset release     $releases/people-in-public-demo/1.0/README.md (clips, annotations, manifest, takedown.csv)"
echo "  self-serve catalog  $(dirname "$COLLECTOR_CATALOG_URL")/users/ (per owner: the public catalog plus their own collections)"
echo "  sandbox Dropbox     $SANDBOX_URL/dropbox/   ($owner's app folder: the self-serve videos and their annotations)"
echo "  landing area        $landing"
echo "  quarantined files   $quarantine (each with a .reason.json)"
echo "  quicklooks          $quicklooks"
for sheet in "$quicklooks"/contact-sheet-*.html; do
  echo "  contact sheet       file://$sheet"
done
echo "  warehouse           collector status, collector show --help, collector db shell"
echo "  DAG logs            $AIRFLOW_HOME/demo-*.log"
echo "  Airflow UI          make airflow"
