"""Opt-outs: a person who leaves a registry is removed from raw, and so from everything built on it.

The registry delivers a list of personnummer; regbench keeps only their pseudonyms (to filter later
deliveries too) and logs how many rows each removal took, never who.
"""

from __future__ import annotations

import logging
from datetime import datetime

import pandas as pd

from regbench import raw_changes
from regbench.contracts import Contract, Entity
from regbench.warehouse import Warehouse

log = logging.getLogger("regbench.optouts")


def registration_tables(contract: Contract) -> list[tuple[str, Entity]]:
    return [(f"raw.{contract.raw_table(e)}", e) for e in contract.entities if e.role != "optouts"]


def apply_optout_list(wh: Warehouse, contract: Contract, file_id: str, persons: pd.Series,
                      now: datetime) -> int:
    """Record the list's persons and remove their rows from every raw table; in one transaction."""
    new = pd.DataFrame({"person_id": persons.dropna().drop_duplicates()})
    new["registry_id"] = contract.registry_id
    new["file_id"] = file_id
    new["received_at"] = pd.Timestamp(now)
    known = {p for (p,) in wh.fetchall(
        "SELECT person_id FROM ops.optouts WHERE registry_id = ?", [contract.registry_id])}
    new = new.loc[~new["person_id"].isin(known), ["registry_id", "person_id", "file_id", "received_at"]]
    with wh.transaction():
        if len(new):
            wh.bulk_insert("ops.optouts", new)
        for table, entity in registration_tables(contract):
            remove_opted_out(wh, contract.registry_id, table, entity, file_id, now, only_file=None)
    log.info("%s: %d person(s) opted out", contract.registry_id, len(new))
    return len(new)


def remove_opted_out(wh: Warehouse, registry_id: str, table: str, entity: Entity,
                     trigger_file_id: str, now: datetime, *, only_file: str | None) -> int:
    """Delete the rows of opted-out persons from one raw table (or one file's rows of it)."""
    scope = " AND _file_id = ?" if only_file else ""
    params = [registry_id, *([only_file] if only_file else [])]
    where = (f"person_id IN (SELECT person_id FROM ops.optouts WHERE registry_id = ?){scope}")
    (count,) = wh.fetchone(f"SELECT count(*) FROM {table} WHERE {where}", params)
    if count:
        raw_changes.record_rows(wh, table, entity, where, params, now)
        wh.execute(f"DELETE FROM {table} WHERE {where}", params)
        wh.execute(
            "INSERT INTO ops.optout_log (applied_at, registry_id, trigger_file_id, table_name,"
            " rows_removed) VALUES (?, ?, ?, ?, ?)",
            [now, registry_id, trigger_file_id, table, count],
        )
    return count
