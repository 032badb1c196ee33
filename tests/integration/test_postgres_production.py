"""PostgreSQL as a registry centre runs it: the databases and least-privilege roles of
infra/postgres/, ingest as the loader, dbt/audit/publish as the transformer, and readers on the
`published` views. A night whose audit fails leaves yesterday's publication live and untouched; a
registry with a fatal finding is held at its last numbers; a rollback brings the night before back;
and the reader can read the publication and nothing else, and write nothing."""

from __future__ import annotations

import os
import secrets
import subprocess
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from regbench import nightly
from regbench.config import REPO_ROOT, get_settings
from regbench.contracts import load_contracts
from regbench.demo.generator import generate
from regbench.publish import rollback, status
from regbench.warehouse import Warehouse

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

INIT = REPO_ROOT / "infra" / "postgres" / "init-regbench.sh"
REGISTRIES = sorted(load_contracts(REPO_ROOT / "registries"))


def run_init(env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(INIT)], env={**os.environ, **env}, capture_output=True, text=True)


@pytest.fixture(scope="module")
def centre(postgres_server, tmp_path_factory):
    """A registry centre's databases and roles, made by the init script as a local process."""
    tag = uuid.uuid4().hex[:6]
    prefix = f"rbt{tag}_"
    env = {
        "PGHOST": "127.0.0.1", "PGPORT": "5432", "PGUSER": "postgres",
        "REGBENCH_ROLE_PREFIX": prefix, "REGBENCH_WAREHOUSE_DB": f"rbt{tag}_warehouse",
        "REGBENCH_AIRFLOW_DB": f"rbt{tag}_airflow", "REGBENCH_SUPERSET_DB": f"rbt{tag}_superset",
        **{name: secrets.token_urlsafe(18) for name in (
            "REGBENCH_LOADER_PASSWORD", "REGBENCH_TRANSFORMER_PASSWORD", "REGBENCH_READER_PASSWORD",
            "AIRFLOW_DB_PASSWORD", "SUPERSET_DB_PASSWORD")},
    }
    first = run_init(env)
    assert first.returncode == 0, first.stderr
    db = env["REGBENCH_WAREHOUSE_DB"]

    def dsn(role: str, password_var: str) -> str:
        return f"postgresql://{prefix}{role}:{env[password_var]}@127.0.0.1:5432/{db}"

    dsns = {"loader": dsn("loader", "REGBENCH_LOADER_PASSWORD"),
            "transformer": dsn("transformer", "REGBENCH_TRANSFORMER_PASSWORD"),
            "reader": dsn("reader", "REGBENCH_READER_PASSWORD")}
    mp = pytest.MonkeyPatch()
    try:
        var = tmp_path_factory.mktemp("centre")
        inbox = var / "inbox"
        generate(inbox, load_contracts(REPO_ROOT / "registries"), REPO_ROOT / "dbt_project/seeds/units.csv",
                 scale=1.0, months=14)  # a rolling 12 months for the dashboards
        for key, value in {"REGBENCH_VAR": str(var), "REGBENCH_DEMO": "1", "REGBENCH_TODAY": "2026-11-24",
                           "REGBENCH_WAREHOUSE": "postgres", "REGBENCH_POSTGRES_DSN": dsns["transformer"],
                           "REGBENCH_LOADER_DSN": dsns["loader"]}.items():
            mp.setenv(key, value)
        for name in ("REGBENCH_INBOX", "REGBENCH_DUCKDB_PATH"):
            mp.delenv(name, raising=False)
        for r in REGISTRIES:
            assert nightly.ingest(r)["files_quarantined"] == 0
        nightly.build()
        audited = nightly.audit()
        assert audited["held"] == {}
        nightly.publish(held=audited["held"])
        yield {"env": env, "admin": postgres_server, "dsn": dsns, "prefix": prefix}
    finally:
        mp.undo()
        with psycopg.connect(postgres_server, autocommit=True) as con:
            for key in ("REGBENCH_WAREHOUSE_DB", "REGBENCH_AIRFLOW_DB", "REGBENCH_SUPERSET_DB"):
                con.execute(f'DROP DATABASE IF EXISTS "{env[key]}" WITH (FORCE)')
            for role in ("loader", "transformer", "reader", "airflow", "superset"):
                con.execute(f'DROP ROLE IF EXISTS "{prefix}{role}"')


def read(dsn: str, sql: str) -> list[tuple]:
    with psycopg.connect(dsn, autocommit=True) as con:
        return con.execute(sql).fetchall()


