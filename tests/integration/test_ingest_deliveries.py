"""Deliveries an unlucky registry makes that look right by name: last month's export under this
month's name, a correction that is much smaller than what it replaces, a file still being written,
two names that redact to the same text, and one period as .csv and .xlsx. Each must end loaded
with the right rows or wait in quarantine with a reason; on both warehouses."""

from __future__ import annotations

import io
import os
import threading
import time
from datetime import date, datetime

import pytest
from test_ingest_robustness import (
    HEADER,
    UNIT,
    drop,
    export,
    ledger,
    loaded_persons,
    pnr,
)

from regbench.config import get_settings
from regbench.ingest import ingest_registry
from regbench.warehouse import Warehouse

TODAY = "2026-11-24"


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


MONTH = [(pnr(date(1940, 1, 1 + i), 200 + i), date(2024, 10, 1 + i)) for i in range(20)]
SEPTEMBER = [(pnr(date(1941, 2, 1 + i), 300 + i), date(2024, 9, 1 + i)) for i in range(20)]


def _months(settings) -> dict[str, int]:
    with Warehouse(settings) as wh:
        return {p: n for p, n in wh.fetchall(
            "SELECT _period, count(*) FROM raw.palliativ__dodsfall GROUP BY 1")}


def test_last_months_export_under_this_months_name_waits_and_this_month_stays(settings):
    """September's rows (already loaded) plus one October row, delivered as October's file: it
    would replace October's 20 rows with 1. It waits; October stays as it was."""
    drop(settings, "palliativ", "palliativ_dodsfall_2024-09.csv", export(SEPTEMBER))
    drop(settings, "palliativ", "palliativ_dodsfall_2024-10.csv", export(MONTH))
    ingest_registry(settings, "palliativ")
    assert _months(settings) == {"2024-09": 20, "2024-10": 20}
    wrong = drop(settings, "palliativ", "palliativ_dodsfall_2024-10.csv",
                 export([*SEPTEMBER, MONTH[0]]))
    os.utime(wrong)
    report = ingest_registry(settings, "palliativ")
    assert report.files_quarantined == 1
    with Warehouse(settings) as wh:
        rows = wh.fetchall("SELECT status, reason FROM ops.ledger WHERE original_name = ?"
                           " ORDER BY received_at", ["palliativ_dodsfall_2024-10.csv"])
    assert rows[0][0] == "loaded"
    status, reason = rows[1]
    assert status == "quarantined", reason
    assert "most rows are from 2024-09" in reason
    assert "is this the right file for 2024-10?" in reason
    assert _months(settings) == {"2024-09": 20, "2024-10": 20}


def test_a_correction_that_removes_most_rows_waits_until_a_person_accepts_it(settings):
    from regbench.quarantine import release

    path = drop(settings, "palliativ", "palliativ_dodsfall_2024-10.csv", export(MONTH))
    ingest_registry(settings, "palliativ")
    path.write_bytes(export(MONTH[:1]))
    os.utime(path)
    ingest_registry(settings, "palliativ")
    with Warehouse(settings) as wh:
        rows = wh.fetchall("SELECT file_id, status, reason FROM ops.ledger ORDER BY received_at")
    assert [s for _, s, _ in rows] == ["loaded", "quarantined"], rows
    reason = rows[1][2]
    assert "would remove 19 of the 20 rows" in reason and "50 %" in reason, reason
    assert loaded_persons(settings) == 20
    with Warehouse(settings, loader=True) as wh:
        release(settings, wh, rows[1][0][:8], accept=True, note="the unit closed", now=datetime.now())
    ingest_registry(settings, "palliativ")
    with Warehouse(settings) as wh:
        statuses = [s for (s,) in wh.fetchall("SELECT status FROM ops.ledger ORDER BY received_at")]
    assert statuses == ["superseded", "loaded"]
    assert loaded_persons(settings) == 1


def test_a_file_still_being_written_waits_for_the_next_run(settings, monkeypatch):
    """A slow writer (SMB, scp) that does not use a .part name: the run must not take in half."""
    monkeypatch.setenv("REGBENCH_SETTLE_PAUSE", "1.5")
    folder = settings.inbox / "palliativ"
    folder.mkdir(parents=True)
    path = folder / "palliativ_dodsfall_2024-10.csv"
    lines = export(MONTH).splitlines(keepends=True)
    done = threading.Event()

    def slow_writer():
        with path.open("wb") as fh:
            for line in lines:
                fh.write(line)
                fh.flush()
                time.sleep(0.25)
        done.set()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    time.sleep(0.6)
    try:
        report = ingest_registry(settings, "palliativ")
    finally:
        writer.join()
    assert done.is_set()
    assert report.files_new == 0 and ledger(settings) == {}
    with Warehouse(settings) as wh:
        (kind, message), = wh.fetchall("SELECT kind, message FROM ops.inbox_notices")
    assert kind == "waiting" and "still being written" in message
    ingest_registry(settings, "palliativ")
    assert ledger(settings)["palliativ_dodsfall_2024-10.csv"][:2] == ("loaded", 20)


def test_a_file_written_just_before_the_run_and_unchanged_is_taken_at_once(settings, monkeypatch):
    """`make run` writes the demo files and ingests at once: the second look finds them unchanged."""
    monkeypatch.setenv("REGBENCH_SETTLE_PAUSE", "0.5")
    drop(settings, "palliativ", "palliativ_dodsfall_2024-10.csv", export(MONTH))
    ingest_registry(settings, "palliativ")
    assert ledger(settings)["palliativ_dodsfall_2024-10.csv"][:2] == ("loaded", 20)


