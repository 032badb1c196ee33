"""The loader killed in the middle of a large file loses nothing and doubles nothing: the next run
loads the file completely, once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from regbench.config import REPO_ROOT
from regbench.contracts import load_contracts
from regbench.demo.generator import generate

REGBENCH = str(Path(sys.executable).with_name("regbench"))
pytestmark = pytest.mark.slow


def _one_large_file(inbox: Path, scale: float) -> tuple[Path, int]:
    """One month's swedvasc operations at a large scale, in one export. (All 36 months in one
    file named for October would now wait in quarantine as mostly outside its period.)"""
    contracts = load_contracts(REPO_ROOT / "registries")
    staging = inbox.parent / "generated"
    generate(staging, {"swedvasc": contracts["swedvasc"]}, REPO_ROOT / "dbt_project/seeds/units.csv",
             scale=scale, months=1)
    parts = sorted((staging / "swedvasc").glob("swedvasc_operation_*.csv"))
    target = inbox / "swedvasc" / "swedvasc_operation_2026-10.csv"
    target.parent.mkdir(parents=True)
    rows = 0
    with target.open("w", encoding="utf-8", newline="") as out:
        for i, part in enumerate(parts):
            lines = part.read_text(encoding="utf-8").splitlines(keepends=True)
            out.writelines(lines if i == 0 else lines[1:])
            rows += len(lines) - 1
    return target, rows


def _env(var: Path, dsn: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"REGBENCH_DEMO": "1", "REGBENCH_VAR": str(var), "REGBENCH_WAREHOUSE": "postgres",
                "REGBENCH_POSTGRES_DSN": dsn, "REGBENCH_TODAY": "2026-11-24"})
    env.pop("REGBENCH_INBOX", None)
    return env


def _wait_for_copy(dsn: str, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as con:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail("the loader finished before its COPY was seen; make the file larger")
            active = con.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND query ILIKE 'COPY raw.%' AND state = 'active'").fetchone()[0]
            if active:
                return
            time.sleep(0.02)
    pytest.fail("no COPY into raw started within the timeout")


def test_loader_killed_mid_copy_loads_the_file_once_on_the_next_run(tmp_path, fresh_database):
    var = tmp_path / "var"
    big, rows = _one_large_file(var / "inbox", scale=300)
    assert rows > 60_000
    env = _env(var, fresh_database)

    proc = subprocess.Popen([REGBENCH, "ingest", "swedvasc"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    _wait_for_copy(fresh_database, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL

    with psycopg.connect(fresh_database, autocommit=True) as con:
        # nothing half-loaded is visible, and the file is still owed a load
        assert con.execute("SELECT count(*) FROM raw.swedvasc__operation").fetchone()[0] == 0
        assert con.execute("SELECT status FROM ops.ledger").fetchall() == [("received",)]

    again = subprocess.run([REGBENCH, "ingest", "swedvasc"], env=env, capture_output=True, text=True,
                           timeout=900)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    with psycopg.connect(fresh_database, autocommit=True) as con:
        loaded, distinct_rows, files = con.execute(
            "SELECT count(*), count(DISTINCT _row_number), count(DISTINCT _file_id)"
            " FROM raw.swedvasc__operation").fetchone()
        ledger = con.execute("SELECT status, rows_loaded, rows_rejected FROM ops.ledger").fetchall()
    assert ledger == [("loaded", loaded, rows - loaded)]
    assert loaded == distinct_rows and files == 1
    assert loaded >= rows * 0.99
    # and a third run takes in nothing
    third = subprocess.run([REGBENCH, "ingest", "swedvasc"], env=env, capture_output=True, text=True,
                           timeout=600)
    assert '"files_new": 0' in third.stdout
