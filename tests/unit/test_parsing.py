"""Parsing a delivered file per its contract: tolerant where unambiguous, strict where not."""

from datetime import date

import pandas as pd
import pytest

from regbench.config import REPO_ROOT
from regbench.contracts import load_contracts
from regbench.parsing import FileRejected, parse_file
from regbench.personnummer import luhn_check_digit
from regbench.pseudonym import Pseudonymiser

TODAY = date(2026, 11, 24)
CONTRACTS = load_contracts(REPO_ROOT / "registries")
PALL = CONTRACTS["palliativ"]
DODSFALL = PALL.entity("dodsfall")
UNITS = {"SE2321000137-P107", "SE2321000174-P114"}
HEADER = ("personnummer;enhetskod;dodsdatum;registreringsdatum;vantat_dodsfall;brytpunktssamtal;"
          "smartskattning;munhalsa;vid_behov_opioid;vid_behov_angest;trycksar_grad;kommentar")


def pnr(birth: str, serial: str = "123") -> str:
    """A valid 12-digit personnummer for YYYYMMDD and a 3-digit serial."""
    return f"{birth}{serial}{luhn_check_digit(birth[2:] + serial)}"


def row(p: str, unit: str = "SE2321000137-P107", death: str = "2024-03-05", extra: str = "") -> str:
    return f"{p};{unit};{death};2024-04-01;1;1;1;2;1;1;0;{extra}"


def parse(tmp_path, text: str, encoding: str = "cp1252", name="palliativ_dodsfall_2024-03.csv",
          contract=PALL, entity=DODSFALL):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return parse_file(path, contract, entity, pseudonymiser=Pseudonymiser(b"k" * 32),
                      known_units=UNITS, today=TODAY)


def test_windows_1252_file_with_swedish_letters_is_read(tmp_path):
    text = "\r\n".join([HEADER, row(pnr("19400101"), extra="Önskade dö hemma, på sjukhemmet")]) + "\r\n"
    parsed = parse(tmp_path, text, "cp1252")
    assert parsed.encoding == "cp1252"
    assert parsed.frame.loc[2, "kommentar"] == "Önskade dö hemma, på sjukhemmet"
    assert not parsed.rejects


def test_utf8_bom_does_not_hide_the_first_column(tmp_path):
    text = "\n".join([HEADER, row(pnr("19400101"))]) + "\n"
    parsed = parse(tmp_path, text, "utf-8-sig")
    assert parsed.encoding == "utf-8-sig"
    assert parsed.frame.loc[2, "person_id"] is not None
    assert "personnummer" not in parsed.frame.columns


def test_headers_in_other_case_order_and_by_alias_with_extra_columns(tmp_path):
    cols = HEADER.split(";")
    shuffled = ["ENHET", "PNR", "Extra_Kolumn"] + [c.upper() for c in cols[2:]]
    p = pnr("19400101")
    values = ["SE2321000137-P107", p, "x", "2024-03-05", "2024-04-01", "1", "1", "1", "2", "1", "1",
              "0", ""]
    parsed = parse(tmp_path, ";".join(shuffled) + "\n" + ";".join(values) + "\n")
    assert parsed.extra_columns == ["Extra_Kolumn"]
    assert parsed.frame.loc[2, "enhetskod"] == "SE2321000137-P107"
    assert not parsed.rejects


def test_missing_required_column_rejects_the_file_naming_it(tmp_path):
    header = HEADER.replace("enhetskod;", "")
    line = row(pnr("19400101")).replace("SE2321000137-P107;", "")
    with pytest.raises(FileRejected) as err:
        parse(tmp_path, header + "\n" + line + "\n")
    assert err.value.rule == "required_column_missing"
    assert err.value.column == "enhetskod"
    assert err.value.row == 1
    assert "enhetskod" in err.value.message


@pytest.mark.parametrize(
    ("content", "rule"),
    [(b"", "empty_file"), (HEADER.encode() + b"\n", "no_rows")],
)
def test_empty_and_header_only_files_are_rejected(tmp_path, content, rule):
    path = tmp_path / "palliativ_dodsfall_2024-03.csv"
    path.write_bytes(content)
    with pytest.raises(FileRejected) as err:
        parse_file(path, PALL, DODSFALL, pseudonymiser=Pseudonymiser(b"k" * 32),
                   known_units=UNITS, today=TODAY)
    assert err.value.rule == rule


