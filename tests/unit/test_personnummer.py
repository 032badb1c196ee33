"""Personnummer in every form DOMAIN.md lists: valid, tricky, broken and reserve."""

from datetime import date

import pytest

from regbench.personnummer import InvalidPersonnummer, PnrKind, luhn_check_digit, parse_pnr

TODAY = date(2026, 11, 24)


def make(yyyymmdd: str, serial: str = "238") -> str:
    return f"{yyyymmdd}{serial}{luhn_check_digit(yyyymmdd[2:] + serial)}"


def test_skatteverket_test_number():
    assert luhn_check_digit("121212121") == 2
    p = parse_pnr("19121212-1212", today=TODAY)
    assert p.normalised == "191212121212"
    assert p.birth_date == date(1912, 12, 12)


@pytest.mark.parametrize("form", [
    "{y4}{md}{n}", "{y4}{md}-{n}", "{y2}{md}-{n}", "{y2}{md}{n}", " {y2}{md}-{n}\u00a0",
])
def test_every_written_form_normalises_to_twelve_digits(form):
    full = make("19850412")
    text = form.format(y4="1985", y2="85", md="0412", n=full[8:])
    p = parse_pnr(text, today=TODAY)
    assert p.normalised == full
    assert p.kind is PnrKind.PERSONNUMMER
    assert p.birth_date == date(1985, 4, 12)


def test_plus_separator_means_a_hundred_years_older():
    full = make("19200305")
    assert parse_pnr(f"200305+{full[8:]}", today=TODAY).birth_date == date(1920, 3, 5)
    assert parse_pnr(f"200305-{full[8:]}", today=TODAY).birth_date == date(2020, 3, 5)


def test_ten_digits_without_separator_take_the_latest_century_not_in_the_future():
    full = make("19991231")
    assert parse_pnr(full[2:], today=TODAY).birth_date == date(1999, 12, 31)


def test_samordningsnummer_day_plus_sixty():
    full = make("19850472")  # born the 12th
    p = parse_pnr(full, today=TODAY)
    assert p.kind is PnrKind.SAMORDNINGSNUMMER
    assert p.birth_date == date(1985, 4, 12)
    assert p.normalised == full


def test_sex_from_the_ninth_digit():
    assert parse_pnr(make("19850412", "231"), today=TODAY).sex == "M"
    assert parse_pnr(make("19850412", "242"), today=TODAY).sex == "K"


@pytest.mark.parametrize(("text", "rule"), [
    ("19850412-2380", "pnr_checksum"),
    (make("19850230"), "pnr_date"),
    (make("20300101"), "pnr_date"),
    ("1.99001E+11", "pnr_excel_mangled"),
    ("1.98504122381E+11", "pnr_excel_mangled"),
    ("850412238", "pnr_format"),
    ("abc", "pnr_format"),
    ("", "pnr_missing"),
])
def test_invalid_numbers_are_refused_with_a_rule(text, rule):
    if rule == "pnr_checksum":
        good = make("19850412")
        text = good[:-1] + str((int(good[-1]) + 1) % 10)
    with pytest.raises(InvalidPersonnummer) as err:
        parse_pnr(text, today=TODAY)
    assert err.value.rule == rule
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) >= 6:
        assert digits not in str(err.value)


@pytest.mark.parametrize("text", ["19850412R123", "19850412-T001", "850412-R123"])
def test_reserve_numbers_are_kept_and_flagged(text):
    p = parse_pnr(text, today=TODAY)
    assert p.kind is PnrKind.RESERVE
    assert p.birth_date is None and p.sex is None


def test_column_wise_fast_path_accepts_exactly_what_parse_pnr_accepts_and_agrees():
    """The ingest parses bare 12-digit numbers column-wise; it must never accept a number
    parse_pnr refuses, nor parse one differently (kind, birth date, sex)."""
    import random

    from regbench.personnummer import valid_plain_twelve_digit

    today = date(2026, 11, 24)
    rng = random.Random(7)
    values = []
    for _ in range(20_000):
        year = rng.choice([rng.randint(1900, 2026), 2026, 2027, 1799, 2300, 0])
        month, day = rng.randint(0, 13), rng.randint(0, 92)
        nine = f"{year % 100:02d}{month:02d}{day:02d}{rng.randint(0, 999):03d}"
        check = luhn_check_digit(nine) if rng.random() < 0.8 else rng.randint(0, 9)
        values.append(f"{year:04d}{nine[2:]}{check}")
    values += ["19121212-1212", "121212-1212", "191212121212 ", "19121212121", "1912121212a2"]
    fast = valid_plain_twelve_digit(values, today)
    assert len(fast) > 1000  # the mix has plenty of valid numbers
    for value in values:
        try:
            slow = parse_pnr(value, today=today)
        except InvalidPersonnummer:
            assert value not in fast, value
            continue
        if value in fast:
            assert fast[value] == slow, value
        else:  # only other forms, or years far outside any registry, take the slow path
            assert not (len(value) == 12 and value.isdigit() and 1800 <= int(value[:4]) <= 2200), value
