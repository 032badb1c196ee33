"""`regbench quarantine list|show|release|discard`, driven for real on a temporary DuckDB warehouse.

A delivered file may be named after a patient; quarantine never stores or shows that personnummer.
Quarantine holds personnummer, so its folders are 0700 and its files 0600 whatever the umask.
show, release and discard take the same sha256 prefix, and a release note outlives the file being
quarantined again."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from regbench.cli import app
from regbench.config import get_settings
from regbench.ingest import ingest_registry
from regbench.warehouse import Warehouse

CORPUS = Path(__file__).parents[1] / "corpus" / "files"
BROKEN = "palliativ_dodsfall_2023-07.csv"            # required_column_missing
# two files named after patients (12 and 10 digits); their sha256s share the first 6 characters
PNR_NAMES = ("palliativ_dodsfall_19121212-1212.csv", "rattelse 121212-1212.csv")
PNR_TEXTS = ("19121212", "121212-1212", "1212-1212")


def _colliding_contents() -> tuple[bytes, bytes]:
    """Two small files whose sha256 start with the same 6 hex characters (a birthday search)."""
    seen: dict[str, bytes] = {}
    i = 0
    while True:
        content = f"personnummer;dodsdatum\n# leverans {i}\n".encode()
        prefix = hashlib.sha256(content).hexdigest()[:6]
        if prefix in seen:
            return seen[prefix], content
        seen[prefix] = content
        i += 1


@pytest.fixture
def quarantined(tmp_path, monkeypatch):
    """Three palliativ files in quarantine: a broken export and two named after patients."""
    monkeypatch.setenv("REGBENCH_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("REGBENCH_DEMO", "1")
    monkeypatch.setenv("REGBENCH_TODAY", "2026-11-24")
    monkeypatch.setenv("REGBENCH_WAREHOUSE", "duckdb")
    monkeypatch.setenv("COLUMNS", "250")
    for name in ("REGBENCH_INBOX", "REGBENCH_DUCKDB_PATH"):
        monkeypatch.delenv(name, raising=False)
    settings = get_settings()
    inbox = settings.inbox / "palliativ"
    inbox.mkdir(parents=True)
    shutil.copyfile(CORPUS / "palliativ" / BROKEN, inbox / BROKEN)
    for name, content in zip(PNR_NAMES, _colliding_contents(), strict=True):
        (inbox / name).write_bytes(content)
    old = os.umask(0)  # the most permissive umask: quarantine must not depend on it
    try:
        report = ingest_registry(settings, "palliativ")
    finally:
        os.umask(old)
    assert report.files_quarantined == 3
    # a file's id is the sha256 of its bytes (the ledger may hold its name redacted)
    ids = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in inbox.iterdir()}
    with Warehouse(settings) as wh:
        assert set(ids.values()) == {f for (f,) in wh.fetchall(
            "SELECT file_id FROM ops.ledger WHERE status = 'quarantined'")}
    return settings, ids


def cli(*args: str):
    result = CliRunner().invoke(app, ["quarantine", *args])
    return result.exit_code, " ".join(result.output.split())


def assert_no_pnr(text: str) -> None:
    for pnr in PNR_TEXTS:
        assert pnr not in text, text


def test_personnummer_in_a_file_name_is_never_stored_or_shown(quarantined, caplog):
    settings, ids = quarantined
    for path in settings.quarantine.rglob("*"):
        assert_no_pnr(str(path.relative_to(settings.quarantine)))
        if path.is_file():
            assert_no_pnr(path.read_bytes().decode("utf-8", "replace"))
    # the copy is byte-identical under the redacted name
    folder = settings.quarantine / "palliativ" / ids[PNR_NAMES[0]]
    copy = folder / "palliativ_dodsfall_[personnummer].csv"
    assert copy.read_bytes() == (settings.inbox / "palliativ" / PNR_NAMES[0]).read_bytes()
    reason = json.loads((folder / "reason.json").read_text(encoding="utf-8"))
    assert reason["original_name"] == "palliativ_dodsfall_[personnummer].csv"

    code, listing = cli("list")
    assert code == 0 and "palliativ_dodsfall_[personnummer].csv" in listing
    assert "rattelse [personnummer].csv" in listing
    assert_no_pnr(listing)
    for name in PNR_NAMES:
        code, shown = cli("show", ids[name][:12])
        assert code == 0 and "[personnummer]" in shown
        assert_no_pnr(shown)
    # the ambiguity error lists both files, by their redacted names
    code, ambiguous = cli("show", ids[PNR_NAMES[0]][:6])
    assert code == 1 and ambiguous.count("[personnummer]") == 2
    assert_no_pnr(ambiguous)

    caplog.set_level(logging.DEBUG, logger="regbench.quarantine")
    code, released = cli("release", ids[PNR_NAMES[0]][:12], "--note", "namnet rättat")
    assert code == 0 and "palliativ_dodsfall_[personnummer].csv" in released
    assert_no_pnr(released)
    ingest_registry(settings, "palliativ")  # quarantined again
    code, discarded = cli("discard", ids[PNR_NAMES[0]][:12], "--note", "fel register")
    assert code == 0 and "palliativ_dodsfall_[personnummer].csv" in discarded
    assert_no_pnr(discarded)
    quarantine_logs = [r.getMessage() for r in caplog.records if r.name == "regbench.quarantine"]
    assert quarantine_logs, "release, quarantine and discard are logged"
    for line in quarantine_logs:
        assert_no_pnr(line)
    for path in settings.quarantine.rglob("*"):
        assert_no_pnr(str(path.relative_to(settings.quarantine)))
        if path.is_file():
            assert_no_pnr(path.read_bytes().decode("utf-8", "replace"))


def _assert_private(root: Path) -> None:
    assert stat.S_IMODE(root.stat().st_mode) == 0o700, root
    for path in root.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))


def test_quarantine_folders_are_0700_and_files_0600_whatever_the_umask(quarantined):
    settings, ids = quarantined
    files = [p for p in settings.quarantine.rglob("*") if p.is_file()]
    assert len(files) >= 9  # copy, reason.json, README.txt for each of three files
    _assert_private(settings.quarantine)
    # released and quarantined again under an open umask: history and all still private
    assert cli("release", ids[BROKEN][:12], "--note", "prövar igen")[0] == 0
    old = os.umask(0)
    try:
        ingest_registry(settings, "palliativ")
    finally:
        os.umask(old)
    assert (settings.quarantine / "palliativ" / ids[BROKEN] / "reason.json").exists()
    _assert_private(settings.quarantine)


def test_discard_says_discarded(quarantined):
    _, ids = quarantined
    code, out = cli("discard", ids[BROKEN][:12], "--note", "ersatt av ny leverans")
    assert code == 0, out
    assert "discardd" not in out
    assert f"palliativ: {BROKEN} ({ids[BROKEN][:12]}) discarded" in out
    code, out = cli("release", ids[PNR_NAMES[1]][:12], "--accept")
    assert code == 0 and "released with --accept" in out, out


@pytest.mark.parametrize("command", ["show", "release", "discard"])
def test_show_release_and_discard_take_the_same_prefix(quarantined, command):
    _, ids = quarantined
    extra = ["--note", "test"] if command == "discard" else []
    a, b = ids[PNR_NAMES[0]], ids[PNR_NAMES[1]]
    assert a[:6] == b[:6] and a[:7] != b[:7]

    code, out = cli(command, a[:5], *extra)
    assert code == 1 and "at least the first 6 characters" in out, out

    code, out = cli(command, a[:6], *extra)
    assert code == 1, out
    assert f"2 quarantined files have a sha256 starting with '{a[:6]}'" in out
    assert a[:12] in out and b[:12] in out and "give more characters" in out

    code, out = cli(command, "ffffff0000", *extra)
    assert code == 1 and "no quarantined file has a sha256 starting with 'ffffff0000'" in out, out

    code, out = cli(command, "zz" + a[2:12], *extra)
    assert code == 1 and "0-9 and a-f" in out, out

    # the shortest unique prefix, in capitals as a sha256 is sometimes copied, is enough
    code, out = cli(command, a[:7].upper(), *extra)
    assert code == 0, out
    assert a[:12] in out


def test_a_release_note_is_kept_when_the_file_is_quarantined_again(quarantined):
    settings, ids = quarantined
    fid = ids[BROKEN]
    folder = settings.quarantine / "palliativ" / fid
    assert cli("release", fid[:8], "--note", "kontraktet rättat, enhetskod valfri")[0] == 0
    ingest_registry(settings, "palliativ")  # the contract was not really fixed: back again
    code, shown = cli("show", fid[:8])
    assert code == 0, shown
    assert "kontraktet rättat, enhetskod valfri" in shown
    assert "required_column_missing" in shown

    assert cli("release", fid[:8], "--note", "andra försöket")[0] == 0
    ingest_registry(settings, "palliativ")
    code, shown = cli("show", fid[:8])
    assert code == 0, shown
    assert "kontraktet rättat, enhetskod valfri" in shown and "andra försöket" in shown
    assert shown.index("kontraktet rättat") < shown.index("andra försöket")

    history = [json.loads(line) for line in
               (folder / "history.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [e["event"] for e in history] == ["quarantined", "released", "quarantined", "released",
                                             "quarantined"]
    assert [e.get("note") for e in history if e["event"] == "released"] == [
        "kontraktet rättat, enhetskod valfri", "andra försöket"]
    assert all(e["by"] for e in history if e["event"] == "released")
    # README.txt, the file an operator opens in the folder, carries the history too
    assert "andra försöket" in (folder / "README.txt").read_text(encoding="utf-8")
