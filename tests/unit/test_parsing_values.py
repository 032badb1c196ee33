"""How single values are read: numbers, dates, and personal numbers where they do not belong."""

import pandas as pd
import pytest
import yaml
from test_parsing import CONTRACTS, HEADER, TODAY, UNITS, parse, pnr, row

from regbench.config import REPO_ROOT
from regbench.contracts import Contract
from regbench.parsing import parse_file
from regbench.pseudonym import Pseudonymiser

NJUR = CONTRACTS["njur"]
NJUR_HEADER = ("personnummer;enhetskod;startdatum;registreringsdatum;forsta_modalitet;forsta_access;"
               "egfr_vid_start")


def njur(tmp_path, values: list[str]):
    lines = [NJUR_HEADER] + [
        f"{pnr('19600101', serial=f'{100 + i}')};SE2321000137-P107;20240305;20240310;HD;AVF;{v}"
        for i, v in enumerate(values)]
    return parse(tmp_path, "\n".join(lines) + "\n", "utf-8", name="njur_start_2024-03.csv",
                 contract=NJUR, entity=NJUR.entity("start"))


def with_integer_column() -> Contract:
    """The palliative contract with its comment column read as an integer."""
    data = yaml.safe_load((REPO_ROOT / "registries" / "palliativ.yaml").read_text(encoding="utf-8"))
    cols = data["entities"][0]["columns"]
    cols[-1] = {"name": "kommentar", "type": "integer"}
    return Contract.model_validate(data)


@pytest.mark.parametrize(("written", "expected"), [
    ("7,5", 7.5), ("7.5", 7.5), ("12", 12.0), ("-3,25", -3.25), (",5", 0.5),
    ("1 234,5", 1234.5), ("1\u202f234,5", 1234.5), ("1\u2009234,5", 1234.5),
    ("1\u00a0234,5", 1234.5), ("12 345 678,25", 12345678.25),
])
def test_decimals_with_a_decimal_comma_and_thousands_separators_are_read(tmp_path, written, expected):
    parsed = njur(tmp_path, [written])
    assert not parsed.rejects
    assert parsed.frame.loc[2, "egfr_vid_start"] == pytest.approx(expected)


@pytest.mark.parametrize("written", ["23,", "23.", "12 34", "1,2,3", "inf", "nan", "Infinity",
                                     "1_000", "0x10", "--5", "5-", "1 234 5", "12,5 mg", ",", "e5", "1e400"])
def test_a_number_cut_after_its_decimal_separator_or_of_another_shape_is_rejected(tmp_path, written):
    parsed = njur(tmp_path, ["7,5", written])
    assert {(r.row_number, r.column, r.rule) for r in parsed.rejects} == {
        (3, "egfr_vid_start", "decimal_invalid")}
    assert pd.isna(parsed.frame.loc[3, "egfr_vid_start"])


def test_integers_accept_thousands_separators_and_reject_cut_or_fractional_values(tmp_path):
    contract = with_integer_column()
    entity = contract.entity("dodsfall")
    written = ["12", "1 234", "12,0", "12,", "12,5", "1.5E3", "123456789012345678901234"]
    lines = [HEADER] + [row(pnr("19400101", serial=f"{100 + i}"), extra=v) for i, v in enumerate(written)]
    path = tmp_path / "palliativ_dodsfall_2024-03.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("cp1252"))
    parsed = parse_file(path, contract, entity, pseudonymiser=Pseudonymiser(b"k" * 32),
                        known_units=UNITS, today=TODAY)
    assert {(r.row_number, r.rule) for r in parsed.rejects} == {
        (5, "integer_invalid"), (6, "integer_invalid"), (7, "integer_invalid"), (8, "integer_invalid")}
    assert parsed.frame.loc[2:4, "kommentar"].tolist() == [12, 1234, 12]


@pytest.mark.parametrize("written", ["45356.5", "45356,25", "45356.999", "2024-03-05 14:30",
                                     "2024-03-05 14:30:59", "2024-03-05T14:30", "2024-03-05 14:30:59.120",
                                     "45356"])
def test_excel_serials_with_a_time_and_date_times_in_date_columns_give_the_day(tmp_path, written):
    parsed = parse(tmp_path, "\n".join([HEADER, row(pnr("19400101"), death=written)]) + "\n")
    assert not parsed.rejects
    assert parsed.frame.loc[2, "dodsdatum"] == pd.Timestamp("2024-03-05")


@pytest.mark.parametrize("written", ["45356.", "2024-03-05 25:00", "2024-03-05 14", "453565",
                                     "2024111", "2024035"])
def test_malformed_date_times_and_serials_are_rejected(tmp_path, written):
    parsed = parse(tmp_path, "\n".join([HEADER, row(pnr("19400101"), death=written)]) + "\n")
    assert {(r.column, r.rule) for r in parsed.rejects} == {("dodsdatum", "date_invalid")}


def test_a_personnummer_in_a_free_text_column_is_blanked_and_not_kept(tmp_path):
    someone = pnr("19501212", serial="457")
    comments = [f"Anhörig {someone} informerad", f"make {someone[2:8]}-{someone[8:]}",
                f"samordningsnr {pnr('19501272')}", "Besök 2024-01-15 kl 10:30, 20240115",
                "Telefon 08-123 456 78, journal 123456", "Avd 4, 1234567890123 internt"]
    lines = [HEADER] + [row(pnr("19400101", serial=f"{100 + i}"), extra=c)
                        for i, c in enumerate(comments)]
    parsed = parse(tmp_path, "\n".join(lines) + "\n")
    assert not parsed.rejects  # free text: the value is blanked, the row kept
    assert "3 value(s) in column kommentar held a personnummer and were blanked" in parsed.notes
    assert parsed.frame.loc[2:4, "kommentar"].isna().all()
    assert parsed.frame.loc[5, "kommentar"] == comments[3]
    assert someone not in parsed.frame.to_csv() and someone[2:8] not in parsed.frame.to_csv()


def test_a_personnummer_in_a_decimal_column_rejects_the_row(tmp_path):
    parsed = njur(tmp_path, ["7,5", pnr("19501212"), "20240115"])
    assert {(r.row_number, r.column, r.rule) for r in parsed.rejects} == {
        (3, "egfr_vid_start", "personnummer_in_column")}
    assert pd.isna(parsed.frame.loc[3, "egfr_vid_start"])
