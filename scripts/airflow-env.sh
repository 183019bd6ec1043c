# Sourced by the demo and airflow scripts: point Airflow at its metadata database, the
# warehouse and the sandbox. The Makefile has already exported AIRFLOW_HOME, the folders and PATH.
set -euo pipefail
AIRFLOW_CONN_COLLECTOR_WAREHOUSE="${COLLECTOR_DB_URL:-$(collector db url)}"
export AIRFLOW_CONN_COLLECTOR_WAREHOUSE
mkdir -p "$AIRFLOW_HOME"
# Airflow's own metadata: a database `airflow` beside the warehouse on the same PostgreSQL
# server (embedded by default), so a scheduler, backfills and the UI work at the same time.
# SQLite only when asked for (COLLECTOR_AIRFLOW_METADATA=sqlite): it locks under a scheduler.
if [ -z "${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-}" ]; then
  if [ "${COLLECTOR_AIRFLOW_METADATA:-postgres}" = sqlite ]; then
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$AIRFLOW_HOME/airflow.db"
  else
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="$(collector db airflow-url)"
  fi
  export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN
fi
# One API port for the UI, the execution API the tasks call and the links in emails.
export AIRFLOW__API__PORT="${AIRFLOW__API__PORT:-8080}"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="${AIRFLOW__CORE__EXECUTION_API_SERVER_URL:-http://127.0.0.1:$AIRFLOW__API__PORT/execution/}"
export AIRFLOW__API__BASE_URL="${AIRFLOW__API__BASE_URL:-http://localhost:$AIRFLOW__API__PORT}"
# Dates typed without an offset (CLI backfills, the trigger form's dates) are New York days,
# the business clock of payout weeks; the UI shows times in each browser's own zone.
export AIRFLOW__CORE__DEFAULT_TIMEZONE="${AIRFLOW__CORE__DEFAULT_TIMEZONE:-America/New_York}"
export SANDBOX_URL="http://127.0.0.1:${SANDBOX_PORT:-8799}"
