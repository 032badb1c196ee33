"""Quarantine: a file that cannot be loaded waits in `quarantine/<registry>/<sha256>/` with its reason.

The reason names the rule, the row and the column and says what to do; it never holds a data value.
"""

from __future__ import annotations

import getpass
import json
import shutil
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from regbench.config import Settings
from regbench.ledger import DISCARDED, QUARANTINED, RECEIVED
from regbench.warehouse import Warehouse


@dataclass(frozen=True)
class QuarantineReason:
    registry_id: str
    file_id: str
    original_name: str
    rule: str
    message: str
    row: int | None
    column: str | None
    action: str
    quarantined_at: str


def quarantine_file(settings: Settings, source: Path, reason: QuarantineReason) -> Path:
    folder = settings.quarantine / reason.registry_id / reason.file_id
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / reason.original_name
    if not target.exists():
        shutil.copyfile(source, target)
    (folder / "reason.json").write_text(
        json.dumps(asdict(reason), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    where = ", ".join(
        part for part in (
            f"row {reason.row}" if reason.row is not None else "",
            f"column {reason.column}" if reason.column else "",
        ) if part
    ) or "the whole file"
    (folder / "README.txt").write_text(
        f"""This file was not loaded into regbench and waits here.

File:      {reason.original_name}
Registry:  {reason.registry_id}
sha256:    {reason.file_id}
When:      {reason.quarantined_at}

What is wrong ({reason.rule}):
  {reason.message}
Where: {where}

What to do:
  {reason.action or "Correct the file and deliver it again to the registry's drop folder."}
  A corrected delivery for the same period replaces this one automatically.

Other ways out (the file itself stays in the lake either way):
  Retry at the next run (after fixing the registry's contract):
    regbench quarantine release {reason.file_id[:12]}
  Load it anyway; rows that break a rule are still rejected one by one:
    regbench quarantine release {reason.file_id[:12]} --accept
  Never load it:
    regbench quarantine discard {reason.file_id[:12]} --note "why"
""",
        encoding="utf-8",
    )
    return folder


def remove_from_quarantine(settings: Settings, registry_id: str, file_id: str) -> None:
    shutil.rmtree(settings.quarantine / registry_id / file_id, ignore_errors=True)


class QuarantineError(LookupError):
    """A release or discard that cannot be done; the message says why."""


@dataclass(frozen=True)
class QuarantinedFile:
    registry_id: str
    file_id: str
    original_name: str


def find(settings: Settings, wh: Warehouse, prefix: str) -> QuarantinedFile:
    """The one quarantined file whose sha256 starts with `prefix`."""
    if len(prefix) < 6:
        raise QuarantineError("give at least the first 6 characters of the file's sha256")
    rows = wh.fetchall(
        "SELECT registry_id, file_id, original_name FROM ops.ledger WHERE status = ?"
        " AND file_id LIKE ?", [QUARANTINED, prefix.lower() + "%"],
    )
    if not rows:
        raise QuarantineError(f"no quarantined file has a sha256 starting with {prefix!r}; "
                              "`regbench quarantine list` shows what is waiting")
    if len(rows) > 1:
        names = ", ".join(r[2] for r in rows)
        raise QuarantineError(f"{len(rows)} quarantined files match {prefix!r} ({names}); "
                              "give more characters")
    return QuarantinedFile(*rows[0])


def release(settings: Settings, wh: Warehouse, prefix: str, *, accept: bool, note: str,
            now: datetime) -> QuarantinedFile:
    """Send a quarantined file back to the next run; with `accept`, past its file-level gates."""
    found = find(settings, wh, prefix)
    how = "released with --accept" if accept else "released for retry"
    wh.execute(
        "UPDATE ops.ledger SET status = ?, accept_rejects = ?, reason = ?, processed_at = ?"
        " WHERE file_id = ? AND status = ?",
        [RECEIVED, accept, f"{how} by {getpass.getuser()} at {now.isoformat()}: {note}".rstrip(": "),
         now, found.file_id, QUARANTINED],
    )
    remove_from_quarantine(settings, found.registry_id, found.file_id)
    return found


def discard(settings: Settings, wh: Warehouse, prefix: str, *, note: str,
            now: datetime) -> QuarantinedFile:
    """Never load a quarantined file; the ledger keeps it, with who and why."""
    if not note.strip():
        raise QuarantineError("say why with --note: the ledger keeps the reason for the registry")
    found = find(settings, wh, prefix)
    wh.execute(
        "UPDATE ops.ledger SET status = ?, reason = ?, processed_at = ? WHERE file_id = ?"
        " AND status = ?",
        [DISCARDED, f"discarded by {getpass.getuser()} at {now.isoformat()}: {note}", now,
         found.file_id, QUARANTINED],
    )
    remove_from_quarantine(settings, found.registry_id, found.file_id)
    return found