def live(centre, table: str = "pub_indicator_monthly") -> list[tuple]:
    return sorted(read(centre["dsn"]["reader"], f"SELECT * FROM published.{table}"), key=repr)


def as_transformer(centre, sql: str) -> None:
    with psycopg.connect(centre["dsn"]["transformer"], autocommit=True) as con:
        con.execute(sql)


def test_init_script_is_rerunnable_and_refuses_placeholder_passwords(centre):
    again = run_init(centre["env"])
    assert again.returncode == 0, again.stderr
    bad = run_init({**centre["env"], "REGBENCH_READER_PASSWORD": "change-me"})
    assert bad.returncode == 2
    assert "REGBENCH_READER_PASSWORD is a default or placeholder password" in bad.stderr
    missing = run_init({**centre["env"], "SUPERSET_DB_PASSWORD": ""})
    assert missing.returncode == 2 and "SUPERSET_DB_PASSWORD is not set" in missing.stderr


@pytest.mark.parametrize("relation", ["raw.njur__start", "ops.ledger", "publication.pub_indicator_monthly",
                                      "marts.fct_indicator_values", "staging.stg_njur__start"])
def test_reader_cannot_read_anything_but_the_published_views(centre, relation):
    assert live(centre), "the reader sees the publication"
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        read(centre["dsn"]["reader"], f"SELECT 1 FROM {relation} LIMIT 1")


def test_reader_cannot_read_a_release_schema_directly(centre):
    with Warehouse(get_settings()) as wh:
        rid = status(wh)["live"]["release_id"]
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        read(centre["dsn"]["reader"], f"SELECT 1 FROM release_{rid.lower()}.pub_units LIMIT 1")


@pytest.mark.parametrize("statement", [
    "CREATE TABLE published.mine (x int)",
    "CREATE SCHEMA mine",
    "DELETE FROM published.pub_units",
    "CREATE TABLE public.mine (x int)",
])
def test_reader_cannot_write_anything(centre, statement):
    with pytest.raises((psycopg.errors.InsufficientPrivilege, psycopg.errors.ReadOnlySqlTransaction,
                        psycopg.errors.ObjectNotInPrerequisiteState)):
        read(centre["dsn"]["reader"], statement)


def test_loader_cannot_touch_the_models_or_the_publication(centre):
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        read(centre["dsn"]["loader"], "SELECT 1 FROM publication.pub_units LIMIT 1")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        read(centre["dsn"]["loader"], "CREATE SCHEMA loader_was_here")


def test_a_night_whose_audit_fails_leaves_the_live_publication_untouched(centre):
    before = live(centre)
    with Warehouse(get_settings()) as wh:
        live_before = status(wh)["live"]["release_id"]
    # tonight's build came out empty: a fatal finding over the whole publication
    as_transformer(centre, "DELETE FROM publication.pub_indicator_monthly")
    with pytest.raises(nightly.StepFailed, match="nothing published"):
        nightly.audit()
    assert live(centre) == before
    with Warehouse(get_settings()) as wh:
        st = status(wh)
    assert st["live"]["release_id"] == live_before
    assert st["last_attempt"]["outcome"] == "blocked"
    assert "publication_not_empty" in st["last_attempt"]["detail"]
    nightly.build()  # the next night builds cleanly again


def test_fatal_finding_in_one_registry_holds_only_that_registry(centre):
    before = live(centre)
    as_transformer(centre, "UPDATE publication.pub_indicator_monthly SET rate = 2"
                           " WHERE registry_id = 'palliativ' AND rate IS NOT NULL")
    as_transformer(centre, "UPDATE publication.pub_units SET unit_name = unit_name || ' (ny)'")
    audited = nightly.audit()
    assert set(audited["held"]) == {"palliativ"}
    result = nightly.publish(held=audited["held"])
    assert result["held"] == ["palliativ"]
    after = live(centre)
    assert [r for r in after if r[0] == "palliativ"] == [r for r in before if r[0] == "palliativ"]
    names = set(read(centre["dsn"]["reader"], "SELECT registry_id, unit_name FROM published.pub_units"))
    assert any(reg == "palliativ" and not name.endswith("(ny)") for reg, name in names)
    assert any(reg == "njur" and name.endswith("(ny)") for reg, name in names)
    nightly.build()


