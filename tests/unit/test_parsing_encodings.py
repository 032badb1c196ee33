"""What bytes a delivered file can hold: one encoding, the Unicode ones with a byte-order mark, and
the ones that cannot be loaded without guessing (mixed encodings, NUL bytes, UTF-16 without a BOM)."""

import pytest
from test_parsing import DODSFALL, HEADER, PALL, TODAY, UNITS, parse, pnr, row

from regbench.parsing import FileRejected, parse_file
from regbench.pseudonym import Pseudonymiser


def _lines(*lines: bytes) -> bytes:
    return b"\r\n".join(lines) + b"\r\n"


def _write_and_parse(tmp_path, data: bytes):
    path = tmp_path / "palliativ_dodsfall_2024-03.csv"
    path.write_bytes(data)
    return parse_file(path, PALL, DODSFALL, pseudonymiser=Pseudonymiser(b"k" * 32),
                      known_units=UNITS, today=TODAY)


def test_utf8_and_windows_1252_lines_in_one_file_are_rejected_naming_the_first_bad_line(tmp_path):
    data = _lines(
        HEADER.encode("ascii"),
        row(pnr("19400101"), extra="Avled på Södersjukhuset").encode("utf-8"),       # line 2
        row(pnr("19400102"), extra="Flyttad från Ängelholm").encode("cp1252"),      # line 3
        row(pnr("19400103"), extra="Önskade dö hemma").encode("cp1252"),            # line 4
    )
    with pytest.raises(FileRejected) as err:
        _write_and_parse(tmp_path, data)
    assert err.value.rule == "mixed_encoding"
    assert err.value.row == 3
    assert "line 3" in err.value.message and "palliativ_dodsfall_2024-03.csv" in err.value.message
    assert "Ängelholm" not in err.value.message and "ngelholm" not in err.value.message
    assert err.value.action


def test_windows_1252_first_then_utf8_names_the_first_line_that_is_not_utf8(tmp_path):
    data = _lines(
        HEADER.encode("ascii"),
        row(pnr("19400101")).encode("ascii"),
        row(pnr("19400102"), extra="Flyttad från Ängelholm").encode("cp1252"),      # line 3
        row(pnr("19400103"), extra="Avled på Södersjukhuset").encode("utf-8"),
    )
    with pytest.raises(FileRejected) as err:
        _write_and_parse(tmp_path, data)
    assert (err.value.rule, err.value.row) == ("mixed_encoding", 3)


def test_a_pure_windows_1252_file_still_loads(tmp_path):
    text = "\r\n".join([HEADER, row(pnr("19400101"), extra="Ärende på Åre, ö°½ – “citat”"),
                        row(pnr("19400102"), extra="Öland")]) + "\r\n"
    parsed = parse(tmp_path, text, "cp1252")
    assert parsed.encoding == "cp1252"
    assert parsed.frame.loc[2, "kommentar"] == "Ärende på Åre, ö°½ – “citat”"
    assert parsed.frame.loc[3, "kommentar"] == "Öland"
