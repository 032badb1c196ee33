"""Audit the freshly built publication layer before it is published (write-audit-publish).

dbt's own tests run inside `dbt build`; these are the cross-cutting checks a reader relies on.
Results go to ops.dq_results (stage 'audit'), per registry; a failed fatal check holds back that
registry's numbers (the rest are published), one over the whole publication blocks publishing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from regbench.warehouse import Warehouse

SUPPRESSION_K = 5


@dataclass(frozen=True)
class AuditCheck:
    name: str
    kahn_category: str
    severity: str
    # SQL giving (registry_id, violating rows, rows checked) per registry; 0 violations = passed
    sql: str


_PUB = "publication.pub_indicator_monthly"


def _per_registry(condition: str) -> str:
    return (f"SELECT registry_id, SUM(CASE WHEN {condition} THEN 1 ELSE 0 END), COUNT(*)"
            f" FROM {_PUB} GROUP BY registry_id")


CHECKS = [
    AuditCheck("rate_within_0_1", "plausibility", "fatal", _per_registry("rate < 0 OR rate > 1")),
    AuditCheck("numerator_not_above_denominator", "plausibility", "fatal",
               _per_registry("numerator > denominator")),
    AuditCheck(
        "no_small_counts_published", "conformance", "fatal",
        _per_registry(f"numerator BETWEEN 1 AND {SUPPRESSION_K - 1} OR denominator BETWEEN 1 AND "
                      f"{SUPPRESSION_K - 1} OR (denominator - numerator) BETWEEN 1 AND "
                      f"{SUPPRESSION_K - 1}"),
    ),
    AuditCheck("every_unit_known", "conformance", "warning", _per_registry("region_code IS NULL")),
]


@dataclass
class AuditReport:
    passed: int
    failed: int
    # a fatal failure over the whole publication: nothing may be published
    fatal_failures: list[str]
    # registry -> why its numbers must not be published tonight
    fatal_by_registry: dict[str, list[str]]


def run_audit(wh: Warehouse) -> AuditReport:
    now = pd.Timestamp(datetime.now().replace(microsecond=0))
    rows = []
    fatal: list[str] = []
    by_registry: dict[str, list[str]] = {}
    total_rows = int(wh.fetchone(f"SELECT count(*) FROM {_PUB}")[0])
    results = [("publication_not_empty", "completeness", "fatal", "all",
                0 if total_rows else 1, 1)]
    for check in CHECKS:
        for registry_id, violations, total in wh.fetchall(check.sql):
            results.append((check.name, check.kahn_category, check.severity, registry_id,
                            int(violations or 0), int(total)))
    for name, category, severity, registry_id, violations, total in results:
        ok = violations == 0
        if not ok and severity == "fatal":
            message = f"{name}: {violations} violating row(s)"
            if registry_id == "all":
                fatal.append(message)
            else:
                by_registry.setdefault(registry_id, []).append(message)
        rows.append({
            "checked_at": now, "stage": "audit", "registry_id": registry_id, "entity": None,
            "file_id": None, "check_name": name, "column_name": None,
            "kahn_category": category, "severity": severity,
            "status": "passed" if ok else "failed", "element_count": total,
            "unexpected_count": violations,
            "unexpected_percent": (100.0 * violations / total) if total else 0.0,
            "threshold_pct": 0.0,
        })
    wh.ensure_ops()
    with wh.transaction():
        wh.bulk_insert("ops.dq_results", pd.DataFrame(rows))
    passed = sum(r["status"] == "passed" for r in rows)
    return AuditReport(passed=passed, failed=len(rows) - passed, fatal_failures=fatal,
                       fatal_by_registry=by_registry)
