"""The container entrypoints of docker-compose.yml, run here as local processes (no Docker engine):
they refuse demo keys and weak secrets before starting anything, and with a proper configuration
they really start what the compose file asks for."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from regbench.config import REPO_ROOT
from regbench.superset_stack import wait_for_http

pytestmark = [pytest.mark.slow]

AIRFLOW_ENTRYPOINT = REPO_ROOT / "infra" / "airflow" / "entrypoint.sh"
SUPERSET_ENTRYPOINT = REPO_ROOT / "infra" / "superset" / "entrypoint.sh"
VENV_BIN = Path(sys.executable).parent
SUPERSET_BIN = REPO_ROOT / ".venv-superset" / "bin"


def strong() -> str:
    return secrets.token_urlsafe(24)


def base_env(tmp_path: Path, path_bin: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REGBENCH_", "AIRFLOW", "SUPERSET"))}
    env["PATH"] = f"{path_bin}:{env['PATH']}"
    env["REGBENCH_VAR"] = str(tmp_path / "var")
    return env


def airflow_env(tmp_path: Path, sql_alchemy_conn: str) -> dict:
    env = base_env(tmp_path, VENV_BIN)
    env.update(
        REGBENCH_POSTGRES_DSN=f"postgresql://t:{strong()}@127.0.0.1:5432/x",
        REGBENCH_LOADER_DSN=f"postgresql://l:{strong()}@127.0.0.1:5432/x",
        REGBENCH_PSEUDONYM_KEY=secrets.token_urlsafe(40),
        AIRFLOW__API_AUTH__JWT_SECRET=secrets.token_urlsafe(40),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=sql_alchemy_conn,
        AIRFLOW_HOME=str(tmp_path / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(REPO_ROOT / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="false",
    )
    if "+psycopg:" in sql_alchemy_conn:
        env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC"] = sql_alchemy_conn.replace("+psycopg:",
                                                                                   "+psycopg_async:")
    return env


def test_airflow_entrypoint_refuses_the_demo_key_and_default_passwords(tmp_path):
    env = airflow_env(tmp_path, f"postgresql+psycopg://a:{strong()}@127.0.0.1:5432/x")
    env["REGBENCH_PSEUDONYM_KEY"] = "regbench-demo-key-not-for-production-use"
    env["REGBENCH_LOADER_DSN"] = "postgresql://regbench_loader:CHANGE_ME@127.0.0.1:5432/regbench"
    marker = tmp_path / "started"
    proc = subprocess.run(["bash", str(AIRFLOW_ENTRYPOINT), "touch", str(marker)], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert "refuses to start airflow" in proc.stdout
    assert "demo key" in proc.stdout and "REGBENCH_LOADER_DSN" in proc.stdout
    assert not marker.exists(), "the command must not run"


@pytest.fixture
def airflow_database(postgres_server):
    """The Airflow database and role, made by infra/postgres/init-regbench.sh."""
    tag = uuid.uuid4().hex[:6]
    prefix = f"rbe{tag}_"
    pw = {k: strong() for k in ("REGBENCH_LOADER_PASSWORD", "REGBENCH_TRANSFORMER_PASSWORD",
                                "REGBENCH_READER_PASSWORD", "AIRFLOW_DB_PASSWORD",
                                "SUPERSET_DB_PASSWORD")}
    dbs = {"REGBENCH_WAREHOUSE_DB": f"rbe{tag}_wh", "REGBENCH_AIRFLOW_DB": f"rbe{tag}_airflow",
           "REGBENCH_SUPERSET_DB": f"rbe{tag}_superset"}
    env = {**os.environ, **pw, **dbs, "REGBENCH_ROLE_PREFIX": prefix, "PGHOST": "127.0.0.1",
           "PGUSER": "postgres"}
    try:
        init = subprocess.run(["bash", str(REPO_ROOT / "infra/postgres/init-regbench.sh")], env=env,
                              capture_output=True, text=True)
        assert init.returncode == 0, init.stderr
        yield (f"postgresql+psycopg://{prefix}airflow:{pw['AIRFLOW_DB_PASSWORD']}@127.0.0.1:5432/"
               f"{dbs['REGBENCH_AIRFLOW_DB']}")
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as con:
            for db in dbs.values():
                con.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            for role in ("loader", "transformer", "reader", "airflow", "superset", "owner"):
                con.execute(f'DROP ROLE IF EXISTS "{prefix}{role}"')


def test_airflow_entrypoint_migrates_the_metadata_database_as_the_airflow_role(tmp_path, airflow_database):
    env = airflow_env(tmp_path, airflow_database)
    migrate = subprocess.run(["bash", str(AIRFLOW_ENTRYPOINT), "airflow", "db", "migrate"], env=env,
                             capture_output=True, text=True, timeout=600)
    assert migrate.returncode == 0, migrate.stdout[-2000:] + migrate.stderr[-2000:]
    assert "airflow: configuration ok" in migrate.stdout
    check = subprocess.run(["bash", str(AIRFLOW_ENTRYPOINT), "airflow", "db", "check-migrations"],
                           env=env, capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stderr[-2000:]


def test_celery_profile_command_exists(tmp_path):
    env = airflow_env(tmp_path, f"sqlite:///{tmp_path / 'airflow.db'}")
    env["REGBENCH_DEMO"] = "1"  # only the command's existence is checked here
    env["AIRFLOW__CORE__EXECUTOR"] = "CeleryExecutor"
    proc = subprocess.run(["bash", str(AIRFLOW_ENTRYPOINT), "airflow", "celery", "worker", "--help"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "--concurrency" in proc.stdout


def superset_env(tmp_path: Path, port: int) -> dict:
    env = base_env(tmp_path, SUPERSET_BIN)
    home = tmp_path / "superset"
    home.mkdir()
    env.update(
        SUPERSET_HOME=str(home),
        SUPERSET_CONFIG_PATH=str(REPO_ROOT / "infra/superset/superset_config.py"),
        SUPERSET_SECRET_KEY=secrets.token_urlsafe(42),
        REGBENCH_SUPERSET_ADMIN_PASSWORD=strong(),
        SUPERSET_BIND=f"127.0.0.1:{port}",
        SUPERSET_WORKERS="1",
        FLASK_APP="superset.app:create_app()",
    )
    return env


def test_superset_entrypoint_refuses_a_short_secret_key(tmp_path):
    env = superset_env(tmp_path, 0)
    env["SUPERSET_SECRET_KEY"] = "short"
    proc = subprocess.run(["bash", str(SUPERSET_ENTRYPOINT)], env=env, capture_output=True, text=True)
    assert proc.returncode == 1
    assert "SUPERSET_SECRET_KEY is too short (at least 32 characters)" in proc.stderr


def test_superset_entrypoint_bootstraps_and_serves_and_can_start_again(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = superset_env(tmp_path, port)
    log = tmp_path / "superset.log"
    for _ in range(2):  # a container restart runs the entrypoint again on the same volume
        with log.open("ab") as out:
            proc = subprocess.Popen(["bash", str(SUPERSET_ENTRYPOINT)], env=env, stdout=out,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_for_http(f"http://127.0.0.1:{port}/health", proc, log, timeout=300)
            # security headers by default (issue 18): no outside host in the policy
            import httpx

            headers = httpx.get(f"http://127.0.0.1:{port}/login/", timeout=30).headers
            csp = headers.get("content-security-policy", "")
            assert "default-src 'self'" in csp and "http" not in csp, csp
            assert headers.get("x-frame-options") == "SAMEORIGIN"
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
    text = log.read_text(errors="replace")
    assert text.count("superset-entrypoint: creating admin admin") == 1, text[-3000:]
    assert text.count("superset-entrypoint: admin admin exists") == 1
