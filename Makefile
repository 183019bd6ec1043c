# Two commands matter: `make demo` and `make test` (see README). Everything installs itself.
SHELL := /bin/bash
.DEFAULT_GOAL := help

ROOT := $(CURDIR)
VENV := $(ROOT)/.venv
BIN := $(VENV)/bin
STATE := $(ROOT)/.local

# pgserver (the embedded PostgreSQL) has wheels for CPython 3.9-3.12 and our pins need >= 3.11,
# so prefer 3.11/3.12; any other python3 works only with a `postgres` on PATH or COLLECTOR_DB_URL.
PYTHON ?= $(shell for v in python3.11 python3.12; do command -v $$v >/dev/null 2>&1 && { echo $$v; break; }; done)

export COLLECTOR_STATE_DIR := $(STATE)
export AIRFLOW_HOME := $(STATE)/airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(ROOT)/dags
export AIRFLOW__CORE__PLUGINS_FOLDER := $(ROOT)/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export AIRFLOW__CORE__EXECUTOR := LocalExecutor
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS := admin:admin
export PATH := $(BIN):$(PATH)

# The allowed arrows between our packages (.importlinter); run from the repo root, where the DAG
# folder is seen as the namespace package `dags`.
LINT_IMPORTS = cd $(ROOT) && PYTHONPATH=$(ROOT)/include:$(ROOT)/plugins \
  $(BIN)/lint-imports --no-cache --no-logo .importlinter

.PHONY: help venv browser warehouse warehouse-up demo test test-fast lint lint-imports format airflow airflow-cli cluster cluster-stop cluster-demo bench bench-table clean lock sandbox sandbox-stop portal portal-stop

help:
	@echo "make demo    set up everything and run the pipeline end to end (about 2 minutes)"
	@echo "make test    install what tests need, lint, check the import rules, and run the whole suite"
	@echo "make test-fast  the same without the tests marked slow (real scheduler, browser; about 3 min)"
	@echo "make lint    ruff and the import rules (.importlinter)"
	@echo "make airflow Airflow UI on http://localhost:8080 with our DAGs and connections"
	@echo "make airflow-cli ARGS='...'  the airflow CLI on the same metadata database"
	@echo "make cluster Airflow on Celery: Redis, two workers, an S3 emulator for every file (make cluster-stop)"
	@echo "make portal  the collectors' portal on http://127.0.0.1:8790"
	@echo "make bench   benchmarks under bench/ (each writes bench/results/<name>.json; ~20 min)"
	@echo "make bench-table  the README's benchmark table, generated from bench/results/*.json"

$(VENV)/.installed: requirements.txt pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
	  if command -v python3 >/dev/null && python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	     && { command -v postgres >/dev/null || [ -n "$$COLLECTOR_DB_URL" ]; }; then :; else \
	  echo "No suitable Python: install CPython 3.11 or 3.12 (for the embedded PostgreSQL wheel)," \
	       "or use Python >= 3.11 with PostgreSQL installed (postgres, initdb, pg_ctl on PATH)" \
	       "or COLLECTOR_DB_URL pointing at a server, then run make again with PYTHON=python3."; exit 2; fi; fi
	$(or $(PYTHON),python3) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

venv: $(VENV)/.installed

# Start the embedded warehouse unless COLLECTOR_DB_URL points elsewhere, then migrate it.
warehouse: warehouse-up
	@$(BIN)/collector db migrate

warehouse-up: venv
	@if [ -z "$$COLLECTOR_DB_URL" ]; then $(BIN)/collector db start >/dev/null; fi

# The demo empties the embedded warehouse and migrates it afresh (scripts/demo.sh).
demo: warehouse-up
	@bash scripts/demo.sh

# Tests run on every core (pytest-xdist), a file per worker at a time: module fixtures (a real
# Airflow stack, a cluster) stay in one worker. TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= auto
PYTEST := $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

test: venv browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(LINT_IMPORTS)
	$(PYTEST)

# Everything but the tests marked slow (`make airflow`'s real scheduler, browsers, > ~20 s each).
test-fast: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(LINT_IMPORTS)
	$(PYTEST) -m "not slow"

