"""Lake and ledger: every delivered file is copied unchanged into a lake keyed by its sha256 and gets
a ledger row, so each file is accounted for: loaded, duplicate, superseded or quarantined."""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from regbench.config import Settings
from regbench.contracts import Contract
from regbench.warehouse import Warehouse

RECEIVED, LOADED, DUPLICATE, SUPERSEDED, QUARANTINED, DISCARDED = (
    "received", "loaded", "duplicate", "superseded", "quarantined", "discarded",
)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class Delivery:
    file_id: str
    original_name: str
    registry_id: str
    entity: str | None
    period: str | None
    lake_path: Path
    # released from quarantine with --accept: file-level quality gates do not apply
    accept_rejects: bool = False


def lake_path(settings: Settings, registry_id: str, file_id: str, name: str) -> Path:
    suffix = "".join(Path(name).suffixes[-1:]) or ".bin"
    return settings.lake / registry_id / f"{file_id}{suffix}"


def extract(settings: Settings, wh: Warehouse, contract: Contract, now: datetime) -> list[Delivery]:
    """Take new files from the registry's drop folder into the lake; returns what needs processing.

    A file already in the ledger under the same name is skipped silently (a drop folder is scanned
    every night); the same bytes under a new name are recorded as a duplicate and load nothing.
    Files left `received` by an interrupted run are returned again, so a crash never loses one.
    """
    inbox = settings.inbox / contract.inbox_folder
    inbox.mkdir(parents=True, exist_ok=True)
    for path in sorted(p for p in inbox.iterdir() if p.is_file() and not p.name.startswith(".")):
        file_id = sha256_of(path)
        if wh.fetchone(
            "SELECT 1 FROM ops.ledger WHERE file_id = ? AND original_name = ?", [file_id, path.name]
        ):
            continue
        classified = contract.classify(path.name)
        entity, period = (classified[0].name, classified[1]) if classified else (None, None)
        target = lake_path(settings, contract.registry_id, file_id, path.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            tmp = target.with_suffix(target.suffix + ".part")
            shutil.copyfile(path, tmp)
            tmp.replace(target)
        seen = wh.fetchone("SELECT original_name FROM ops.ledger WHERE file_id = ?", [file_id])
        status, reason = RECEIVED, None
        if seen:
            status, reason = DUPLICATE, f"byte-identical to {seen[0]}, already taken in"
        wh.execute(
            "INSERT INTO ops.ledger (file_id, original_name, registry_id, entity, period, size_bytes,"
            " received_at, status, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [file_id, path.name, contract.registry_id, entity, period, path.stat().st_size, now,
             status, reason],
        )
    rows = wh.fetchall(
        "SELECT file_id, original_name, entity, period, coalesce(accept_rejects, FALSE)"
        " FROM ops.ledger"
        " WHERE registry_id = ? AND status = ? ORDER BY received_at, original_name",
        [contract.registry_id, RECEIVED],
    )
    return [
        Delivery(fid, name, contract.registry_id, ent, per,
                 lake_path(settings, contract.registry_id, fid, name), bool(accept))
        for fid, name, ent, per, accept in rows
    ]
