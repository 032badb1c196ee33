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


# --- formulas saved without their values ---------------------------------------------------------
# A tool that does not compute formulas (openpyxl, some report generators) saves "=A1+1" with no
# cached value; read for values, such a cell is empty. It must never silently become missing.

EXCEL_ADVICE = "open and save the file in excel so the values are computed"


def test_cells_with_an_uncomputed_formula_reject_their_rows_naming_the_cell(tmp_path):
    plain = [data_row(int(pnr("19400101", serial=f"{100 + i}"))) for i in range(4)]
    plain[1][4] = "=1+0"                  # vantat_dodsfall, row 3: column E
    plain[2][2] = "=DATE(2024,8,1)"       # dodsdatum, row 4: column C
    plain[3][11] = '=CONCAT("lu","gnt")'  # kommentar (free text), row 5: column L
    parsed = load(tmp_path, workbook({"Blad1": [COLUMNS, *plain]}))
    assert {(r.row_number, r.column, r.rule) for r in parsed.rejects} == {
        (3, "vantat_dodsfall", "formula_not_computed"), (4, "dodsdatum", "formula_not_computed"),
        (5, "kommentar", "formula_not_computed")}
    assert parsed.rejected_rows == {3, 4, 5}
    note = " ".join(parsed.notes)
    assert "E3" in note and "3 cell(s)" in note and EXCEL_ADVICE in note.lower()


def test_a_row_of_nothing_but_uncomputed_formulas_is_rejected_not_dropped_as_blank(tmp_path):
    rows = [COLUMNS, data_row(int(pnr("19400101"))), [f"=A2&\"{i}\"" for i in range(12)],
            data_row(int(pnr("19400102")))]
    parsed = load(tmp_path, workbook({"Blad1": rows}))
    assert list(parsed.frame.index) == [2, 3, 4]
    assert parsed.rejected_rows == {3}
    assert {r.rule for r in parsed.rejects} == {"formula_not_computed"}


def test_a_workbook_whose_values_are_all_uncomputed_formulas_is_quarantined(tmp_path):
    rows = [COLUMNS] + [[f"=\"{v}\"" if v is not None else None for v in
                         [pnr("19400101", serial=f"{100 + i}"), "SE2321000137-P107", "2024-08-01",
                          "2024-08-11", 1, 1, 2, 1, 1, 2, 0, None]] for i in range(3)]
    with pytest.raises(FileRejected) as err:
        load(tmp_path, workbook({"Blad1": rows}))
    assert err.value.rule == "formulas_not_computed"
    assert (err.value.row, err.value.column) == (2, "personnummer")
    assert "A2" in err.value.message and NAME in err.value.message
    assert EXCEL_ADVICE in err.value.action.lower()


def test_formulas_that_excel_computed_load_their_values(tmp_path):
    rows = [COLUMNS, data_row(int(pnr("19400101"))), data_row(int(pnr("19400102")))]
    rows[2][4] = "=1+0"
    data = workbook({"Blad1": rows})
    # what Excel writes: the formula and its cached value
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for item in src.infolist():
            content = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                content = content.replace(b"<f>1+0</f><v />", b"<f>1+0</f><v>1</v>")
                content = content.replace(b"<f>1+0</f><v/>", b"<f>1+0</f><v>1</v>")
            out.writestr(item, content)
    parsed = load(tmp_path, buf.getvalue())
    assert not parsed.rejects
    assert parsed.frame.loc[3, "vantat_dodsfall"] == "1"
