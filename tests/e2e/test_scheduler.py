"""The scheduled stack for real: `airflow scheduler`, `dag-processor` and `api-server` on PostgreSQL
metadata with the LocalExecutor run the ingest DAGs on their schedule, and the benchmarks DAG on the
registries' Assets; a new export dropped into a registry's folder reaches the published numbers
without anyone running a command."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import duckdb
import psycopg
import pytest

from regbench.airflow_env import airflow_bin, airflow_env, ensure_metadata
from regbench.config import REPO_ROOT, get_settings
from regbench.contracts import load_contracts
from regbench.demo.generator import generate
from regbench.publish import read_manifest

pytestmark = [pytest.mark.airflow, pytest.mark.slow, pytest.mark.postgres]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def airflow_metadata(postgres_server):
    name = f"regbench_airflow_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_server, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    yield f"postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(postgres_server, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def swedvasc_registrations(settings) -> int:
    con = duckdb.connect(str(settings.published_path), read_only=True)
    try:
        # unit-months published, hidden or not: at this scale most monthly counts are hidden
        # (a unit-month's registrations are hidden with its indicator denominators), but every
        # unit-month with registrations has its row
        return int(con.execute("SELECT count(*) FROM publication.pub_registrations"
                               " WHERE registry_id = 'swedvasc'").fetchone()[0])
    finally:
        con.close()


def wait_until(what: str, check, procs: dict, logs: Path, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, proc in procs.items():
            if proc.poll() is not None:
                pytest.fail(f"airflow {name} exited ({proc.returncode}); see {logs}")
        try:
            value = check()
        except (OSError, duckdb.Error):  # the published file is being swapped
            value = None
        if value:
            return value
        time.sleep(3)
    pytest.fail(f"timed out waiting for {what}; logs in {logs}")


def test_a_dropped_export_reaches_the_published_numbers_on_schedule(tmp_path, monkeypatch,
                                                                    airflow_metadata):
    port = free_port()
    env_vars = {
        "REGBENCH_VAR": str(tmp_path), "REGBENCH_DEMO": "1", "REGBENCH_WAREHOUSE": "duckdb",
        "REGBENCH_TODAY": "2026-11-24",
        # every minute, so that the test need not wait for 02:00
        "REGBENCH_INGEST_SCHEDULE": "* * * * *",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg://{airflow_metadata}",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": f"postgresql+psycopg_async://{airflow_metadata}",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
    }
    for key, value in env_vars.items():
        monkeypatch.setenv(key, value)
    for name in ("REGBENCH_INBOX", "REGBENCH_DUCKDB_PATH", "REGBENCH_CONTRACTS"):
        monkeypatch.delenv(name, raising=False)
    settings = get_settings()
    staging = tmp_path / "generated"
    generate(staging, load_contracts(REPO_ROOT / "registries"), REPO_ROOT / "dbt_project/seeds/units.csv",
             scale=0.1, months=6)
    newest = sorted((staging / "swedvasc").glob("swedvasc_operation_*.csv"))[-1]
    held_back = tmp_path / newest.name
    shutil.move(newest, held_back)
    shutil.copytree(staging, settings.inbox)

    ensure_metadata(settings, force=True)
    env = airflow_env(settings)
    logs = settings.logs
    procs = {}
    try:
        for what in (["dag-processor"], ["scheduler"], ["api-server", "--port", str(port)]):
            out = (logs / f"airflow-{what[0]}.log").open("ab")
            procs[what[0]] = subprocess.Popen([airflow_bin(), *what], env=env, stdout=out,
                                              stderr=subprocess.STDOUT, start_new_session=True)
        first = wait_until("the first scheduled night to be published",
                           lambda: read_manifest(settings), procs, logs, timeout=900)
        before = swedvasc_registrations(settings)
        assert before > 0

        shutil.copyfile(held_back, settings.inbox / "swedvasc" / held_back.name)
        wait_until("the dropped export to reach the published numbers",
                   lambda: swedvasc_registrations(settings) > before, procs, logs, timeout=900)
        latest = read_manifest(settings)
        assert latest["release_id"] != first["release_id"]
    finally:
        _stop_all(procs)


def _stop_all(procs: dict) -> None:
    """SIGTERM each process group; one still busy with a task after two minutes (a slow machine)
    gets SIGKILL, so no task of this test's stack runs on into the next test."""
    for proc in procs.values():
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in procs.values():
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
