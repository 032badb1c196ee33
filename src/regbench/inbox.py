"""What is in a drop folder, judged before anything is read: ready files, uploads still in progress,
and entries regbench refuses to read. Nothing found there is passed over silently: whatever is not
taken in becomes a notice, recorded in `ops.inbox_notices` and shown in the night's summary.

- Symbolic links are never followed (a link could point anywhere on the machine); files are opened
  with O_NOFOLLOW, so a link swapped in after the listing is refused too.
- An upload in progress (`.part`, `.tmp`, a dotfile, an Office lock file) waits: it is taken in on
  a later night under its final name, never quarantined for its name. Uploads must write under
  such a name and rename when done (regbench's own SFTP and HTTPS fetch do); a file's age is not
  used, since a drop folder filled just before the run is the normal case.
- Subfolders, files in the inbox root and folders no registry's contract names are strays: a
  person has to move them.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from regbench.redaction import redact

# names that upload tools give a file while it is being written
IN_PROGRESS_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".filepart", ".crdownload",
                        ".upload", ".uploading", ".!sync")

WAITING, REFUSED, STRAY = "waiting", "refused", "stray"


@dataclass(frozen=True)
class Notice:
    location: str          # the folder, relative to the inbox ("" for the inbox root)
    name: str              # redacted
    kind: str              # waiting | refused | stray
    message: str


@dataclass
class Listing:
    ready: list[Path]
    notices: list[Notice]


def in_progress(name: str) -> bool:
    low = name.lower()
    return low.startswith((".", "~$")) or low.endswith(IN_PROGRESS_SUFFIXES)


def list_drop_folder(folder: Path, location: str) -> Listing:
    """The files of one registry's drop folder that are ready to take in, and notices for the rest."""
    ready: list[Path] = []
    notices: list[Notice] = []
    for path in sorted(folder.iterdir()):
        name = redact(path.name)
        st = path.lstat()
        if stat.S_ISLNK(st.st_mode):
            notices.append(Notice(location, name, REFUSED,
                                  "a symbolic link: regbench does not follow links; deliver the file "
                                  "itself into the folder"))
        elif stat.S_ISDIR(st.st_mode):
            notices.append(Notice(location, name, STRAY,
                                  "a subfolder: regbench reads only files directly in the registry's "
                                  "folder; move its files up one level"))
        elif not stat.S_ISREG(st.st_mode):
            notices.append(Notice(location, name, REFUSED,
                                  "not a regular file (a pipe, socket or device): remove it"))
        elif in_progress(path.name):
            notices.append(Notice(location, name, WAITING,
                                  "looks like an upload in progress (its name); it is taken in once "
                                  "it has been renamed to its final name"))
        else:
            ready.append(path)
    return Listing(ready, notices)


def strays(inbox: Path, registry_folders: set[str]) -> list[Notice]:
    """Files in the inbox root and folders that belong to no registry."""
    if not inbox.exists():
        return []
    out = []
    for path in sorted(inbox.iterdir()):
        if path.name in registry_folders and path.is_dir() and not path.is_symlink():
            continue
        name = redact(path.name)
        if path.is_symlink():
            msg = "a symbolic link in the inbox root: not followed; remove it"
        elif path.is_dir():
            msg = ("a folder that no registry's contract names: its files are not read; move "
                   "them to the registry's folder, or add the registry")
        else:
            msg = ("a file in the inbox root: regbench reads each registry's own folder; move it "
                   "into the registry's folder")
        out.append(Notice("", name, STRAY, msg))
    return out


def open_no_follow(path: Path) -> int:
    """A read-only descriptor on `path` itself; raises OSError if it is (now) a symbolic link."""
    return os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))


def record(wh, registry_id: str | None, notices: list[Notice], now: datetime) -> None:
    """Upsert the notices of this run; `last_seen` tells the summary which are still there."""
    for n in notices:
        wh.execute(
            "INSERT INTO ops.inbox_notices (location, name, kind, registry_id, message, first_seen,"
            " last_seen) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (location, name, kind) DO UPDATE"
            " SET message = excluded.message, last_seen = excluded.last_seen",
            [n.location, n.name, n.kind, registry_id, n.message, now, now],
        )
