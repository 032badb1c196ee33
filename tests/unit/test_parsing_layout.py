"""How a delimited file is laid out: header, delimiters, records and where the file ends."""

import pytest
from test_parsing import CONTRACTS, DODSFALL, HEADER, PALL, TODAY, UNITS, parse, pnr, row

from regbench.parsing import FileRejected, parse_file
from regbench.pseudonym import Pseudonymiser


def test_a_delimiter_after_every_data_row_but_not_after_the_header_loads_unshifted(tmp_path):
    lines = [HEADER] + [row(pnr("19400101", serial=f"{100 + i}"), extra="lugnt") + ";"
                        for i in range(3)]
    lines.append(row(pnr("19400102")))  # one row without it
    parsed = parse(tmp_path, "\r\n".join(lines) + "\r\n")
    assert not parsed.rejects
    assert parsed.rows_total == 4 and list(parsed.frame.index) == [2, 3, 4, 5]
    assert parsed.frame.loc[2, "enhetskod"] == "SE2321000137-P107"
    assert parsed.frame.loc[2, "kommentar"] == "lugnt"
    assert parsed.frame.loc[2, "person_id"] is not None
    assert parsed.extra_columns == []


def test_a_value_after_the_last_header_column_rejects_the_file_naming_the_row(tmp_path):
    lines = [HEADER, row(pnr("19400101")) + ";", row(pnr("19400102")) + ";",
             row(pnr("19400103"), extra="a") + ";b", row(pnr("19400104")) + ";"]
    with pytest.raises(FileRejected) as err:
        parse(tmp_path, "\n".join(lines) + "\n")
    assert err.value.rule == "extra_field"
    assert err.value.row == 4
    assert "row 4" in err.value.message and "13" in err.value.message
    assert ";b" not in err.value.message


def test_a_line_break_inside_the_quoted_last_value_without_a_final_newline_is_not_truncation(
        tmp_path):
    lines = [HEADER, row(pnr("19400101")), row(pnr("19400102"), extra='"rad ett\nrad; två"')]
    parsed = parse(tmp_path, "\n".join(lines))  # no line break after the last record
    assert not parsed.rejects
    assert parsed.frame.loc[3, "kommentar"] == "rad ett\nrad; två"


def test_a_line_break_inside_a_quoted_value_of_a_last_record_that_is_cut_off_is_truncation(tmp_path):
    cut = row(pnr("19400102")).replace(";2024-03-05;", ';"a\nb";', 1).split(";2024-04-01")[0]
    lines = [HEADER, row(pnr("19400101")), cut]
    with pytest.raises(FileRejected) as err:
        parse(tmp_path, "\n".join(lines))
    assert (err.value.rule, err.value.row, err.value.column) == ("truncated_file", 3, "dodsdatum")
    assert "3 of 12" in err.value.message


def test_a_file_cut_in_its_last_row_is_still_truncated(tmp_path):
    lines = [HEADER, row(pnr("19400101")), row(pnr("19400102"))[:40]]
    with pytest.raises(FileRejected) as err:
        parse(tmp_path, "\r\n".join(lines))
    assert (err.value.rule, err.value.row, err.value.column) == ("truncated_file", 3, "dodsdatum")


def test_a_trailing_delimiter_on_the_last_record_without_a_final_newline_is_complete(tmp_path):
    lines = [HEADER, row(pnr("19400101")) + ";", row(pnr("19400102"), extra='"a\r\nb"') + ";"]
    parsed = parse(tmp_path, "\r\n".join(lines))
    assert not parsed.rejects and parsed.frame.loc[3, "kommentar"] == "a\r\nb"


def _with_second_pnr_column(first: str, second: str, values: list[tuple[str, str]]) -> str:
    """The palliative header with `first` in the personnummer position and `second` appended."""
    header = HEADER.replace("personnummer", first, 1) + ";" + second
    return "\n".join([header] + [row(a) + ";" + b for a, b in values]) + "\n"


