"""`regbench registry add` turns one sample export into a contract, thresholds and a staging model
that validate, load the sample, and build in dbt; with one indicator added beside it, the registry
reaches the marts, the publication and the spec of its network dashboard without editing
any list; it never
overwrites an existing registry."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from regbench import nightly
from regbench.cli import app
from regbench.config import REPO_ROOT, get_settings
from regbench.contracts import load_contract, load_contracts
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


def add_units_and_load(home_dir, sample):
    """What the runbook asks of the operator after `registry add`: the registry's units in the
    seed; then its first delivery, loaded."""
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
    return settings, report


def test_the_scaffold_loads_its_sample_and_builds_in_dbt(home):
    home_dir, sample = home
    assert add(sample).exit_code == 0
    settings, report = add_units_and_load(home_dir, sample)
    built = run_dbt(settings, "build", ["--select", "+stg_uremi__start"])
    assert built.succeeded, built.failures
    with Warehouse(settings) as wh:
        staged = wh.fetchone("SELECT count(*), count(region_code) FROM staging.stg_uremi__start")
    assert staged[0] == report.rows_loaded > 0
    assert staged[1] == staged[0], "every unit got its region from the seed"


INDICATOR = """-- pd_start: one row per start, flagged eligible (denominator) and met (numerator).
select
    registry_id,
    'pd_start' as indicator_id,
    unit_id,
    region_code,
    event_date,
    person_id,
    birth_year,
    sex,
    coalesce(forsta_modalitet in ('HD', 'PD'), false) as is_eligible,
    coalesce(forsta_modalitet = 'PD', false) as is_met
from {{ ref('stg_uremi__start') }}
"""


def test_a_fifth_registry_reaches_the_marts_and_the_publication_without_editing_a_list(home):
    """Adding a registry is `registry add`, its units and its first delivery; adding an indicator
    is its model in models/indicators/<registry>/ and its row in the indicators seed. No union,
    no list of registries or networks is edited (issue 19)."""
    home_dir, sample = home
    assert add(sample).exit_code == 0
    model = home_dir / "dbt_project/models/indicators/uremi/int_uremi__pd_start.sql"
    model.parent.mkdir(parents=True)
    model.write_text(INDICATOR, encoding="utf-8")
    with (home_dir / "dbt_project/seeds/indicators.csv").open("a", encoding="utf-8") as seed:
        seed.write("pd_start,uremi,PD vid start,PD at start,Peritonealdialys som första dialysform,"
                   "higher,0.3,0.3,10\n")
    settings, report = add_units_and_load(home_dir, sample)
    contracts = load_contracts(settings.contracts_dir)
    assert len(contracts) == 5
    with Warehouse(settings) as wh:  # the other four registries have delivered nothing yet
        for contract in contracts.values():
            for entity in contract.entities:
                if entity.role != "optouts":
                    wh.ensure_raw_table(contract, entity)
    nightly.build(full_refresh=True)
    nightly.publish(nightly.audit().get("held"))
    with Warehouse(settings) as wh:
        registered = wh.fetchone("SELECT count(*) FROM intermediate.int_registrations"
                                 " WHERE registry_id = 'uremi'")
        eligible = wh.fetchone("SELECT count(*) FROM intermediate.int_indicator_events"
                               " WHERE indicator_id = 'pd_start' AND is_eligible")
        facts = wh.fetchone("SELECT count(*), sum(denominator) FROM marts.fct_indicator_values"
                            " WHERE registry_id = 'uremi' AND indicator_id = 'pd_start'"
                            " AND level = 'national' AND period_grain = 'month'")
    assert registered[0] == report.rows_loaded > 0
    assert eligible[0] > 0
    assert facts[0] >= 1 and facts[1] == eligible[0]
    with duckdb.connect(str(settings.published_path), read_only=True) as pub:
        published = pub.sql("SELECT count(*) FROM publication.pub_indicator_values"
                            " WHERE registry_id = 'uremi' AND indicator_id = 'pd_start'").fetchone()
    assert published[0] > 0
    # its network dashboard comes from its contract (dashboards.spec.NETWORKS); in Swedish only:
    # the English title needs the registry's English name in spec.ENGLISH (issue 19, left open)
    shown = subprocess.run(
        [sys.executable, "-c", "from regbench.dashboards import spec; "
         "print(*[d.slug for d in spec.dashboards(('sv',))])"],
        env={**os.environ, "REGBENCH_HOME": str(home_dir)}, capture_output=True, text=True)
    assert shown.returncode == 0, shown.stderr
    assert "natverk-uremi" in shown.stdout.split()


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
