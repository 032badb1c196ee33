"""Excel workbooks: checked as an archive before they are opened, the contract's header looked for on
every sheet below title rows, every cell read as the text a CSV export would hold."""

import io
import zipfile
from datetime import datetime

import openpyxl
import pandas as pd
import pytest
from test_parsing import DODSFALL, HEADER, PALL, TODAY, UNITS, pnr

from regbench import xlsx_reading
from regbench.parsing import FileRejected, parse_file
from regbench.pseudonym import Pseudonymiser

NAME = "palliativ_dodsfall_2024-08.xlsx"
COLUMNS = HEADER.split(";")


def data_row(p: int | str, died=datetime(2024, 8, 1), comment=None) -> list:
    return [p, "SE2321000137-P107", died, datetime(2024, 8, 11), 1, 1, 2, 1, 1, 2, 0, comment]


def workbook(sheets: dict[str, list[list]]) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def load(tmp_path, data: bytes, name: str = NAME):
    path = tmp_path / name
    path.write_bytes(data)
    return parse_file(path, PALL, DODSFALL, pseudonymiser=Pseudonymiser(b"k" * 32),
                      known_units=UNITS, today=TODAY)


def test_a_plain_workbook_loads_with_numeric_personnummer_and_date_cells(tmp_path):
    rows = [COLUMNS, data_row(int(pnr("19400101"))),
            data_row(pnr("19400102"), died=datetime(2024, 8, 2, 14, 30), comment="lugnt")]
    parsed = load(tmp_path, workbook({"Blad1": rows}))
    assert not parsed.rejects and parsed.encoding == "xlsx"
    assert list(parsed.frame.index) == [2, 3]
    assert parsed.frame.loc[3, "dodsdatum"] == pd.Timestamp("2024-08-02")
    assert parsed.frame.loc[3, "kommentar"] == "lugnt"
    assert parsed.frame.loc[2, "birth_year"] == 1940


def test_title_rows_above_the_header_and_data_on_a_later_sheet_are_found(tmp_path):
    info = [["Svenska palliativregistret"], ["Uttag 2024-09-01"], [], ["Antal: 2"]]
    data = [["Dödsfallsenkät augusti 2024"], [], COLUMNS, data_row(int(pnr("19400101"))),
            [], data_row(int(pnr("19400102")))]
    parsed = load(tmp_path, workbook({"Information": info, "Data": data}))
    assert not parsed.rejects
    assert list(parsed.frame.index) == [4, 6]  # the rows as Excel numbers them


def test_no_sheet_with_the_contracts_header_is_rejected_naming_the_sheets(tmp_path):
    data = workbook({"Information": [["Svenska palliativregistret"]],
                     "Data": [["a", "b", "c"], [1, 2, 3]]})
    with pytest.raises(FileRejected) as err:
        load(tmp_path, data)
    assert err.value.rule == "header_not_found"
    assert "'Information'" in err.value.message and "'Data'" in err.value.message
    assert "20" in err.value.message


def test_a_sheet_missing_a_required_column_names_the_column_and_where_the_header_is(tmp_path):
    header = [c for c in COLUMNS if c != "enhetskod"]
    row = data_row(int(pnr("19400101")))
    del row[1]
    with pytest.raises(FileRejected) as err:
        load(tmp_path, workbook({"Data": [["Rubrik"], header, row]}))
    assert (err.value.rule, err.value.row, err.value.column) == (
        "required_column_missing", 2, "enhetskod")
    assert "'Data'" in err.value.message


def test_a_value_right_of_the_header_is_rejected_like_in_a_csv(tmp_path):
    rows = [COLUMNS, data_row(int(pnr("19400101"))), data_row(int(pnr("19400102"))) + ["x"]]
    with pytest.raises(FileRejected) as err:
        load(tmp_path, workbook({"Data": rows}))
    assert (err.value.rule, err.value.row) == ("extra_field", 3)


def test_a_workbook_unpacking_to_more_than_the_limit_is_refused_before_it_is_opened(tmp_path,
                                                                                    monkeypatch):
    rows = [COLUMNS] + [data_row(int(pnr("19400101", serial=f"{i:03d}"))) for i in range(300)]
    data = workbook({"Data": rows})
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        unpacked = sum(i.file_size for i in zf.infolist())
    monkeypatch.setattr(xlsx_reading, "MAX_XLSX_UNCOMPRESSED_BYTES", unpacked - 1)
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: pytest.fail("opened"))
    with pytest.raises(FileRejected) as err:
        load(tmp_path, data)
    assert err.value.rule == "xlsx_too_large"
    assert "MB" in err.value.message and err.value.action


@pytest.mark.parametrize(("data", "says"), [
    (b"personnummer;enhetskod\n", "not an Excel workbook"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "Excel 97-2003"),
    (b"PK\x03\x04" + b"\x00" * 100, "cannot be opened"),
])
def test_a_file_named_xlsx_that_is_no_workbook_is_named_so(tmp_path, data, says):
    with pytest.raises(FileRejected) as err:
        load(tmp_path, data)
    assert err.value.rule == "unreadable_xlsx"
    assert says in err.value.message
