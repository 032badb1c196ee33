"""`regbench reprocess` replays exactly one registry's period from the lake: its rows come back as
delivered, once, and no other period is touched."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from regbench.cli import app
from regbench.config import REPO_ROOT, get_settings
from regbench.contracts import load_contracts
from regbench.demo.generator import generate
from regbench.ingest import ingest_registry
from regbench.warehouse import Warehouse


@pytest.fixture
def loaded(tmp_path, monkeypatch):
    monkeypatch.setenv("REGBENCH_VAR", str(tmp_path))
    monkeypatch.setenv("REGBENCH_DEMO", "1")
    monkeypatch.setenv("REGBENCH_TODAY", "2026-11-24")
    monkeypatch.setenv("REGBENCH_WAREHOUSE", "duckdb")
    for name in ("REGBENCH_INBOX", "REGBENCH_DUCKDB_PATH", "REGBENCH_CONTRACTS"):
        monkeypatch.delenv(name, raising=False)
    settings = get_settings()
    generate(settings.inbox, {"swedvasc": load_contracts(REPO_ROOT / "registries")["swedvasc"]},
             REPO_ROOT / "dbt_project/seeds/units.csv", scale=0.1, months=3)
    assert ingest_registry(settings, "swedvasc").files_quarantined == 0
    return settings


def snapshot(settings):
    with Warehouse(settings) as wh:
        per_period = dict(wh.fetchall("SELECT _period, count(*) FROM raw.swedvasc__operation GROUP BY 1"))
        loaded_at = dict(wh.fetchall("SELECT _period, max(_loaded_at) FROM raw.swedvasc__operation"
                                     " GROUP BY 1"))
        ledger = sorted(wh.fetchall("SELECT original_name, status FROM ops.ledger"))
    return per_period, loaded_at, ledger


def test_reprocess_restores_one_period_exactly_and_leaves_the_others(loaded):
    settings = loaded
    before, loaded_at, ledger = snapshot(settings)
    period = sorted(before)[-1]
    with Warehouse(settings) as wh:  # rows of that period are damaged (by hand, by a bad script...)
        wh.execute("DELETE FROM raw.swedvasc__operation WHERE _period = ? AND _row_number % 2 = 0",
                   [period])
    result = CliRunner().invoke(app, ["reprocess", "--registry", "swedvasc", "--period", period,
                                      "--no-build"])
    assert result.exit_code == 0, result.output
    assert f"swedvasc {period}: replaying swedvasc_operation_{period}.csv" in result.output
    after, loaded_at_after, ledger_after = snapshot(settings)
    assert after == before
    assert ledger_after == ledger
    others = [p for p in before if p != period]
    assert others and all(loaded_at_after[p] == loaded_at[p] for p in others)


def test_reprocess_of_an_unknown_period_lists_the_loaded_ones(loaded):
    result = CliRunner().invoke(app, ["reprocess", "--registry", "swedvasc", "--period", "1999-01"])
    assert result.exit_code == 1
    assert "no loaded file for period '1999-01'" in result.output
    assert "loaded periods" in result.output
