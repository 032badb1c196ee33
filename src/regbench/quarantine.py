"""Quarantine: a file that cannot be loaded waits in `quarantine/<registry>/<sha256>/` with its reason.

The reason names the rule, the row and the column and says what to do; it never holds a data value.
A delivered file's name can hold a personnummer (`rattelse_19121212-1212.csv`): quarantine redacts it
(`regbench.redaction.redact`) wherever it stores or shows a name, whatever its caller passed in, and
keeps its folders 0700 and its files 0600 whatever the umask (the files themselves hold personnummer).

Each folder keeps `history.jsonl`, appended to and never rewritten: every time the file was
quarantined and every release with who, when and the note. A release removes the copy and the
reason but keeps the history, so when the retried file is quarantined again the note is still there.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import re
import shutil
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path

from regbench.config import Settings
from regbench.ledger import DISCARDED, QUARANTINED, RECEIVED
from regbench.redaction import redact
from regbench.warehouse import Warehouse

log = logging.getLogger("regbench.quarantine")

REASON = "reason.json"
README = "README.txt"
HISTORY = "history.jsonl"
# show, release and discard all take a sha256 prefix of at least this many characters
MIN_PREFIX = 6
_HEX = re.compile(r"[0-9a-f]+")


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
    """Copy `source` into the file's quarantine folder with its reason; returns the folder."""
    reason = replace(reason, original_name=redact(reason.original_name),
                     message=redact(reason.message), action=redact(reason.action or ""))
    folder = _private_dir(settings, reason.registry_id, reason.file_id)
    target = folder / _copy_name(reason.original_name)
    if target.exists():
        os.chmod(target, 0o600)
    else:
        _copy_private(source, target)
    history = folder / HISTORY
    if not history.exists() and (folder / REASON).exists():
        # a folder written before the history was kept: its reason is the first entry
        _append_event(history, _quarantined_event(json.loads((folder / REASON).read_text("utf-8"))))
    _append_event(history, _quarantined_event(asdict(reason)))
    _write_private(folder / REASON, json.dumps(asdict(reason), indent=2, ensure_ascii=False) + "\n")
    _write_private(folder / README, describe(folder))
    _remove_strays(folder, keep={target.name, REASON, README, HISTORY})
    log.info("%s: %s (%s) quarantined: %s", reason.registry_id, reason.original_name,
             reason.file_id[:12], reason.rule)
    return folder


def describe(folder: Path) -> str:
    """What README.txt says and `regbench quarantine show` prints: the reason, what to do, and
    the history of the file in quarantine (names redacted even in a folder written before)."""
    r = json.loads((folder / REASON).read_text(encoding="utf-8"))
    where = ", ".join(
        part for part in (
            f"row {r['row']}" if r.get("row") is not None else "",
            f"column {r['column']}" if r.get("column") else "",
        ) if part
    ) or "the whole file"
    short = r["file_id"][:12]
    text = f"""This file was not loaded into regbench and waits here.

File:      {redact(r['original_name'])}
Registry:  {r['registry_id']}
sha256:    {r['file_id']}
When:      {r['quarantined_at']}

What is wrong ({r['rule']}):
  {redact(r['message'])}
Where: {where}

What to do:
  {redact(r.get('action') or '') or "Correct the file and deliver it again to the registry's drop folder."}
  A corrected delivery for the same period replaces this one automatically.

Other ways out (the file itself stays in the lake either way):
  Retry at the next run (after fixing the registry's contract):
    regbench quarantine release {short} --note "what was fixed"
  Load it anyway; rows that break a rule are still rejected one by one:
    regbench quarantine release {short} --accept --note "why"
  Never load it:
    regbench quarantine discard {short} --note "why"
"""
    events = history(folder)
    if events:
        text += "\nHistory (oldest first):\n" + "".join(f"  {_event_line(e)}\n" for e in events)
    return text


def history(folder: Path) -> list[dict]:
    """Every time the file was quarantined or released, oldest first."""
    path = folder / HISTORY
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def remove_from_quarantine(settings: Settings, registry_id: str, file_id: str) -> None:
    """The file will never be retried from quarantine (superseded or discarded): its folder goes."""
    shutil.rmtree(settings.quarantine / registry_id / file_id, ignore_errors=True)


class QuarantineError(LookupError):
    """A show, release or discard that cannot be done; the message says why."""


@dataclass(frozen=True)
class QuarantinedFile:
    registry_id: str
    file_id: str
    original_name: str  # redacted


def find(settings: Settings, wh: Warehouse, prefix: str) -> QuarantinedFile:
    """The one file the ledger has in quarantine whose sha256 starts with `prefix`."""
    prefix = _checked_prefix(prefix)
    rows = wh.fetchall(
        "SELECT registry_id, file_id, original_name FROM ops.ledger WHERE status = ?"
        " AND file_id LIKE ? ORDER BY registry_id, file_id, original_name",
        [QUARANTINED, prefix + "%"],
    )
    return _only(prefix, [QuarantinedFile(reg, fid, redact(name)) for reg, fid, name in rows])


def find_waiting(settings: Settings, prefix: str) -> tuple[QuarantinedFile, Path]:
    """The one quarantine folder whose sha256 starts with `prefix`, read without the warehouse
    (so `show` works while a pipeline holds it); same prefix rules and errors as `find`."""
    prefix = _checked_prefix(prefix)
    folders = {}
    for reason_file in sorted(settings.quarantine.glob(f"*/{prefix}*/{REASON}")):
        r = json.loads(reason_file.read_text(encoding="utf-8"))
        found = QuarantinedFile(reason_file.parent.parent.name, reason_file.parent.name,
                                redact(r["original_name"]))
        folders[found] = reason_file.parent
    found = _only(prefix, list(folders))
    return found, folders[found]


