#!/usr/bin/env bash
# make demo: a realistic landing area, then every pipeline DAG run end to end with real Airflow.
set -euo pipefail
source "$(dirname "$0")/airflow-env.sh"
started=$(date +%s)
landing="$COLLECTOR_STATE_DIR/landing"
quarantine="$COLLECTOR_STATE_DIR/quarantine"
quicklooks="$COLLECTOR_STATE_DIR/quicklooks"
rm -rf "$quarantine" "$quicklooks"
if [ -z "${COLLECTOR_DB_URL:-}" ]; then collector demo reset; fi

echo "== 1/4 demo landing area (real MP4s made with ffmpeg, app JSON in every format)"
collector demo generate --landing "$landing"
echo "== 2/4 collections (what the master sheet holds)"
collector demo seed-collections
echo "== 3/4 Airflow metadata database (SQLite under $AIRFLOW_HOME)"
airflow db migrate >"$AIRFLOW_HOME/db-migrate.log" 2>&1 || { tail -40 "$AIRFLOW_HOME/db-migrate.log"; exit 1; }
airflow pools import config/pools.json >/dev/null
echo "== 4/4 DAG runs"
run_dag() {
  local dag_id=$1 conf=$2 log="$AIRFLOW_HOME/demo-$1.log"
  printf '   %-28s' "$dag_id"
  if airflow dags test "$dag_id" -c "$conf" >"$log" 2>&1; then echo "success  (log: $log)";
  else echo "FAILED   (log: $log)"; tail -60 "$log"; exit 1; fi
}
# The MP4 wait is 0 here so the demo shows the "never arrived" quarantine too.
run_dag submission_ingest "{\"landing_url\": \"$landing\", \"quarantine_url\": \"$quarantine\", \"mp4_wait_minutes\": 0}"
# `dags test` runs no scheduler, so Asset-triggered DAGs are run here in the order Assets chain them.
run_dag quicklook_generation "{\"output_url\": \"$quicklooks\"}"

echo
collector status
echo
echo "Demo finished in $(( $(date +%s) - started )) s. Where to look:"
echo "  landing area        $landing"
echo "  quarantined files   $quarantine (each with a .reason.json)"
echo "  quicklooks          $quicklooks"
for sheet in "$quicklooks"/contact-sheet-*.html; do
  echo "  contact sheet       file://$sheet"
done
echo "  warehouse           psql $(collector db url)"
echo "  DAG logs            $AIRFLOW_HOME/demo-*.log"
echo "  Airflow UI          make airflow"
