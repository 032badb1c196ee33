"""A personnummer in a free-text column is blanked whatever its check digit or separators (a number
with one wrong digit still identifies the person): item 3 of the outside review."""

import pytest
from test_parsing import HEADER, parse, pnr, row

# --- 3. personnummer in free text, whatever its check digit or separators ------------------------

@pytest.mark.parametrize("written", [
    "Make 19470312-2391 informerad",     # wrong check digit (…2392 is valid)
    "Make 470312 - 2392 informerad",     # valid, spaces around the dash
    "Make 470312–2391 informerad",       # en dash, wrong check digit
    "Make 4703122391 informerad",        # no separator, wrong check digit
    "dotter 19470372 2391",              # samordningsnummer (day + 60), space
    "ring 470312 + 2392",
])
def test_a_personnummer_shape_in_free_text_is_blanked_whatever_its_check_digit(tmp_path, written):
    parsed = parse(tmp_path, "\n".join([HEADER, row(pnr("19400101"), extra=written),
                                        row(pnr("19400102"), extra="lugnt")]) + "\n")
    assert not parsed.rejects
    assert parsed.frame.loc[2, "kommentar"] is None
    assert parsed.frame.loc[3, "kommentar"] == "lugnt"
    assert "1 value(s) in column kommentar held a personnummer and were blanked" in parsed.notes


@pytest.mark.parametrize("written", ["2024-03-05 kl 14", "ring 070-123 45 67", "dos 2,5 mg x 3",
                                     "HSA SE2321000137-P107", "nr 123456-7890123", "202413451234"])
def test_dates_phone_numbers_and_long_numbers_in_free_text_are_kept(tmp_path, written):
    parsed = parse(tmp_path, "\n".join([HEADER, row(pnr("19400101"), extra=written)]) + "\n")
    assert parsed.frame.loc[2, "kommentar"] == written
    assert not parsed.notes
