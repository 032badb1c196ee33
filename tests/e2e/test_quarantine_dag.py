"""A broken export fails its registry's DAG run visibly, waits in quarantine with a reason naming
the column and what to do, and does not stop the registry's other files from loading."""

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from regbench.airflow_env import dags_test, ensure_metadata
from regbench.config import REPO_ROOT, get_settings
from regbench.contracts import load_contracts
from regbench.demo.generator import generate

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


def test_broken_file_fails_the_dag_and_waits_in_quarantine(tmp_path, monkeypatch):
    monkeypatch.setenv("REGBENCH_VAR", str(tmp_path))
    monkeypatch.setenv("REGBENCH_DEMO", "1")
    monkeypatch.delenv("REGBENCH_INBOX", raising=False)
    monkeypatch.delenv("REGBENCH_DUCKDB_PATH", raising=False)
    settings = get_settings()
    contracts = load_contracts(REPO_ROOT / "registries")
    generate(settings.inbox, {"swedvasc": contracts["swedvasc"]},
             REPO_ROOT / "dbt_project/seeds/units.csv", scale=0.1, months=2)
    good = sorted((settings.inbox / "swedvasc").glob("swedvasc_operation_*.csv"))
    broken = settings.inbox / "swedvasc" / "swedvasc_operation_2026-08.csv"
    lines = good[0].read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    drop = header.index("enhetskod")
    broken.write_text("\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != drop)
                                for line in lines) + "\n", encoding="utf-8")

    ensure_metadata(settings)
    ok, _, log_file = dags_test(settings, "ingest_swedvasc")
    assert not ok, "the DAG run must fail when a file is quarantined"
    assert "quarantined" in log_file.read_text(encoding="utf-8")

    con = duckdb.connect(str(settings.duckdb_path), read_only=True)
    status = dict(con.execute("SELECT original_name, status FROM ops.ledger").fetchall())
    con.close()
    assert status.pop(broken.name) == "quarantined"
    assert status and set(status.values()) == {"loaded"}

    folders = list((settings.quarantine / "swedvasc").iterdir())
    assert len(folders) == 1
    reason = json.loads((folders[0] / "reason.json").read_text(encoding="utf-8"))
    assert (reason["rule"], reason["column"], reason["row"]) == ("required_column_missing", "enhetskod", 1)
    readme = (folders[0] / "README.txt").read_text(encoding="utf-8")
    assert "enhetskod" in readme and "What to do" in readme
    assert (folders[0] / broken.name).read_bytes() == broken.read_bytes()

    listing = subprocess.run([str(Path(sys.executable).with_name("regbench")), "quarantine", "list"],
                             env={**os.environ, "COLUMNS": "200"}, capture_output=True, text=True)
    assert broken.name in listing.stdout and "required_column_missing" in listing.stdout
