"""The nightly steps as plain functions; the Airflow DAGs are thin wrappers over these.

Each returns a small dict of counts (safe for XCom: no data values, no identifiers).
"""

from __future__ import annotations

import logging

from regbench.config import get_settings

log = logging.getLogger("regbench.nightly")


class StepFailed(RuntimeError):
    """A step that must stop the run; the message says what and where."""


def quiet_gx_logging() -> None:
    # GX logs a line per decorated function at import; raise it before the import (STACK.md)
    logging.getLogger("great_expectations._docs_decorators").setLevel(logging.WARNING)
    logging.getLogger("great_expectations").setLevel(logging.WARNING)


def ingest(registry_id: str) -> dict:
    from regbench.ingest import ingest_registry

    quiet_gx_logging()
    report = ingest_registry(get_settings(), registry_id)
    return report.as_dict()


def fail_on_quarantine(report: dict) -> None:
    problems = []
    if report.get("source_error"):
        problems.append(f"source not read: {report['source_error']}")
    if report.get("files_quarantined"):
        settings = get_settings()
        problems.append(
            f"{report['files_quarantined']} file(s) quarantined; see `regbench quarantine list` "
            f"or {settings.quarantine / report['registry_id']}"
        )
    if problems:
        raise StepFailed(f"{report['registry_id']}: " + "; ".join(problems))


def _log_attempt(outcome: str, detail: str, tries: int = 6) -> None:
    """Record a failed attempt for `regbench publish status`. The warehouse may be the reason the
    step failed (a restart, say), so try for a while; never let recording hide the real error."""
    import time

    from regbench.publish import log_attempt
    from regbench.warehouse import Warehouse

    for attempt in range(1, tries + 1):
        try:
            with Warehouse(get_settings()) as wh:
                log_attempt(wh, outcome, detail)
            return
        except Exception as exc:  # noqa: BLE001 - any failure to record is reported, not raised
            if attempt == tries:
                log.warning("could not record the %s attempt in ops.publish_log: %s", outcome, exc)
                return
            time.sleep(2)


# The publication layer reads the warehouse checks (a warning flags the unit's values), and the
# checks read the marts: so the dbt build runs in two parts with the checks between them. The
# disclosure layer runs between them too: everything computed from published counts (disclosed/
# and what reads it: funnels, SPC, the publication) is built after it decided what is published.
PUBLICATION = ["path:models/disclosed+", "path:models/publication+"]


# dbt's own advice names a model config; a regbench user needs the command
OUT_OF_SYNC_HINT = ("An incremental table's columns no longer match its model (after an upgrade "
                    "or a contract change): rebuild everything once with "
                    "`regbench build --full-refresh`.")


def _dbt_build(selection: list[str], what: str) -> dict:
    from regbench.transform import run_dbt

    report = run_dbt(get_settings(), "build", selection)
    if not report.succeeded:
        detail = f"dbt build of the {what} failed:\n  " + "\n  ".join(
            report.failures or ["see dbt log"])
        if any("out of sync" in f for f in report.failures):
            detail += "\n" + OUT_OF_SYNC_HINT
        _log_attempt("build_failed", detail[:4000])
        raise StepFailed(detail + "\nThe live publication is unchanged.")
    return {"nodes_ok": report.nodes_ok, "nodes_failed": report.nodes_failed}


def build_marts(full_refresh: bool = False) -> dict:
    """Marts and everything under them. The base tables (latest version of every raw row) are
    incremental: only months whose raw rows changed are rebuilt, unless `full_refresh`
    (docs/decisions/0012)."""
    from regbench.warehouse import Warehouse

    with Warehouse(get_settings()) as wh:
        wh.ensure_ops()  # the publication's warning flags read ops.dq_results
    return _dbt_build(["--exclude", *PUBLICATION, *(["--full-refresh"] if full_refresh else [])],
                      "marts")


def check_warehouse() -> dict:
    """Data-quality checks over the history (registration frequency, coverage, timeliness,
    completeness per unit), stored per run, with alerts to the registries' contacts."""
    from datetime import datetime

    from regbench.alerts import SmtpConfig, process
    from regbench.contracts import load_contracts
    from regbench.warehouse import Warehouse
    from regbench.warehouse_checks import FAILED, run_checks, store

    settings = get_settings()
    now = datetime.now().replace(microsecond=0)
    contracts = load_contracts(settings.contracts_dir)
    with Warehouse(settings) as wh:
        wh.ensure_ops()
        results = run_checks(wh, contracts, settings.thresholds_dir)
        store(wh, results, now)
        alerts = process(wh, results, contracts, now, SmtpConfig.from_env())
    failed = [r for r in results if r.status == FAILED]
    for r in failed:
        log.warning("data quality: %s %s %s %s observed %s, threshold %s", r.registry_id, r.unit_id,
                    r.check_name, r.column_name or "", r.observed_value, r.threshold_value)
    return {"unit_checks": len(results), "unit_checks_failed": len(failed),
            "alerts_opened": alerts.opened, "alerts_sent": alerts.sent,
            "alerts_unsent": alerts.unsent}


