"""nightly.publish fails as the other steps do: a live release that no longer matches its manifest
is a StepFailed carrying the advice to roll back (the CLI and Airflow show it, not a traceback)."""

import pytest
from typer.testing import CliRunner

from regbench import nightly
from regbench.config import get_settings
from regbench.publish import publish
from regbench.warehouse import Warehouse


@pytest.fixture
def settings(tmp_path, monkeypatch):
    # the pub_ops_* tables need the whole publication; not what is under test here
    monkeypatch.setattr("regbench.ops_publication.build_ops_publication", lambda wh: [])
    monkeypatch.setenv("REGBENCH_VAR", str(tmp_path))
    monkeypatch.setenv("REGBENCH_WAREHOUSE", "duckdb")
    monkeypatch.delenv("REGBENCH_DUCKDB_PATH", raising=False)
    return get_settings()


def _broken_live_release(settings) -> None:
    with Warehouse(settings) as wh:
        wh.ensure_ops()
        wh.execute("CREATE SCHEMA IF NOT EXISTS publication")
        wh.execute("CREATE TABLE publication.pub_rates (registry_id VARCHAR, rate DOUBLE)")
        wh.execute("INSERT INTO publication.pub_rates VALUES ('njur', 0.5)")
        publish(settings, wh)
    data = settings.published_path.read_bytes()
    settings.published_path.write_bytes(data[: len(data) // 3])  # cut short on disk


def test_a_broken_live_release_is_a_step_failure_with_the_advice_to_roll_back(settings):
    _broken_live_release(settings)
    with pytest.raises(nightly.StepFailed) as failed:
        nightly.publish(held={})
    message = str(failed.value)
    assert "does not match its manifest" in message
    assert "regbench publish rollback" in message
    assert "live publication is unchanged" in message


def test_regbench_build_prints_the_advice_and_exits_1(settings, monkeypatch):
    from regbench.cli import app

    _broken_live_release(settings)
    monkeypatch.setattr(nightly, "build", lambda full_refresh=False: {})
    monkeypatch.setattr(nightly, "audit", lambda: {"held": {}})
    result = CliRunner().invoke(app, ["build"])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit), result.exception  # not a traceback
    assert "regbench publish rollback" in " ".join(result.output.split())
