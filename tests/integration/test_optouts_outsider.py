"""Opt-out lists as an outside reviewer wrote them: a centenarian written with - instead of +, and
persons who match no registration on more than one list. On both warehouses."""

from __future__ import annotations

from datetime import date

import pytest
from test_ingest_robustness import (
    PERSONS,
    TODAY,
    _notices,
    drop,
    export,
    ledger,
    optout_list,
    pnr,
)

from regbench.config import get_settings
from regbench.ingest import ingest_registry
from regbench.warehouse import Warehouse


@pytest.fixture(params=["duckdb", "postgres"])
def settings(request, tmp_path, monkeypatch):
    monkeypatch.setenv("REGBENCH_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("REGBENCH_DEMO", "1")
    monkeypatch.setenv("REGBENCH_TODAY", TODAY)
    monkeypatch.setenv("REGBENCH_WAREHOUSE", request.param)
    for name in ("REGBENCH_INBOX", "REGBENCH_DUCKDB_PATH"):
        monkeypatch.delenv(name, raising=False)
    if request.param == "postgres":
        monkeypatch.setenv("REGBENCH_POSTGRES_DSN", request.getfixturevalue("fresh_database"))
    return get_settings()


CENTENARIAN = pnr(date(1925, 2, 22), 578)   # 19250222578C: 101 years old on 2026-11-24


def test_a_centenarian_written_with_a_dash_is_warned_about_not_guessed(settings):
    """250222-5788 reads as born 2025; the registered person is born 1925 (250222+5788). Consent
    data is not guessed: nobody is removed, and the list's notice names the row and says what to
    write, never the number."""
    drop(settings, "palliativ", "palliativ_dodsfall_2024-01.csv",
         export([(CENTENARIAN, date(2024, 1, 5)), *PERSONS[:3]]))
    ingest_registry(settings, "palliativ")
    with Warehouse(settings) as wh:
        before = wh.fetchone("SELECT count(*) FROM raw.palliativ__dodsfall")[0]
    drop(settings, "palliativ", "palliativ_optout_2026-11-22.csv",
         optout_list([f"{CENTENARIAN[2:8]}-{CENTENARIAN[8:]}"]))
    report = ingest_registry(settings, "palliativ")
    status, _, reason = ledger(settings)["palliativ_optout_2026-11-22.csv"]
    assert status == "loaded", reason
    with Warehouse(settings) as wh:
        assert wh.fetchone("SELECT count(*) FROM raw.palliativ__dodsfall")[0] == before
    assert report.optouts_unmatched == 1
    (notice,) = _notices(settings, "optout_unmatched")
    message = notice[3]
    assert notice[1] == "palliativ_optout_2026-11-22.csv"
    assert "row 2" in message.lower() and "born 1925" in message and "2025" in message
    assert "+" in message and "written with -" in message
    assert CENTENARIAN[2:8] not in message and CENTENARIAN[-4:] not in message
    assert "kept as opted out" not in message


def test_every_list_with_persons_who_match_nobody_gets_its_notice(settings):
    drop(settings, "palliativ", "palliativ_dodsfall_2024-01.csv", export(PERSONS[:4]))
    ingest_registry(settings, "palliativ")
    nobody = pnr(date(1952, 2, 28), 461)
    drop(settings, "palliativ", "palliativ_optout_2026-11-01.csv",
         optout_list([PERSONS[0][0], nobody]))
    ingest_registry(settings, "palliativ")
    # the same unmatched person again on the next list, and another one
    other = pnr(date(1953, 3, 3), 462)
    drop(settings, "palliativ", "palliativ_optout_2026-11-02.csv", optout_list([nobody, other]))
    report = ingest_registry(settings, "palliativ")
    # and two lists in one run, each with a person nobody registered
    drop(settings, "palliativ", "palliativ_optout_2026-11-03.csv",
         optout_list([pnr(date(1954, 4, 4), 463)]))
    drop(settings, "palliativ", "palliativ_optout_2026-11-04.csv",
         optout_list([PERSONS[1][0], pnr(date(1955, 5, 5), 464)]))
    third = ingest_registry(settings, "palliativ")
    names = {n[1]: n[3] for n in _notices(settings, "optout_unmatched")}
    assert set(names) == {f"palliativ_optout_2026-11-0{i}.csv" for i in (1, 2, 3, 4)}
    # a person already opted out by an earlier list is not counted again (whether they matched
    # then cannot be told: their rows, if any, are gone), but the list says so
    assert names["palliativ_optout_2026-11-02.csv"].startswith("1 of 2 person(s)")
    assert "1 person(s) on it were already opted out by an earlier list" in names[
        "palliativ_optout_2026-11-02.csv"]
    assert names["palliativ_optout_2026-11-04.csv"].startswith("1 of 2 person(s)")
    assert report.optouts_unmatched == 1 and third.optouts_unmatched == 2
    for message in names.values():
        assert "kept as opted out" not in message
