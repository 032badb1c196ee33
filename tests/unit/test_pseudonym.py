"""Pseudonyms are keyed, stable across written forms, and the demo key stays in demo mode."""

from datetime import date

import pytest

from regbench.personnummer import luhn_check_digit, parse_pnr
from regbench.pseudonym import DEMO_KEY, Pseudonymiser, PseudonymKeyError, load_key

TODAY = date(2026, 11, 24)
FULL = "19850412238" + str(luhn_check_digit("850412238"))


def test_same_person_same_pseudonym_in_every_form():
    ps = Pseudonymiser(b"k" * 32)
    a = ps.pseudonym(parse_pnr(FULL, today=TODAY))
    b = ps.pseudonym(parse_pnr(f"{FULL[2:8]}-{FULL[8:]}", today=TODAY))
    assert a == b
    assert len(a) == 64 and int(a, 16) >= 0
    assert FULL not in a


def test_pseudonym_depends_on_the_key():
    p = parse_pnr(FULL, today=TODAY)
    assert Pseudonymiser(b"a" * 32).pseudonym(p) != Pseudonymiser(b"b" * 32).pseudonym(p)


def test_unkeyed_hash_is_not_what_we_store():
    import hashlib

    p = parse_pnr(FULL, today=TODAY)
    assert Pseudonymiser(b"k" * 32).pseudonym(p) != hashlib.sha256(FULL.encode()).hexdigest()


def test_reserve_numbers_never_collide_with_real_numbers():
    ps = Pseudonymiser(b"k" * 32)
    reserve = parse_pnr("19850412R123", today=TODAY)
    assert ps.pseudonym(reserve) != ps.pseudonym(parse_pnr(FULL, today=TODAY))


def test_demo_key_only_in_demo_mode():
    assert load_key(demo_mode=True, env={}) == DEMO_KEY.encode()
    with pytest.raises(PseudonymKeyError, match="REGBENCH_PSEUDONYM_KEY"):
        load_key(demo_mode=False, env={})
    with pytest.raises(PseudonymKeyError, match="demo mode"):
        load_key(demo_mode=False, env={"REGBENCH_PSEUDONYM_KEY": DEMO_KEY})


def test_real_key_must_be_long_enough():
    with pytest.raises(PseudonymKeyError, match="too short"):
        load_key(demo_mode=False, env={"REGBENCH_PSEUDONYM_KEY": "short"})
    key = "x" * 40
    assert load_key(demo_mode=False, env={"REGBENCH_PSEUDONYM_KEY": key}) == key.encode()
