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
from regbench.parsing import CENTURY_READINGS
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
    # of the unmatched: (row, birth year as written, birth year with +) of a 10-digit number
    # written with - whose + reading (100 years older) is a registered person
    century: tuple[tuple[int, int, int], ...] = ()


def registration_tables(contract: Contract) -> list[tuple[str, Entity]]:
    return [(f"raw.{contract.raw_table(e)}", e) for e in contract.entities if e.role != "optouts"]


def apply_optout_list(wh: Warehouse, contract: Contract, file_id: str, persons: pd.Series,
                      now: datetime,
                      century: dict[int, tuple[str, int, int]] | None = None) -> OptoutResult:
    """Record the list's persons and remove their rows from every raw table; in one transaction.

    `century` (default: what the parser keeps in `persons.attrs`, see
    parsing._century_readings): for rows written as 10 digits with -, the + reading. When the
    person as written matches nobody but the + reading is registered, the opt-out is not moved to
    that person (consent is not guessed): the row is counted in the result and named in the
    list's notice."""
    if century is None:
        century = persons.attrs.get(CENTURY_READINGS, {})
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
    unmatched = set(new["person_id"]) - matched
    suspects = {row: c for row, c in century.items()
                if row in persons.index and persons[row] in unmatched}
    registered_older: set[str] = set()
    if suspects:
        older = sorted({pseudonym for pseudonym, _, _ in suspects.values()})
        marks = ", ".join("?" for _ in older)
        for table, _ in registration_tables(contract):
            registered_older.update(p for (p,) in wh.fetchall(
                f"SELECT DISTINCT person_id FROM {table} WHERE person_id IN ({marks})", older))
    result = OptoutResult(listed, len(new), len(unmatched), tuple(
        (row, year, older_year) for row, (pseudonym, year, older_year) in sorted(suspects.items())
        if pseudonym in registered_older))
    if result.century:
        log.warning("%s: %d person(s) on an opt-out list written with - match nobody, but the same "
                    "digits with + (100 years older) are registered; not removed",
                    contract.registry_id, len(result.century))
    log.info("%s: %d person(s) opted out, %d of them match no registration", contract.registry_id,
             result.new, result.unmatched)
    return result


def report_unmatched(wh: Warehouse, contract: Contract, original_name: str,
                     result: OptoutResult, now: datetime) -> None:
    """A notice for the registry manager: how many persons on the list match nobody; never who."""
    if not result.unmatched:
        return
    message = (f"{result.unmatched} of {result.persons} person(s) on this opt-out list match no "
               "registration in the warehouse, so nobody was removed for them: check their "
               "personnummer with the registry, since with a typo the person meant is still "
               "registered; deliver the corrected numbers on a new list.")
    if result.persons > result.new:
        message += (f" {result.persons - result.new} person(s) on it were already opted out by an "
                    "earlier list and are not counted again.")
    for row, year, older in result.century:
        message += (f" Row {row} is written with - (a person born {year}), but the person with "
                    f"the same digits born {older} is registered: if the list means that "
                    "person, write the number with + (YYMMDD+NNNC) or in 12 digits (YYYYMMDDNNNC) "
                    "and deliver the list again; nobody was removed for this row.")
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
