"""Data-quality checks over the history in the warehouse, per registry and unit: registration
frequency, coverage, timeliness and completeness. Thresholds come from `expectations/`.

Every result carries a Kahn category, a status (passed, failed, not_applicable), a severity, the
observed value and the threshold; counts only, never a value of a registration.
"""

from __future__ import annotations

import logging
import statistics
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd

from regbench.contracts import ColumnType, Contract
from regbench.thresholds import Thresholds, load_thresholds
from regbench.warehouse import Warehouse

log = logging.getLogger("regbench.warehouse_checks")
PASSED, FAILED, NOT_APPLICABLE = "passed", "failed", "not_applicable"


@dataclass(frozen=True)
class UnitCheck:
    registry_id: str
    unit_id: str
    check_name: str
    kahn_category: str
    severity: str
    status: str
    observed_value: float | None
    threshold_value: float
    period: str
    element_count: int | None = None
    unexpected_count: int | None = None
    column_name: str | None = None
    entity: str | None = None


def months_back(month_start: date, months: int) -> date:
    return (pd.Timestamp(month_start) - pd.DateOffset(months=months)).date()


def registration_frequency(rows: list[tuple], t: Thresholds) -> list[UnitCheck]:
    """rows: (registry_id, unit_id, period_start, registrations) of one registry, dense by month."""
    c = t.registration_frequency
    latest = max(r[2] for r in rows)
    window_start = months_back(latest, c.window_months - 1)
    baseline_start = months_back(window_start, c.baseline_months)
    by_unit: dict[str, dict[date, int]] = defaultdict(dict)
    for _, unit, month, n in rows:
        by_unit[unit][month] = int(n)
    out = []
    for unit, months in sorted(by_unit.items()):
        window = sum(n for m, n in months.items() if m >= window_start)
        baseline = [n for m, n in months.items() if baseline_start <= m < window_start]
        expected = statistics.median(baseline) * c.window_months if baseline else 0.0
        judged = len(baseline) == c.baseline_months and expected >= c.min_expected
        status = NOT_APPLICABLE if not judged else (
            FAILED if window < c.min_share_of_baseline * expected else PASSED)
        out.append(UnitCheck(
            t.registry_id, unit, "registration_frequency", "plausibility", c.severity, status,
            round(window / expected, 4) if expected else None, c.min_share_of_baseline,
            f"{window_start:%Y-%m}..{latest:%Y-%m}", element_count=int(round(expected)),
            unexpected_count=window,
        ))
    return out


def coverage(rows: list[tuple], t: Thresholds) -> list[UnitCheck]:
    """rows: (unit_id, event_year, coverage, persons) of one registry at unit level.

    Judged on the latest complete year (before the registry's latest year: the reference registers
    lag) that has enough persons; the running year only when there is nothing else.
    """
    c = t.coverage
    current = max((int(r[1]) for r in rows), default=None)
    by_unit: dict[str, list[tuple]] = defaultdict(list)
    for unit, year, cov, persons in rows:
        if unit is not None:
            by_unit[unit].append((int(year), cov, int(persons)))
    out = []
    for unit, years in sorted(by_unit.items()):
        complete = [y for y in years if y[0] < current] or years
        judged = [y for y in complete if y[2] >= c.min_persons]
        if not judged:
            year, cov, persons = max(complete)
            status = NOT_APPLICABLE
        else:
            year, cov, persons = max(judged)
            status = FAILED if cov < c.min_coverage else PASSED
        out.append(UnitCheck(
            t.registry_id, unit, "coverage", "completeness", c.severity, status,
            round(float(cov), 4) if cov is not None else None, c.min_coverage, str(year),
            element_count=persons,
        ))
    return out


def timeliness(wh: Warehouse, t: Thresholds) -> list[UnitCheck]:
    """90th percentile of days from event to registration, over what was registered in the window
    (by registration date: by event date, the long lags of recent events are not yet visible)."""
    c = t.timeliness
    (latest,) = wh.fetchone(
        "SELECT max(registration_date) FROM intermediate.int_registrations WHERE registry_id = ?",
        [t.registry_id])
    if latest is None:
        return []
    latest = latest if isinstance(latest, date) else latest.date()
    since = months_back(latest, c.window_months)
    rows = wh.fetchall(
        "SELECT unit_id, count(*), percentile_cont(0.9) WITHIN GROUP (ORDER BY lag_days)"
        " FROM intermediate.int_registrations WHERE registry_id = ? AND registration_date > ?"
        " GROUP BY unit_id ORDER BY unit_id", [t.registry_id, since])
    out = []
    for unit, n, p90 in rows:
        status = NOT_APPLICABLE if n < c.min_registrations else (
            FAILED if p90 > c.max_p90_days else PASSED)
        out.append(UnitCheck(
            t.registry_id, unit, "timeliness_p90_days", "completeness", c.severity, status,
            round(float(p90), 1), c.max_p90_days, f"{since:%Y-%m-%d}..{latest:%Y-%m-%d}",
            element_count=int(n),
        ))
    return out


