"""A registry is its contract and its own SQL (issue 19): the dbt unions of registrations,
references and indicator flags and the dashboards' networks come from the contracts and the
indicators seed, so nothing is dropped because a hand-kept list was not edited. What must exist
for that to hold is checked here: every seeded indicator has its model and every indicator model
its seed row; every entity a contract delivers has its staging model.

The checks read the configured home (REGBENCH_HOME, default the repository), so pointing it at a
copy with a model removed shows them fail."""

from __future__ import annotations

import shutil

import pytest

from regbench.config import get_settings
from regbench.contracts import load_contracts
from regbench.transform import (
    indicator_problems,
    registry_vars,
    run_dbt,
    seeded_indicators,
    staging_problems,
)


@pytest.fixture
def configured():
    settings = get_settings()
    return load_contracts(settings.contracts_dir), settings.dbt_project_dir


def test_every_seeded_indicator_has_its_model_and_every_indicator_model_its_seed_row(configured):
    contracts, project = configured
    assert indicator_problems(contracts, project) == []


def test_every_entity_of_every_contract_has_its_staging_model(configured):
    contracts, project = configured
    assert staging_problems(contracts, project) == []


def test_the_unions_read_every_contract_and_every_seeded_indicator(configured):
    contracts, project = configured
    found = registry_vars(contracts, project)
    assert set(found["registries"]) == set(contracts)
    for rid, contract in contracts.items():
        registrations = {s["model"] for s in found["registries"][rid]["registrations"]}
        assert registrations, f"{rid} has no registrations in int_registrations"
        assert found["registries"][rid]["references"] == [
            contract.staging_model(e) for e in contract.entities if e.role == "reference"]
    # njur's yearly prevalence is a census, not a registration (its contract says so)
    assert found["registries"]["njur"]["registrations"] == [{"model": "stg_njur__start",
                                                             "entity": "start"}]
    assert found["indicator_models"] == [f"int_{rid}__{ind}" for rid, ind in seeded_indicators(project)]


def test_the_networks_of_the_dashboards_are_the_contracts(configured):
    from regbench.dashboards import spec

    contracts, _ = configured
    assert spec.NETWORKS == {rid: c.name for rid, c in contracts.items()}


@pytest.fixture
def copy_home(tmp_path, monkeypatch):
    """A registry centre's copy of the configuration, to break."""
    settings = get_settings()
    home = tmp_path / "home"
    shutil.copytree(settings.contracts_dir, home / "registries")
    shutil.copytree(settings.dbt_project_dir, home / "dbt_project",
                    ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    monkeypatch.setenv("REGBENCH_HOME", str(home))
    monkeypatch.setenv("REGBENCH_VAR", str(tmp_path / "var"))
    monkeypatch.delenv("REGBENCH_CONTRACTS", raising=False)
    return home


def test_a_missing_model_or_seed_row_or_staging_model_is_named_and_nothing_is_built(copy_home):
    models = copy_home / "dbt_project/models"
    (models / "indicators/njur/int_njur__pd_vid_start.sql").unlink()
    stray = models / "indicators/swedvasc/int_swedvasc__amputation.sql"
    stray.write_text("select 1 as x\n", encoding="utf-8")
    (models / "staging/stg_blodcancer__referens.sql").unlink()
    settings = get_settings()
    contracts = load_contracts(settings.contracts_dir)
    assert indicator_problems(contracts, settings.dbt_project_dir) == [
        "seeds/indicators.csv: indicator 'pd_vid_start' of 'njur' has no model "
        "models/indicators/njur/int_njur__pd_vid_start.sql",
        "models/indicators/swedvasc/int_swedvasc__amputation.sql: an indicator model needs its row "
        "in seeds/indicators.csv and the path models/indicators/<registry>/int_<registry>__<indicator>.sql",
    ]
    assert staging_problems(contracts, settings.dbt_project_dir) == [
        "registries/blodcancer.yaml: entity 'referens' has no staging model "
        "models/staging/stg_blodcancer__referens.sql (`regbench registry add` writes one)"]
    report = run_dbt(settings, "build")
    assert not report.succeeded and len(report.failures) == 3 and report.nodes_ok == 0


def test_a_contract_without_staging_is_named(copy_home):
    text = (copy_home / "registries/njur.yaml").read_text(encoding="utf-8")
    (copy_home / "registries/uremi.yaml").write_text(
        text.replace("registry_id: njur", "registry_id: uremi"), encoding="utf-8")
    settings = get_settings()
    found = staging_problems(load_contracts(settings.contracts_dir), settings.dbt_project_dir)
    assert [p.split(":")[0] for p in found] == ["registries/uremi.yaml"] * 3