def test_publish_and_rollback_move_an_open_reader_session_between_nights(centre):
    """Views bind to tables by object id: an already-open reader session must still see each
    switch, which is why publishing recreates the views instead of renaming schemas."""
    with psycopg.connect(centre["dsn"]["reader"], autocommit=True) as reader:
        def names():
            return {n for (n,) in reader.execute("SELECT unit_name FROM published.pub_units")}

        yesterday = names()
        as_transformer(centre, "UPDATE publication.pub_units SET unit_name = unit_name || ' [v2]'")
        audited = nightly.audit()
        tonight = nightly.publish(held=audited["held"])["release_id"]
        assert all(n.endswith("[v2]") for n in names())
        with Warehouse(get_settings()) as wh:
            restored = rollback(get_settings(), wh)
            st = status(wh)
        assert names() == yesterday
        assert restored["release_id"] != tonight
        assert st["live"]["release_id"] == restored["release_id"]
        assert {r["release_id"]: r["status"] for r in st["releases"]}[tonight] == "rolled_back"
    nightly.build()


def restart_postgres() -> None:
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart", "-m", "fast"],
                   check=True, capture_output=True)


def test_postgres_restarted_mid_build_publishes_nothing_half_built_and_the_next_run_recovers(centre):
    """The fault test: the server goes away while dbt is building; readers keep the last night
    throughout, the failed attempt is recorded, and the next run publishes a complete night."""
    import threading

    before = live(centre)
    with Warehouse(get_settings()) as wh:
        live_before = status(wh)["live"]["release_id"]
    outcome: dict = {}

    def build():
        try:
            nightly.build()
            outcome["ok"] = True
        except Exception as exc:  # noqa: BLE001 - what the build raised is the observation
            outcome["error"] = exc

    worker = threading.Thread(target=build)
    worker.start()
    transformer = f"{centre['prefix']}transformer"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and worker.is_alive():
        # restart while dbt is in the middle of creating a model
        busy = read(centre["admin"], "SELECT count(*) FROM pg_stat_activity WHERE usename ="
                    f" '{transformer}' AND state = 'active' AND query ILIKE '%create%'")[0][0]
        if busy:
            restart_postgres()
            break
        time.sleep(0.1)
    else:
        pytest.fail("dbt finished before the fault could be injected")
    worker.join(timeout=600)
    assert isinstance(outcome.get("error"), nightly.StepFailed), outcome
    assert live(centre) == before
    with Warehouse(get_settings()) as wh:
        st = status(wh)
    assert st["live"]["release_id"] == live_before
    assert st["last_attempt"]["outcome"] == "build_failed"

    nightly.build()
    audited = nightly.audit()
    result = nightly.publish(held=audited["held"])
    assert result["release_id"] != live_before
    built = sorted(read(centre["dsn"]["transformer"], "SELECT * FROM publication.pub_indicator_monthly"),
                   key=repr)
    assert live(centre) == built and built, "readers see the complete new night"


def test_superset_draws_every_chart_from_the_published_views_as_the_reader_role(
        centre, tmp_path_factory, monkeypatch):
    """The PostgreSQL deployment of the dashboards: Superset connects as the reader role, whose
    only grant is the `published` schema, and every chart of every dashboard still has rows."""
    import socket

    from regbench.dashboards.deploy import deploy
    from regbench.superset_api import SupersetClient
    from regbench.superset_stack import SupersetStack, stop

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home = tmp_path_factory.mktemp("superset_pg")
    monkeypatch.setenv("SUPERSET_HOME", str(home))
    monkeypatch.setenv("REGBENCH_SUPERSET_READER_DSN", centre["dsn"]["reader"])
    settings = get_settings()
    stack = SupersetStack(settings, port=port)
    stack.bootstrap()
    proc = stack.start(log_file=home / "superset.log")
    try:
        stack.wait_healthy(proc, timeout=180)
        with SupersetClient(stack.url, stack.admin_user, stack.admin_password()) as admin:
            deploy(admin, settings, REPO_ROOT / "superset")
            [database] = admin.list_all("database", ["id"])
            uri = admin.get(f"/api/v1/database/{database['id']}/connection")["result"][
                "sqlalchemy_uri"]
            assert uri.startswith(f"postgresql+psycopg2://{centre['prefix']}reader:"), uri
            charts = admin.list_all("chart", ["id", "slice_name"])
            empty = [c["slice_name"] for c in charts
                     if not admin.get(f"/api/v1/chart/{c['id']}/data/")["result"][0]["rowcount"]]
        assert len(charts) > 20
        assert empty == [], "charts without rows: " + "; ".join(empty)
    finally:
        stop(proc)
