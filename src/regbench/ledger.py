"""Lake and ledger: every delivered file is copied unchanged into a lake keyed by its sha256 and gets
a ledger row, so each file is accounted for: loaded, duplicate, superseded or quarantined."""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from regbench import inbox as inbox_notices
from regbench.config import Settings
from regbench.contracts import Contract
from regbench.inbox import REFUSED, Notice, list_drop_folder, open_no_follow
from regbench.pseudonym import load_key
from regbench.redaction import redact
from regbench.warehouse import Warehouse

RECEIVED, LOADED, DUPLICATE, SUPERSEDED, QUARANTINED, DISCARDED = (
    "received", "loaded", "duplicate", "superseded", "quarantined", "discarded",
)


def _sha256_of_handle(fh) -> str:
    h = hashlib.sha256()
    for chunk in iter(lambda: fh.read(1 << 20), b""):
        h.update(chunk)
    return h.hexdigest()


def private_dir(path: Path) -> Path:
    """A folder that may hold personnummer: only the service user may enter it (0700)."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


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
    # the file's modification time in the drop folder (None for rows from before version 6)
    delivered_at: datetime | None = None


def name_key(key: bytes, name: str) -> str:
    """A keyed hash of a delivered file's name as delivered: what tells two names apart that
    redact to the same text (`patient_[personnummer].csv`), without keeping either name."""
    return hmac.new(key, b"regbench file name\0" + name.encode("utf-8"), hashlib.sha256).hexdigest()


def lake_path(settings: Settings, registry_id: str, file_id: str, name: str) -> Path:
    suffix = "".join(Path(name).suffixes[-1:]) or ".bin"
    return settings.lake / registry_id / f"{file_id}{suffix}"


def extract(settings: Settings, wh: Warehouse, contract: Contract, now: datetime) -> list[Delivery]:
    """Take new files from the registry's drop folder into the lake; returns what needs processing.

    A file already in this registry's ledger under the same name is skipped silently (a drop folder
    is scanned every night); the same bytes under a new name are recorded as a duplicate and load
    nothing. Names are stored redacted (a personnummer in a file name never reaches the ledger).
    Files left `received` by an interrupted run are returned again, so a crash never loses one.
    What is not taken in (uploads in progress, links, subfolders) is recorded as a notice.
    """
    inbox = settings.inbox / contract.inbox_folder
    if inbox.is_symlink():
        inbox_notices.record(wh, contract.registry_id, [Notice(
            "", redact(inbox.name), REFUSED,
            "the registry's folder is a symbolic link: not followed; make it a real folder")], now)
        return pending(settings, wh, contract)
    if not inbox.exists():
        private_dir(inbox)  # a folder someone else made (an SFTP upload account) is left as it is
    listing = list_drop_folder(inbox, contract.inbox_folder)
    inbox_notices.record(wh, contract.registry_id, listing.notices, now)
    key = load_key(demo_mode=settings.demo_mode)
    for path in listing.ready:
        try:
            _take_in(settings, wh, contract, path, now, key)
        except OSError as exc:  # swapped for a link, removed or unreadable since the listing
            inbox_notices.record(wh, contract.registry_id, [Notice(
                contract.inbox_folder, redact(path.name), REFUSED,
                f"could not be read ({type(exc).__name__}: {exc.strerror or 'error'}); "
                "check the file's permissions and that it is a regular file, not a link")], now)
    return pending(settings, wh, contract)


def pending(settings: Settings, wh: Warehouse, contract: Contract) -> list[Delivery]:
    """The registry's files waiting to be processed (`received`), oldest first: by the run that
    took them in, then by their modification time in the drop folder, so of two files for one
    period taken in by the same run (a .csv and an .xlsx) the one delivered last replaces the
    other, whatever their names."""
    rows = wh.fetchall(
        "SELECT file_id, original_name, entity, period, coalesce(accept_rejects, FALSE),"
        " delivered_at FROM ops.ledger WHERE registry_id = ? AND status = ?"
        " ORDER BY received_at, coalesce(delivered_at, received_at), original_name",
        [contract.registry_id, RECEIVED],
    )
    return [
        Delivery(fid, name, contract.registry_id, ent, per,
                 lake_path(settings, contract.registry_id, fid, name), bool(accept), delivered)
        for fid, name, ent, per, accept, delivered in rows
    ]


def _take_in(settings: Settings, wh: Warehouse, contract: Contract, path: Path,
             now: datetime, key: bytes) -> None:
    name, identity = redact(path.name), name_key(key, path.name)
    with os.fdopen(open_no_follow(path), "rb") as fh:
        file_id = _sha256_of_handle(fh)
        if wh.fetchone(
            "SELECT 1 FROM ops.ledger WHERE registry_id = ? AND file_id = ? AND original_name = ?",
            [contract.registry_id, file_id, name],
        ):
            # a row from before version 6 learns its name's key the first time it is seen again
            wh.execute("UPDATE ops.ledger SET name_key = ? WHERE registry_id = ? AND file_id = ?"
                       " AND original_name = ? AND name_key IS NULL",
                       [identity, contract.registry_id, file_id, name])
            _take_back_earlier_version(wh, contract, file_id, name, identity, now)
            return
        st = os.fstat(fh.fileno())
        size, delivered = st.st_size, datetime.fromtimestamp(st.st_mtime)
        classified = contract.classify(path.name)
        entity, period = (classified[0].name, classified[1]) if classified else (None, None)
        target = lake_path(settings, contract.registry_id, file_id, name)
        private_dir(target.parent)
        if not target.exists():
            fh.seek(0)
            tmp = target.with_suffix(target.suffix + ".part")
            with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
                shutil.copyfileobj(fh, out, 1 << 20)
            tmp.replace(target)
    # a copy counts only if its content got in (or is on its way): bytes first delivered under a
    # wrong name and quarantined for it load when they come again under the right one
    seen = wh.fetchone("SELECT original_name FROM ops.ledger WHERE registry_id = ? AND file_id = ?"
                       " AND status IN (?, ?, ?)",
                       [contract.registry_id, file_id, LOADED, SUPERSEDED, RECEIVED])
    status, reason = RECEIVED, None
    if seen:
        status, reason = DUPLICATE, f"byte-identical to {seen[0]}, already taken in"
    wh.execute(
        "INSERT INTO ops.ledger (file_id, original_name, registry_id, entity, period, size_bytes,"
        " received_at, status, reason, name_key, delivered_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [file_id, name, contract.registry_id, entity, period, size, now, status, reason, identity,
         delivered],
    )


def _take_back_earlier_version(wh: Warehouse, contract: Contract, file_id: str, name: str,
                               identity: str, now: datetime) -> None:
    """A name whose bytes went back to an earlier version (v1, v2, then v1 again) is a delivery:
    the registry reverted its correction, so v1 is processed again and supersedes v2.

    A name is the name as delivered (its keyed hash), not its redacted text: two files whose
    names redact alike are two names, not one name changing its bytes every night. A file a
    person discarded stays discarded."""
    latest = wh.fetchone(
        "SELECT file_id FROM ops.ledger WHERE registry_id = ?"
        " AND (name_key = ? OR (name_key IS NULL AND original_name = ?))"
        " ORDER BY received_at DESC LIMIT 1", [contract.registry_id, identity, name])
    if latest is None or latest[0] == file_id:
        return
    wh.execute(
        "UPDATE ops.ledger SET status = ?, received_at = ?, superseded_by = NULL, reason = ?"
        " WHERE registry_id = ? AND file_id = ? AND original_name = ? AND status NOT IN (?, ?)",
        [RECEIVED, now, f"delivered again: {name} went back to these bytes after {latest[0][:12]}",
         contract.registry_id, file_id, name, RECEIVED, DISCARDED])
