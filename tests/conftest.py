import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


def _pg_ready() -> bool:
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"]).returncode == 0


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The local PostgreSQL cluster (started if it is down); returns the admin DSN."""
    if shutil.which("pg_isready") and not _pg_ready():
        versions = sorted(Path("/etc/postgresql").iterdir()) if Path("/etc/postgresql").exists() else []
        if versions:
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1].name, "main",
                            "start"], check=False)
    if not _pg_ready():
        pytest.fail("PostgreSQL is not running on 127.0.0.1:5432 and could not be started")
    return "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def fresh_database(postgres_server):
    """A new, empty PostgreSQL database for one test; dropped afterwards."""
    import psycopg

    name = f"regbench_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_server, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
