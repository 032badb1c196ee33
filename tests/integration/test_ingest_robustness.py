"""The ingestion promise, tried as an unlucky registry would: every delivered file is loaded once with
the right values or waits in quarantine with a reason; no file blocks another; nothing is taken in
behind a person's back, and nothing identifying is kept where it must not be. On both warehouses."""

from __future__ import annotations

import logging
import os
import stat
from datetime import date
from pathlib import Path

import pytest

from regbench.config import get_settings
from regbench.ingest import ingest_registry
from regbench.personnummer import luhn_check_digit
from regbench.warehouse import Warehouse

TODAY = "2026-11-24"
UNIT = "SE2321000137-P107"
HEADER = ("personnummer;enhetskod;dodsdatum;registreringsdatum;vantat_dodsfall;brytpunktssamtal;"
          "smartskattning;munhalsa;vid_behov_opioid;vid_behov_angest;trycksar_grad;kommentar")


def pnr(born: date, serial: int) -> str:
    digits = born.strftime("%Y%m%d") + f"{serial:03d}"
    return digits + str(luhn_check_digit(digits[2:11]))


def export(persons: list[tuple[str, date]]) -> bytes:
    lines = [HEADER] + [
        f"{p};{UNIT};{died.isoformat()};{died.isoformat()};1;1;2;1;1;2;0;" for p, died in persons]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


PERSONS = [(pnr(date(1930 + i, 1 + i % 12, 1 + i), 100 + i), date(2024, 1, 3 + i))
           for i in range(8)]
# the last four as February's deaths: a file named for February holds February's rows
FEBRUARY = [(p, died.replace(month=2)) for p, died in PERSONS[4:]]


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


def drop(settings, registry: str, name: str, data: bytes) -> Path:
    path = settings.inbox / registry / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def ledger(settings, registry: str | None = None) -> dict[str, tuple]:
    with Warehouse(settings) as wh:
        rows = wh.fetchall("SELECT registry_id, original_name, status, rows_loaded, reason"
                           " FROM ops.ledger ORDER BY received_at")
    return {name: (status, loaded, reason) for reg, name, status, loaded, reason in rows
            if registry is None or reg == registry}


def loaded_persons(settings) -> int:
    with Warehouse(settings) as wh:
        return wh.fetchone("SELECT count(*) FROM raw.palliativ__dodsfall")[0]


def test_a_file_that_crashes_the_loader_waits_in_quarantine_and_the_next_one_loads(settings,
                                                                                    monkeypatch):
    """Any failure while handling one file, not only a foreseen rejection, ends that file in
    quarantine naming what failed; later files of the registry still load, the same night."""
    import regbench.ingest as ingest

    real = ingest.parse_file

    def parse_or_fail(path, *args, **kwargs):
        if path.read_bytes() == export(PERSONS[:4]):
            raise OverflowError("an unforeseen failure inside the parser")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(ingest, "parse_file", parse_or_fail)
    drop(settings, "palliativ", "palliativ_dodsfall_2024-01.csv", export(PERSONS[:4]))
    drop(settings, "palliativ", "palliativ_dodsfall_2024-02.csv", export(FEBRUARY))
    report = ingest_registry(settings, "palliativ")
    seen = ledger(settings)
    assert seen["palliativ_dodsfall_2024-01.csv"][0] == "quarantined"
    assert "processing_failed" in seen["palliativ_dodsfall_2024-01.csv"][2]
    assert "OverflowError" in seen["palliativ_dodsfall_2024-01.csv"][2]
    assert seen["palliativ_dodsfall_2024-02.csv"][:2] == ("loaded", 4)
    assert (report.files_loaded, report.files_quarantined) == (1, 1)
    # the next night does not retry it forever: nothing is left `received`
    again = ingest_registry(settings, "palliativ")
    assert again.files_new == 0


