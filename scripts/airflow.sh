#!/usr/bin/env bash
# make airflow: Airflow's components (API server, scheduler, dag-processor, triggerer) on the
# PostgreSQL metadata database, supervised by scripts/airflow_supervisor.py, with our DAGs and
# connections. Ports: AIRFLOW__API__PORT (8080), AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT (8793),
# AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT (8794).
set -euo pipefail
source "$(dirname "$0")/airflow-env.sh"
passwords="$AIRFLOW_HOME/simple_auth_manager_passwords.json.generated"
if [ ! -s "$passwords" ]; then
  python -c 'import json, secrets, sys; json.dump({"admin": secrets.token_urlsafe(12)}, open(sys.argv[1], "w"))' "$passwords"
fi
password=$(python -c 'import json, sys; print(json.load(open(sys.argv[1]))["admin"])' "$passwords")
echo "Airflow UI: http://localhost:$AIRFLOW__API__PORT  login: admin / $password"
echo "(Ctrl-C stops it; DAG files are picked up from $AIRFLOW__CORE__DAGS_FOLDER)"
# Local connections point at the sandbox (Google, PayPal, Payoneer); production sets real ones.
curl -fs "$SANDBOX_URL/sheets/" >/dev/null 2>&1 || bash "$(dirname "$0")/sandbox.sh" start
eval "$(python -m sandbox connections --base-url "$SANDBOX_URL" --key-file "$COLLECTOR_STATE_DIR/sandbox-service-account.json" --state-dir "$COLLECTOR_STATE_DIR/sandbox" --smtp-port "${SANDBOX_SMTP_PORT:-8025}")"
export COLLECTOR_PORTAL_URL="${COLLECTOR_PORTAL_URL:-http://127.0.0.1:${PORTAL_PORT:-8790}}"
echo "Connections: warehouse, Google Sheets, PayPal, Payoneer and SMTP (sandbox at $SANDBOX_URL, inbox $SANDBOX_URL/inbox/)"
airflow db migrate >"$AIRFLOW_HOME/db-migrate.log" 2>&1 || { tail -40 "$AIRFLOW_HOME/db-migrate.log"; exit 1; }
airflow pools import "$(dirname "$0")/../config/pools.json" >/dev/null
exec python "$(dirname "$0")/airflow_supervisor.py"
