"""Deliveries an unlucky registry makes that look right by name: last month's export under this
month's name, a correction that is much smaller than what it replaces, a file still being written,
two names that redact to the same text, and one period as .csv and .xlsx. Each must end loaded
with the right rows or wait in quarantine with a reason; on both warehouses."""

from __future__ import annotations

import os
import threading
import time
from datetime import date, datetime

import pytest
from test_ingest_robustness import (
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