def test_a_record_longer_than_the_csv_field_limit_is_quarantined_not_a_crash(settings):
    """A real poison file: the last line, without a final newline, is one field of 200 kB (more
    than Python's csv field limit); it must not stop the registry."""
    drop(settings, "palliativ", "palliativ_dodsfall_2024-01.csv",
         export(PERSONS[:4]).rstrip(b"\r\n") + b"\r\n" + b"x" * 200_000)
    drop(settings, "palliativ", "palliativ_dodsfall_2024-02.csv", export(FEBRUARY))
    ingest_registry(settings, "palliativ")
    seen = ledger(settings)
    assert seen["palliativ_dodsfall_2024-01.csv"][0] == "quarantined"
    assert seen["palliativ_dodsfall_2024-02.csv"][:2] == ("loaded", 4)


def test_the_same_bytes_in_two_registries_are_two_deliveries(settings):
    data = export(PERSONS[:4])
    drop(settings, "palliativ", "palliativ_dodsfall_2024-01.csv", data)
    drop(settings, "njur", "palliativ_dodsfall_2024-01.csv", data)
    ingest_registry(settings, "palliativ")
    ingest_registry(settings, "njur")
    assert ledger(settings, "palliativ")["palliativ_dodsfall_2024-01.csv"][0] == "loaded"
    # not a name njur's contract knows: it waits in njur's quarantine instead of vanishing
    njur = ledger(settings, "njur")["palliativ_dodsfall_2024-01.csv"]
    assert njur[0] == "quarantined" and "unknown_file_name" in njur[2]
    assert "njur_start_YYYY-MM.csv" in njur[2]  # the names njur expects, as a person reads them


def test_a_correction_gives_back_rows_that_another_file_could_not_load_as_duplicates(settings):
    """January holds person X; February repeats X (a cross-file duplicate, rejected there). The
    January correction drops X: X must come back from February, not vanish."""
    x = PERSONS[0]
    drop(settings, "palliativ", "palliativ_dodsfall_2024-01.csv", export(PERSONS[:4]))
    ingest_registry(settings, "palliativ")
    drop(settings, "palliativ", "palliativ_dodsfall_2024-02.csv", export([x, *FEBRUARY]))
    ingest_registry(settings, "palliativ")
    assert ledger(settings)["palliativ_dodsfall_2024-02.csv"][:2] == ("loaded", 4)
    assert loaded_persons(settings) == 8
    correction = drop(settings, "palliativ", "palliativ_dodsfall_2024-01.csv",
                      export(PERSONS[1:4]))
    os.utime(correction)
    ingest_registry(settings, "palliativ")
    seen = ledger(settings)
    assert seen["palliativ_dodsfall_2024-02.csv"][:2] == ("loaded", 5)
    assert loaded_persons(settings) == 8
    with Warehouse(settings) as wh:
        rejects = wh.fetchall("SELECT rule FROM ops.rejects WHERE rule = 'duplicate_across_files'")
    assert rejects == []


def test_links_uploads_in_progress_and_strays_are_not_taken_in_but_shown(settings, tmp_path):
    outside = tmp_path / "secret.csv"
    outside.write_bytes(export(PERSONS[:4]))
    folder = settings.inbox / "palliativ"
    folder.mkdir(parents=True)
    (folder / "palliativ_dodsfall_2024-01.csv").symlink_to(outside)
    drop(settings, "palliativ", "palliativ_dodsfall_2024-02.csv.part", export(FEBRUARY))
    drop(settings, "palliativ", ".palliativ_dodsfall_2024-03.csv", export(PERSONS[4:]))
    (folder / "old").mkdir()
    drop(settings, "okand_registry", "x.csv", b"a;b\r\n1;2\r\n")
    (settings.inbox / "palliativ_dodsfall_2024-04.csv").write_bytes(export(PERSONS[4:]))
    report = ingest_registry(settings, "palliativ")
    assert report.files_new == 0 and ledger(settings) == {}
    with Warehouse(settings) as wh:
        notices = {(loc, name): kind for loc, name, kind in wh.fetchall(
            "SELECT location, name, kind FROM ops.inbox_notices")}
    assert notices == {
        ("palliativ", "palliativ_dodsfall_2024-01.csv"): "refused",
        ("palliativ", "palliativ_dodsfall_2024-02.csv.part"): "waiting",
        ("palliativ", ".palliativ_dodsfall_2024-03.csv"): "waiting",
        ("palliativ", "old"): "stray",
        ("", "okand_registry"): "stray",
        ("", "palliativ_dodsfall_2024-04.csv"): "stray",
    }
    # the upload completes: taken in under its final name on the next run
    (folder / "palliativ_dodsfall_2024-02.csv.part").rename(folder / "palliativ_dodsfall_2024-02.csv")
    ingest_registry(settings, "palliativ")
    assert ledger(settings)["palliativ_dodsfall_2024-02.csv"][:2] == ("loaded", 4)


