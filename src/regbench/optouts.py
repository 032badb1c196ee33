"""Opt-outs: a person who leaves a registry is removed from raw, and so from everything built on it.

The registry delivers a list of personnummer (with or without a header line, see
parsing._headerless_list_of); regbench keeps only their pseudonyms (to filter later deliveries too)
and logs how many rows each removal took, never who. Persons on a list who match no registration
are counted and reported to the registry manager (a notice in ops.inbox_notices, kind
`optout_unmatched`, shown in the night's summary): a typo in a personnummer would otherwise be an
opt-out that silently did nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from regbench import raw_changes
from regbench.contracts import Contract, Entity
from regbench.redaction import redact
from regbench.warehouse import Warehouse

log = logging.getLogger("regbench.optouts")

# the notice kind for persons on a list who match no registration
UNMATCHED = "optout_unmatched"


@dataclass(frozen=True)
class OptoutResult:
    persons: int      # distinct persons on the list
    new: int          # of them, not opted out by an earlier list
    unmatched: int    # of the new ones, with no registration in any raw table of the registry


def registration_tables(contract: Contract) -> list[tuple[str, Entity]]:
    return [(f"raw.{contract.raw_table(e)}", e) for e in contract.entities if e.role != "optouts"]


def apply_optout_list(wh: Warehouse, contract: Contract, file_id: str, persons: pd.Series,
                      now: datetime) -> OptoutResult:
    """Record the list's persons and remove their rows from every raw table; in one transaction."""
    new = pd.DataFrame({"person_id": persons.dropna().drop_duplicates()})
    listed = len(new)
    new["registry_id"] = contract.registry_id
    new["file_id"] = file_id
    new["received_at"] = pd.Timestamp(now)
    known = {p for (p,) in wh.fetchall(
        "SELECT person_id FROM ops.optouts WHERE registry_id = ?", [contract.registry_id])}
    new = new.loc[~new["person_id"].isin(known), ["registry_id", "person_id", "file_id", "received_at"]]
    matched: set[str] = set()
    with wh.transaction():
        if len(new):
            wh.bulk_insert("ops.optouts", new)
            # before the rows go: which of the new persons does the warehouse know at all?
            for table, _ in registration_tables(contract):
                matched.update(p for (p,) in wh.fetchall(
                    f"SELECT DISTINCT person_id FROM {table} WHERE person_id IN (SELECT"
                    " person_id FROM ops.optouts WHERE registry_id = ? AND file_id = ?)",
                    [contract.registry_id, file_id]))
        for table, entity in registration_tables(contract):
            remove_opted_out(wh, contract.registry_id, table, entity, file_id, now, only_file=None)
    result = OptoutResult(listed, len(new), len(new) - len(matched & set(new["person_id"])))
    log.info("%s: %d person(s) opted out, %d of them match no registration", contract.registry_id,
             result.new, result.unmatched)
    return result


def report_unmatched(wh: Warehouse, contract: Contract, original_name: str,
                     result: OptoutResult, now: datetime) -> None:
    """A notice for the registry manager: how many persons on the list match nobody; never who."""
    if not result.unmatched:
        return
    message = (f"{result.unmatched} of {result.persons} person(s) on this opt-out list match no "
               "registration in the warehouse: check their personnummer with the registry (a "
               "typo opts out nobody). They are kept as opted out, so later deliveries of them "
               "are left out all the same.")
    wh.execute(
        "INSERT INTO ops.inbox_notices (location, name, kind, registry_id, message, first_seen,"
        " last_seen) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (location, name, kind) DO UPDATE"
        " SET message = excluded.message, last_seen = excluded.last_seen",
        [contract.inbox_folder, redact(original_name), UNMATCHED, contract.registry_id, message,
         now, now],
    )


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
