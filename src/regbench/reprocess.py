"""Replay exactly the files of one registry and period through validation and load again: after a
contract or threshold fix, or when raw rows of a period are in doubt. The files come from the lake
(byte-identical to what was delivered), so nothing needs to be delivered again."""

from __future__ import annotations

import getpass
from datetime import datetime

from regbench.ledger import LOADED, RECEIVED
from regbench.warehouse import Warehouse


class ReprocessError(ValueError):
    pass


def mark_for_reprocessing(wh: Warehouse, registry_id: str, period: str, now: datetime) -> list[str]:
    """Send the period's loaded files back to `received`; the next ingest replaces their rows."""
    rows = wh.fetchall(
        "SELECT original_name FROM ops.ledger WHERE registry_id = ? AND period = ? AND status = ?"
        " ORDER BY original_name", [registry_id, period, LOADED])
    if not rows:
        periods = [p for (p,) in wh.fetchall(
            "SELECT DISTINCT period FROM ops.ledger WHERE registry_id = ? AND status = ?"
            " AND period IS NOT NULL ORDER BY period", [registry_id, LOADED])]
        shown = ", ".join(periods[-12:]) or "none"
        raise ReprocessError(f"{registry_id} has no loaded file for period {period!r}; loaded periods "
                             f"(latest 12): {shown}")
    wh.execute(
        "UPDATE ops.ledger SET status = ?, reason = ? WHERE registry_id = ? AND period = ? AND status = ?",
        [RECEIVED, f"reprocessing requested by {getpass.getuser()} at {now.isoformat()}",
         registry_id, period, LOADED])
    return [name for (name,) in rows]
