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
        else:  # only other forms take the slow path: every bare 12 digits parse_pnr accepts is here
            assert not (len(value) == 12 and value.isdigit()), value


@pytest.mark.parametrize("today", [date(2026, 11, 24), date(2024, 2, 29), date(2000, 1, 1)])
def test_column_wise_fast_path_agrees_with_parse_pnr_on_edge_years(today):
    """Years pandas cannot represent (before 1677 or after 2262) and the plausibility bound
    (today.year - 130) must neither crash the fast path nor make it disagree with parse_pnr."""
    from regbench.personnummer import earliest_plausible_birth_year, valid_plain_twelve_digit

    lo = earliest_plausible_birth_year(today)
    years = [0, 1, 1066, 1676, 1677, 1678, 1800, 1826, 1850, 1895, 1896, 1897, lo - 1, lo, lo + 1,
             1899, 1900, 1999, 2000, today.year - 1, today.year, today.year + 1, 2262, 2263, 2999,
             9999]
    mmdds = ["0101", "0229", "0289", "0230", "1231", "1291", f"{today.month:02d}{today.day:02d}",
             "1301", "0001", "0100"]
    values = [make(f"{y:04d}{md}", serial) for y in years for md in mmdds for serial in ("238", "241")]
    values += [v[:-1] + str((int(v[-1]) + 1) % 10) for v in values[::7]]  # wrong check digits
    fast = valid_plain_twelve_digit(values, today)
    accepted = 0
    for value in values:
        try:
            slow = parse_pnr(value, today=today)
        except InvalidPersonnummer as err:
            assert value not in fast, value
            if int(value[:4]) < lo or int(value[:4]) > today.year:
                assert err.rule == "pnr_date", value
            continue
        accepted += 1
        assert fast.get(value) == slow, value
        assert lo <= slow.birth_date.year <= today.year
    assert accepted > 50


def test_plus_before_this_years_birthday_is_the_year_the_person_turns_100():
    """Issue 17: `+` is written from the start of the year the person turns 100 (SKV 704), so a
    birthday later this year must not push the birth a second century back."""
    today = date(2026, 12, 1)
    full = make("19261215")
    p = parse_pnr(f"261215+{full[8:]}", today=today)
    assert p.birth_date == date(1926, 12, 15)
    assert p.normalised == full


@pytest.mark.parametrize(("yyyymmdd", "today"), [
    ("19261215", date(2026, 12, 1)),   # turns 100 later this year
    ("19260301", date(2026, 12, 1)),   # turned 100 earlier this year
    ("19261201", date(2026, 12, 1)),   # turns 100 today
    ("19200305", date(2026, 11, 24)),
    ("19040229", date(2004, 2, 29)),   # born on a leap day, turns 100 on one
    ("19261275", date(2026, 12, 1)),   # samordningsnummer, birthday later this year
])
def test_plus_ten_digits_and_twelve_digits_give_the_same_normalised_number(yyyymmdd, today):
    """Pseudonyms and opt-out lists match on Pnr.normalised: both forms must agree."""
    full = make(yyyymmdd)
    ten = parse_pnr(f"{full[2:8]}+{full[8:]}", today=today)
    twelve = parse_pnr(full, today=today)
    assert ten.normalised == twelve.normalised == full
    assert ten == twelve
