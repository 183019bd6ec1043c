#!/usr/bin/env bash
# The collector portal as a background process: start | stop | restart (make portal runs it in
# the foreground instead). Collectors reach it, never the Airflow API server.
set -euo pipefail
pidfile="$COLLECTOR_STATE_DIR/portal.pid"
port="${PORTAL_PORT:-8790}"
export COLLECTOR_PORTAL_URL="${COLLECTOR_PORTAL_URL:-http://127.0.0.1:$port}"
export COLLECTOR_SHEETS_WEB_URL="${COLLECTOR_SHEETS_WEB_URL:-http://127.0.0.1:${SANDBOX_PORT:-8799}/sheets/}"
stop() {
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    kill "$(cat "$pidfile")"; sleep 0.5
  fi
  rm -f "$pidfile"
}
start() {
  nohup python -m portal serve --port "$port" >"$COLLECTOR_STATE_DIR/portal.log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 50); do
    curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "portal did not start; see $COLLECTOR_STATE_DIR/portal.log" >&2
  cat "$COLLECTOR_STATE_DIR/portal.log" >&2
  exit 1
}
case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
esac