def test_the_summary_lists_what_was_not_taken_in(settings):
    from datetime import datetime

    from regbench.summary import collect

    since = datetime.now().replace(microsecond=0)  # as the pipeline takes it
    drop(settings, "palliativ", "palliativ_dodsfall_2024-02.csv.part", export(PERSONS[4:]))
    ingest_registry(settings, "palliativ")
    summary = collect(settings, since)
    assert [(loc, name, kind) for loc, name, kind, _ in summary.inbox_notices] == [
        ("palliativ", "palliativ_dodsfall_2024-02.csv.part", "waiting")]


def test_a_personnummer_in_a_file_name_is_kept_nowhere(settings, caplog):
    person = PERSONS[0][0]
    name = f"palliativ_dodsfall_2024-01_{person[:8]}-{person[8:]}.csv"
    drop(settings, "palliativ", name, export(PERSONS[:4]))
    drop(settings, "palliativ", f"{person}.csv.part", export(PERSONS[:4]))   # waiting
    drop(settings, f"inkorg_{person[2:]}", "x.csv", export(PERSONS[:4]))    # stray folder
    caplog.set_level(logging.INFO)
    ingest_registry(settings, "palliativ")
    digits = {person, person[2:], person[:8] + "-" + person[8:], person[2:8] + "-" + person[8:]}
    seen = ledger(settings)
    assert list(seen) == ["palliativ_dodsfall_2024-01_[personnummer].csv"]
    assert seen["palliativ_dodsfall_2024-01_[personnummer].csv"][0] == "quarantined"
    texts = [caplog.text]
    with Warehouse(settings) as wh:
        for (table,) in wh.fetchall("SELECT table_name FROM information_schema.tables"
                                    " WHERE table_schema = 'ops'"):
            texts.append(repr(wh.fetchall(f"SELECT * FROM ops.{table}")))
        assert wh.fetchone("SELECT count(*) FROM ops.inbox_notices")[0] == 2
    for path in settings.quarantine.rglob("*"):
        texts.append(str(path))
        if path.is_file():
            texts.append(path.read_bytes().decode("cp1252", errors="replace")
                         if path.suffix in (".json", ".txt") else "")
    for path in settings.lake.rglob("*"):
        texts.append(str(path))
    for text in texts:
        assert not any(d in text for d in digits), text[:200]


