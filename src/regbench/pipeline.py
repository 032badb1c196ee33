"""`regbench run`: the nightly pipeline through Airflow itself (`airflow dags test`), then a summary."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from rich.console import Console

from regbench.airflow_env import dags_test, ensure_metadata
from regbench.config import Settings
from regbench.contracts import load_contracts


@dataclass
class DagOutcome:
    dag_id: str
    succeeded: bool
    seconds: float
    log_file: Path


@dataclass
class RunResult:
    started_at: datetime
    outcomes: list[DagOutcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def succeeded(self) -> bool:
        return all(o.succeeded for o in self.outcomes)


def inbox_is_empty(settings: Settings) -> bool:
    return not settings.inbox.exists() or not any(p.is_file() for p in settings.inbox.rglob("*"))


def ensure_demo_exports(settings: Settings, console: Console, scale: float = 1.0) -> bool:
    if not inbox_is_empty(settings):
        return False
    from regbench.demo.generator import generate

    console.print(f"[bold]No exports in {settings.inbox}: generating demo exports (scale {scale})")
    with console.status("generating demo exports") as status:
        generate(
            settings.inbox, load_contracts(settings.contracts_dir),
            settings.dbt_project_dir / "seeds" / "units.csv", scale=scale,
            progress=lambda msg: status.update(f"generating demo exports: {msg}"),
        )
    return True


def run_log_dir(settings: Settings, started: datetime) -> Path:
    """var/logs/runs/<start>/: each run keeps its own logs (a second in the same second gets -2)."""
    base = settings.logs / "runs" / started.strftime("%Y%m%dT%H%M%S")
    folder, n = base, 1
    while folder.exists():
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    folder.mkdir(parents=True)
    return folder


def run_nightly(settings: Settings, console: Console, log_dir: Path | None = None) -> RunResult:
    started = datetime.now().replace(microsecond=0)
    t0 = time.monotonic()
    result = RunResult(started_at=started)
    log_dir = log_dir or run_log_dir(settings, started)
    with console.status("preparing Airflow metadata (SQLite)"):
        ensure_metadata(settings)
    dag_ids = [f"ingest_{rid}" for rid in sorted(load_contracts(settings.contracts_dir))]
    dag_ids.append("benchmarks")
    for n, dag_id in enumerate(dag_ids, start=1):
        with console.status(f"[{n}/{len(dag_ids)}] airflow dags test {dag_id}"):
            ok, seconds, log_file = dags_test(settings, dag_id, log_dir=log_dir)
        mark = "[green]ok[/]" if ok else "[red]FAILED[/]"
        console.print(f"  [{n}/{len(dag_ids)}] {dag_id:<22} {mark}  {seconds:5.1f} s   log: {log_file}")
        result.outcomes.append(DagOutcome(dag_id, ok, seconds, log_file))
    result.seconds = time.monotonic() - t0
    return result
