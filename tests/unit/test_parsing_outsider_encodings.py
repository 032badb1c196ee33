"""Hand-written exports of an outside reviewer: DOS and Mac encodings on a Windows-1252 contract,
item 1 of the outside review."""

import pytest
from test_parsing import HEADER, TODAY, pnr, row

from regbench.parsing import FileRejected

SWEDISH = "smärta, ångest, övrigt"


def encoded(tmp_path, codec: str, comments: list[str]):
    lines = [HEADER] + [row(pnr("19400101", serial=f"{100 + i}"), extra=c)
                        for i, c in enumerate(comments)]
    path = tmp_path / "palliativ_dodsfall_2024-03.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(codec))
    from test_parsing import DODSFALL, PALL, UNITS

    from regbench.parsing import parse_file
    from regbench.pseudonym import Pseudonymiser
    return parse_file(path, PALL, DODSFALL, pseudonymiser=Pseudonymiser(b"k" * 32),
                      known_units=UNITS, today=TODAY)


# --- 1. a DOS (cp850) or Mac (MacRoman) export on a Windows-1252 contract ------------------------

@pytest.mark.parametrize(("codec", "label"), [("cp850", "DOS (cp850)"), ("mac_roman", "Mac OS Roman")])
def test_a_dos_or_mac_export_is_read_as_what_it_is_with_a_note(tmp_path, codec, label):
    parsed = encoded(tmp_path, codec, ["lugnt", SWEDISH, "Önskade dö hemma på Åre"])
    assert parsed.frame.loc[3, "kommentar"] == SWEDISH
    assert parsed.frame.loc[4, "kommentar"] == "Önskade dö hemma på Åre"
    assert parsed.encoding == codec
    assert any(label in n and "Windows-1252" in n for n in parsed.notes)


def test_an_export_no_single_encoding_makes_swedish_is_quarantined_naming_row_and_column(
        tmp_path):
    """cp850 bytes for ä next to MacRoman bytes for å: neither reading gives Swedish text."""
    lines = [HEADER, row(pnr("19400101", serial="100"), extra="lugnt"),
             row(pnr("19400101", serial="101"), extra="sm\x84rta, \x8cngest")]
    path = tmp_path / "palliativ_dodsfall_2024-03.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("latin-1"))
    from test_parsing import DODSFALL, PALL, UNITS

    from regbench.parsing import parse_file
    from regbench.pseudonym import Pseudonymiser
    with pytest.raises(FileRejected) as err:
        parse_file(path, PALL, DODSFALL, pseudonymiser=Pseudonymiser(b"k" * 32),
                   known_units=UNITS, today=TODAY)
    assert err.value.rule == "encoding_unclear"
    assert (err.value.row, err.value.column) == (3, "kommentar")
    assert "row 3" in err.value.message and "kommentar" in err.value.message
    assert "rta" not in err.value.message  # never the value
    assert "UTF-8" in err.value.action


def test_windows_1252_punctuation_and_names_are_not_taken_for_another_encoding(tmp_path):
    parsed = encoded(tmp_path, "cp1252", ["Ärende på Åre, ö°½ – “citat”", "Dušan’s dotter",
                                          "Œuvre, 50 € … klart"])
    assert parsed.encoding == "cp1252"
    assert parsed.frame.loc[3, "kommentar"] == "Dušan’s dotter"
    assert not parsed.notes
