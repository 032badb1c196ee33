"""Edge cases of Skatteverket SKV 704 (personnummer), one row each: input, today, expected.

`C` in an input stands for its correct Luhn check digit (computed, so rows stay readable).
Expected is the normalised 12 digits (with the kind) or the rule the number breaks.

Decisions the rows pin down (module docstring of regbench.personnummer):
- `+` is used from the start of the year the person turns 100, so `+` always means base - 100,
  also when YY is this year's and the birthday is later this year.
- `-` (or no separator) means base, except a birth date later this year, read as 100 years ago
  (lenient). A person who turned 100 earlier this year, written with `-` by mistake, cannot be
  told apart from a baby born this year: it is read as the baby.
- Birth years before today.year - 130 are implausible: rule pnr_date.
"""

from __future__ import annotations

import re
from datetime import date

import pandas as pd
import pytest

from regbench.personnummer import InvalidPersonnummer, PnrKind, luhn_check_digit, parse_pnr

P, S, R = PnrKind.PERSONNUMMER, PnrKind.SAMORDNINGSNUMMER, PnrKind.RESERVE
DEC1 = date(2026, 12, 1)  # a person born 1926 turns 100 this year
JUN1 = date(2026, 6, 1)
LEAP_DAY = date(2024, 2, 29)


def fill(text: str) -> str:
    """Replace the `C` with the check digit over the last nine digits before it (YYMMDDNNN)."""
    if "C" not in text:
        return text
    digits = re.sub(r"\D", "", text[: text.index("C")])
    return text.replace("C", str(luhn_check_digit(digits[-9:])))


ROWS = [
    # id, input, today, expected (normalised, kind) or rule
    # turning 100 this year, birthday still to come
    ("100-later-plus", "261215+238C", DEC1, ("192612152385", P)),
    ("100-later-minus-by-mistake", "261215-238C", DEC1, ("192612152385", P)),
    ("100-later-no-separator", "261215238C", DEC1, ("192612152385", P)),
    ("100-later-twelve-digits", "19261215-238C", DEC1, ("192612152385", P)),
    # turning 100 this year, birthday passed (or today)
    ("100-passed-plus", "260301+238C", DEC1, ("192603012382", P)),
    ("100-passed-minus-read-as-baby", "260301-238C", DEC1, ("202603012382", P)),
    ("100-today-plus", "261201+238C", DEC1, ("192612012381", P)),
    ("born-today-minus", "261201-238C", DEC1, ("202612012381", P)),
    # turns 100 only next year: `+` too early gives an implausible year
    ("99-minus", "271215-238C", DEC1, ("192712152384", P)),
    ("99-plus-too-early", "271215+238C", DEC1, "pnr_date"),
    # YY is this year's and the birthday later this year (issue 17): both separators -> 1926
    ("yy-this-year-later-minus-lenient", "261215-238C", JUN1, ("192612152385", P)),
    ("yy-this-year-later-plus", "261215+238C", JUN1, ("192612152385", P)),
    ("yy-this-year-passed-minus", "260301-238C", JUN1, ("202603012382", P)),
    # 29 February
    ("leap-2000", "20000229-238C", DEC1, ("200002292381", P)),
    ("leap-2000-ten-digits", "000229-238C", DEC1, ("200002292381", P)),
    ("no-leap-1900", "19000229-238C", DEC1, "pnr_date"),
    ("no-leap-1900-ten-digits-plus", "000229+238C", DEC1, "pnr_date"),
    ("leap-2024", "240229-238C", DEC1, ("202402292383", P)),
    ("no-leap-2023", "20230229238C", DEC1, "pnr_date"),
    # samordningsnummer: day + 60
    ("samordning", "19850472-238C", DEC1, ("198504722383", S)),
    ("samordning-29-feb-leap", "20240289238C", DEC1, ("202402892380", S)),
    ("samordning-29-feb-no-leap", "20230289238C", DEC1, "pnr_date"),
    ("samordning-30-feb", "20240290238C", DEC1, "pnr_date"),
    ("samordning-31-april", "19850491238C", DEC1, "pnr_date"),
    ("samordning-day-92", "19850192238C", DEC1, "pnr_date"),
    ("samordning-plus-later-this-year", "261275+238C", DEC1, ("192612752382", S)),
    # reserve numbers: letters in the last four, kept and flagged
    ("reserve-12", "19850412R123", DEC1, ("19850412R123", R)),
    ("reserve-12-separator", "19850412-T001", DEC1, ("19850412T001", R)),
    ("reserve-10", "850412-R123", DEC1, ("850412R123", R)),
    ("reserve-lower-case", "19850412r123", DEC1, ("19850412R123", R)),
    # wrong check digit (correct: 6)
    ("checksum-12", "19850412-2380", DEC1, "pnr_checksum"),
    ("checksum-10", "850412-2380", DEC1, "pnr_checksum"),
    # Excel-mangled
    ("excel", "1.99001E+11", DEC1, "pnr_excel_mangled"),
    ("excel-lower-e", "1.98504122386e+11", DEC1, "pnr_excel_mangled"),
    ("excel-lost-leading-zero", "10229-238C", DEC1, "pnr_format"),
    # spaces and non-breaking spaces
    ("spaces", " 19850412 238C ", DEC1, ("198504122386", P)),
    ("nbsp", "\u00a0850412-238C\u00a0", DEC1, ("198504122386", P)),
    ("narrow-nbsp-inside", "850412\u202f-\u202f238C", DEC1, ("198504122386", P)),
    ("tab", "\t19850412238C\t", DEC1, ("198504122386", P)),
    ("only-spaces", " \u00a0 ", DEC1, "pnr_missing"),
    # implausible birth years (century typos with a valid check digit)
    ("year-1826", "18261215238C", DEC1, "pnr_date"),
    ("year-1066", "10660101238C", DEC1, "pnr_date"),
    ("year-0001", "00010101238C", DEC1, "pnr_date"),
    ("year-0000", "00000101238C", DEC1, "pnr_date"),
    ("year-2999", "29991231238C", DEC1, "pnr_date"),
    ("year-1895-just-too-old", "18951231238C", DEC1, "pnr_date"),
    ("year-1896-oldest-plausible", "18960101238C", DEC1, ("189601012389", P)),
    ("plus-1896", "960101+238C", DEC1, ("189601012389", P)),
    ("plus-1890-implausible", "900101+238C", DEC1, "pnr_date"),
    ("future-this-year", "20261231238C", DEC1, "pnr_date"),
    ("leap-day-1896-oldest-plausible", "18960229238C", DEC1, ("189602292386", P)),
    ("born-today-on-a-leap-day", "240229-238C", LEAP_DAY, ("202402292383", P)),
    ("100-today-on-a-leap-day-plus", "240229+238C", LEAP_DAY, ("192402292383", P)),
]


