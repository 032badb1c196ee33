"""`regbench check-config`, the PostgreSQL init script and Superset's entrypoint refuse the same
placeholder, short and low-entropy secrets, for every secret a component holds (issue 18); and the
Superset admin password never appears on a command line."""

from __future__ import annotations

import os
import secrets
import subprocess
from pathlib import Path

import pytest

from regbench.config import REPO_ROOT
from regbench.production_check import COMPONENTS, problems, secret_problem

INIT = REPO_ROOT / "infra" / "postgres" / "init-regbench.sh"
SUPERSET_ENTRYPOINT = REPO_ROOT / "infra" / "superset" / "entrypoint.sh"

WEAK = {
    "placeholder": "CHANGE_ME",
    "long placeholder": "CHANGE_ME_to_something_0123456789abcdef",
    "placeholder in another spelling": "changeme-7f3a9c1e5b2d4f6a8c0e1b3d",
    "template": "<your-secret-here>-9f8e7d6c5b4a3210",
    "identical characters": "a" * 40,
    "a short unit repeated": "ab12" * 10,
    "one character differs": "a" * 29 + "b",
    "a password typed twice": "Xk9#mQ2vXk9#mQ2v",
    "too short": "Xk9#mQ2v",
    "a default": "postgres",
}


def strong(n: int = 32) -> str:
    return secrets.token_urlsafe(n)


