"""The environment Airflow runs in locally: SQLite metadata and logs under var/airflow."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from regbench.config import Settings


def airflow_env(settings: Settings) -> dict[str, str]:
    home = settings.var / "airflow"
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(settings.home / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PARALLELISM": os.environ.get("AIRFLOW__CORE__PARALLELISM", "4"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": os.environ.get(
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home / 'airflow.db'}"
            ),
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(settings.logs / "airflow"),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__COSMOS__ENABLE_TELEMETRY": "False",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "SCARF_ANALYTICS": "false",
            "DO_NOT_TRACK": "1",
            "REGBENCH_HOME": str(settings.home),
            "REGBENCH_WAREHOUSE": settings.warehouse,
            "REGBENCH_VAR": str(settings.var),
        }
    )
    if settings.demo_mode:
        env["REGBENCH_DEMO"] = "1"
    if not env.get("AIRFLOW__API_AUTH__JWT_SECRET"):
        # the api-server and the task runners must share it; each would otherwise invent its own
        env["AIRFLOW__API_AUTH__JWT_SECRET"] = _local_secret(home / "jwt_secret")
    return env


def _local_secret(path: Path) -> str:
    import secrets

    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def airflow_bin() -> str:
    candidate = Path(sys.executable).with_name("airflow")
    return str(candidate) if candidate.exists() else (shutil.which("airflow") or "airflow")


def warehouse_slots(settings: Settings) -> int:
    """DuckDB has a single writer; PostgreSQL takes several ingests at once."""
    if settings.warehouse == "duckdb":
        return 1
    return max(1, int(os.environ.get("REGBENCH_WAREHOUSE_SLOTS", "4")))


def ensure_metadata(settings: Settings, force: bool = False) -> None:
    """`airflow db migrate` and the warehouse pool; skipped when the local SQLite file is ready."""
    from regbench.dag_assets import WAREHOUSE_POOL

    env = airflow_env(settings)
    home = Path(env["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    settings.logs.mkdir(parents=True, exist_ok=True)
    marker = home / ".migrated"
    if not force and marker.exists() and (home / "airflow.db").exists():
        return
    _run([airflow_bin(), "db", "migrate"], env, settings.logs / "airflow-db-migrate.log")
    _run([airflow_bin(), "pools", "set", WAREHOUSE_POOL, str(warehouse_slots(settings)),
          "tasks that write the regbench warehouse"], env, settings.logs / "airflow-pools.log")
    marker.touch()


def provision_users(settings: Settings, users_file: Path) -> tuple[bool, str]:
    """The users of `users_file` into the FAB auth manager's tables, in Airflow's environment
    (src/regbench/airflow_users.py); (succeeded, what to tell the operator)."""
    env = airflow_env(settings)
    proc = subprocess.run([sys.executable, "-m", "regbench.airflow_users", str(users_file)], env=env,
                          capture_output=True, text=True, check=False)
    lines = (proc.stdout if proc.returncode == 0 else proc.stderr).strip().splitlines()
    return proc.returncode == 0, lines[-1] if lines else f"exit code {proc.returncode}"


def dags_test(
    settings: Settings, dag_id: str, log: Callable[[str], None] | None = None,
    log_dir: Path | None = None,
) -> tuple[bool, float, Path]:
    """Run one DAG through `airflow dags test`; returns (succeeded, seconds, log file). The log goes
    to `log_dir` (`regbench run` gives each run its own) or var/logs."""
    env = airflow_env(settings)
    log_file = (log_dir or settings.logs) / f"dags-test-{dag_id}.log"
    start = time.monotonic()
    ok = _run([airflow_bin(), "dags", "test", dag_id], env, log_file, check=False) == 0
    if ok:
        ok = _dag_run_succeeded(log_file)
    return ok, time.monotonic() - start, log_file


def _dag_run_succeeded(log_file: Path) -> bool:
    # `airflow dags test` exits 0 even when a task fails; its last state line tells the truth.
    text = log_file.read_text(encoding="utf-8", errors="replace")
    return "state=failed" not in text and "DagRunState.FAILED" not in text


def _run(cmd: list[str], env: dict[str, str], log_file: Path, check: bool = True) -> int:
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("w", encoding="utf-8") as fh:
        proc = subprocess.run(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd[:3])} failed with exit code {proc.returncode}; see {log_file}"
        )
    return proc.returncode
