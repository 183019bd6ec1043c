#!/usr/bin/env bash
# The sandbox (API emulators) as a background process: start | stop | restart.
set -euo pipefail
state="${COLLECTOR_STATE_DIR:?}/sandbox"
pidfile="$COLLECTOR_STATE_DIR/sandbox.pid"
port="${SANDBOX_PORT:-8799}"
stop() {
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    kill "$(cat "$pidfile")"; sleep 0.5
  fi
  rm -f "$pidfile"
}
start() {
  mkdir -p "$state"
  mkdir -p "$COLLECTOR_STATE_DIR/quicklooks"
  # /public/ stands in for the public bucket reviewers' browsers load quicklooks from.
  nohup python -m sandbox serve --port "$port" --state-dir "$state" --smtp-port "${SANDBOX_SMTP_PORT:-8025}" \
    --public-dir "$COLLECTOR_STATE_DIR/quicklooks" >"$COLLECTOR_STATE_DIR/sandbox.log" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 50); do
    curl -fs "http://127.0.0.1:$port/sheets/" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "sandbox did not start; see $COLLECTOR_STATE_DIR/sandbox.log" >&2
  cat "$COLLECTOR_STATE_DIR/sandbox.log" >&2
  exit 1
}
case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  restart) stop; rm -rf "$state" "$COLLECTOR_STATE_DIR/quicklooks"; start ;;
esac
