# Two commands do all the set-up: `make run` and `make test`.
SHELL := /bin/bash
PY ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
export UV_PYTHON_DOWNLOADS := never
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: install run test test-fast lint bench clean

$(UV):
	$(PY) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

# The orchestration environment, exactly as locked; bytecode compiled once (STACK.md).
$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --compile-bytecode --python $(PY)
	touch $@

install: $(VENV)/.synced

## run the nightly pipeline end to end on the embedded default (DuckDB, SQLite Airflow, demo data)
run: install
	REGBENCH_DEMO=1 $(VENV)/bin/regbench run

## run every test; pytest's exit code 5 (nothing collected) is a failure here, never a pass
test: install
	@$(VENV)/bin/pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: treating as failure" >&2; exit 1; fi; \
	exit $$rc

test-fast: install
	$(VENV)/bin/pytest tests/unit

lint: install
	$(VENV)/bin/ruff check src tests dags benchmarks

bench: install
	$(VENV)/bin/python benchmarks/run_pipeline.py

clean:
	rm -rf var
