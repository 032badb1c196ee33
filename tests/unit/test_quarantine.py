"""Quarantine is safe on its own: whatever name a caller hands it (the ledger's or a raw file name),
a personnummer never reaches the quarantine folder, its files, its log lines or its errors."""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from datetime import datetime

import pytest

from regbench.config import get_settings
from regbench.quarantine import (
    QuarantineError,
    QuarantineReason,
    describe,
    discard,
    find,
    quarantine_file,
    release,
)
from regbench.warehouse import Warehouse

RAW = "rattelse_19121212-1212.csv"
NOW = datetime(2026, 11, 24, 2, 0)


@pytest.fixture
def settings(tmp_path, monkeypatch):
    monkeypatch.setenv("REGBENCH_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("REGBENCH_WAREHOUSE", "duckdb")
    monkeypatch.delenv("REGBENCH_DUCKDB_PATH", raising=False)
    return get_settings()


def _reason(file_id: str, name: str = RAW) -> QuarantineReason:
    return QuarantineReason(
        registry_id="palliativ", file_id=file_id, original_name=name, rule="unknown_file_name",
        message=f"{name}: the file name matches none of the registry's export patterns",
        row=None, column=None, action=f"Rename {name} and deliver it again.",
        quarantined_at=NOW.isoformat(),
    )


def _all_text(root) -> str:
    parts = []
    for path in root.rglob("*"):
        parts.append(str(path.relative_to(root)))
        if path.is_file():
            parts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


def test_a_raw_name_is_redacted_in_every_file_and_log_line(settings, tmp_path, caplog):
    source = tmp_path / RAW
    source.write_bytes(b"personnummer\n191212121212\n")
    fid = hashlib.sha256(source.read_bytes()).hexdigest()
    caplog.set_level(logging.INFO, logger="regbench.quarantine")
    old = os.umask(0)
    try:
        folder = quarantine_file(settings, source, _reason(fid))
    finally:
        os.umask(old)
    assert (folder / "rattelse_[personnummer].csv").read_bytes() == source.read_bytes()
    text = _all_text(settings.quarantine)
    assert "19121212" not in text.replace("191212121212\n", "")  # the file's own bytes are kept
    assert "rattelse_[personnummer].csv" in (folder / "README.txt").read_text(encoding="utf-8")
    assert "1212-1212" not in describe(folder) and "[personnummer]" in describe(folder)
    assert fid in describe(folder)  # the sha256 itself is never taken for a personnummer
    assert caplog.records and not any("1212-1212" in r.getMessage() for r in caplog.records)
    for path in [settings.quarantine, *settings.quarantine.rglob("*")]:
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path


def test_release_discard_and_their_errors_redact_a_name_from_the_ledger(settings, tmp_path):
    ids = []
    with Warehouse(settings) as wh:
        wh.ensure_ops()
        for i in range(2):
            fid = f"abcdef{i}" + "0" * 57
            ids.append(fid)
            source = tmp_path / f"{i}.csv"
            source.write_text("x\n", encoding="utf-8")
            quarantine_file(settings, source, _reason(fid, f"{i}_{RAW}"))
            wh.execute(
                "INSERT INTO ops.ledger (file_id, original_name, registry_id, size_bytes, received_at,"
                " status) VALUES (?, ?, 'palliativ', 2, ?, 'quarantined')", [fid, f"{i}_{RAW}", NOW])
        with pytest.raises(QuarantineError) as ambiguous:
            find(settings, wh, "abcdef")
        assert "1212-1212" not in str(ambiguous.value) and ids[1][:12] in str(ambiguous.value)
        released = release(settings, wh, ids[0][:7], accept=False, note="prövar igen", now=NOW)
        discarded = discard(settings, wh, ids[1][:7], note="fel register", now=NOW)
    assert released.original_name == "0_rattelse_[personnummer].csv"
    assert discarded.original_name == "1_rattelse_[personnummer].csv"
    assert "1212-1212" not in _all_text(settings.quarantine)
