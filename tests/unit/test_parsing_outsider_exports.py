"""Hand-written exports of an outside reviewer: blank lines before the rows, a title above the
header, a file without its header line (items 2 and 5 of the outside review)."""

import pytest
from test_parsing import HEADER, parse, pnr, row

from regbench.parsing import FileRejected

# --- 2. blank lines count as the rows an editor shows ---------------------------------------------

def test_blank_lines_count_in_row_numbers_as_an_editor_shows_them(tmp_path):
    rows = [row(pnr("19400101", serial=f"{100 + i}"),
                death="2024-13-45" if i == 5 else "2024-03-05") for i in range(30)]
    parsed = parse(tmp_path, "\n".join([HEADER, "", "", "", *rows]) + "\n")
    assert [(r.row_number, r.column, r.rule) for r in parsed.rejects] == [
        (10, "dodsdatum", "date_invalid")]
    assert list(parsed.frame.index) == list(range(5, 35))


def test_blank_lines_between_rows_keep_later_row_numbers_right(tmp_path):
    lines = [HEADER, row(pnr("19400101", serial="100")), "",
             row(pnr("19400101", serial="101"), death="x"), "", "",
             row(pnr("19400101", serial="102"), death="y")]
    parsed = parse(tmp_path, "\r\n".join(lines) + "\r\n")
    assert [r.row_number for r in parsed.rejects] == [4, 7]


# --- 5. a title above the header, a file without its header -------------------------------------

def test_a_title_line_above_the_header_is_skipped_with_a_note(tmp_path):
    lines = ["Export från Palliativregistret 2026-11-01", "", HEADER,
             row(pnr("19400101", serial="100")), row(pnr("19400101", serial="101"), death="x")]
    parsed = parse(tmp_path, "\n".join(lines) + "\n")
    assert list(parsed.frame.index) == [4, 5]
    assert [(r.row_number, r.rule) for r in parsed.rejects] == [(5, "date_invalid")]
    assert any("header" in n and "line 3" in n for n in parsed.notes)
def test_a_file_without_its_header_line_says_to_add_it(tmp_path):
    lines = [row(pnr("19400101", serial="100")), row(pnr("19400101", serial="101"))]
    with pytest.raises(FileRejected) as err:
        parse(tmp_path, "\n".join(lines) + "\n")
    assert err.value.rule == "header_missing"
    assert err.value.row == 1
    assert "looks like data" in err.value.message
    assert "header line" in err.value.action
    assert "19400101" not in err.value.message