# Browser tests drive Debian's Chromium (Playwright cannot download its own browsers here).
browser:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then echo "installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "browser tests need Debian's chromium: sudo apt-get install chromium" >&2; exit 2; fi; }

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(LINT_IMPORTS)

lint-imports: venv
	$(LINT_IMPORTS)

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

airflow: warehouse
	@bash scripts/airflow.sh

# Airflow on the CeleryExecutor as production runs it, on this machine: Redis (Debian's, installed
# when missing), two Celery workers sharing no disk, every file in an S3 emulator's bucket, the
# configuration of config/cluster.env (docker-compose.yaml's too). In the background; ports from
# COLLECTOR_CLUSTER_PORT_BASE (18400): UI on 18480. See scripts/cluster.py.
cluster: warehouse
	@bash scripts/cluster.sh start

cluster-stop:
	@bash scripts/cluster.sh stop

# make demo's DAG sequence run by that cluster (a cluster of its own: stops a running one first).
cluster-demo: warehouse
	@bash scripts/cluster.sh stop >/dev/null
	@if [ -z "$$COLLECTOR_DB_URL" ]; then $(BIN)/collector demo reset >/dev/null; fi
	@COLLECTOR_CLUSTER_SCHEDULE=off bash scripts/cluster.sh start
	@bash scripts/cluster.sh demo

# Any airflow CLI command against make airflow's metadata database and settings, e.g.
#   make airflow-cli ARGS="backfill create --dag-id score_aggregation --from-date 2026-11-16 --to-date 2026-11-23 --reprocess-behavior completed"
airflow-cli: warehouse
	@bash -c 'source scripts/airflow-env.sh && airflow $(ARGS)'

# The collector portal on http://127.0.0.1:8790 (PORTAL_PORT), in the foreground.
portal: warehouse
	@echo "portal: http://127.0.0.1:$${PORTAL_PORT:-8790}  (accounts: collector portal invite EMAIL)"
	@COLLECTOR_SHEETS_WEB_URL=$${COLLECTOR_SHEETS_WEB_URL:-http://127.0.0.1:$${SANDBOX_PORT:-8799}/sheets/} \
	  $(BIN)/python -m portal serve --port $${PORTAL_PORT:-8790}

portal-stop:
	@bash scripts/portal.sh stop

# The API emulators (Google Sheets/Drive, ...) on http://127.0.0.1:8799 (SANDBOX_PORT).
sandbox: venv
	@bash scripts/sandbox.sh start && echo "sandbox: http://127.0.0.1:$${SANDBOX_PORT:-8799}/sheets/"

sandbox-stop:
	@bash scripts/sandbox.sh stop

bench: warehouse
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/quicklook.py
	$(BIN)/python bench/scoring.py
	$(BIN)/python bench/dashboards.py
	$(BIN)/python bench/payouts.py
	$(BIN)/python bench/portal.py
	$(BIN)/python bench/notifications.py
	$(BIN)/python bench/release.py
	$(BIN)/python bench/dropbox_delivery.py
	$(BIN)/python bench/table.py

bench-table: venv
	$(BIN)/python bench/table.py

# Re-resolve the pinned set (needs network access to PyPI).
lock:
	rm -rf $(STATE)/lock-venv && $(PYTHON) -m venv $(STATE)/lock-venv
	$(STATE)/lock-venv/bin/pip install --quiet "apache-airflow==3.3.2" apache-airflow-providers-postgres \
	  apache-airflow-providers-standard pandas gspread google-auth psycopg2-binary ffmpeg-python \
	  paypalrestsdk imageio-ffmpeg pgserver pytest pytest-xdist ruff argon2-cffi zxcvbn dropbox import-linter \
	  openapi-core google-api-python-client apache-airflow-providers-celery s3fs "moto[s3]" flask \
	  flask-cors "python-dateutil<3"
	@echo "review the diff: $(STATE)/lock-venv/bin/pip freeze"

clean:
	-bash scripts/sandbox.sh stop 2>/dev/null
	-$(BIN)/collector db stop 2>/dev/null
	rm -rf $(STATE)
