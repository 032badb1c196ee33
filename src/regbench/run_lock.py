"""One pipeline run at a time per var/ folder (issue 18).

Two `regbench run` at once both wrote the same warehouse (one hit DuckDB's lock) and the same
logs; so did two `regbench ingest`, or an ingest or reprocess during a run. `run_lock` takes an
exclusive flock on var/run.lock for the whole command (`run`, `build`, `ingest`, `reprocess`); a
second fails at once with RunLocked, naming the first (pid, command, start, its logs). The tasks of
a run (`airflow dags test`) call the nightly steps, not these commands, so never wait on it. The
kernel drops the lock when its process dies, however it dies, so a killed run never leaves a stale
lock to clear by hand.
On PostgreSQL several machines can share one warehouse: there the Airflow pool regbench_warehouse
serialises the writers, and this lock only covers runs sharing one var/ folder.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from regbench.config import Settings


class RunLocked(RuntimeError):
    pass


def lock_path(settings: Settings) -> Path:
    return settings.var / "run.lock"


@contextmanager
def run_lock(settings: Settings, command: str) -> Iterator[Callable[..., None]]:
    """Hold the run lock for `command`; yields `describe(logs=...)`, which adds what a refused
    second run should be told about this one."""
    path = lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunLocked(_refusal(path, command)) from None
        holder = {"pid": os.getpid(), "command": command,
                  "started": datetime.now().replace(microsecond=0).isoformat(sep=" ")}

        def describe(**info: object) -> None:
            holder.update({k: str(v) for k, v in info.items()})
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(holder).encode(), 0)

        describe()
        try:
            yield describe
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _refusal(path: Path, command: str) -> str:
    try:
        holder = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        holder = {}
    who = (f"{holder.get('command', 'regbench run')} (pid {holder.get('pid', '?')}, started "
           f"{holder.get('started', '?')})") if holder else "regbench run"
    where = f"; its logs: {holder['logs']}" if holder.get("logs") else ""
    return (f"Another {who} is running on {path.parent}{where}. This {command} exits without "
            "touching anything: wait for that one to end, then run again.")