def test_two_names_that_redact_alike_are_two_files_and_a_discard_sticks(settings):
    from regbench.quarantine import HISTORY, discard

    drop(settings, "palliativ", "patient_194703122392.csv", export(MONTH[:2]))
    drop(settings, "palliativ", "patient_196109061546.csv", export(MONTH[2:4]))
    first = ingest_registry(settings, "palliativ")
    assert first.files_new == 2
    for _ in range(2):
        assert ingest_registry(settings, "palliativ").files_new == 0
    with Warehouse(settings) as wh:
        rows = wh.fetchall("SELECT file_id, original_name, status FROM ops.ledger")
        text = repr(wh.fetchall("SELECT * FROM ops.ledger"))
    assert sorted(n for _, n, _ in rows) == ["patient_[personnummer].csv"] * 2
    assert "194703122392" not in text and "196109061546" not in text
    fid = rows[0][0]
    history = settings.quarantine / "palliativ" / fid / HISTORY
    assert len(history.read_text().splitlines()) == 1
    with Warehouse(settings, loader=True) as wh:
        discard(settings, wh, fid[:8], note="x", now=datetime.now())
    assert ingest_registry(settings, "palliativ").files_new == 0
    with Warehouse(settings) as wh:
        (status,) = wh.fetchone("SELECT status FROM ops.ledger WHERE file_id = ?", [fid])
    assert status == "discarded"
    # not quarantined again: no folder comes back with its history started over
    assert not history.parent.exists()


def _workbook(persons) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER.split(";"))
    for p, died in persons:
        ws.append([p, UNIT, died, died, 1, 1, 2, 1, 1, 2, 0, None])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("newer", ["csv", "xlsx"])
def test_one_period_as_csv_and_xlsx_in_one_run_the_newer_delivery_wins_and_says_so(settings,
                                                                                   newer):
    csv_rows, xlsx_rows = MONTH[:5], MONTH[:3]
    csv_path = drop(settings, "palliativ", "palliativ_dodsfall_2024-10.csv", export(csv_rows))
    xlsx_path = drop(settings, "palliativ", "palliativ_dodsfall_2024-10.xlsx", _workbook(xlsx_rows))
    now = time.time()
    older, newest = (xlsx_path, csv_path) if newer == "csv" else (csv_path, xlsx_path)
    os.utime(older, (now - 600, now - 600))
    os.utime(newest, (now - 60, now - 60))
    ingest_registry(settings, "palliativ")
    seen = ledger(settings)
    assert seen[newest.name][0] == "loaded"
    status, _, reason = seen[older.name]
    assert status == "superseded"
    assert reason and newest.name in reason and "delivered later" in reason, reason
    assert loaded_persons(settings) == (5 if newer == "csv" else 3)


def test_regbench_ingest_prints_what_it_did_not_take_in(settings, monkeypatch):
    from rich.console import Console
    from typer.testing import CliRunner

    from regbench import cli
    from regbench.cli import app

    monkeypatch.setattr(cli, "console", Console(width=200))  # a table row on one line
    drop(settings, "palliativ", "palliativ_dodsfall_2024-10.csv.part", export(MONTH))
    result = CliRunner().invoke(app, ["ingest", "palliativ"])
    assert result.exit_code == 0, result.output
    assert "not taken in" in result.output
    assert "palliativ_dodsfall_2024-10.csv.part" in result.output


def test_a_ledger_of_schema_version_5_gains_name_keys_and_delivery_times(settings):
    """An existing warehouse keeps its ledger rows; a row from before learns its name's key the
    first time its file is seen again, so it is not taken in a second time."""
    from regbench import warehouse as wmod

    v5 = [ddl for ddl in wmod.OPS_DDL if "name_key" not in ddl and "delivered_at" not in ddl]
    data = export(MONTH[:2])
    path = drop(settings, "palliativ", "palliativ_dodsfall_2024-10.csv", data)
    import hashlib

    fid = hashlib.sha256(data).hexdigest()
    with Warehouse(settings, loader=True) as wh:
        for ddl in v5:
            wh.execute(ddl)
        wh.execute("CREATE TABLE ops.schema_version (version INTEGER NOT NULL)")
        wh.execute("INSERT INTO ops.schema_version VALUES (5)")
        wh.execute("INSERT INTO ops.ledger (file_id, original_name, registry_id, entity, period,"
                   " size_bytes, received_at, status) VALUES (?, ?, 'palliativ', 'dodsfall',"
                   " '2024-10', ?, now(), 'loaded')", [fid, path.name, len(data)])
        wh.ensure_ops()
        assert wh.fetchone("SELECT max(version) FROM ops.schema_version")[0] == 6
        assert wh.fetchall("SELECT status, name_key, delivered_at FROM ops.ledger") == [
            ("loaded", None, None)]
    assert ingest_registry(settings, "palliativ").files_new == 0
    with Warehouse(settings) as wh:
        (key,) = wh.fetchone("SELECT name_key FROM ops.ledger")
    assert key and len(key) == 64 and path.name not in key


def test_a_gzipped_export_named_csv_gz_is_called_compressed_not_a_wrong_name(settings):
    import gzip

    drop(settings, "palliativ", "palliativ_dodsfall_2024-10.csv.gz", gzip.compress(export(MONTH)))
    report = ingest_registry(settings, "palliativ")
    assert report.files_quarantined == 1 and report.rows_loaded == 0
    with Warehouse(settings) as wh:
        (reason,) = wh.fetchone("SELECT reason FROM ops.ledger WHERE status = 'quarantined'")
    assert reason.startswith("compressed_file_name") and "compression" in reason, reason