def test_the_exact_column_name_beats_an_alias_and_identical_copies_load_with_a_note(tmp_path):
    p1, p2 = pnr("19400101"), pnr("19400102")
    parsed = parse(tmp_path, _with_second_pnr_column("pnr", "personnummer",
                                                     [(p1, p1), (p2, " " + p2)]))
    assert not parsed.rejects and parsed.rows_total == 2
    assert parsed.extra_columns == ["pnr"]
    assert any("pnr" in n and "personnummer" in n for n in parsed.notes)


def test_column_names_differing_only_in_case_conflict_when_their_values_differ(tmp_path):
    p1, p2 = pnr("19400101"), pnr("19400102")
    text = "\n".join([HEADER.replace("kommentar", "Kommentar") + ";kommentar",
                      row(p1, extra="") + ";lugnt", row(p2, extra="") + ";"]) + "\n"
    with pytest.raises(FileRejected) as err:
        parse(tmp_path, text)
    assert err.value.rule == "conflicting_columns"
    assert err.value.row == 2 and err.value.column == "kommentar"
    assert "Kommentar" in err.value.message and "kommentar" in err.value.message
    assert "lugnt" not in err.value.message


def test_two_header_columns_for_one_field_with_different_values_reject_the_file(tmp_path):
    p1, p2, p3 = pnr("19400101"), pnr("19400102"), pnr("19400103")
    with pytest.raises(FileRejected) as err:
        parse(tmp_path, _with_second_pnr_column("personnummer", "PNR",
                                                [(p1, p1), (p2, p3), (p3, p2)]))
    assert (err.value.rule, err.value.row, err.value.column) == (
        "conflicting_columns", 3, "personnummer")
    assert "'personnummer'" in err.value.message and "'PNR'" in err.value.message
    assert "row 3" in err.value.message
    assert p2 not in err.value.message and p3 not in err.value.message


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"  \r\n\r\n\t ", b"\xef\xbb\xbf\r\n",
                                     b"\xff\xfe", b"\xff\xfe \x00\n\x00", b"\n"])
def test_a_file_with_nothing_but_whitespace_or_a_byte_order_mark_is_empty(tmp_path, content):
    path = tmp_path / "palliativ_dodsfall_2024-03.csv"
    path.write_bytes(content)
    with pytest.raises(FileRejected) as err:
        parse_file(path, PALL, DODSFALL, pseudonymiser=Pseudonymiser(b"k" * 32), known_units=UNITS,
                   today=TODAY)
    assert err.value.rule == "empty_file"
    assert "empty" in err.value.message and err.value.action


@pytest.mark.parametrize(("found", "label"), [(",", "comma"), ("\t", "tab"), ("|", "vertical bar")])
def test_a_file_with_another_delimiter_than_the_contract_says_is_named_so(tmp_path, found, label):
    text = "\r\n".join([HEADER.replace(";", found), row(pnr("19400101")).replace(";", found)]) + "\r\n"
    with pytest.raises(FileRejected) as err:
        parse(tmp_path, text)
    assert (err.value.rule, err.value.row) == ("wrong_delimiter", 1)
    assert label in err.value.message and "semicolon" in err.value.message


def test_a_tab_separated_contract_given_semicolons_names_both(tmp_path):
    blod = CONTRACTS["blodcancer"]
    header = ("personnummer;enhetskod;diagnosdatum;registreringsdatum;diagnos;valgrundad_misstanke;"
              "behandlingsstart;mdk;kontaktsjukskoterska;lpk")
    with pytest.raises(FileRejected) as err:
        parse(tmp_path, header + "\n", "utf-8", name="blodcancer_diagnos_2024-03.tsv", contract=blod,
              entity=blod.entity("diagnos"))
    assert err.value.rule == "wrong_delimiter"
    assert "semicolon" in err.value.message and "tab" in err.value.message


def test_a_one_column_optout_list_is_not_a_delimiter_problem(tmp_path):
    optout = PALL.entity("optout")
    parsed = parse(tmp_path, "personnummer\n" + pnr("19400101") + "\n", "utf-8",
                   name="palliativ_optout_2024-03-01.csv", entity=optout)
    assert parsed.rows_total == 1 and not parsed.rejects
