"""Run dbt (in-process dbtRunner) against the configured warehouse."""

from __future__ import annotations

import csv
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from regbench.config import Settings
from regbench.contracts import Contract, load_contracts
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


def indicator_model(registry_id: str, indicator_id: str) -> str:
    """An indicator's patient-level model: models/indicators/<registry>/int_<registry>__<indicator>.sql."""
    return f"int_{registry_id}__{indicator_id}"


def seeded_indicators(project: Path) -> list[tuple[str, str]]:
    """(registry_id, indicator_id) of every row of the indicators seed, in its order."""
    with (project / "seeds" / "indicators.csv").open(encoding="utf-8", newline="") as f:
        return [(row["registry_id"], row["indicator_id"]) for row in csv.DictReader(f)]


def registry_vars(contracts: dict[str, Contract], project: Path) -> dict:
    """What the intermediate unions read (macros/registry_unions.sql), from the contracts and the
    indicators seed: a registry or an indicator reaches the marts because it is there, not because
    someone remembered to add a line to a model. A dbt var, because dbt resolves ref() when it
    parses a model, before the manifest (and so `graph` or tags) exists."""
    registries = {
        rid: {"registrations": [{"model": c.staging_model(e), "entity": e.name}
                                for e in c.registration_entities],
              "references": [c.staging_model(e) for e in c.reference_entities]}
        for rid, c in sorted(contracts.items())}
    indicators = [indicator_model(rid, ind) for rid, ind in seeded_indicators(project)
                  if rid in contracts]
    return {"registries": registries, "indicator_models": indicators}


def staging_problems(contracts: dict[str, Contract], project: Path) -> list[str]:
    """Every entity a contract delivers (but opt-outs) needs its staging model, or its rows never
    leave raw."""
    found = {p.stem for p in (project / "models").rglob("*.sql")}
    return [f"registries/{rid}.yaml: entity {e.name!r} has no staging model "
            f"models/staging/{c.staging_model(e)}.sql (`regbench registry add` writes one)"
            for rid, c in sorted(contracts.items()) for e in c.entities
            if e.role != "optouts" and c.staging_model(e) not in found]


def indicator_problems(contracts: dict[str, Contract], project: Path) -> list[str]:
    """The indicators seed and the models under models/indicators/ must name the same indicators,
    each of a registry with a contract."""
    models = project / "models"
    seeded = seeded_indicators(project)
    expected = {f"indicators/{rid}/{indicator_model(rid, ind)}.sql": (rid, ind) for rid, ind in seeded}
    out = [f"seeds/indicators.csv: indicator {ind!r} belongs to {rid!r}, which has no contract "
           f"registries/{rid}.yaml" for rid, ind in seeded if rid not in contracts]
    out += [f"seeds/indicators.csv: indicator {ind!r} of {rid!r} has no model models/{path}"
            for path, (rid, ind) in expected.items() if not (models / path).exists()]
    out += [f"models/{rel}: an indicator model needs its row in seeds/indicators.csv and the path "
            "models/indicators/<registry>/int_<registry>__<indicator>.sql"
            for rel in sorted(p.relative_to(models).as_posix()
                              for p in models.glob("indicators/**/*.sql"))
            if rel not in expected]
    return out


def registry_problems(contracts: dict[str, Contract], project: Path) -> list[str]:
    """Where the contracts, the indicators seed and the dbt models disagree, each saying what to
    do; empty when every registry and indicator reaches the marts. run_dbt builds nothing until
    it is empty."""
    return staging_problems(contracts, project) + indicator_problems(contracts, project)


def run_dbt(settings: Settings, command: str = "build", extra: list[str] | None = None) -> DbtReport:
    import json

    from dbt.cli.main import dbtRunner

    from regbench.disclosure.policy import load_policy

    os.environ.update(dbt_env(settings))
    project = settings.dbt_project_dir
    # the disclosure policy's file is the one place k is set; dbt_project.yml has no default
    dbt_vars = load_policy(project).dbt_vars()
    contracts = load_contracts(settings.contracts_dir)
    problems = registry_problems(contracts, project)
    if problems and command not in {"clean", "deps", "debug"}:
        return DbtReport(command=command, succeeded=False, failures=problems)
    dbt_vars |= registry_vars(contracts, project)
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
