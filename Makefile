# Two commands do all the set-up: `make run` and `make test`.
SHELL := /bin/bash
PY ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
VENV_SS := .venv-superset
export UV_PYTHON_DOWNLOADS := never
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: install install-superset system-deps serve run test test-fast lint bench clean

$(UV):
	$(PY) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

# The orchestration environment, exactly as locked; bytecode compiled once (STACK.md).
$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --compile-bytecode --python $(PY)
	touch $@

# Superset in its own environment: it needs SQLAlchemy < 2, Airflow needs >= 2 (STACK.md).
$(VENV_SS)/.synced: infra/superset/requirements.lock | $(UV)
	test -x $(VENV_SS)/bin/python || $(UV) venv --quiet --python $(PY) $(VENV_SS)
	$(UV) pip sync --quiet --compile-bytecode --python $(VENV_SS)/bin/python infra/superset/requirements.lock
	touch $@

install: $(VENV)/.synced

install-superset: $(VENV_SS)/.synced

## the Debian packages and services the tests need (Chromium, OpenSSH server, PostgreSQL running)
system-deps:
	@bash infra/test-system-deps.sh

## the local stack: Airflow on :8080 and Superset on :8088, provisioned; Ctrl-C stops both
serve: install install-superset
	REGBENCH_DEMO=1 $(VENV)/bin/regbench serve

## run the nightly pipeline end to end on the embedded default (DuckDB, SQLite Airflow, demo data)
run: install
	REGBENCH_DEMO=1 $(VENV)/bin/regbench run

## run every test; pytest's exit code 5 (nothing collected) is a failure here, never a pass
test: install install-superset system-deps
	@$(VENV)/bin/pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: treating as failure" >&2; exit 1; fi; \
	exit $$rc

test-fast: install
	$(VENV)/bin/pytest tests/unit

lint: install
	$(VENV)/bin/ruff check src tests dags benchmarks
	$(VENV)/bin/regbench dashboards check

bench: install
	$(VENV)/bin/python benchmarks/run_pipeline.py

clean:
	rm -rf var
