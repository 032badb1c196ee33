from pathlib import Path

import pytest
import yaml

from regbench.config import REPO_ROOT
from regbench.contracts import ColumnType, ContractError, load_contract, load_contracts

REGISTRIES = REPO_ROOT / "registries"


def test_the_four_registries_of_the_domain_have_contracts():
    contracts = load_contracts(REGISTRIES)
    assert set(contracts) == {"palliativ", "njur", "swedvasc", "blodcancer"}


def test_contracts_differ_in_how_exports_are_written():
    c = load_contracts(REGISTRIES)
    formats = {(x.format.encoding, x.format.delimiter, x.format.decimal) for x in c.values()}
    assert len(formats) == 4
    assert c["palliativ"].format.encoding == "cp1252"
    assert c["blodcancer"].format.delimiter == "\t"


def test_every_registration_entity_names_its_personnummer_and_event_date():
    for contract in load_contracts(REGISTRIES).values():
        for entity in contract.entities:
            assert entity.pnr_column.type is ColumnType.PERSONNUMMER
            if entity.role == "optouts":
                continue
            assert entity.event_date_column
            assert entity.unit_column is not None


def test_file_names_are_classified_by_entity_and_period():
    c = load_contracts(REGISTRIES)["njur"]
    entity, period = c.classify("njur_start_2024-03.csv")
    assert (entity.name, period) == ("start", "2024-03")
    assert c.classify("njur_prevalens_2024.csv")[0].name == "prevalens"
    assert c.classify("something_else.csv") is None


def _write(tmp_path: Path, data: dict, name: str = "palliativ.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _valid() -> dict:
    return yaml.safe_load((REGISTRIES / "palliativ.yaml").read_text(encoding="utf-8"))


def test_broken_contract_names_the_file_and_the_field(tmp_path):
    data = _valid()
    data["entities"][0]["columns"][4]["type"] = "colour"
    path = _write(tmp_path, data)
    with pytest.raises(ContractError) as err:
        load_contract(path)
    msg = str(err.value)
    assert str(path) in msg
    assert "entities[dodsfall].columns[vantat_dodsfall].type" in msg


def test_code_column_without_codes_is_refused(tmp_path):
    data = _valid()
    del data["entities"][0]["columns"][5]["codes"]
    with pytest.raises(ContractError, match="brytpunktssamtal.*no codes|no codes"):
        load_contract(_write(tmp_path, data))


def test_unknown_field_is_refused_not_ignored(tmp_path):
    data = _valid()
    data["format"]["delimeter"] = ";"
    with pytest.raises(ContractError, match=r"field format\.delimeter"):
        load_contract(_write(tmp_path, data))


def test_file_pattern_must_say_which_period_it_covers(tmp_path):
    data = _valid()
    data["entities"][0]["file_pattern"] = r"palliativ_\d+\.csv"
    with pytest.raises(ContractError, match="period"):
        load_contract(_write(tmp_path, data))


def test_contract_file_name_must_match_registry_id(tmp_path):
    with pytest.raises(ContractError, match="registry_id"):
        load_contract(_write(tmp_path, _valid(), name="other.yaml"))


def test_invalid_yaml_names_the_file(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("registry_id: [unclosed", encoding="utf-8")
    with pytest.raises(ContractError, match="x.yaml: not valid YAML"):
        load_contract(path)


@pytest.mark.parametrize(("pattern", "names"), [
    (r"palliativ_dodsfall_(?P<period>\d{4}-\d{2})\.(?:csv|xlsx)",
     ["palliativ_dodsfall_YYYY-MM.csv", "palliativ_dodsfall_YYYY-MM.xlsx"]),
    (r"njur_optout_(?P<period>\d{4}-\d{2}-\d{2})\.csv", ["njur_optout_YYYY-MM-DD.csv"]),
    (r"swedvasc_referens_(?P<period>\d{4})\.csv", ["swedvasc_referens_YYYY.csv"]),
])
def test_file_patterns_read_as_file_names(pattern, names):
    from regbench.contracts import readable_file_names

    assert readable_file_names(pattern) == names