@pytest.mark.parametrize(("text", "today", "expected"), [r[1:] for r in ROWS],
                         ids=[r[0] for r in ROWS])
def test_skv704_edge_cases(text, today, expected):
    text = fill(text)
    if isinstance(expected, str):
        with pytest.raises(InvalidPersonnummer) as err:
            parse_pnr(text, today=today)
        assert err.value.rule == expected
        digits = re.sub(r"\D", "", text)
        assert len(digits) < 6 or digits not in str(err.value)  # logs never hold the number
        return
    normalised, kind = expected
    p = parse_pnr(text, today=today)
    assert (p.normalised, p.kind) == (normalised, kind)
    if kind is not R:
        born = p.birth_date
        assert born <= today and born.year >= today.year - 130
        assert normalised[:4] == f"{born.year:04d}"
        assert (kind is S) == (int(normalised[6:8]) > 60)


def test_twelve_digit_rows_agree_with_the_column_wise_fast_path():
    from regbench.personnummer import valid_plain_twelve_digit

    for _, text, today, expected in ROWS:
        value = fill(text)
        if not (len(value) == 12 and value.isdigit()):
            continue
        fast = valid_plain_twelve_digit([value], today)
        if isinstance(expected, str):
            assert value not in fast, value
        else:
            assert fast[value] == parse_pnr(value, today=today), value


def test_implausible_years_reach_the_warehouse_as_rejects_not_crashes():
    """Birth dates go to datetime64[ns] (1677..2262); a century typo must be a pnr_date reject."""
    from regbench.parsing import _persons
    from regbench.pseudonym import Pseudonymiser

    values = [fill(t) for t in ("10660101238C", "00010101238C", "18261215238C", "99991231238C",
                                "16770101238C", "19850412238C", "900101+238C")]
    persons, bad, births = _persons(pd.Series(values, dtype=object), Pseudonymiser(b"k" * 32), DEC1)
    assert bad["pnr_date"].tolist() == [True, True, True, True, True, False, True]
    assert births.notna().tolist() == [False] * 5 + [True, False]
    assert persons["birth_year"].tolist()[5] == 1985
