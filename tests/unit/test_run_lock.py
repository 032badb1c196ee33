"""Two `regbench run` at once (issue 18): the second exits at once with a message naming the first,
touching nothing; a run that died leaves no lock behind; each run keeps its own logs."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from regbench.cli import app
from regbench.config import get_settings

HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(120)
"""


@pytest.fixture
def var(tmp_path, monkeypatch):
    monkeypatch.setenv("REGBENCH_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("REGBENCH_WAREHOUSE", "duckdb")
    monkeypatch.setenv("REGBENCH_DEMO", "1")
    monkeypatch.delenv("REGBENCH_DUCKDB_PATH", raising=False)
    (tmp_path / "var").mkdir()
    return tmp_path / "var"


@pytest.fixture
def nothing_runs(monkeypatch):
    """The pipeline itself is not under test: record whether it started."""
    import regbench.pipeline as pipeline

    started = []

    def run_nightly(*_a, **_k):
        started.append("run")
        raise SystemExit(0)

    monkeypatch.setattr(pipeline, "ensure_demo_exports", lambda *a, **k: started.append("demo"))
    monkeypatch.setattr(pipeline, "run_nightly", run_nightly)
    return started


def test_a_second_run_exits_at_once_naming_the_first(var, nothing_runs):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(var / "run.lock")], stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        t0 = time.monotonic()
        result = CliRunner().invoke(app, ["run"])
        assert time.monotonic() - t0 < 10
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 1, result.output
    assert "another regbench run is running" in result.output.lower().replace("\n", " ")
    assert nothing_runs == [], "the second run must not start anything"


def test_the_lock_names_its_holder_and_dies_with_it(var):
    from regbench.run_lock import RunLocked, run_lock

    settings = get_settings()
    with run_lock(settings, "regbench run"):
        with pytest.raises(RunLocked) as refused, run_lock(settings, "regbench build"):
            pass
    assert f"pid {os.getpid()}" in str(refused.value) and "regbench run" in str(refused.value)
    # a holder killed with SIGKILL leaves the file, but not the lock
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(var / "run.lock")], stdout=subprocess.PIPE,
                              text=True)
    assert holder.stdout.readline().strip() == "held"
    holder.kill()
    holder.wait()
    with run_lock(settings, "regbench run"):
        pass


def test_each_run_keeps_its_own_logs(var, monkeypatch):
    from rich.console import Console

    import regbench.airflow_env as airflow_env
    import regbench.pipeline as pipeline

    monkeypatch.setattr(pipeline, "ensure_metadata", lambda *a, **k: None)
    monkeypatch.setattr(airflow_env, "airflow_env", lambda settings: {})
    runs = iter(range(100))
    n = {"run": 0}

    def fake_airflow(cmd, env, log_file, check=True):
        log_file.parent.mkdir(parents=True, exist_ok=True)
        log_file.write_text(f"run {n['run']}: {' '.join(cmd[1:])}\n", encoding="utf-8")
        return 0

    monkeypatch.setattr(airflow_env, "_run", fake_airflow)
    settings = get_settings()
    results = []
    for _ in range(2):
        n["run"] = next(runs)
        results.append(pipeline.run_nightly(settings, Console(quiet=True)))
    first, second = ({o.dag_id: o.log_file for o in r.outcomes} for r in results)
    assert set(first) == set(second) and first
    for dag_id in first:
        assert first[dag_id] != second[dag_id]
        assert first[dag_id].read_text(encoding="utf-8").startswith("run 0:")
        assert second[dag_id].read_text(encoding="utf-8").startswith("run 1:")


# --- ingest and reprocess take the same lock -------------------------------------------------------

# a real `regbench <command>` whose work is slowed down: it holds the warehouse open (as a real one
# does while it loads) until killed
SLOW = """
import sys, time
import regbench.nightly as nightly
import regbench.pipeline as pipeline
from regbench.config import get_settings
from regbench.warehouse import Warehouse

def hold_the_warehouse(*_a, **_k):
    with Warehouse(get_settings(), loader=True) as wh:
        wh.ensure_ops()
        print("working", flush=True)
        time.sleep(120)

nightly.ingest = hold_the_warehouse
pipeline.run_nightly = hold_the_warehouse
pipeline.ensure_demo_exports = lambda *_a, **_k: False
from regbench.cli import app
app(sys.argv[1:])
"""


def _regbench(*args: str) -> list[str]:
    return [os.path.join(os.path.dirname(sys.executable), "regbench"), *args]


@pytest.mark.parametrize(("first", "second"), [
    (["ingest", "palliativ"], ["ingest", "palliativ"]),
    (["ingest", "njur"], ["reprocess", "--registry", "palliativ", "--period", "2024-01"]),
    (["run"], ["ingest", "palliativ"]),
])
def test_a_second_ingest_or_reprocess_exits_at_once_naming_what_holds_the_lock(var, first, second):
    """Two real processes: the second neither waits nor crashes on DuckDB's lock; it says what
    holds the lock (command and pid) and exits 1 without touching anything."""
    env = {**os.environ, "REGBENCH_TODAY": "2026-11-24"}
    holder = subprocess.Popen([sys.executable, "-c", SLOW, *first], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout.readline().strip() == "working", holder.stderr.read()
        t0 = time.monotonic()
        refused = subprocess.run(_regbench(*second), capture_output=True, text=True, env=env,
                                 timeout=60)
        took = time.monotonic() - t0
    finally:
        holder.kill()
        holder.wait()
    said = " ".join((refused.stdout + refused.stderr).split())
    assert refused.returncode == 1, said
    assert "Traceback" not in said and "lock on file" not in said.lower(), said
    assert f"Another regbench {first[0]} (pid {holder.pid}" in said, said
    assert f"This regbench {second[0]} exits without touching anything" in said, said
    assert took < 30
