"""`regbench registry add` turns one sample export into a contract, thresholds and a staging model
that validate, load the sample, and build in dbt; it never overwrites an existing registry."""

from __future__ import annotations

import shutil

import pytest
import yaml
from typer.testing import CliRunner

from regbench.cli import app
from regbench.config import REPO_ROOT, get_settings
from regbench.contracts import load_contract
from regbench.ingest import ingest_registry
from regbench.transform import run_dbt
from regbench.warehouse import Warehouse

SAMPLE = REPO_ROOT / "tests/corpus/files/njur/njur_start_2026-10.csv"


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A registry centre's own copy of the configuration, as `registry add` writes into it."""
    home = tmp_path / "home"
    for folder in ("registries", "expectations", "dbt_project"):
        shutil.copytree(REPO_ROOT / folder, home / folder,
                        ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    monkeypatch.setenv("REGBENCH_HOME", str(home))
    monkeypatch.setenv("REGBENCH_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("REGBENCH_DEMO", "1")
    monkeypatch.setenv("REGBENCH_TODAY", "2026-11-24")
    monkeypatch.setenv("REGBENCH_WAREHOUSE", "duckdb")
    for name in ("REGBENCH_INBOX", "REGBENCH_DUCKDB_PATH", "REGBENCH_CONTRACTS", "REGBENCH_EXPECTATIONS"):
        monkeypatch.delenv(name, raising=False)
    sample = tmp_path / "uremi_start_2026-10.csv"
    shutil.copyfile(SAMPLE, sample)
    return home, sample


def add(sample, *extra):
    return CliRunner().invoke(app, ["registry", "add", "uremi", "--sample", str(sample), "--name",
                                    "Uremiregistret", "--network", "Njurmedicin", "--contact",
                                    "rh@uremi.example.se", *extra])


def test_registry_add_infers_the_contract_from_the_sample(home):
    home_dir, sample = home
    result = add(sample)
    assert result.exit_code == 0, result.output
    contract = load_contract(home_dir / "registries/uremi.yaml")
    assert (contract.format.encoding, contract.format.delimiter, contract.format.decimal,
            contract.format.date_format) == ("utf-8-sig", ";", ",", "%Y%m%d")
    ent = contract.entities[0]
    assert ent.name == "start"
    assert ent.match("uremi_start_2026-11.csv") == "2026-11"
    types = {c.name: c.type.value for c in ent.columns}
    assert types == {"personnummer": "personnummer", "enhetskod": "unit", "startdatum": "date",
                     "registreringsdatum": "date", "forsta_modalitet": "code", "forsta_access": "code",
                     "egfr_vid_start": "decimal"}
    assert (ent.event_date_column, ent.registration_date_column) == ("startdatum", "registreringsdatum")
    assert next(c for c in ent.columns if c.name == "forsta_access").unknown_codes == ("9",)
    assert (home_dir / "expectations/uremi.yaml").exists()
    assert "TODO" in (home_dir / "registries/uremi.yaml").read_text(encoding="utf-8")


def test_the_scaffold_loads_its_sample_and_builds_in_dbt(home):
    home_dir, sample = home
    assert add(sample).exit_code == 0
    # what the runbook asks of the operator: the registry's units in the seed
    units = home_dir / "dbt_project/seeds/units.csv"
    lines = units.read_text(encoding="utf-8").splitlines()
    njur = [line for line in lines[1:] if ",njur," in line]
    units.write_text("\n".join(lines + [line.replace(",njur,", ",uremi,") for line in njur]) + "\n",
                     encoding="utf-8")
    settings = get_settings()
    (settings.inbox / "uremi").mkdir(parents=True)
    shutil.copyfile(sample, settings.inbox / "uremi" / sample.name)
    report = ingest_registry(settings, "uremi")
    assert (report.files_loaded, report.files_quarantined) == (1, 0)
    built = run_dbt(settings, "build", ["--select", "+stg_uremi__start"])
    assert built.succeeded, built.failures
    with Warehouse(settings) as wh:
        staged = wh.fetchone("SELECT count(*), count(region_code) FROM staging.stg_uremi__start")
    assert staged[0] == report.rows_loaded > 0
    assert staged[1] == staged[0], "every unit got its region from the seed"


def test_registry_add_never_overwrites(home):
    home_dir, sample = home
    assert add(sample).exit_code == 0
    before = (home_dir / "registries/uremi.yaml").read_text(encoding="utf-8")
    again = add(sample)
    assert again.exit_code == 1 and "exists already" in again.output
    assert (home_dir / "registries/uremi.yaml").read_text(encoding="utf-8") == before
    clash = CliRunner().invoke(app, ["registry", "add", "njur", "--sample", str(sample), "--name", "x",
                                     "--network", "x", "--contact", "x@example.se"])
    assert clash.exit_code == 1 and "exists already" in clash.output
    assert yaml.safe_load((home_dir / "registries/njur.yaml").read_text(encoding="utf-8"))["name"] \
        == "Svenskt njurregister"
