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


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le",
                                   "utf-32-be"])
def test_utf16_and_utf32_with_a_byte_order_mark_are_decoded(tmp_path, codec):
    bom = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff", "utf-32-le": b"\xff\xfe\x00\x00",
           "utf-32-be": b"\x00\x00\xfe\xff"}.get(codec, b"")
    text = "\r\n".join([HEADER, row(pnr("19400101"), extra="Avled på Södersjukhuset"),
                        row(pnr("19400102"))]) + "\r\n"
    parsed = _write_and_parse(tmp_path, bom + text.encode(codec))
    assert parsed.encoding.startswith(codec[:6])
    assert parsed.frame.loc[2, "kommentar"] == "Avled på Södersjukhuset"
    assert not parsed.rejects and parsed.rows_total == 2


@pytest.mark.parametrize(("codec", "named"), [("utf-16-le", "UTF-16 little-endian"),
                                              ("utf-16-be", "UTF-16 big-endian")])
def test_utf16_without_a_byte_order_mark_is_rejected_naming_the_likely_encoding(tmp_path, codec,
                                                                                named):
    text = "\r\n".join([HEADER, row(pnr("19400101"), extra="Avled på Södersjukhuset")]) + "\r\n"
    with pytest.raises(FileRejected) as err:
        _write_and_parse(tmp_path, text.encode(codec))
    assert err.value.rule == "utf16_without_bom"
    assert named in err.value.message
    assert "\x00" not in err.value.message and "UTF-8" in err.value.action


def test_nul_bytes_in_a_text_file_are_rejected_naming_the_line(tmp_path):
    data = _lines(HEADER.encode(), row(pnr("19400101")).encode(),
                  row(pnr("19400102")).encode().replace(b";1;1;", b";1\x00\x00;1;"))
    with pytest.raises(FileRejected) as err:
        _write_and_parse(tmp_path, data)
    assert (err.value.rule, err.value.row) == ("nul_bytes", 3)
    assert "line 3" in err.value.message and "\x00" not in err.value.message
