# Sourced by the demo and airflow scripts: point Airflow at the warehouse and the sandbox.
# The Makefile has already exported AIRFLOW_HOME, the folders and PATH.
set -euo pipefail
AIRFLOW_CONN_COLLECTOR_WAREHOUSE="${COLLECTOR_DB_URL:-$(collector db url)}"
export AIRFLOW_CONN_COLLECTOR_WAREHOUSE
mkdir -p "$AIRFLOW_HOME"
export SANDBOX_URL="http://127.0.0.1:${SANDBOX_PORT:-8799}"
