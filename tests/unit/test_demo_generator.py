"""Demo exports are written exactly as each contract says, deterministically, with their defects."""

import csv
import re
from collections import Counter

import pytest

from regbench.config import REPO_ROOT
from regbench.contracts import load_contracts
from regbench.demo.generator import generate
from regbench.personnummer import luhn_check_digit

CONTRACTS = load_contracts(REPO_ROOT / "registries")
UNITS = REPO_ROOT / "dbt_project" / "seeds" / "units.csv"


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return out, generate(out, CONTRACTS, UNITS, scale=0.1, months=14)


def test_every_entity_gets_files_named_by_its_pattern(small):
    out, report = small
    for contract in CONTRACTS.values():
        names = [p.name for p in (out / contract.inbox_folder).iterdir()]
        for entity in contract.entities:
            if entity.role == "optouts":  # delivered by registries, not part of the demo
                continue
            assert any(re.fullmatch(entity.file_pattern, n) for n in names), entity.name
        assert all(contract.classify(n) for n in names)


def test_files_use_the_contract_encoding_delimiter_and_header(small):
    out, _ = small
    for contract in CONTRACTS.values():
        for path in (out / contract.inbox_folder).iterdir():
            entity, _ = contract.classify(path.name)
            fmt = contract.format_of(entity)
            with path.open(encoding=fmt.encoding, newline="") as fh:
                header = next(csv.reader(fh, delimiter=fmt.delimiter))
            assert header == [c.name for c in entity.columns], path.name
    pall = next((out / "palliativ").glob("palliativ_dodsfall_*.csv")).read_bytes()
    assert "ö".encode("cp1252") in b"".join(p.read_bytes() for p in (out / "palliativ").glob("*dodsfall*"))
    with pytest.raises(UnicodeDecodeError):
        b"".join(p.read_bytes() for p in (out / "palliativ").glob("*dodsfall*")).decode("utf-8")
    assert pall.count(b"\r\n") >= 1
    assert next((out / "njur").glob("njur_start_*.csv")).read_bytes().startswith(b"\xef\xbb\xbf")


def test_decimal_comma_where_the_contract_says_so(small):
    out, _ = small
    text = "".join(p.read_text(encoding="utf-8-sig") for p in (out / "njur").glob("njur_start_*.csv"))
    assert re.search(r";\d+,\d;?", text)
    swedvasc = "".join(p.read_text() for p in (out / "swedvasc").glob("*operation*"))
    assert re.search(r",\d+\.\d$", swedvasc, re.M)


def test_every_personnummer_has_a_valid_check_digit(small):
    out, _ = small
    n = 0
    for path in (out / "blodcancer").glob("*diagnos*"):
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                digits = re.sub(r"\D", "", row["personnummer"])[-10:]
                assert luhn_check_digit(digits[:9]) == int(digits[9])
                n += 1
    assert n > 50


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    a = generate(tmp_path / "a", CONTRACTS, UNITS, scale=0.05, months=3)
    b = generate(tmp_path / "b", CONTRACTS, UNITS, scale=0.05, months=3)
    c = generate(tmp_path / "c", CONTRACTS, UNITS, scale=0.05, months=3, seed=7)
    for pa, pb in zip(sorted(a.files), sorted(b.files), strict=True):
        assert pa.read_bytes() == pb.read_bytes()
    assert any(pa.read_bytes() != pc.read_bytes()
               for pa, pc in zip(sorted(a.files), sorted(c.files), strict=True))


def test_the_collapsing_unit_collapses_in_the_last_three_months(tmp_path):
    report = generate(tmp_path, CONTRACTS, UNITS, scale=0.5, months=12)
    per_month = Counter()
    for path in sorted((tmp_path / "palliativ").glob("palliativ_dodsfall_*.csv")):
        with path.open(encoding="cp1252", newline="") as fh:
            month = path.stem.rsplit("_", 1)[1]
            per_month[month] = sum(r["enhetskod"] == report.collapsing_unit
                                   for r in csv.DictReader(fh, delimiter=";"))
    months = sorted(per_month)
    before = sum(per_month[m] for m in months[:-3]) / (len(months) - 3)
    after = sum(per_month[m] for m in months[-3:]) / 3
    assert before > 10 and after < 0.3 * before


def test_scale_grows_the_volume_linearly(tmp_path):
    one = generate(tmp_path / "1", CONTRACTS, UNITS, scale=0.2, months=6)
    two = generate(tmp_path / "2", CONTRACTS, UNITS, scale=0.4, months=6)
    ratio = sum(two.rows.values()) / sum(one.rows.values())
    assert 1.6 < ratio < 2.4


def test_defects_are_named_in_the_report(small):
    _, report = small
    assert len(report.outlier_units["palliativ"]) == 2
    assert report.outlier_units["njur"]
    assert report.collapsing_unit and report.low_coverage_unit