def test_lake_files_hold_personnummer_and_are_private(settings):
    drop(settings, "palliativ", "palliativ_dodsfall_2024-01.csv", export(PERSONS[:4]))
    ingest_registry(settings, "palliativ")
    files = [p for p in settings.lake.rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700, path.parent


def test_a_ledger_of_schema_version_4_is_scoped_by_registry_after_the_upgrade(settings):
    """An existing warehouse keeps its ledger rows when the key gains the registry."""
    from regbench import warehouse as wmod

    v4 = [ddl.replace("PRIMARY KEY (registry_id, file_id, original_name)",
                      "PRIMARY KEY (file_id, original_name)") for ddl in wmod.OPS_DDL]
    with Warehouse(settings, loader=True) as wh:
        for ddl in v4:
            wh.execute(ddl)
        wh.execute("CREATE TABLE ops.schema_version (version INTEGER NOT NULL)")
        wh.execute("INSERT INTO ops.schema_version VALUES (4)")
        wh.execute("INSERT INTO ops.ledger (file_id, original_name, registry_id, size_bytes,"
                   " received_at, status) VALUES ('f', 'a.csv', 'palliativ', 1, now(), 'loaded')")
        wh.ensure_ops()
        wh.execute("INSERT INTO ops.ledger (file_id, original_name, registry_id, size_bytes,"
                   " received_at, status) VALUES ('f', 'a.csv', 'njur', 1, now(), 'received')")
        rows = wh.fetchall("SELECT registry_id, status FROM ops.ledger ORDER BY 1")
    assert rows == [("njur", "received"), ("palliativ", "loaded")]


def test_rows_outside_the_files_period_are_named_or_quarantine_as_the_contract_says(
        settings, tmp_path, monkeypatch):
    import shutil

    january_in_february = export([PERSONS[0], *[(p, d.replace(month=2)) for p, d in PERSONS[4:]]])
    drop(settings, "palliativ", "palliativ_dodsfall_2024-02.csv", january_in_february)
    ingest_registry(settings, "palliativ")
    status, loaded, reason = ledger(settings)["palliativ_dodsfall_2024-02.csv"]
    assert (status, loaded) == ("loaded", 5)
    assert "1 row(s) with dodsdatum outside 2024-02 (first at row 2)" in reason

    contracts = tmp_path / "registries"
    shutil.copytree(settings.contracts_dir, contracts)
    text = (contracts / "palliativ.yaml").read_text(encoding="utf-8")
    (contracts / "palliativ.yaml").write_text(text.replace(
        "    event_date_column: dodsdatum\n",
        "    event_date_column: dodsdatum\n    outside_period: quarantine\n", 1), encoding="utf-8")
    monkeypatch.setenv("REGBENCH_CONTRACTS", str(contracts))
    strict = get_settings()
    drop(strict, "palliativ", "palliativ_dodsfall_2024-03.csv",
         export([(p, d.replace(month=3)) for p, d in PERSONS[4:]] + [PERSONS[1]]))
    ingest_registry(strict, "palliativ")
    status, _, reason = ledger(strict)["palliativ_dodsfall_2024-03.csv"]
    assert status == "quarantined" and reason.startswith("outside_file_period"), reason
    assert "first at row 6" in reason


def test_bytes_first_quarantined_for_their_name_load_under_the_right_name(settings):
    data = export(PERSONS[:4])
    drop(settings, "palliativ", "palliativ_dodsfall_2024-01 (1).csv", data)
    ingest_registry(settings, "palliativ")
    assert ledger(settings)["palliativ_dodsfall_2024-01 (1).csv"][0] == "quarantined"
    drop(settings, "palliativ", "palliativ_dodsfall_2024-01.csv", data)
    ingest_registry(settings, "palliativ")
    seen = ledger(settings)
    assert seen["palliativ_dodsfall_2024-01.csv"][:2] == ("loaded", 4)
    assert seen["palliativ_dodsfall_2024-01 (1).csv"][0] == "superseded"
    assert not any(settings.quarantine.rglob("reason.json"))


def test_a_name_that_goes_back_to_its_first_version_loads_that_version_again(settings):
    path = drop(settings, "palliativ", "palliativ_dodsfall_2024-01.csv", export(PERSONS[:4]))
    ingest_registry(settings, "palliativ")
    path.write_bytes(export(PERSONS[:3]))
    ingest_registry(settings, "palliativ")
    assert loaded_persons(settings) == 3
    path.write_bytes(export(PERSONS[:4]))
    ingest_registry(settings, "palliativ")
    assert loaded_persons(settings) == 4
    with Warehouse(settings) as wh:
        statuses = sorted(s for (s,) in wh.fetchall("SELECT status FROM ops.ledger"))
    assert statuses == ["loaded", "superseded"]


@pytest.mark.parametrize("name", ["palliativ_dodsfall_2026-13.csv", "palliativ_dodsfall_2027-02.csv",
                                  "palliativ_optout_2026-11-31.csv"])
def test_a_period_that_is_no_date_or_lies_ahead_quarantines_the_file(settings, name):
    drop(settings, "palliativ", name, export(PERSONS[:4]))
    ingest_registry(settings, "palliativ")
    status, _, reason = ledger(settings)[name]
    assert status == "quarantined" and reason.split(":")[0] in ("period_invalid", "period_in_future")


def test_a_registry_folder_that_is_a_link_is_not_followed(settings, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "palliativ_dodsfall_2024-01.csv").write_bytes(export(PERSONS[:4]))
    settings.inbox.mkdir(parents=True, exist_ok=True)
    (settings.inbox / "palliativ").symlink_to(elsewhere)
    ingest_registry(settings, "palliativ")
    assert ledger(settings) == {}
    with Warehouse(settings) as wh:
        kinds = wh.fetchall("SELECT name, kind FROM ops.inbox_notices")
    assert ("palliativ", "refused") in kinds


def test_every_rejected_row_of_a_quarantined_file_is_listed(settings):
    bad = [(p, d) for p, d in PERSONS[:4]]
    data = export(bad).replace(b";1;1;2;1;1;2;0;", b";7;1;2;1;1;2;0;")
    drop(settings, "palliativ", "palliativ_dodsfall_2024-01.csv", data)
    ingest_registry(settings, "palliativ")
    assert ledger(settings)["palliativ_dodsfall_2024-01.csv"][0] == "quarantined"
    with Warehouse(settings) as wh:
        rows = wh.fetchall("SELECT row_number, column_name, rule FROM ops.rejects ORDER BY 1")
    assert rows == [(r, "vantat_dodsfall", "code_not_in_list") for r in range(2, 6)]


def test_what_regbench_writes_is_not_readable_by_other_users(settings):
    """Started with the usual umask 022, an entry point (it reads its settings first) writes the
    warehouse and logs for its own user and group only."""
    before = os.umask(0o022)
    try:
        settings = get_settings()
        drop(settings, "palliativ", "palliativ_dodsfall_2024-01.csv", export(PERSONS[:4]))
        ingest_registry(settings, "palliativ")
    finally:
        os.umask(before)
    if settings.warehouse == "duckdb":
        assert stat.S_IMODE(settings.duckdb_path.stat().st_mode) & 0o007 == 0
    for path in (settings.var / "logs").rglob("*") if (settings.var / "logs").exists() else []:
        assert stat.S_IMODE(path.stat().st_mode) & 0o007 == 0, path


# --- opt-out lists ------------------------------------------------------------------------------

def optout_list(lines: list[str], header: str | None = "personnummer") -> bytes:
    return ("\r\n".join(([header] if header else []) + lines) + "\r\n").encode("utf-8")


def _notices(settings, kind: str) -> list[tuple]:
    with Warehouse(settings) as wh:
        return wh.fetchall("SELECT location, name, registry_id, message FROM ops.inbox_notices"
                           " WHERE kind = ? ORDER BY name", [kind])


def test_a_headerless_optout_list_removes_every_person_on_it_the_first_too(settings):
    """A registry writes one personnummer per line and no header: the first person is a person,
    not a header (taken as one, that patient's opt-out was lost or the list refused)."""
    drop(settings, "palliativ", "palliativ_dodsfall_2024-01.csv", export(PERSONS[:4]))
    ingest_registry(settings, "palliativ")
    first, second = PERSONS[0][0], PERSONS[1][0]
    drop(settings, "palliativ", "palliativ_optout_2024-02-01.csv",
         optout_list([first, f"{second[2:8]}-{second[8:]}"], header=None))
    report = ingest_registry(settings, "palliativ")
    status, loaded, reason = ledger(settings)["palliativ_optout_2024-02-01.csv"]
    assert (status, loaded) == ("loaded", 2), reason
    assert "no header line" in reason
    assert loaded_persons(settings) == 2
    assert report.optouts_unmatched == 0


def test_optouts_that_match_nobody_are_counted_and_reported_never_named(settings):
    from datetime import datetime

    from rich.console import Console

    from regbench.summary import collect, render

    since = datetime.now().replace(microsecond=0)
    drop(settings, "palliativ", "palliativ_dodsfall_2024-01.csv", export(PERSONS[:4]))
    nobody = [PERSONS[6][0], pnr(date(1952, 2, 29), 461)]   # valid, but never registered here
    drop(settings, "palliativ", "palliativ_optout_2024-02-01.csv",
         optout_list([PERSONS[0][0], *nobody]))
    report = ingest_registry(settings, "palliativ")
    assert report.optouts_unmatched == 2
    assert loaded_persons(settings) == 3
    (notice,) = _notices(settings, "optout_unmatched")
    assert notice[:3] == ("palliativ", "palliativ_optout_2024-02-01.csv", "palliativ")
    assert notice[3].startswith("2 of 3 person(s) on this opt-out list match no registration")
    summary = collect(settings, since)
    assert summary.inbox_notices == []  # these are no inbox entries left behind
    console = Console(record=True, width=200)
    render(console, settings, summary, 1.0, True)
    shown = console.export_text()
    assert "2 of 3 person(s)" in shown and "palliativ_optout_2024-02-01.csv" in shown
    with Warehouse(settings) as wh:
        everything = str(wh.fetchall("SELECT * FROM ops.inbox_notices")) + str(
            wh.fetchall("SELECT * FROM ops.ledger"))
    for p in nobody + [PERSONS[0][0]]:
        assert p[2:8] not in everything and p[-4:] not in shown


def test_a_personnummer_that_cannot_be_read_on_an_optout_list_is_named_not_lost(settings):
    drop(settings, "palliativ", "palliativ_dodsfall_2024-01.csv", export(PERSONS[:4]))
    typo = PERSONS[1][0][:-1] + str((int(PERSONS[1][0][-1]) + 1) % 10)
    drop(settings, "palliativ", "palliativ_optout_2024-02-01.csv",
         optout_list([PERSONS[0][0], typo]))
    drop(settings, "palliativ", "palliativ_optout_2024-02-02.csv", optout_list([typo, "12345"]))
    ingest_registry(settings, "palliativ")
    seen = ledger(settings)
    status, loaded, reason = seen["palliativ_optout_2024-02-01.csv"]
    assert (status, loaded) == ("loaded", 1)
    assert "row 3" in reason and "not removed" in reason
    with Warehouse(settings) as wh:
        rejects = wh.fetchall("SELECT r.row_number, r.column_name, r.rule FROM ops.rejects r"
                              " JOIN ops.ledger l USING (file_id) WHERE l.original_name = ?",
                              ["palliativ_optout_2024-02-01.csv"])
    assert rejects == [(3, "personnummer", "pnr_checksum")]
    # nobody on the list can be read: the list waits in quarantine, naming the first row
    status, _, reason = seen["palliativ_optout_2024-02-02.csv"]
    assert status == "quarantined" and "optout_unreadable" in reason and "row 2" in reason
    assert "palliativ_optout_2024-02-02.csv: " in reason  # the delivered name, not the lake's
    assert loaded_persons(settings) == 3


def test_a_workbook_with_many_uncomputed_formulas_waits_with_the_excel_advice(settings):
    """Saved by a program that does not compute formulas: the cells would be empty. Too many such
    rows quarantine the file, and the reason says to open and save it in Excel."""
    import io
    import json

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER.split(";"))
    for i, (p, died) in enumerate(PERSONS):
        ws.append([int(p), UNIT, died, died, "=1+0" if i < 3 else 1, 1, 2, 1, 1, 2, 0, None])
    buf = io.BytesIO()
    wb.save(buf)
    drop(settings, "palliativ", "palliativ_dodsfall_2024-01.xlsx", buf.getvalue())
    ingest_registry(settings, "palliativ")
    status, _, reason = ledger(settings)["palliativ_dodsfall_2024-01.xlsx"]
    assert status == "quarantined" and "formula_not_computed" in reason
    (reason_file,) = settings.quarantine.glob("palliativ/*/reason.json")
    saved = json.loads(reason_file.read_text(encoding="utf-8"))
    assert (saved["rule"], saved["row"], saved["column"]) == ("too_many_rejected_rows", 2,
                                                             "vantat_dodsfall")
    assert "Open and save the file in Excel so the values are computed" in saved["action"]
