"""Audit the freshly built publication layer before it is published (write-audit-publish).

dbt's own tests run inside `dbt build`; these are the cross-cutting checks a reader relies on.
Results go to ops.dq_results (stage 'audit'); a failed fatal check blocks publishing.
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
    # SQL counting violating rows; 0 means passed
    violations_sql: str
    total_sql: str


CHECKS = [
    AuditCheck(
        "publication_not_empty", "completeness", "fatal",
        "SELECT CASE WHEN count(*) = 0 THEN 1 ELSE 0 END FROM publication.pub_indicator_monthly",
        "SELECT 1",
    ),
    AuditCheck(
        "rate_within_0_1", "plausibility", "fatal",
        "SELECT count(*) FROM publication.pub_indicator_monthly WHERE rate < 0 OR rate > 1",
        "SELECT count(*) FROM publication.pub_indicator_monthly",
    ),
    AuditCheck(
        "numerator_not_above_denominator", "plausibility", "fatal",
        "SELECT count(*) FROM publication.pub_indicator_monthly WHERE numerator > denominator",
        "SELECT count(*) FROM publication.pub_indicator_monthly",
    ),
    AuditCheck(
        "no_small_counts_published", "conformance", "fatal",
        f"SELECT count(*) FROM publication.pub_indicator_monthly WHERE numerator BETWEEN 1 AND "
        f"{SUPPRESSION_K - 1} OR denominator BETWEEN 1 AND {SUPPRESSION_K - 1} OR "
        f"(denominator - numerator) BETWEEN 1 AND {SUPPRESSION_K - 1}",
        "SELECT count(*) FROM publication.pub_indicator_monthly",
    ),
    AuditCheck(
        "every_unit_known", "conformance", "warning",
        "SELECT count(*) FROM publication.pub_indicator_monthly WHERE region_code IS NULL",
        "SELECT count(*) FROM publication.pub_indicator_monthly",
    ),
]


@dataclass
class AuditReport:
    passed: int
    failed: int
    fatal_failures: list[str]


def run_audit(wh: Warehouse) -> AuditReport:
    now = pd.Timestamp(datetime.now().replace(microsecond=0))
    rows = []
    fatal: list[str] = []
    for check in CHECKS:
        violations = int(wh.fetchone(check.violations_sql)[0])
        total = int(wh.fetchone(check.total_sql)[0])
        ok = violations == 0
        if not ok and check.severity == "fatal":
            fatal.append(f"{check.name}: {violations} violating row(s)")
        rows.append({
            "checked_at": now, "stage": "audit", "registry_id": "all", "entity": None,
            "file_id": None, "check_name": check.name, "column_name": None,
            "kahn_category": check.kahn_category, "severity": check.severity,
            "status": "passed" if ok else "failed", "element_count": total,
            "unexpected_count": violations,
            "unexpected_percent": (100.0 * violations / total) if total else 0.0,
            "threshold_pct": 0.0,
        })
    wh.ensure_ops()
    with wh.transaction():
        wh.bulk_insert("ops.dq_results", pd.DataFrame(rows))
    passed = sum(r["status"] == "passed" for r in rows)
    return AuditReport(passed=passed, failed=len(rows) - passed, fatal_failures=fatal)
