"""Whatever bytes arrive under an export's name, the ingest of that file ends with the file loaded,
quarantined or recorded as a duplicate: never an exception out of the run, never a file left
`received` for the next night to trip over, and the files after it still load."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from regbench.config import get_settings
from regbench.ingest import ingest_registry
from regbench.warehouse import Warehouse

CORPUS = Path(__file__).parents[1] / "corpus" / "files" / "palliativ"
TODAY = "2026-11-24"
GOOD = CORPUS / "palliativ_dodsfall_2023-01.csv"


@pytest.fixture(scope="module")
def regbench_settings(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("REGBENCH_VAR", str(tmp_path_factory.mktemp("ingest-properties")))
    mp.setenv("REGBENCH_DEMO", "1")
    mp.setenv("REGBENCH_TODAY", TODAY)
    mp.setenv("REGBENCH_WAREHOUSE", "duckdb")
    # each example writes its file just before the ingest: no pause for uploads in progress
    mp.setenv("REGBENCH_SETTLE_PAUSE", "0")
    for name in ("REGBENCH_INBOX", "REGBENCH_DUCKDB_PATH"):
        mp.delenv(name, raising=False)
    yield get_settings()
    mp.undo()


def _mutate(data: bytes, draw) -> bytes:
    kind = draw(st.sampled_from(["truncate", "flip", "nul", "reencode", "delimiter", "duplicate",
                                 "gzip", "splice"]))
    pos = draw(st.integers(0, max(len(data) - 1, 0)))
    if kind == "truncate":
        return data[:pos]
    if kind == "flip":
        return data[:pos] + bytes([data[pos] ^ draw(st.integers(1, 255))]) + data[pos + 1:]
    if kind == "nul":
        return data[:pos] + b"\x00" * draw(st.integers(1, 4)) + data[pos:]
    if kind == "reencode":
        enc = draw(st.sampled_from(["utf-16", "utf-16-be", "utf-32", "utf-8-sig"]))
        return codecs.decode(data, "cp1252").encode(enc)
    if kind == "delimiter":
        return data[:pos] + draw(st.sampled_from([b";", b";;", b",", b"\t", b'"'])) + data[pos:]
    if kind == "duplicate":
        lines = data.split(b"\n")
        i = draw(st.integers(0, len(lines) - 1))
        return b"\n".join(lines[:i + 1] + lines[i:])
    if kind == "gzip":
        import gzip

        return gzip.compress(data)
    return data[:pos] + draw(st.binary(max_size=64)) + data[pos:]


@st.composite
def deliveries(draw):
    if draw(st.booleans()):
        return draw(st.binary(max_size=2048))
    return _mutate(GOOD.read_bytes(), draw)


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=deliveries(), month=st.integers(1, 12))
def test_any_bytes_end_loaded_or_quarantined(regbench_settings, data, month):
    folder = regbench_settings.inbox / "palliativ"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    (folder / f"palliativ_dodsfall_2022-{month:02d}.csv").write_bytes(data)
    ingest_registry(regbench_settings, "palliativ")
    with Warehouse(regbench_settings) as wh:
        left = wh.fetchall("SELECT original_name FROM ops.ledger WHERE status = 'received'")
        statuses = {s for (s,) in wh.fetchall("SELECT DISTINCT status FROM ops.ledger")}
        unforeseen = wh.fetchall("SELECT reason FROM ops.ledger WHERE reason LIKE 'processing_failed%'")
    assert left == []
    assert statuses <= {"loaded", "quarantined", "duplicate", "superseded"}
    # and the reason is one a person can act on: no failure the parser did not foresee
    assert unforeseen == []