def good_env() -> dict[str, str]:
    def dsn(user: str, scheme: str = "postgresql") -> str:
        return f"{scheme}://{user}:{strong(18)}@postgres:5432/db"

    return {
        "REGBENCH_POSTGRES_DSN": dsn("t"), "REGBENCH_LOADER_DSN": dsn("l"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": dsn("a", "postgresql+psycopg"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": dsn("a", "postgresql+psycopg_async"),
        "AIRFLOW__API_AUTH__JWT_SECRET": strong(), "REGBENCH_PSEUDONYM_KEY": strong(),
        "SUPERSET_METADATA_URI": dsn("s", "postgresql+psycopg2"), "SUPERSET_SECRET_KEY": strong(),
        "REGBENCH_SUPERSET_ADMIN_PASSWORD": strong(18), "REGBENCH_SUPERSET_READER_DSN": dsn("r"),
        "REGBENCH_AIRFLOW_ADMIN_PASSWORD": strong(20),
        "REGBENCH_ADMIN_DSN": "postgresql://postgres@postgres:5432/regbench", "PGPASSWORD": strong(18),
        "REGBENCH_PW_ANNA": strong(18),
    }


@pytest.mark.parametrize("component", sorted(COMPONENTS))
def test_a_strong_configuration_passes(component):
    assert problems(component, good_env()) == []


def secrets_of(component: str) -> list[str]:
    dsns, plain = COMPONENTS[component]
    return list(dsns) + [name for name, _ in plain]


@pytest.mark.parametrize("kind", sorted(WEAK))
@pytest.mark.parametrize("component", sorted(COMPONENTS))
def test_every_secret_of_every_component_refuses_weak_values(component, kind):
    for name in secrets_of(component):
        env = good_env()
        if name.endswith(("_DSN", "_CONN", "_CONN_ASYNC", "_URI")) and name != "REGBENCH_ADMIN_DSN":
            scheme, rest = env[name].split("://", 1)
            user, host = rest.split(":", 1)[0], rest.split("@", 1)[1]
            env[name] = f"{scheme}://{user}:{WEAK[kind]}@{host}"
        elif name == "REGBENCH_ADMIN_DSN":
            env["PGPASSWORD"] = WEAK[kind]
        else:
            env[name] = WEAK[kind]
        found = problems(component, env)
        assert len(found) == 1 and name in found[0], (name, kind, found)
        assert WEAK[kind] not in found[0], "a refusal never prints the value"


def test_the_airflow_services_need_the_jwt_secret():
    for component in ("airflow", "airflow-core"):
        env = good_env()
        del env["AIRFLOW__API_AUTH__JWT_SECRET"]
        assert any("AIRFLOW__API_AUTH__JWT_SECRET" in p for p in problems(component, env))


def test_the_users_passwords_are_checked_when_provisioning():
    env = {**good_env(), "REGBENCH_PW_ERIK": "CHANGE_ME"}
    assert [p for p in problems("provision", env) if "REGBENCH_PW_ERIK" in p]


@pytest.mark.parametrize("kind", sorted(WEAK))
def test_secret_problem_says_why(kind):
    why = secret_problem(WEAK[kind], min_length=16)
    assert why and any(word in why for word in ("placeholder", "default", "short", "entropy"))


def test_random_secrets_of_the_minimum_length_pass():
    import string

    rng = secrets.SystemRandom()
    for _ in range(2000):  # the estimate must not refuse what a generator makes
        alphabet = rng.choice([string.hexdigits[:16], string.ascii_letters + string.digits])
        assert secret_problem("".join(rng.choice(alphabet) for _ in range(16)), min_length=16) is None


def run_init(**overrides: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REGBENCH_", "PG"))}
    env.update({name: strong(18) for name in ("REGBENCH_LOADER_PASSWORD", "REGBENCH_TRANSFORMER_PASSWORD",
                                              "REGBENCH_READER_PASSWORD", "AIRFLOW_DB_PASSWORD",
                                              "SUPERSET_DB_PASSWORD")})
    env.update(PGHOST="127.0.0.1", PGPORT="1", **overrides)  # refused before it connects
    return subprocess.run(["bash", str(INIT)], env=env, capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("kind", sorted(WEAK))
def test_the_init_script_refuses_the_same_values(kind):
    proc = run_init(REGBENCH_TRANSFORMER_PASSWORD=WEAK[kind])
    assert proc.returncode == 2, proc.stderr
    assert "REGBENCH_TRANSFORMER_PASSWORD" in proc.stderr and WEAK[kind] not in proc.stderr


def test_the_init_script_reads_docker_secret_files(tmp_path):
    secret = tmp_path / "reader"
    secret.write_text("CHANGE_ME\n", encoding="utf-8")
    env = {"REGBENCH_READER_PASSWORD": "", "REGBENCH_READER_PASSWORD_FILE": str(secret)}
    proc = run_init(**env)
    assert proc.returncode == 2 and "REGBENCH_READER_PASSWORD" in proc.stderr


@pytest.mark.parametrize("kind", sorted(WEAK))
def test_the_superset_entrypoint_refuses_the_same_secret_keys(kind, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REGBENCH_", "SUPERSET"))}
    env.update(SUPERSET_SECRET_KEY="x" + WEAK[kind] if kind == "too short" else WEAK[kind],
               REGBENCH_SUPERSET_ADMIN_PASSWORD=strong(18), REGBENCH_SECRETS_DIR=str(tmp_path))
    proc = subprocess.run(["bash", str(SUPERSET_ENTRYPOINT)], env=env, capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 1 and "SUPERSET_SECRET_KEY" in proc.stderr, proc.stderr


def test_the_superset_entrypoint_refuses_a_weak_admin_password(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REGBENCH_", "SUPERSET"))}
    env.update(SUPERSET_SECRET_KEY=strong(), REGBENCH_SUPERSET_ADMIN_PASSWORD="a" * 20,
               REGBENCH_SECRETS_DIR=str(tmp_path))
    proc = subprocess.run(["bash", str(SUPERSET_ENTRYPOINT)], env=env, capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 1 and "REGBENCH_SUPERSET_ADMIN_PASSWORD" in proc.stderr


def test_the_superset_admin_password_is_never_on_a_command_line(tmp_path, monkeypatch):
    from regbench.config import get_settings
    from regbench.superset_stack import SupersetStack

    password = strong(18)
    monkeypatch.setenv("REGBENCH_SUPERSET_ADMIN_PASSWORD", password)
    monkeypatch.setenv("SUPERSET_SECRET_KEY", strong())
    monkeypatch.setenv("SUPERSET_HOME", str(tmp_path / "home"))
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "superset").touch()
    monkeypatch.setenv("REGBENCH_SUPERSET_VENV", str(venv))
    calls = []

    def fake_run(args, **kwargs):
        calls.append((list(args), kwargs))
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(subprocess, "run", fake_run)
    SupersetStack(get_settings()).bootstrap(log=lambda _m: None)
    create_admin = [(a, k) for a, k in calls if "create-admin" in a]
    assert create_admin, calls
    for args, _kwargs in calls:
        assert not any(password in a for a in args), args
    args, kwargs = create_admin[0]
    assert "--password" not in args
    assert kwargs["env"]["FLASK_FAB_CREATE_ADMIN_PASSWORD"] == password


def test_the_superset_entrypoint_passes_no_password_on_a_command_line():
    script = Path(SUPERSET_ENTRYPOINT).read_text(encoding="utf-8")
    assert "--password" not in script
    assert "FLASK_FAB_CREATE_ADMIN_PASSWORD" in script
