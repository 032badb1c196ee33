"""The nightly disclosure step: decide, from the marts' exact counts, which cells are published.

It reads `marts.fct_indicator_values`, runs primary and secondary suppression with the attacker
as the judge (`suppression.py`), and writes `marts.disclosure_cells`: one row per published cell
with what is hidden and why. Every publication model reads its counts through that table.
"""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path

import pandas as pd

from regbench.disclosure.policy import Policy, load_policy
from regbench.disclosure.suppression import KEYS, summary, suppress
from regbench.warehouse import Warehouse

log = logging.getLogger("regbench.disclosure")

TABLE = "marts.disclosure_cells"
DDL = f"""CREATE TABLE {TABLE} (
    registry_id VARCHAR(32) NOT NULL,
    indicator_id VARCHAR(64) NOT NULL,
    level VARCHAR(8) NOT NULL,
    unit_id VARCHAR(64),
    region_code VARCHAR(6),
    period_grain VARCHAR(12) NOT NULL,
    period_start DATE NOT NULL,
    num_hidden BOOLEAN NOT NULL,
    den_hidden BOOLEAN NOT NULL,
    reason VARCHAR(16)
)"""
# warn the registry managers when this much of what would be published is hidden
WARN_ALL_PCT = 25.0
WARN_INDICATOR_PCT = 75.0


class DisclosureFailed(RuntimeError):
    """Suppression could not protect every hidden cell: nothing may be published."""


# Every count the publication shows, as cells of one shape: the indicator values; coverage per unit
# and region and year (registered of all persons found); registrations per unit and month, with
# the registry's monthly total as a cell that is published anyway (the files' row counts in the
# data-engineering tables give it), so it is never a partner and always a constraint.
CELL_SOURCES = {
    "indicator values": f"""
        SELECT {', '.join(KEYS)}, numerator, denominator, false AS count_only, false AS fixed
        FROM marts.fct_indicator_values""",
    "coverage": """
        SELECT registry_id, 'coverage__' || registry_id, level, unit_id, region_code, 'year',
               make_date(event_year, 1, 1), only_registry + in_both,
               only_registry + only_reference + in_both, false, false
        FROM marts.fct_coverage""",
    "registrations": """
        SELECT registry_id, 'registrations__' || registry_id, 'unit', unit_id, NULL, 'month',
               period_start, 0, registrations, true, false
        FROM marts.fct_registrations_monthly
        UNION ALL
        SELECT registry_id, 'registrations__' || registry_id, 'national', NULL, NULL, 'month',
               period_start, 0, sum(registrations), true, true
        FROM marts.fct_registrations_monthly GROUP BY registry_id, period_start""",
}


def read_cells(wh: Warehouse) -> pd.DataFrame:
    columns = KEYS + ["numerator", "denominator", "count_only", "fixed"]
    frames = [pd.DataFrame(wh.fetchall(sql), columns=columns) for sql in CELL_SOURCES.values()]
    values = pd.concat([f for f in frames if len(f)], ignore_index=True)
    values["period_start"] = pd.to_datetime(values["period_start"]).dt.date
    return values


STATE = "marts.disclosure_state"


def _digest(values: pd.DataFrame, policy: Policy) -> str:
    """What the decision depends on: the counts, the policy and the layer's own code."""
    h = hashlib.sha256(repr(policy).encode())
    for module in ("suppression.py", "attack.py", "layer.py"):
        h.update((Path(__file__).parent / module).read_bytes())
    ordered = values.sort_values(KEYS, na_position="first").reset_index(drop=True)
    h.update(pd.util.hash_pandas_object(ordered.astype(str), index=False).to_numpy().tobytes())
    return h.hexdigest()


def _decided_before(wh: Warehouse, digest: str) -> bool:
    if not (wh.table_exists("marts", "disclosure_state") and wh.table_exists("marts",
                                                                            "disclosure_cells")):
        return False
    row = wh.fetchone(f"SELECT digest FROM {STATE}")
    return bool(row and row[0] == digest)


def decide(wh: Warehouse, policy: Policy) -> dict:
    started = time.monotonic()
    values = read_cells(wh)
    digest = _digest(values, policy)
    if _decided_before(wh, digest):
        # the same counts under the same policy and code: the same decision (a night with
        # nothing new, a rebuild of the publication); it took minutes on small registries
        cells = wh.frame(f"SELECT * FROM {TABLE}")
        log.info("disclosure: counts, policy and code unchanged; the decision stands")
        return _report(cells, policy, rounds=0, exposed=0, started=started, reused=True)
    result = suppress(values, policy)
    cells = result.cells
    with wh.transaction():
        wh.execute(f"DROP TABLE IF EXISTS {TABLE}")
        wh.execute(DDL)
        if len(cells):
            wh.bulk_insert(TABLE, cells[KEYS + ["num_hidden", "den_hidden", "reason"]])
        wh.execute(f"DROP TABLE IF EXISTS {STATE}")
        wh.execute(f"CREATE TABLE {STATE} (digest VARCHAR(64) NOT NULL)")
        if not len(result.still_exposed):
            wh.execute(f"INSERT INTO {STATE} VALUES (?)", [digest])
    report = _report(cells, policy, result.rounds, len(result.still_exposed), started)
    if len(result.still_exposed):
        first = result.still_exposed.iloc[0]
        raise DisclosureFailed(
            f"{len(result.still_exposed)} hidden cell(s) can still be derived after "
            f"{result.rounds} rounds, e.g. {first['family']} {first['level']} "
            f"{first['unit_id'] or first['region_code'] or ''} {first['period_grain']} "
            f"{first['period_start']}: {first['route']}")
    return report


def _report(cells: pd.DataFrame, policy: Policy, rounds: int, exposed: int, started: float,
            reused: bool = False) -> dict:
    rates = summary(cells) if len(cells) else pd.DataFrame()
    total = len(cells)
    hidden = int(cells["num_hidden"].sum()) if total else 0
    warnings = []
    if total and 100.0 * hidden / total >= WARN_ALL_PCT:
        warnings.append(f"{100.0 * hidden / total:.0f} % of all published cells are hidden")
    for row in rates.itertuples() if len(rates) else []:
        if row.hidden_pct >= WARN_INDICATOR_PCT:
            warnings.append(f"{row.indicator_id}: {row.hidden_pct:.0f} % of its cells are hidden")
    for w in warnings:
        log.warning("disclosure: %s", w)
    report = {
        "policy": policy.name, "k": policy.k, "cells": total, "hidden": hidden,
        "primary": int((cells["reason"] == "primary").sum()) if total else 0,
        "rounds": rounds, "still_exposed": exposed, "reused": reused,
        "warnings": warnings, "seconds": round(time.monotonic() - started, 1),
    }
    log.info("disclosure: %s", report)
    return report


def run(settings) -> dict:
    policy = load_policy(settings.dbt_project_dir)
    with Warehouse(settings) as wh:
        return decide(wh, policy)
