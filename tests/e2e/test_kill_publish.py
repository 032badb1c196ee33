"""Publishing killed (SIGKILL) at each of its steps, on both warehouses (issue 18): readers stay on
one complete release, `regbench publish status` names that same release and verifies it against its
manifest, the next publish works, nothing is left unrecorded, and a rollback after it goes back to
the night readers saw before it.

Each publish runs in its own process, as `regbench build` or the Airflow task does; the process
kills itself as it enters the named step of regbench.publish (the functions are replaced in that
process only, no hook in the code)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import uuid

import duckdb
import psycopg
import pytest

from regbench.config import REPO_ROOT, get_settings
from regbench.publish import LIVE_SCHEMA_PG, publish, release_file, rollback, status
from regbench.warehouse import Warehouse

pytestmark = pytest.mark.slow

# the step entered when the process dies -> whether readers then see the new night
STEPS = {
    "_switch_and_record": False,  # the release is written, nothing switched
    "_record": None,              # DuckDB: the live file switched, not recorded; PostgreSQL: the
                                  # views switched inside the transaction that records, not committed
    "_write_manifest_file": True,  # switched and recorded
    "_expire_old_releases": True,
}

KILLED_PUBLISH = """
import os, signal, sys
import regbench.publish as p
from regbench.config import get_settings
from regbench.warehouse import Warehouse

setattr(p, sys.argv[1], lambda *a, **k: os.kill(os.getpid(), signal.SIGKILL))
settings = get_settings()
with Warehouse(settings) as wh:
    p.publish(settings, wh)
