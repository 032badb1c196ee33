"""A failed nightly build says what to do in regbench's terms, not only in dbt's."""

import pytest

from regbench import nightly
from regbench.transform import DbtReport


def _failing_build(monkeypatch, failures: list[str]) -> str:
    monkeypatch.setattr("regbench.transform.run_dbt",
                        lambda *a, **kw: DbtReport("build", False, 0, 1, failures))
    monkeypatch.setattr(nightly, "_log_attempt", lambda *a, **kw: None)
    monkeypatch.setattr(nightly, "disclose", lambda: {})
    with pytest.raises(nightly.StepFailed) as failed:
        nightly.build_publication()
    return str(failed.value)


def test_a_table_out_of_sync_with_its_model_names_the_full_refresh_command(monkeypatch):
    message = _failing_build(monkeypatch, [
        "pub_indicator_values: The source and target schemas on this incremental model are out of "
        "sync! Source columns not in target: [_built_at]"])
    assert "pub_indicator_values" in message
    assert "regbench build --full-refresh" in message
    assert "live publication is unchanged" in message


def test_other_failures_do_not_advise_a_full_refresh(monkeypatch):
    message = _failing_build(monkeypatch, ["fct_funnel: division by zero"])
    assert "fct_funnel: division by zero" in message
    assert "--full-refresh" not in message