def test_file_cut_off_inside_a_quoted_field_is_rejected(tmp_path):
    text = HEADER + "\n" + row(pnr("19400101"), extra='"Började skriva men') + "\n"
    with pytest.raises(FileRejected) as err:
        parse(tmp_path, text)
    assert err.value.rule == "malformed_csv"


def test_quoted_delimiters_quotes_and_line_breaks_survive(tmp_path):
    comment = '"Sa: ""nej; inte nu""\r\nny rad"'
    parsed = parse(tmp_path, HEADER + "\n" + row(pnr("19400101"), extra=comment) + "\n")
    assert parsed.frame.loc[2, "kommentar"] == 'Sa: "nej; inte nu"\r\nny rad'


def test_missing_value_markers_and_non_breaking_space_are_missing(tmp_path):
    lines = [HEADER]
    for marker in ["NULL", "NA", "-", "\u00a0", "Uppgift saknas"]:
        lines.append(row(pnr("19400101", serial=f"{len(lines):03d}"), extra=marker))
    parsed = parse(tmp_path, "\n".join(lines) + "\n")
    assert parsed.frame["kommentar"].isna().all()


def test_bad_rows_are_rejected_with_row_column_and_rule_never_the_value(tmp_path):
    good = pnr("19400101")
    bad_check = good[:-1] + str((int(good[-1]) + 1) % 10)
    lines = [
        HEADER,
        row(good),                                        # row 2
        row(bad_check),                                   # row 3: checksum
        row(pnr("19400102"), unit="SE9999999999-X1"),     # row 4: unknown unit
        row(pnr("19400103"), death="2024-02-30"),         # row 5: impossible date
        row(good),                                        # row 6: duplicate of row 2
    ]
    parsed = parse(tmp_path, "\n".join(lines) + "\n")
    got = {(r.row_number, r.column, r.rule) for r in parsed.rejects}
    assert got == {
        (3, "personnummer", "pnr_checksum"),
        (4, "enhetskod", "unit_unknown"),
        (5, "dodsdatum", "date_invalid"),
        (6, "personnummer", "duplicate_in_file"),
    }
    assert parsed.rejected_rows == {3, 4, 5, 6}
    assert list(parsed.accepted.index) == [2]
    assert all(bad_check not in repr(r) for r in parsed.rejects)


def test_dates_in_every_form_of_the_domain(tmp_path):
    lines = [HEADER]
    for i, d in enumerate(["2024-03-05", "20240305", "2024-03-05 00:00:00", "45356"]):
        lines.append(row(pnr("19400101", serial=f"{i + 100}"), death=d))
    parsed = parse(tmp_path, "\n".join(lines) + "\n")
    assert not parsed.rejects
    assert set(parsed.frame["dodsdatum"]) == {pd.Timestamp("2024-03-05")}


def test_decimal_comma_and_the_njur_contract(tmp_path):
    njur = CONTRACTS["njur"]
    header = ("personnummer;enhetskod;startdatum;registreringsdatum;forsta_modalitet;forsta_access;"
              "egfr_vid_start")
    line = f"{pnr('19600101')};SE2321000137-P107;20240305;20240310;HD;AVF;7,5"
    parsed = parse(tmp_path, header + "\n" + line + "\n", "utf-8-sig", name="njur_start_2024-03.csv",
                   contract=njur, entity=njur.entity("start"))
    assert parsed.frame.loc[2, "egfr_vid_start"] == pytest.approx(7.5)
    assert parsed.frame.loc[2, "startdatum"] == pd.Timestamp("2024-03-05")


def test_pseudonym_replaces_the_number_and_ten_and_twelve_digit_forms_agree(tmp_path):
    p12 = pnr("19400101")
    p10 = f"{p12[2:8]}-{p12[8:]}"
    parsed = parse(tmp_path, "\n".join([HEADER, row(p12), row(p10, death="2024-03-06")]) + "\n")
    ids = parsed.frame["person_id"].tolist()
    assert ids[0] == ids[1] and len(ids[0]) == 64
    assert p12 not in parsed.frame.to_csv()
    assert parsed.frame.loc[2, "sex"] in {"M", "K"}
    assert parsed.frame.loc[2, "birth_year"] == 1940