def release(settings: Settings, wh: Warehouse, prefix: str, *, accept: bool, note: str,
            now: datetime) -> QuarantinedFile:
    """Send a quarantined file back to the next run; with `accept`, past its file-level gates."""
    found = find(settings, wh, prefix)
    note, by = redact(note.strip()), getpass.getuser()
    how = _released(accept)
    wh.execute(
        "UPDATE ops.ledger SET status = ?, accept_rejects = ?, reason = ?, processed_at = ?"
        " WHERE registry_id = ? AND file_id = ? AND status = ?",
        [RECEIVED, accept, f"{how} by {by} at {now.isoformat()}: {note}".rstrip(": "),
         now, found.registry_id, found.file_id, QUARANTINED],
    )
    folder = _private_dir(settings, found.registry_id, found.file_id)
    _append_event(folder / HISTORY, {"event": "released", "at": now.isoformat(), "by": by,
                                     "accept": accept, "note": note})
    # the copy and reason go (the lake keeps the file); the history stays for the next time
    _remove_strays(folder, keep={HISTORY})
    log.info("%s: %s (%s) %s by %s", found.registry_id, found.original_name, found.file_id[:12],
             how, by)
    return found


def discard(settings: Settings, wh: Warehouse, prefix: str, *, note: str,
            now: datetime) -> QuarantinedFile:
    """Never load a quarantined file; the ledger keeps it, with who and why."""
    if not note.strip():
        raise QuarantineError("say why with --note: the ledger keeps the reason for the registry")
    found = find(settings, wh, prefix)
    by = getpass.getuser()
    wh.execute(
        "UPDATE ops.ledger SET status = ?, reason = ?, processed_at = ? WHERE registry_id = ?"
        " AND file_id = ? AND status = ?",
        [DISCARDED, f"discarded by {by} at {now.isoformat()}: {redact(note.strip())}", now,
         found.registry_id, found.file_id, QUARANTINED],
    )
    remove_from_quarantine(settings, found.registry_id, found.file_id)
    log.info("%s: %s (%s) discarded by %s", found.registry_id, found.original_name,
             found.file_id[:12], by)
    return found


def _checked_prefix(prefix: str) -> str:
    prefix = prefix.strip().lower()
    if len(prefix) < MIN_PREFIX:
        raise QuarantineError(f"give at least the first {MIN_PREFIX} characters of the file's sha256")
    if not _HEX.fullmatch(prefix):
        raise QuarantineError(f"{prefix!r} is not the start of a sha256: it has only the characters "
                              "0-9 and a-f")
    return prefix


def _only(prefix: str, matches: list[QuarantinedFile]) -> QuarantinedFile:
    files: dict[tuple[str, str], QuarantinedFile] = {}
    for m in matches:  # one file delivered under two names is still one file
        files.setdefault((m.registry_id, m.file_id), m)
    if not files:
        raise QuarantineError(f"no quarantined file has a sha256 starting with {prefix!r}; "
                              "`regbench quarantine list` shows what is waiting")
    if len(files) > 1:
        listed = "".join(f"\n  {f.file_id[:12]}  {f.registry_id}: {f.original_name}"
                         for f in files.values())
        raise QuarantineError(f"{len(files)} quarantined files have a sha256 starting with "
                              f"{prefix!r}; give more characters:{listed}")
    return next(iter(files.values()))


def _released(accept: bool) -> str:
    return "released with --accept" if accept else "released for retry"


def _quarantined_event(reason: dict) -> dict:
    return {"event": "quarantined", "at": reason["quarantined_at"], "rule": reason["rule"],
            "row": reason.get("row"), "column": reason.get("column"),
            "message": redact(reason["message"])}


def _event_line(e: dict) -> str:
    if e["event"] == "released":
        note = f': "{redact(e["note"])}"' if e.get("note") else " (no note)"
        return f"{e['at']}  {_released(bool(e.get('accept')))} by {e.get('by')}{note}"
    where = ", ".join(p for p in (f"row {e['row']}" if e.get("row") is not None else "",
                                  f"column {e['column']}" if e.get("column") else "") if p)
    return f"{e['at']}  {e['event']} ({e.get('rule')}{', ' + where if where else ''})"


def _copy_name(name: str) -> str:
    """The quarantine copy's file name: the delivered name, redacted, never one of ours."""
    name = redact(name)
    return f"delivered_{name}" if name in {REASON, README, HISTORY} or name.startswith(".") else name


def _private_dir(settings: Settings, *parts: str) -> Path:
    path = settings.quarantine
    for part in ("", *parts):
        path = path / part if part else path
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path, 0o700)
    return path


def _open_private(path: Path, flags: int) -> int:
    fd = os.open(path, flags | os.O_WRONLY | os.O_CREAT, 0o600)
    os.fchmod(fd, 0o600)
    return fd


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with os.fdopen(_open_private(tmp, os.O_TRUNC), "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _copy_private(source: Path, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.tmp")
    with source.open("rb") as src, os.fdopen(_open_private(tmp, os.O_TRUNC), "wb") as dst:
        shutil.copyfileobj(src, dst)
    os.replace(tmp, target)


def _append_event(path: Path, event: dict) -> None:
    with os.fdopen(_open_private(path, os.O_APPEND), "a", encoding="utf-8") as fh:
        fh.write(json.dumps(event, ensure_ascii=False) + "\n")


def _remove_strays(folder: Path, keep: set[str]) -> None:
    """Anything else in the folder goes: a copy stored under an unredacted name by an older
    version, a half-written temporary file, or (on release) the copy and reason themselves."""
    for path in folder.iterdir():
        if path.name in keep:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
