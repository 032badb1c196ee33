"""Run dbt (in-process dbtRunner) against the configured warehouse."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from regbench.config import Settings
from regbench.warehouse import pg_conninfo, pg_session_options

log = logging.getLogger("regbench.transform")


class DbtFailed(RuntimeError):
    pass


@dataclass
class DbtReport:
    command: str
    succeeded: bool
    nodes_ok: int = 0
    nodes_failed: int = 0
    failures: list[str] = field(default_factory=list)


def dbt_env(settings: Settings) -> dict[str, str]:
    env = {
        "REGBENCH_WAREHOUSE": settings.warehouse,
        "REGBENCH_DUCKDB_PATH": str(settings.duckdb_path),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        # dbt-postgres connects through libpq, which reads its session options from here
        "PGOPTIONS": pg_session_options(),
    }
    pg = pg_conninfo(settings.postgres_dsn)
    env.update(
        {
            "REGBENCH_PG_HOST": pg["host"],
            "REGBENCH_PG_PORT": pg["port"],
            "REGBENCH_PG_USER": pg["user"],
            "REGBENCH_PG_PASSWORD": pg["password"],
            "REGBENCH_PG_DATABASE": pg["dbname"],
        }
    )
    return env


def run_dbt(settings: Settings, command: str = "build", extra: list[str] | None = None) -> DbtReport:
    import json

    from dbt.cli.main import dbtRunner

    from regbench.disclosure.policy import load_policy

    os.environ.update(dbt_env(settings))
    project = settings.dbt_project_dir
    # the disclosure policy's file is the one place k is set; dbt_project.yml has no default
    dbt_vars = load_policy(project).dbt_vars()
    args = [
        command,
        "--project-dir", str(project),
        "--profiles-dir", str(project),
        "--target", settings.warehouse,
        "--target-path", str(settings.dbt_target_path),
        "--log-path", str(settings.logs / "dbt"),
        *(extra or []),
    ]
    if command not in {"clean", "deps", "debug"}:
        args += ["--vars", json.dumps(dbt_vars)]
    log.info("dbt %s on %s", command, settings.warehouse)
    res = dbtRunner().invoke(args)
    report = DbtReport(command=command, succeeded=bool(res.success))
    for r in getattr(res.result, "results", None) or []:
        status = str(getattr(r, "status", "")).lower()
        if status in {"success", "pass"}:
            report.nodes_ok += 1
        elif status in {"error", "fail", "runtime error"}:
            report.nodes_failed += 1
            report.failures.append(f"{r.node.unique_id}: {r.message}")
    if res.exception is not None:
        report.failures.append(f"dbt raised: {res.exception}")
    return report
