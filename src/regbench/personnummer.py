"""Swedish personal identity numbers: personnummer, samordningsnummer and regional reserve numbers.

- 12 digits `YYYYMMDDNNNC` (optionally `YYYYMMDD-NNNC`) or 10 digits `YYMMDD-NNNC`; the separator is
  `+` from the start of the year the person turns 100 (Skatteverket SKV 704), and the century of a
  10-digit number follows from it. Let base be the latest year <= today's year ending in YY:
  - `-` or no separator: base; if that birth date is still to come this year (YY is this year's),
    base - 100 instead (lenient: a `-` written by mistake for someone turning 100 this year).
  - `+`: base - 100, whether or not the birthday has come yet this year.
  A 10-digit number cannot tell apart a baby born earlier this year from a person who turned 100
  earlier this year written with `-` by mistake: it is read as the baby.
- Plausible birth years: from today's year - 130 up to today (no one has lived 130 years). A date
  outside (a century typo such as 1826 or 1066 with a valid check digit) is refused with rule
  `pnr_date`: such dates must never reach the warehouse, where they may not even be representable.
- C is a Luhn check digit over the 10-digit form YYMMDDNNN.
- Samordningsnummer: day + 60.
- Reserve numbers (regional, not valid personnummer) are kept and flagged, never guessed.
- Excel-mangled numbers (`1.99001E+11`) have lost digits: refused, never repaired.

Error messages never contain the number: they end up in logs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import Enum


class PnrKind(str, Enum):
    PERSONNUMMER = "personnummer"
    SAMORDNINGSNUMMER = "samordningsnummer"
    RESERVE = "reserve"


class InvalidPersonnummer(ValueError):
    def __init__(self, rule: str, message: str):
        super().__init__(message)
        self.rule = rule


@dataclass(frozen=True)
class Pnr:
    normalised: str
    kind: PnrKind
    birth_date: date | None
    sex: str | None


_WS = re.compile(r"[\s\u00a0\u2007\u202f]+")
_TWELVE = re.compile(r"(\d{8})-?(\d{4})")
_TEN = re.compile(r"(\d{6})([-+]?)(\d{4})")
_EXCEL = re.compile(r"\d(\.\d+)?[eE]\+?\d+")
_RESERVE_12 = re.compile(r"(\d{8})-?([A-Z0-9]{4})")
_RESERVE_10 = re.compile(r"(\d{6})[-+]?([A-Z0-9]{4})")


# digit -> its Luhn contribution when doubled (2*d, minus 9 above 9)
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def luhn_check_digit(nine_digits: str) -> int:
    d = [ord(c) - 48 for c in nine_digits]
    total = sum(_DOUBLED[x] for x in d[0::2]) + sum(d[1::2])
    return (10 - total % 10) % 10


def _real_date(yyyymmdd: str) -> tuple[date | None, bool]:
    """(date, is_samordningsnummer); date None if it does not exist."""
    year, month, day = int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8])
    coordination = day > 60
    if coordination:
        day -= 60
    try:
        return date(year, month, day), coordination
    except ValueError:
        return None, coordination


def earliest_plausible_birth_year(today: date) -> int:
    return today.year - 130


def _birth_year(yymmdd: str, sep: str, today: date) -> int:
    """The four-digit birth year of a 10-digit number (rule in the module docstring)."""
    yy = int(yymmdd[:2])
    month, day = int(yymmdd[2:4]), int(yymmdd[4:6])
    if day > 60:
        day -= 60
    base = today.year - (today.year - yy) % 100
    if sep == "+":
        return base - 100
    # only this year's dates can lie in the future; compared without building a date, which
    # may not exist (it is then refused as pnr_date whatever the century)
    if base == today.year and (month, day) > (today.month, today.day):
        return base - 100
    return base


def parse_pnr(raw: str, *, today: date | None = None) -> Pnr:
    today = today or date.today()
    text = _WS.sub("", raw or "").upper()
    if not text:
        raise InvalidPersonnummer("pnr_missing", "personnummer is empty")
    if _EXCEL.fullmatch(text):
        raise InvalidPersonnummer(
            "pnr_excel_mangled",
            "personnummer was converted to a number by a spreadsheet (scientific notation); "
            "its digits are lost: export the column as text",
        )
    m12, m10 = _TWELVE.fullmatch(text), _TEN.fullmatch(text)
    if m12:
        digits = m12.group(1) + m12.group(2)
    elif m10:
        yymmdd, sep, rest = m10.groups()
        digits = f"{_birth_year(yymmdd, sep, today) // 100:02d}{yymmdd}{rest}"
    else:
        reserve = _reserve(text)
        if reserve is not None:
            return reserve
        raise InvalidPersonnummer(
            "pnr_format",
            "personnummer must have 10 or 12 digits (YYMMDD-NNNC or YYYYMMDDNNNC); "
            "leading zeros may have been lost in a spreadsheet",
        )
    born, coordination = _real_date(digits[:8])
    if born is None:
        raise InvalidPersonnummer("pnr_date", "personnummer holds a date that does not exist")
    if born > today:
        raise InvalidPersonnummer("pnr_date", "personnummer holds a birth date in the future")
    if born.year < earliest_plausible_birth_year(today):
        raise InvalidPersonnummer(
            "pnr_date", "personnummer holds an implausible birth year (more than 130 years ago); "
            "a century typo?")
    if luhn_check_digit(digits[2:11]) != int(digits[11]):
        raise InvalidPersonnummer("pnr_checksum", "personnummer has a wrong check digit")
    return Pnr(
        normalised=digits,
        kind=PnrKind.SAMORDNINGSNUMMER if coordination else PnrKind.PERSONNUMMER,
        birth_date=born,
        sex="M" if int(digits[10]) % 2 else "K",
    )


def _reserve(text: str) -> Pnr | None:
    """Regional reserve numbers: a birth date followed by four characters, at least one a letter."""
    m = _RESERVE_12.fullmatch(text)
    if m and _real_date(m.group(1))[0] is not None and re.search(r"[A-Z]", m.group(2)):
        return Pnr(m.group(1) + m.group(2), PnrKind.RESERVE, None, None)
    m = _RESERVE_10.fullmatch(text)
    if m and re.search(r"[A-Z]", m.group(2)):
        return Pnr(m.group(1) + m.group(2), PnrKind.RESERVE, None, None)
    return None


def valid_plain_twelve_digit(values: list[str], today: date) -> dict[str, Pnr]:
    """The values written as bare 12 digits that parse_pnr accepts, parsed column-wise.

    Most exports write personnummer this way; checking a million of them one by one in Python
    is the largest part of an ingest. Anything this does not accept (other forms, invalid
    numbers) is left for parse_pnr, which also names the rule a rejected number breaks.
    """
    import numpy as np
    import pandas as pd

    s = pd.Series(values, dtype=object)
    s = s[s.str.fullmatch(r"\d{12}", na=False)]
    if s.empty:
        return {}
    d = (np.frombuffer("".join(s).encode("ascii"), dtype=np.uint8).reshape(-1, 12) - 48).astype(
        np.int64)
    year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
    month = d[:, 4] * 10 + d[:, 5]
    day = d[:, 6] * 10 + d[:, 7]
    coordination = day > 60
    # the plausible years parse_pnr accepts; outside, parse_pnr refuses it (and pandas might not
    # represent the date at all, so it is never built)
    sane = (year >= earliest_plausible_birth_year(today)) & (year <= today.year)
    born = pd.to_datetime(
        pd.DataFrame({"year": np.where(sane, year, 2000), "month": month,
                      "day": np.where(coordination, day - 60, day)}),
        errors="coerce",
    )
    doubled = np.asarray(_DOUBLED)[d[:, [2, 4, 6, 8, 10]]].sum(axis=1)
    check = (10 - (doubled + d[:, [3, 5, 7, 9]].sum(axis=1)) % 10) % 10
    ok = (sane & born.notna().to_numpy() & (born <= pd.Timestamp(today)).to_numpy()
          & (check == d[:, 11]))
    out: dict[str, Pnr] = {}
    for value, is_ok, coord, b, sex_digit in zip(s.tolist(), ok, coordination, born, d[:, 10],
                                                 strict=True):
        if is_ok:
            out[value] = Pnr(value, PnrKind.SAMORDNINGSNUMMER if coord else PnrKind.PERSONNUMMER,
                             b.date(), "M" if sex_digit % 2 else "K")
    return out