"""


def night(wh: Warehouse, rate: float) -> None:
    wh.execute("CREATE SCHEMA IF NOT EXISTS publication")
    wh.execute("DROP TABLE IF EXISTS publication.pub_rates")
    wh.execute("CREATE TABLE publication.pub_rates (registry_id VARCHAR, unit_id VARCHAR,"
               " rate DOUBLE PRECISION)")
    wh.execute("INSERT INTO publication.pub_rates VALUES ('njur', 'a', ?), ('palliativ', 'b', ?)",
               [rate, rate / 2])


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request, tmp_path, monkeypatch, postgres_server):
    """A warehouse with one night published; on PostgreSQL with the roles of infra/postgres."""
    monkeypatch.setenv("REGBENCH_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("REGBENCH_WAREHOUSE", request.param)
    monkeypatch.delenv("REGBENCH_DUCKDB_PATH", raising=False)
    cleanup = None
    if request.param == "postgres":
        tag = uuid.uuid4().hex[:6]
        prefix, db = f"rbk{tag}_", f"rbk{tag}_warehouse"
        env = {"PGHOST": "127.0.0.1", "PGUSER": "postgres", "REGBENCH_ROLE_PREFIX": prefix,
               "REGBENCH_WAREHOUSE_DB": db, "REGBENCH_AIRFLOW_DB": f"rbk{tag}_airflow",
               "REGBENCH_SUPERSET_DB": f"rbk{tag}_superset",
               **{n: secrets.token_urlsafe(18) for n in (
                   "REGBENCH_LOADER_PASSWORD", "REGBENCH_TRANSFORMER_PASSWORD", "REGBENCH_READER_PASSWORD",
                   "AIRFLOW_DB_PASSWORD", "SUPERSET_DB_PASSWORD")}}
        init = subprocess.run(["bash", str(REPO_ROOT / "infra/postgres/init-regbench.sh")],
                              env={**os.environ, **env}, capture_output=True, text=True)
        assert init.returncode == 0, init.stderr
        from regbench.warehouse_setup import setup

        setup(get_settings(), f"postgresql://postgres@127.0.0.1:5432/{db}")
        monkeypatch.setenv("REGBENCH_POSTGRES_DSN", f"postgresql://{prefix}transformer:"
                           f"{env['REGBENCH_TRANSFORMER_PASSWORD']}@127.0.0.1:5432/{db}")
        reader = (f"postgresql://{prefix}reader:{env['REGBENCH_READER_PASSWORD']}@127.0.0.1:5432/{db}")

        def cleanup():
            with psycopg.connect(postgres_server, autocommit=True) as con:
                for key in ("REGBENCH_WAREHOUSE_DB", "REGBENCH_AIRFLOW_DB", "REGBENCH_SUPERSET_DB"):
                    con.execute(f'DROP DATABASE IF EXISTS "{env[key]}" WITH (FORCE)')
                for role in ("loader", "transformer", "reader", "airflow", "superset", "owner"):
                    con.execute(f'DROP ROLE IF EXISTS "{prefix}{role}"')
    else:
        reader = None
    settings = get_settings()
    with Warehouse(settings) as wh:
        night(wh, 0.1)
        first = publish(settings, wh)["release_id"]
        night(wh, 0.2)  # tonight's build, to be published by the process that is killed
    try:
        yield {"settings": settings, "reader": reader, "first": first}
    finally:
        if cleanup:
            cleanup()


def seen_by_readers(w) -> tuple[str, list[tuple]]:
    """The release readers are on, and its rows, as a reader finds them."""
    settings = w["settings"]
    if settings.warehouse == "duckdb":
        con = duckdb.connect(str(settings.published_path), read_only=True)
        try:
            rid = con.execute("SELECT release_id FROM release_meta.release").fetchone()[0]
            rows = con.execute("SELECT * FROM publication.pub_rates ORDER BY 1").fetchall()
        finally:
            con.close()
        return rid, rows
    with psycopg.connect(w["reader"], autocommit=True) as con:
        rows = con.execute("SELECT * FROM published.pub_rates ORDER BY 1").fetchall()
    with psycopg.connect(settings.postgres_dsn, autocommit=True) as con:
        definition = con.execute("SELECT definition FROM pg_views WHERE schemaname = %s AND"
                                 " viewname = 'pub_rates'", [LIVE_SCHEMA_PG]).fetchone()[0]
    rid = definition.split("release_", 1)[1].split(".", 1)[0]
    return rid.upper(), rows


def leftovers(settings) -> set[str]:
    """Releases that exist but are not recorded: they would never be expired."""
    with Warehouse(settings) as wh:
        kept = {r.lower() for (r,) in wh.fetchall("SELECT release_id FROM ops.releases")}
        if settings.warehouse == "postgres":
            found = {s[len("release_"):] for (s,) in wh.fetchall(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'release\\_%'")}
        else:
            found = {p.name.split(".")[0].lower() for p in release_file(settings, "x").parent.iterdir()}
    return found - kept


@pytest.mark.parametrize("step", list(STEPS))
def test_publish_killed_at_each_step_leaves_one_live_release_that_status_names(warehouse, step):
    settings = warehouse["settings"]
    before = seen_by_readers(warehouse)
    assert before[0] == warehouse["first"]
    proc = subprocess.run([sys.executable, "-c", KILLED_PUBLISH, step], env=os.environ.copy(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stdout + proc.stderr

    moved = STEPS[step] if STEPS[step] is not None else settings.warehouse == "duckdb"
    now = seen_by_readers(warehouse)
    assert (now[0] != before[0]) == moved, (step, before, now)
    assert now[1] == ([("njur", "a", 0.2), ("palliativ", "b", 0.1)] if moved else before[1])
    with Warehouse(settings) as wh:
        st = status(wh, settings, verify=True)
    assert st["live"]["release_id"] == now[0], "status names the release readers see"
    assert st["verified"] == {"ok": True, "problems": []}

    # the next night publishes, records everything it finds, and a rollback returns to `now`
    with Warehouse(settings) as wh:
        night(wh, 0.3)
        third = publish(settings, wh)["release_id"]
        assert seen_by_readers(warehouse)[0] == third
        assert leftovers(settings) == set()
        restored = rollback(settings, wh)
        assert restored["release_id"] == now[0]
        assert seen_by_readers(warehouse) == now
        st = status(wh, settings, verify=True)
    assert st["live"]["release_id"] == now[0] and st["verified"]["ok"]
    statuses = {r["release_id"]: r["status"] for r in st["releases"]}
    assert statuses[third] == "rolled_back"
    assert sum(s == "live" for s in statuses.values()) == 1
