"""What is in a drop folder, judged before anything is read: ready files, uploads still in progress,
and entries regbench refuses to read. Nothing found there is passed over silently: whatever is not
taken in becomes a notice, recorded in `ops.inbox_notices` and shown in the night's summary.

- Symbolic links are never followed (a link could point anywhere on the machine); files are opened
  with O_NOFOLLOW, so a link swapped in after the listing is refused too.
- An upload in progress (`.part`, `.tmp`, a dotfile, an Office lock file) waits: it is taken in on
  a later night under its final name, never quarantined for its name. Uploads should write under
  such a name and rename when done (regbench's own SFTP and HTTPS fetch do).
- A file modified within the last SETTLE_WINDOW seconds (a slow writer over SMB or scp that keeps
  the final name) gets a second look after one short pause for all such files: if its size or
  modification time changed, it waits for the next run like an upload in progress; if not, it is
  taken in at once (a drop folder filled just before the run is the normal case).
- Subfolders, files in the inbox root and folders no registry's contract names are strays: a
  person has to move them.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from regbench.redaction import redact

# names that upload tools give a file while it is being written
IN_PROGRESS_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".filepart", ".crdownload",
                        ".upload", ".uploading", ".!sync")

WAITING, REFUSED, STRAY = "waiting", "refused", "stray"
# a file modified this recently (seconds, either way: a file server's clock may be ahead) may still
# be being written; it is looked at again after settle_pause() seconds
SETTLE_WINDOW = 60.0
DEFAULT_SETTLE_PAUSE = 2.0


def settle_pause() -> float:
    """Seconds between the two looks at recently modified files (REGBENCH_SETTLE_PAUSE)."""
    try:
        return max(0.0, float(os.environ.get("REGBENCH_SETTLE_PAUSE", DEFAULT_SETTLE_PAUSE)))
    except ValueError:
        return DEFAULT_SETTLE_PAUSE


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
    ready, unsettled = settled(ready, location)
    return Listing(ready, notices + unsettled)


def settled(paths: list[Path], location: str) -> tuple[list[Path], list[Notice]]:
    """The files not being written right now, and a notice for each that still is: files modified
    within SETTLE_WINDOW are looked at again after one pause (for all of them together)."""
    now = time.time()
    first = {}
    for path in paths:
        st = path.lstat()
        if abs(now - st.st_mtime) <= SETTLE_WINDOW:
            first[path] = (st.st_size, st.st_mtime_ns)
    if not first:
        return paths, []
    pause = settle_pause()
    time.sleep(pause)
    ready, notices = [], []
    for path in paths:
        if path not in first:
            ready.append(path)
            continue
        try:
            st = path.lstat()
        except OSError:  # renamed or removed meanwhile: the next listing sees what it became
            continue
        if (st.st_size, st.st_mtime_ns) == first[path]:
            ready.append(path)
        else:
            notices.append(Notice(location, redact(path.name), WAITING,
                                  f"still being written: its size or modification time changed "
                                  f"within {pause:g} s; it is taken in at a later run once it "
                                  "stays unchanged (uploads should write under a .part name and "
                                  "rename the file when done)"))
    return ready, notices


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
