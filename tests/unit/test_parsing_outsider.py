"""Findings of an outside tester: hidden sheets, personnummer-shaped phone numbers, ambiguous
numbers, blank and repeated header rows, headerless opt-out lists, malformed-CSV row numbers."""

import io

import openpyxl
import pytest
from test_parsing import DODSFALL, PALL, TODAY, UNITS, pnr
from test_parsing_xlsx import COLUMNS, data_row

from regbench.parsing import FileRejected, parse_file
from regbench.pseudonym import Pseudonymiser

NAME = "palliativ_dodsfall_2024-08.xlsx"


def workbook(sheets: list[tuple[str, list[list], str]]) -> bytes:
    """(title, rows, state) per sheet; state 'visible', 'hidden' or 'veryHidden'."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows, state in sheets:
        ws = wb.create_sheet(title)
        ws.sheet_state = state
        for r in rows:
            ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def load(tmp_path, data: bytes, name: str = NAME, contract=PALL, entity=DODSFALL):
    path = tmp_path / name
    path.write_bytes(data)
    return parse_file(path, contract, entity, pseudonymiser=Pseudonymiser(b"k" * 32),
                      known_units=UNITS, today=TODAY)


# --- 1. hidden and ambiguous sheets -----------------------------------------------------------

def test_a_hidden_first_sheet_is_skipped_for_the_visible_export(tmp_path):
    test = [COLUMNS, data_row(int(pnr("19400101")))]
    export = [COLUMNS] + [data_row(int(pnr("19400102", serial=f"{100 + i}"))) for i in range(3)]
    parsed = load(tmp_path, workbook([("Test", test, "hidden"), ("Export", export, "visible")]))
    assert list(parsed.frame.index) == [2, 3, 4]
    assert not parsed.rejects


def test_the_only_matching_sheet_hidden_is_rejected_naming_it(tmp_path):
    data = workbook([("Info", [["Svenska palliativregistret"]], "visible"),
                     ("Gömd", [COLUMNS, data_row(int(pnr("19400101")))], "veryHidden")])
    with pytest.raises(FileRejected) as err:
        load(tmp_path, data)
    assert err.value.rule == "header_only_on_hidden_sheet"
    assert "'Gömd'" in err.value.message


def test_two_visible_sheets_with_the_contracts_header_are_rejected_naming_both(tmp_path):
    rows = [COLUMNS, data_row(int(pnr("19400101")))]
    with pytest.raises(FileRejected) as err:
        load(tmp_path, workbook([("Jan", rows, "visible"), ("Feb", rows, "visible")]))
    assert err.value.rule == "ambiguous_sheets"
    assert "'Jan'" in err.value.message and "'Feb'" in err.value.message


# --- 2. personnummer in free text ---------------------------------------------------------------

def csv_rows(tmp_path, comments: list[str]):
    from test_parsing import HEADER, parse, row
    lines = [HEADER] + [row(pnr("19400101", serial=f"{100 + i}"), extra=c)
                        for i, c in enumerate(comments)]
    return parse(tmp_path, "\n".join(lines) + "\n")


def test_a_phone_number_failing_the_luhn_check_is_not_a_personnummer(tmp_path):
    from regbench.personnummer import InvalidPersonnummer, parse_pnr
    with pytest.raises(InvalidPersonnummer):
        parse_pnr("0701234567", today=TODAY)
    parsed = csv_rows(tmp_path, ["Tel 0701234567", "ring 070-1234567"])
    assert not parsed.rejects
    # in free text, ten digits with a plausible date are blanked whatever their check digit (a
    # personnummer with one wrong digit still identifies the person); a number written as a phone
    # number is not so shaped and is kept
    assert parsed.frame.loc[2, "kommentar"] is None
    assert parsed.frame.loc[3, "kommentar"] == "ring 070-1234567"


def test_a_personnummer_in_free_text_is_blanked_and_the_row_kept_with_a_note(tmp_path):
    someone = pnr("19501212", serial="457")
    parsed = csv_rows(tmp_path, [f"Anhörig {someone} informerad", "lugnt",
                                 f"make {someone[2:8]}-{someone[8:]}"])
    assert not parsed.rejects and not parsed.rejected_rows
    assert parsed.frame.loc[[2, 4], "kommentar"].isna().all()
    assert parsed.frame.loc[3, "kommentar"] == "lugnt"
    assert someone[2:8] not in parsed.frame.to_csv()
    assert "2 value(s) in column kommentar held a personnummer and were blanked" in parsed.notes


# --- 3. ambiguous numbers with a decimal comma --------------------------------------------------

@pytest.mark.parametrize("written", ["1.000", "1.234", "-12.345", "999.500", "1e1", "0,5e1",
                                     "1,5E+1", "2E-3"])
def test_a_dot_before_three_digits_or_an_exponent_with_a_decimal_comma_is_rejected(tmp_path, written):
    from test_parsing_values import njur
    parsed = njur(tmp_path, ["7,5", written])
    assert {(r.row_number, r.column, r.rule) for r in parsed.rejects} == {
        (3, "egfr_vid_start", "decimal_invalid")}


@pytest.mark.parametrize(("written", "expected"), [
    ("1.5", 1.5), ("0.125", 0.125), ("1234.567", 1234.567), ("12.34", 12.34), ("1 000,5", 1000.5)])
def test_a_dot_that_can_only_be_a_decimal_point_is_still_read(tmp_path, written, expected):
    from test_parsing_values import njur
    parsed = njur(tmp_path, [written])
    assert not parsed.rejects
    assert parsed.frame.loc[2, "egfr_vid_start"] == pytest.approx(expected)


def test_numeric_excel_cells_are_not_ambiguous(tmp_path):
    from regbench.xlsx_reading import cell_text
    assert cell_text(1.234) == "1.234" and cell_text(0.00001) == "0.00001"


# --- 4. blank rows and a repeated header --------------------------------------------------------

def test_blank_rows_are_dropped_with_a_note_not_rejected(tmp_path):
    from test_parsing import HEADER, parse, row
    lines = [HEADER] + [row(pnr("19400101", serial=f"{100 + i}")) for i in range(3)] + [
        ";;;;;;;;;;;", " ; ;;;;;;;;;;"]
    parsed = parse(tmp_path, "\n".join(lines) + "\n")
    assert not parsed.rejects and list(parsed.frame.index) == [2, 3, 4]
    assert "2 blank row(s) (every field empty) were left out" in parsed.notes


def test_a_repeated_header_row_is_rejected_as_header_repeated(tmp_path):
    from test_parsing import HEADER, parse, row
    lines = [HEADER, row(pnr("19400101")), HEADER.upper(), row(pnr("19400102"))]
    parsed = parse(tmp_path, "\n".join(lines) + "\n")
    assert {(r.row_number, r.rule) for r in parsed.rejects} == {(3, "header_repeated")}
    assert parsed.rejected_rows == {3}


# --- 5. an unbalanced quote: the row a person counts ---------------------------------------------

def test_an_unbalanced_quote_names_the_row_as_other_reasons_count_it(tmp_path):
    """Header = row 1, as in every other reason (a spreadsheet's row numbers): a quote opened on the
    fourth line and never closed is row 4, in the reason's row and in its message."""
    from test_parsing import HEADER, parse, row
    lines = [HEADER] + [row(pnr("19400101", serial=f"{100 + i}"), extra='"oj' if i == 2 else "")
                        for i in range(5)]
    with pytest.raises(FileRejected) as err:
        parse(tmp_path, "\n".join(lines) + "\n")
    assert (err.value.rule, err.value.row) == ("malformed_csv", 4)
    assert "row 4" in err.value.message and "row 3" not in err.value.message
    assert "quote" in err.value.message and "quote" in err.value.action


def test_an_unbalanced_quote_after_a_value_with_a_line_break_names_row_and_line(tmp_path):
    """Rows count records (a quoted line break does not start a row); the message also names the
    line an editor shows, when the two differ."""
    from test_parsing import HEADER, parse, row
    lines = [HEADER, row(pnr("19400101", serial="100"), extra='"rad ett\nrad två"'),
             row(pnr("19400101", serial="101"), extra='"oj'),
             row(pnr("19400101", serial="102"))]
    with pytest.raises(FileRejected) as err:
        parse(tmp_path, "\n".join(lines) + "\n")
    assert err.value.row == 3
    assert "row 3" in err.value.message and "line 4" in err.value.message