def completeness(wh: Warehouse, contract: Contract, t: Thresholds) -> list[UnitCheck]:
    c = t.completeness
    out = []
    for entity in contract.entities:
        if entity.role != "registrations" or entity.unit_column is None:
            continue
        table = f"raw.{contract.raw_table(entity)}"
        event, unit = entity.event_date_column, entity.unit_column.name
        skip = {event, unit, entity.pnr_column.name, entity.registration_date_column}
        columns = [col for col in entity.columns if col.name not in skip
                   and (col.required or col.name in c.variables)]
        if not columns:
            continue
        (latest,) = wh.fetchone(f"SELECT max({event}) FROM {table}")
        if latest is None:
            continue
        latest = latest if isinstance(latest, date) else latest.date()
        since = months_back(latest, c.window_months)
        sums = []
        params: list = []
        for col in columns:
            unknown = list(col.unknown_codes) if col.type is ColumnType.CODE else []
            marks = (f" OR {col.name} IN ({', '.join('?' for _ in unknown)})") if unknown else ""
            params.extend(unknown)
            sums.append(f"sum(CASE WHEN {col.name} IS NULL{marks} THEN 1 ELSE 0 END)")
        rows = wh.fetchall(
            f"SELECT {unit}, count(*), {', '.join(sums)} FROM {table} WHERE {event} > ?"
            f" GROUP BY {unit} ORDER BY {unit}", [*params, since])
        for unit_id, n, *missing in rows:
            for col, m in zip(columns, missing, strict=True):
                pct = 100.0 * int(m) / n
                status = NOT_APPLICABLE if n < c.min_registrations else (
                    FAILED if pct > c.max_missing_pct else PASSED)
                out.append(UnitCheck(
                    t.registry_id, unit_id, "completeness_missing_pct", "completeness", c.severity,
                    status, round(pct, 2), c.max_missing_pct, f"{since:%Y-%m-%d}..{latest:%Y-%m-%d}",
                    element_count=int(n), unexpected_count=int(m), column_name=col.name,
                    entity=entity.name,
                ))
    return out


def run_checks(wh: Warehouse, contracts: dict[str, Contract], thresholds_dir: Path) -> list[UnitCheck]:
    monthly = wh.fetchall("SELECT registry_id, unit_id, period_start, registrations"
                          " FROM marts.fct_registrations_monthly")
    cov = wh.fetchall("SELECT registry_id, unit_id, event_year, coverage,"
                      " only_registry + only_reference + in_both FROM marts.fct_coverage"
                      " WHERE level = 'unit'")
    results: list[UnitCheck] = []
    for registry_id, contract in sorted(contracts.items()):
        t = load_thresholds(thresholds_dir, registry_id)
        mine = [r for r in monthly if r[0] == registry_id]
        if mine:
            results += registration_frequency(mine, t)
        results += coverage([r[1:] for r in cov if r[0] == registry_id], t)
        results += timeliness(wh, t)
        results += completeness(wh, contract, t)
    failed = [r for r in results if r.status == FAILED]
    log.info("warehouse checks: %d results, %d failed", len(results), len(failed))
    return results


def store(wh: Warehouse, results: list[UnitCheck], now: datetime) -> None:
    if not results:
        return
    frame = pd.DataFrame([asdict(r) for r in results])
    frame["checked_at"] = pd.Timestamp(now)
    frame["stage"] = "warehouse"
    frame["file_id"] = None
    frame["unexpected_percent"] = None
    frame["threshold_pct"] = None
    for col in ("element_count", "unexpected_count"):
        frame[col] = frame[col].astype("Int64")
    frame["unexpected_percent"] = frame["unexpected_percent"].astype("float64")
    frame["threshold_pct"] = frame["threshold_pct"].astype("float64")
    with wh.transaction():
        wh.bulk_insert("ops.dq_results", frame)