def disclose() -> dict:
    """The disclosure layer: which cells are published, decided over everything published
    together and checked by the attacker (docs/disclosure.md)."""
    from regbench.disclosure.layer import DisclosureFailed, run

    try:
        return run(get_settings())
    except DisclosureFailed as exc:
        _log_attempt("blocked", f"disclosure failed: {exc}"[:4000])
        raise StepFailed(f"disclosure failed, nothing published, the live publication is "
                         f"unchanged: {exc}") from exc


def build_publication(full_refresh: bool = False) -> dict:
    """The disclosure layer, then the publication layer built from what it lets out."""
    disclosure = disclose()
    built = _dbt_build(["--select", *PUBLICATION, *(["--full-refresh"] if full_refresh else [])],
                       "publication layer")
    return {**built, "disclosure": {k: disclosure[k] for k in (
        "policy", "cells", "hidden", "primary", "rounds", "warnings", "seconds")}}


def build(full_refresh: bool = False) -> dict:
    """The whole build without Airflow: marts, warehouse checks, publication layer."""
    marts = build_marts(full_refresh)
    checks = check_warehouse()
    publication = build_publication(full_refresh)
    return {"nodes_ok": marts["nodes_ok"] + publication["nodes_ok"],
            "nodes_failed": marts["nodes_failed"] + publication["nodes_failed"], "checks": checks,
            "disclosure": publication["disclosure"]}


def _fatal_warehouse_findings(wh) -> dict[str, list[str]]:
    rows = wh.fetchall(
        "SELECT r.registry_id, r.check_name, r.unit_id FROM ops.dq_results r"
        " JOIN (SELECT registry_id, max(checked_at) AS checked_at FROM ops.dq_results"
        "       WHERE stage = 'warehouse' GROUP BY registry_id) l"
        "   ON l.registry_id = r.registry_id AND l.checked_at = r.checked_at"
        " WHERE r.stage = 'warehouse' AND r.status = 'failed' AND r.severity = 'fatal'"
        " ORDER BY 1, 2, 3"
    )
    found: dict[str, list[str]] = {}
    for registry_id, check, unit in rows:
        found.setdefault(registry_id, []).append(f"{check} at unit {unit}")
    return found


def audit() -> dict:
    """The audit of the built publication, plus the fatal findings of the latest warehouse checks.

    A fatal finding for one registry holds back that registry's numbers (`held` in the result,
    which publish honours); a fatal finding over the whole publication, or every registry held,
    stops the run with nothing published.
    """
    from regbench.audit import run_audit
    from regbench.contracts import load_contracts
    from regbench.warehouse import Warehouse

    settings = get_settings()
    contracts = load_contracts(settings.contracts_dir)
    with Warehouse(settings) as wh:
        wh.ensure_ops()
        report = run_audit(wh)
        fatal_checks = _fatal_warehouse_findings(wh)
    held: dict[str, list[str]] = {k: list(v) for k, v in report.fatal_by_registry.items()}
    for registry_id, reasons in fatal_checks.items():
        held.setdefault(registry_id, []).extend(reasons)
    if report.fatal_failures or (held and set(held) >= set(contracts)):
        detail = "; ".join(report.fatal_failures + [f"{k}: {', '.join(v)}" for k, v in held.items()])
        _log_attempt("blocked", f"audit failed: {detail}")
        raise StepFailed(f"audit failed, nothing published, the live publication is unchanged: {detail}")
    for registry_id, reasons in held.items():
        log.error("%s held back: its numbers stay as last published (%s)", registry_id,
                  "; ".join(reasons))
    return {"passed": report.passed, "failed": report.failed,
            "held": {k: "; ".join(v) for k, v in held.items()}}


def publish(held: dict[str, str] | None = None) -> dict:
    from regbench.ops_publication import build_ops_publication
    from regbench.publish import LiveReleaseBroken
    from regbench.publish import publish as do_publish
    from regbench.warehouse import Warehouse

    settings = get_settings()
    try:
        with Warehouse(settings) as wh:
            build_ops_publication(wh)
            manifest = do_publish(settings, wh, held=held)
    except LiveReleaseBroken as exc:
        # publish has recorded the attempt as `blocked`; its message says how to roll back
        raise StepFailed(f"publish refused, the live publication is unchanged: {exc}") from exc
    return {"release_id": manifest["release_id"], "held": sorted(manifest["held"]),
            "tables": {t: v["rows"] for t, v in manifest["tables"].items()}}
