"""Audit the freshly built publication layer before it is published (write-audit-publish).

dbt's own tests run inside `dbt build`; these are the cross-cutting checks a reader relies on.
Results go to ops.dq_results (stage 'audit'), per registry; a failed fatal check holds back that
registry's numbers (the rest are published), one over the whole publication blocks publishing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from regbench.warehouse import Warehouse

log = logging.getLogger("regbench.audit")


@dataclass(frozen=True)
class AuditCheck:
    name: str
    kahn_category: str
    severity: str
    # SQL giving (registry_id, violating rows, rows checked) per registry; 0 violations = passed
    sql: str


_PUB = "publication.pub_indicator_monthly"


def _per_registry(condition: str, table: str = _PUB) -> str:
    return (f"SELECT registry_id, SUM(CASE WHEN {condition} THEN 1 ELSE 0 END), COUNT(*)"
            f" FROM {table} GROUP BY registry_id")


def _small(column: str, k: int) -> str:
    return f"({column}) BETWEEN 1 AND {k - 1}"


def checks(k: int) -> list[AuditCheck]:
    """The audit's checks for the policy's k (dbt_project/disclosure_policy.yml)."""
    values = "publication.pub_indicator_values"
    return [
        AuditCheck("rate_within_0_1", "plausibility", "fatal",
                   _per_registry("rate < 0 OR rate > 1")),
        AuditCheck("numerator_not_above_denominator", "plausibility", "fatal",
                   _per_registry("numerator > denominator")),
        AuditCheck("no_small_counts_published", "conformance", "fatal", _per_registry(
            " OR ".join(_small(c, k) for c in ["numerator", "denominator",
                                               "denominator - numerator"]), values)),
        AuditCheck("no_hidden_coverage_published", "conformance", "fatal", _per_registry(
            "suppressed AND coverage IS NOT NULL", "publication.pub_coverage")),
        AuditCheck("no_small_registration_counts_published", "conformance", "fatal",
                   _per_registry(_small("registrations", k), "publication.pub_registrations")),
        AuditCheck("no_small_casemix_counts_published", "conformance", "fatal", _per_registry(
            f"{_small('observed', k)} OR {_small('patients', k)} OR "
            f"{_small('patients - observed', k)}", "publication.pub_casemix")),
        AuditCheck("every_unit_known", "conformance", "warning", _per_registry("region_code IS NULL")),
    ]


# what the audit names of the attacker's findings in its message (all are logged)
SHOWN_FINDINGS = 5


@dataclass
class AuditReport:
    passed: int
    failed: int
    # a fatal failure over the whole publication: nothing may be published
    fatal_failures: list[str]
    # registry -> why its numbers must not be published tonight
    fatal_by_registry: dict[str, list[str]]


def disclosure_findings(wh: Warehouse, k: int) -> tuple[list, int]:
    """The attacker on the publication schema as it would be published: (findings, hidden cells
    it examined). Its extra knowledge: which indicators share a denominator and the registries'
    monthly registration totals; the true counts only spare it linear programmes."""
    from regbench.disclosure.layer import read_cells
    from regbench.disclosure.release_audit import audit_release
    from regbench.disclosure.suppression import (
        denominator_groups,
        publishable,
        shared_denominator_sets,
    )
    from regbench.publish import publication_tables

    truth = publishable(read_cells(wh))
    known = truth[truth["fixed"].astype(bool)].rename(columns={"indicator_id": "family"})
    known = known.assign(hidden=False)
    tables = publication_tables(wh)
    findings = audit_release(
        wh.frame, tables, k,
        shared_denominators=shared_denominator_sets(denominator_groups(truth)),
        known_totals=known,
        truth=truth.rename(columns={"indicator_id": "family"}))
    (hidden,) = wh.fetchone("SELECT count(*) FROM publication.pub_indicator_values"
                            " WHERE suppressed")
    return findings, int(hidden)


def run_audit(wh: Warehouse, k: int | None = None) -> AuditReport:
    from regbench.config import get_settings
    from regbench.disclosure.policy import load_policy

    k = k or load_policy(get_settings().dbt_project_dir).k
    now = pd.Timestamp(datetime.now().replace(microsecond=0))
    rows = []
    fatal: list[str] = []
    by_registry: dict[str, list[str]] = {}
    total_rows = int(wh.fetchone(f"SELECT count(*) FROM {_PUB}")[0])
    results = [("publication_not_empty", "completeness", "fatal", "all",
                0 if total_rows else 1, 1)]
    findings, examined = disclosure_findings(wh, k)
    for f in findings:
        log.error("disclosure: %s", f)
    results.append(("disclosure_attack", "conformance", "fatal", "all", len(findings),
                    max(examined, 1)))
    if findings:
        shown = "; ".join(str(f) for f in findings[:SHOWN_FINDINGS])
        more = f" (and {len(findings) - SHOWN_FINDINGS} more)" if len(findings) > SHOWN_FINDINGS \
            else ""
        fatal.append(f"disclosure_attack: {len(findings)} hidden count(s) can be derived from "
                     f"what would be published: {shown}{more}")
    for check in checks(k):
        for registry_id, violations, total in wh.fetchall(check.sql):
            results.append((check.name, check.kahn_category, check.severity, registry_id,
                            int(violations or 0), int(total)))
    for name, category, severity, registry_id, violations, total in results:
        ok = violations == 0
        if not ok and severity == "fatal" and name != "disclosure_attack":
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
