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
    if report.get("files_quarantined"):
        settings = get_settings()
        raise StepFailed(
            f"{report['registry_id']}: {report['files_quarantined']} file(s) quarantined; see "
            f"`regbench quarantine list` or {settings.quarantine / report['registry_id']}"
        )


def build() -> dict:
    from regbench.transform import run_dbt

    report = run_dbt(get_settings(), "build")
    if not report.succeeded:
        raise StepFailed("dbt build failed:\n  " + "\n  ".join(report.failures or ["see dbt log"]))
    return {"nodes_ok": report.nodes_ok, "nodes_failed": report.nodes_failed}


def audit() -> dict:
    from regbench.audit import run_audit
    from regbench.warehouse import Warehouse

    with Warehouse(get_settings()) as wh:
        report = run_audit(wh)
    if report.fatal_failures:
        raise StepFailed("audit failed, nothing published: " + "; ".join(report.fatal_failures))
    return {"passed": report.passed, "failed": report.failed}


def publish() -> dict:
    from regbench.publish import publish as do_publish
    from regbench.warehouse import Warehouse

    settings = get_settings()
    with Warehouse(settings) as wh:
        manifest = do_publish(settings, wh)
    return {t: v["rows"] for t, v in manifest["tables"].items()}
