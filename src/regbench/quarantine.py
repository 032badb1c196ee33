"""Quarantine: a file that cannot be loaded waits in `quarantine/<registry>/<sha256>/` with its reason.

The reason names the rule, the row and the column and says what to do; it never holds a data value.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from regbench.config import Settings


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
""",
        encoding="utf-8",
    )
    return folder
