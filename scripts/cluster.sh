#!/usr/bin/env bash
# make cluster / make cluster-stop: the Celery cluster of scripts/cluster.py (start | stop | run)
# with make airflow's connections (warehouse; Google, PayPal, Payoneer, Dropbox and SMTP at the
# sandbox, started if needed) and its metadata in a database `airflow_cluster` beside the warehouse.
set -euo pipefail
here="$(dirname "$0")"
if [ "${1:-start}" = stop ]; then exec python "$here/cluster.py" stop; fi
if [ -z "${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-}" ]; then
  url=$(python -c 'from collector.core import db; print(db.sibling_database_url("airflow_cluster"))')
  export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql+psycopg2://${url#*://}"
fi
source "$here/airflow-env.sh"
export COLLECTOR_CLUSTER_DIR="${COLLECTOR_CLUSTER_DIR:-$COLLECTOR_STATE_DIR/cluster}"
passwords="$COLLECTOR_CLUSTER_DIR/airflow/simple_auth_manager_passwords.json.generated"
mkdir -p "$(dirname "$passwords")"
if [ ! -s "$passwords" ]; then
  python -c 'import json, secrets, sys; json.dump({"admin": secrets.token_urlsafe(12)}, open(sys.argv[1], "w"))' "$passwords"
fi
curl -fs "$SANDBOX_URL/sheets/" >/dev/null 2>&1 || bash "$here/sandbox.sh" start
eval "$(python -m sandbox connections --base-url "$SANDBOX_URL" --key-file "$COLLECTOR_STATE_DIR/sandbox-service-account.json" --state-dir "$COLLECTOR_STATE_DIR/sandbox" --smtp-port "${SANDBOX_SMTP_PORT:-8025}")"
export COLLECTOR_PORTAL_URL="${COLLECTOR_PORTAL_URL:-http://127.0.0.1:${PORTAL_PORT:-8790}}"
if [ "${1:-start}" = demo ]; then
  # The cluster must run with COLLECTOR_CLUSTER_SCHEDULE=off (make cluster-demo starts it so).
  exec python "$here/cluster_demo.py"
fi
exec python "$here/cluster.py" "${1:-start}"
