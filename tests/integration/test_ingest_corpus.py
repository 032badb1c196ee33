"""Every problem of DOMAIN.md's "What real exports look like" ends as a registry manager expects:
loaded with the right values, or waiting in quarantine with a reason naming the row and column.
Two nights, on both warehouses: the corpus; then a corrected file, an opt-out and a re-delivery."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest

from regbench.config import get_settings
from regbench.ingest import ingest_registry
from regbench.quarantine import QuarantineError, discard, release
from regbench.warehouse import Warehouse

CORPUS = Path(__file__).parents[1] / "corpus" / "files"
TODAY = "2026-11-24"
RAW_COLS = ("person_id", "pnr_kind", "enhetskod", "dodsdatum", "kommentar", "vantat_dodsfall",
            "smartskattning")


@dataclass
class Night:
    ledger: dict[str, tuple]            # original name -> (status, rows_loaded, rows_rejected, reason)
    rejects: set[tuple]                 # (original name, row, column, rule)
    raw: dict[tuple[str, int], dict]    # (original name, row) -> values
    reports: dict[str, dict]
    entries: list[tuple[str, str]]      # every ledger row: (original name, status)


def _night(settings) -> Night:
    reports = {r: ingest_registry(settings, r).as_dict() for r in ("palliativ", "njur", "blodcancer")}
    with Warehouse(settings) as wh:
        entries = wh.fetchall("SELECT original_name, status, rows_loaded, rows_rejected, reason"
                              " FROM ops.ledger ORDER BY received_at")
        ledger = {n: tuple(rest) for n, *rest in entries}  # a re-delivered name: its latest
        names = dict(wh.fetchall("SELECT file_id, original_name FROM ops.ledger"
                                 " WHERE status NOT IN ('duplicate')"))
        rejects = {(names[f], r, c, rule) for f, r, c, rule in wh.fetchall(
            "SELECT file_id, row_number, column_name, rule FROM ops.rejects")}
        raw = {}
        for row in wh.fetchall(f"SELECT _file_id, _row_number, {', '.join(RAW_COLS)}"
                               " FROM raw.palliativ__dodsfall"):
            raw[(names[row[0]], row[1])] = dict(zip(RAW_COLS, row[2:], strict=True))
    return Night(ledger, rejects, raw, reports, [(n, st) for n, st, *_ in entries])


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def nights(request, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    var = tmp_path_factory.mktemp(f"corpus-{request.param}")
    mp.setenv("REGBENCH_VAR", str(var))
    mp.setenv("REGBENCH_DEMO", "1")
    mp.setenv("REGBENCH_TODAY", TODAY)
    mp.setenv("REGBENCH_WAREHOUSE", request.param)
    for name in ("REGBENCH_INBOX", "REGBENCH_DUCKDB_PATH"):
        mp.delenv(name, raising=False)
    if request.param == "postgres":
        dsn_gen = request.getfixturevalue("fresh_database_module")
        mp.setenv("REGBENCH_POSTGRES_DSN", dsn_gen)
    settings = get_settings()
    for registry in ("palliativ", "njur", "blodcancer"):
        shutil.copytree(CORPUS / registry, settings.inbox / registry)
    first = _night(settings)
    # the second night: a corrected file, two opt-out lists, and the 2023-01 file delivered again
    shutil.copyfile(CORPUS / "corrections/palliativ/palliativ_dodsfall_2024-01.csv",
                    settings.inbox / "palliativ/palliativ_dodsfall_2024-01.csv")
    shutil.copytree(CORPUS / "optouts/palliativ", settings.inbox / "palliativ", dirs_exist_ok=True)
    second = _night(settings)
    yield settings, first, second
    mp.undo()


@pytest.fixture(scope="module")
def fresh_database_module(postgres_server):
    import uuid

    import psycopg

    name = f"regbench_corpus_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres_server, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(postgres_server, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def status(night: Night, name: str) -> str:
    return night.ledger[name][0]


def rules_of(night: Night, name: str) -> set[tuple]:
    return {(row, col, rule) for n, row, col, rule in night.rejects if n == name}


def test_nothing_is_lost_every_delivered_file_is_accounted_for(nights):
    settings, first, second = nights
    delivered = {p.name for p in settings.inbox.rglob("*") if p.is_file()}
    assert set(second.ledger) == delivered
    assert {s for s, *_ in second.ledger.values()} <= {"loaded", "duplicate", "superseded",
                                                      "quarantined"}
    for name, (st, *_rest) in second.ledger.items():
        if st == "quarantined":
            folders = list(settings.quarantine.glob(f"*/*/{name}"))
            assert len(folders) == 1, name
            assert (folders[0].parent / "reason.json").exists()
            assert (folders[0].parent / "README.txt").exists()


def test_latin1_and_utf8_text_both_arrive_intact(nights):
    _, first, _ = nights
    assert first.raw[("palliativ_dodsfall_2023-01.csv", 2)]["kommentar"] == "Avled på Södersjukhuset, lugnt"
    assert first.raw[("palliativ_dodsfall_2023-02.csv", 2)]["kommentar"] == "Flyttad från Ängelholms sjukhus"


def test_byte_order_mark_is_not_part_of_the_first_header(nights):
    _, first, _ = nights
    assert first.ledger["palliativ_dodsfall_2023-03.csv"][:3] == ("loaded", 40, 0)


def test_decimal_commas_and_tab_separated_exports_load(nights):
    settings, first, _ = nights
    njur = next(n for n in first.ledger if n.startswith("njur_start_"))
    blod = next(n for n in first.ledger if n.startswith("blodcancer_diagnos_"))
    assert status(first, njur) == "loaded" and status(first, blod) == "loaded"
    source = (CORPUS / "njur" / njur).read_text(encoding="utf-8-sig").splitlines()
    header = source[0].split(";")
    expected = {i + 2: float(f.split(";")[header.index("egfr_vid_start")].replace(",", "."))
                for i, f in enumerate(source[1:]) if f.split(";")[header.index("egfr_vid_start")]}
    with Warehouse(settings) as wh:
        got = dict(wh.fetchall("SELECT _row_number, egfr_vid_start FROM raw.njur__start"
                               " WHERE egfr_vid_start IS NOT NULL"))
    assert got == pytest.approx(expected)
    assert first.ledger[blod][1] == len((CORPUS / "blodcancer" / blod).read_text().splitlines()) - 1


def test_four_date_forms_give_the_same_day(nights):
    _, first, _ = nights
    days = {first.raw[("palliativ_dodsfall_2023-04.csv", r)]["dodsdatum"] for r in range(2, 6)}
    assert {d.date() if isinstance(d, datetime) else d for d in days} == {date(2023, 4, 5)}


def test_personnummer_forms_are_read_and_bad_ones_rejected_by_row_and_rule(nights):
    _, first, _ = nights
    name = "palliativ_dodsfall_2023-05.csv"
    kinds = [first.raw[(name, r)]["pnr_kind"] for r in range(2, 8)]
    assert kinds == ["personnummer"] * 4 + ["samordningsnummer", "reserve"]
    assert rules_of(first, name) == {(8, "personnummer", "pnr_checksum"),
                                     (9, "personnummer", "pnr_excel_mangled"),
                                     (10, "personnummer", "pnr_format")}
    assert first.ledger[name][:3] == ("loaded", 106, 3)


def test_renamed_reordered_headers_load_and_extra_columns_are_reported(nights):
    _, first, _ = nights
    st, loaded, rejected, reason = first.ledger["palliativ_dodsfall_2023-06.csv"]
    assert (st, loaded, rejected) == ("loaded", 40, 0)
    assert "extra columns ignored: Avdelning" in reason


@pytest.mark.parametrize("name,rule,row,column", [
    ("palliativ_dodsfall_2023-07.csv", "required_column_missing", 1, "enhetskod"),
    ("palliativ_dodsfall_2023-08.csv", "empty_file", None, None),
    ("palliativ_dodsfall_2023-09.csv", "no_rows", 2, None),
    ("palliativ_dodsfall_2023-10.csv", "truncated_file", 31, "registreringsdatum"),
    ("palliativ_dodsfall_2024-09.csv", "too_many_rejected_rows", 2, "enhetskod"),
    ("palliativ_export_final_v2.csv", "unknown_file_name", None, None),
    # odd exports (build_corpus.odd_exports)
    ("palliativ_dodsfall_2025-03.xlsx", "formulas_not_computed", 2, "personnummer"),
    ("palliativ_dodsfall_2025-04.csv", "compressed_file", None, None),
    # outside review (build_corpus.outside_review_exports)
    ("palliativ_dodsfall_2025-10.csv", "header_missing", 1, None),
])
def test_broken_files_wait_in_quarantine_with_rule_row_and_column(nights, name, rule, row, column):
    settings, first, _ = nights
    assert status(first, name) == "quarantined"
    (reason_file,) = settings.quarantine.glob(f"palliativ/*/{name}")
    reason = json.loads((reason_file.parent / "reason.json").read_text(encoding="utf-8"))
    assert (reason["rule"], reason["row"], reason["column"]) == (rule, row, column)
    readme = (reason_file.parent / "README.txt").read_text(encoding="utf-8")
    assert name in readme and "regbench quarantine release" in readme
    assert reason["action"]


def test_same_bytes_twice_load_once_and_a_correction_replaces_the_period(nights):
    _, first, second = nights
    assert status(first, "palliativ_dodsfall_2023-11.csv") == "loaded"
    st, _, _, reason = first.ledger["palliativ_dodsfall_2023-12.csv"]
    assert st == "duplicate" and "palliativ_dodsfall_2023-11.csv" in reason
    assert not any(n == "palliativ_dodsfall_2023-12.csv" for n, _ in first.raw)
    # the original of 2024-01 (30 rows) is superseded by the correction (29 rows, one answer changed)
    old = [k for k in first.raw if k[0] == "palliativ_dodsfall_2024-01.csv"]
    new = [k for k in second.raw if k[0] == "palliativ_dodsfall_2024-01.csv"]
    assert (len(old), len(new)) == (30, 29)
    assert first.raw[("palliativ_dodsfall_2024-01.csv", 2)]["smartskattning"] == "2"
    assert second.raw[("palliativ_dodsfall_2024-01.csv", 2)]["smartskattning"] == "1"
    assert [st for n, st in second.entries if n == "palliativ_dodsfall_2024-01.csv"] == [
        "superseded", "loaded"]


def test_unknown_unit_and_impossible_dates_are_rejected_row_by_row(nights):
    _, first, _ = nights
    assert rules_of(first, "palliativ_dodsfall_2024-02.csv") == {(2, "enhetskod", "unit_unknown")}
    assert rules_of(first, "palliativ_dodsfall_2024-03.csv") == {
        (2, "dodsdatum", "date_in_future"), (2, "registreringsdatum", "date_in_future"),
        (3, "dodsdatum", "date_before_birth"), (3, "registreringsdatum", "date_before_birth"),
        (4, "registreringsdatum", "date_order")}


def test_quoted_free_text_with_delimiters_and_line_breaks_survives(nights):
    _, first, _ = nights
    got = [first.raw[("palliativ_dodsfall_2024-04.csv", r)]["kommentar"] for r in (2, 3, 4)]
    assert got == ['Sa: "vill hem"; familjen informerad', "rad ett\nrad två", "a;b;c\r\nslut"]
    assert first.ledger["palliativ_dodsfall_2024-04.csv"][:3] == ("loaded", 43, 0)


def test_missing_value_markers_become_missing_and_unknown_codes_stay(nights):
    _, first, _ = nights
    rows = [first.raw[("palliativ_dodsfall_2024-05.csv", r)] for r in range(2, 8)]
    assert [r["kommentar"] for r in rows] == [None] * 6
    assert rows[0]["vantat_dodsfall"] == "9"


def test_formula_text_is_stored_as_text(nights):
    _, first, _ = nights
    got = [first.raw[("palliativ_dodsfall_2024-06.csv", r)]["kommentar"] for r in range(2, 6)]
    assert got == ['=HYPERLINK("http://example.invalid","klicka")', "+46 8 123 45", "-2+3", "@SUM(A1:A9)"]


def test_duplicates_within_and_across_files_are_rejected(nights):
    _, first, _ = nights
    assert rules_of(first, "palliativ_dodsfall_2024-07.csv") == {
        (3, "personnummer", "duplicate_in_file"), (4, "personnummer", "duplicate_across_files")}
    assert first.ledger["palliativ_dodsfall_2024-07.csv"][:3] == ("loaded", 101, 2)


def test_excel_workbook_loads_with_dates_and_numeric_personnummer(nights):
    _, first, _ = nights
    name = "palliativ_dodsfall_2024-08.xlsx"
    assert first.ledger[name][:3] == ("loaded", 20, 0)
    died = first.raw[(name, 2)]["dodsdatum"]
    assert (died.date() if isinstance(died, datetime) else died) == date(2024, 8, 1)


def test_opt_out_removes_the_persons_and_logs_counts_only(nights):
    """Two lists: one with its header line, one without (its first line is a person too)."""
    settings, first, second = nights
    gone = {first.raw[(name, r)]["person_id"] for r in (3, 4)
            for name in ("palliativ_dodsfall_2023-01.csv", "palliativ_dodsfall_2023-02.csv")}
    assert len(gone) == 4 and gone <= {v["person_id"] for v in first.raw.values()}
    assert not gone & {v["person_id"] for v in second.raw.values()}
    assert len(second.raw) == len(first.raw) - 4 - 1  # four opted out, one withdrawn by correction
    assert second.ledger["palliativ_optout_2024-11-02.csv"][:3] == ("loaded", 3, 0)
    assert "no header line" in second.ledger["palliativ_optout_2024-11-02.csv"][3]
    with Warehouse(settings) as wh:
        log = wh.fetchall("SELECT table_name, rows_removed FROM ops.optout_log")
        cols = [c for (c,) in wh.fetchall(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'optout_log'")]
        notices = wh.fetchall("SELECT name, message FROM ops.inbox_notices"
                              " WHERE kind = 'optout_unmatched'")
    assert log == [("raw.palliativ__dodsfall", 2)] * 2
    assert "person_id" not in cols
    # the third person on the headerless list was never registered: counted, never named
    assert sorted((n, m.split(" person(s)")[0]) for n, m in notices) == [
        ("palliativ_optout_2024-11-02.csv", "1 of 3"), ("palliativ_optout_2024-11-03.csv", "1 of 1")]
    # the centenarian written with - (read as born 2025): not removed by guess, the row named
    (century,) = [m for n, m in notices if n == "palliativ_optout_2024-11-03.csv"]
    assert "Row 2 is written with - (a person born 2025)" in century and "born 1925" in century
    assert first.raw[("palliativ_dodsfall_2025-06.csv", 3)]["person_id"] in {
        r["person_id"] for r in second.raw.values()}
    assert second.reports["palliativ"]["optouts_unmatched"] == 2


# --- odd exports the robustness tests generate, kept as files (build_corpus.odd_exports) -------

def test_a_utf16_export_with_its_byte_order_mark_arrives_intact(nights):
    _, first, _ = nights
    assert first.ledger["palliativ_dodsfall_2025-01.csv"][:3] == ("loaded", 31, 0)
    assert first.raw[("palliativ_dodsfall_2025-01.csv", 2)]["kommentar"] == "Önskade dö hemma, på Åsa"


def test_uncomputed_excel_formulas_reject_their_row_naming_the_cell(nights):
    _, first, _ = nights
    name = "palliativ_dodsfall_2025-02.xlsx"
    assert rules_of(first, name) == {(6, "vantat_dodsfall", "formula_not_computed"),
                                     (6, "smartskattning", "formula_not_computed")}
    st, loaded, rejected, reason = first.ledger[name]
    assert (st, loaded, rejected) == ("loaded", 29, 1)
    assert "first E6" in reason and "open and save the file in Excel" in reason


def test_a_personnummer_in_free_text_is_blanked_and_kept_nowhere(nights):
    settings, first, _ = nights
    name = "palliativ_dodsfall_2025-05.csv"
    st, loaded, rejected, reason = first.ledger[name]
    assert (st, loaded, rejected) == ("loaded", 32, 0)
    assert "2 value(s) in column kommentar held a personnummer and were blanked" in reason
    assert [first.raw[(name, r)]["kommentar"] for r in (2, 3)] == [None, None]
    with Warehouse(settings) as wh:
        kept = str(wh.fetchall("SELECT * FROM raw.palliativ__dodsfall")) + str(
            [wh.fetchall(f"SELECT * FROM ops.{t}") for t in ("ledger", "rejects", "inbox_notices")])
    assert "610606" not in kept and "121212" not in kept


def test_quarantine_release_and_discard(nights):
    settings, _, second = nights
    ids = {}
    with Warehouse(settings) as wh:
        ids = dict(wh.fetchall("SELECT original_name, file_id FROM ops.ledger"))
        now = datetime(2026, 11, 25, 3, 0)
        # a loaded file is not in quarantine
        with pytest.raises(QuarantineError, match="no quarantined file"):
            release(settings, wh, ids["palliativ_dodsfall_2023-03.csv"][:12], accept=False, note="",
                    now=now)
        release(settings, wh, ids["palliativ_dodsfall_2024-09.csv"][:12], accept=True,
                note="units merged, confirmed with the registry", now=now)
        release(settings, wh, ids["palliativ_dodsfall_2023-07.csv"], accept=False, note="", now=now)
        with pytest.raises(QuarantineError, match="--note"):
            discard(settings, wh, ids["palliativ_dodsfall_2023-08.csv"], note=" ", now=now)
        discard(settings, wh, ids["palliativ_dodsfall_2023-08.csv"], note="empty, resent", now=now)
    third = _night(settings)
    # accepted: loaded with its five bad rows rejected one by one
    assert third.ledger["palliativ_dodsfall_2024-09.csv"][:3] == ("loaded", 15, 5)
    assert "--accept" in third.ledger["palliativ_dodsfall_2024-09.csv"][3]
    # retried without a fix: back in quarantine, with the same reason
    assert status(third, "palliativ_dodsfall_2023-07.csv") == "quarantined"
    st, _, _, reason = third.ledger["palliativ_dodsfall_2023-08.csv"]
    assert st == "discarded" and "empty, resent" in reason
    assert not list(settings.quarantine.glob(f"palliativ/{ids['palliativ_dodsfall_2023-08.csv']}"))
    assert list(settings.quarantine.glob(f"palliativ/{ids['palliativ_dodsfall_2023-07.csv']}"))
    assert third.reports["palliativ"]["files_new"] == 2


# --- the outside review's hand-written exports (build_corpus.outside_review_exports) -----------

def test_a_dos_export_on_a_windows_1252_contract_is_read_as_dos_with_a_note(nights):
    _, first, _ = nights
    name = "palliativ_dodsfall_2025-06.csv"
    st, loaded, rejected, reason = first.ledger[name]
    assert (st, loaded, rejected) == ("loaded", 22, 0)
    assert "DOS (cp850)" in reason
    assert first.raw[(name, 2)]["kommentar"] == "smärta, ångest, övrigt"


def test_blank_lines_count_in_row_numbers(nights):
    _, first, _ = nights
    assert rules_of(first, "palliativ_dodsfall_2025-07.csv") == {(10, "dodsdatum", "date_invalid")}


def test_a_personnummer_with_a_wrong_check_digit_or_spaced_dash_in_free_text_is_blanked(nights):
    _, first, _ = nights
    name = "palliativ_dodsfall_2025-08.csv"
    st, loaded, rejected, reason = first.ledger[name]
    assert (st, loaded, rejected) == ("loaded", 22, 0)
    assert "2 value(s) in column kommentar held a personnummer and were blanked" in reason
    assert [first.raw[(name, r)]["kommentar"] for r in (2, 3)] == [None, None]


def test_a_title_line_above_the_header_is_skipped_with_a_note(nights):
    _, first, _ = nights
    name = "palliativ_dodsfall_2025-09.csv"
    st, loaded, rejected, reason = first.ledger[name]
    assert (st, loaded, rejected) == ("loaded", 20, 0)
    assert "the header is on line 3" in reason
    assert (name, 4) in first.raw and (name, 3) not in first.raw
