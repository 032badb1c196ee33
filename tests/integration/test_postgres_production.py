"""PostgreSQL as a registry centre runs it: the databases and least-privilege roles of
infra/postgres/, ingest as the loader, dbt/audit/publish as the transformer, and readers on the
`published` views. A night whose audit fails leaves yesterday's publication live and untouched; a
registry with a fatal finding is held at its last numbers; a rollback brings the night before back;
and the reader can read the publication and nothing else, and write nothing."""

from __future__ import annotations

import json
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
from regbench.warehouse_setup import setup

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
    admin = f"postgresql://postgres@127.0.0.1:5432/{db}"

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
        # the tables, created by their owner (the loader may not create any)
        setup(get_settings(), admin)
        for r in REGISTRIES:
            assert nightly.ingest(r)["files_quarantined"] == 0
        nightly.build()
        audited = nightly.audit()
        assert audited["held"] == {}
        nightly.publish(held=audited["held"])
        yield {"env": env, "admin": postgres_server, "dsn": dsns, "prefix": prefix, "db_admin": admin}
    finally:
        mp.undo()
        with psycopg.connect(postgres_server, autocommit=True) as con:
            for key in ("REGBENCH_WAREHOUSE_DB", "REGBENCH_AIRFLOW_DB", "REGBENCH_SUPERSET_DB"):
                con.execute(f'DROP DATABASE IF EXISTS "{env[key]}" WITH (FORCE)')
            for role in ("loader", "transformer", "reader", "airflow", "superset", "owner"):
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
    assert "REGBENCH_READER_PASSWORD is a placeholder or a default" in bad.stderr
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
            charts = admin.list_all("chart", ["id", "slice_name", "params"])
            empty = [c for c in charts
                     if not admin.get(f"/api/v1/chart/{c['id']}/data/")["result"][0]["rowcount"]]
        assert len(charts) > 20
        # a network's trend may be empty only where the disclosure layer lets no month of any of
        # its units out (14 months of demo data: some networks hide every unit-month)
        with_trend = {r for (r,) in read(centre["dsn"]["reader"],
                                         "SELECT DISTINCT registry_id FROM published.pub_spc")}

        def explained(chart: dict) -> bool:
            filters = json.loads(chart["params"] or "{}").get("adhoc_filters") or []
            registries = {f.get("comparator") for f in filters if f.get("subject") == "registry_id"}
            return ("Trend" in chart["slice_name"] and bool(registries)
                    and not registries & with_trend)

        unexplained = [c["slice_name"] for c in empty if not explained(c)]
        assert unexplained == [], "charts without rows: " + "; ".join(unexplained)
    finally:
        stop(proc)


# --- least privilege, tried as an attacker (issue 18) -------------------------------------------

SHARED_SCHEMAS = ("raw", "ops", "published")
# a column of each table under attack, for the column-default route
ATTACKED = {"ops.publish_log": "detail", "ops.releases": "held", "ops.ledger": "reason",
            "ops.dq_results": "column_name", "ops.raw_changes": "table_name", "raw.njur__start": "_period"}


def admin_dsn(centre) -> str:
    return centre["db_admin"]


def attempt(dsn: str, sql: str) -> None:
    """Run `sql` in a read-write transaction (the reader's read-only default is a second line of
    defence, not the one under test) and always roll back, so a succeeding attack leaves nothing."""
    with psycopg.connect(dsn) as con:
        try:
            con.execute("SET TRANSACTION READ WRITE")
            con.execute(sql)
        finally:
            con.rollback()


def test_every_shared_schema_and_everything_in_it_belongs_to_a_nologin_owner(centre):
    owner = f"{centre['prefix']}owner"
    schemas = read(admin_dsn(centre), "SELECT n.nspname, r.rolname, r.rolcanlogin FROM pg_namespace n"
                   f" JOIN pg_roles r ON r.oid = n.nspowner WHERE n.nspname IN {SHARED_SCHEMAS}")
    assert set(schemas) == {(s, owner, False) for s in SHARED_SCHEMAS}
    owned = read(admin_dsn(centre),
                 "SELECT n.nspname || '.' || c.relname, r.rolname FROM pg_class c"
                 " JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_roles r ON r.oid = c.relowner"
                 f" WHERE n.nspname IN {SHARED_SCHEMAS} AND r.rolname <> '{owner}'")
    assert owned == [], "relations owned by a login role"
    assert len(read(admin_dsn(centre), "SELECT 1 FROM pg_tables WHERE schemaname = 'ops'")) >= 10
    members = read(admin_dsn(centre), "SELECT m.rolname FROM pg_auth_members a JOIN pg_roles m"
                   f" ON m.oid = a.member WHERE a.roleid = '{owner}'::regrole")
    assert members == [], "nobody may act as the owner"


@pytest.mark.parametrize("table", sorted(ATTACKED))
@pytest.mark.parametrize("role", ["loader", "reader"])
def test_no_login_role_can_plant_code_on_a_table_the_transformer_writes_or_reads(centre, table, role):
    """The route the review found: a trigger on a table the transformer writes during publish runs
    the planter's code with the transformer's rights. Refused whatever function it would call, and
    so is every other way an owner has to attach code or change what a table does."""
    planted = [f"CREATE TRIGGER planted BEFORE INSERT OR UPDATE ON {table}"
               " FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()",
               f"ALTER TABLE {table} ALTER COLUMN {ATTACKED[table]} SET DEFAULT current_user",
               f"CREATE RULE planted AS ON INSERT TO {table} DO ALSO NOTIFY planted",
               f"ALTER TABLE {table} OWNER TO {centre['prefix']}{role}",
               f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY"]
    for sql in planted:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            attempt(centre["dsn"][role], sql)


def test_no_login_role_can_put_a_function_on_the_transformers_path(centre):
    """The function route: an overload in a schema the transformer resolves names in (its
    search_path, or the schemas regbench's SQL names) would run as the transformer."""
    transformer = f"{centre['prefix']}transformer"
    with psycopg.connect(centre["dsn"]["transformer"], autocommit=True) as con:
        path = [s for (s,) in con.execute("SELECT unnest(current_schemas(false))")]
        assert "$user" in con.execute("SHOW search_path").fetchone()[0]
    for role in ("loader", "reader"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            attempt(centre["dsn"][role], f'CREATE SCHEMA "{transformer}"')  # its "$user" slot
        for schema in sorted(set(path) | {"public", *SHARED_SCHEMAS}):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                attempt(centre["dsn"][role], f"CREATE FUNCTION {schema}.lower(varchar) RETURNS text"
                        " LANGUAGE sql AS 'SELECT current_user::text'")


@pytest.mark.parametrize("sql", [
    "INSERT INTO ops.releases VALUES ('x; DROP SCHEMA raw CASCADE; --', now(), 'previous', NULL, '{}')",
    "UPDATE ops.releases SET status = 'previous'",
    "INSERT INTO ops.publish_log VALUES (now(), 'published', NULL, 'forged')",
])
def test_the_loader_cannot_write_the_records_publish_turns_into_sql(centre, sql):
    """Release ids become schema names in the transformer's SQL (rollback, expiry): only the
    transformer may write them."""
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        attempt(centre["dsn"]["loader"], sql)


def test_init_script_and_setup_migrate_a_database_of_the_older_layout(postgres_server, monkeypatch,
                                                                        tmp_path):
    """Before issue 18 the loader owned raw and ops and the transformer published: the init script
    refuses while code planted then is still attached, then hands everything to the owner, and
    `regbench warehouse-setup` grants the row privileges; both can run again."""
    from dataclasses import replace

    tag = uuid.uuid4().hex[:6]
    prefix = f"rbm{tag}_"
    env = {"PGHOST": "127.0.0.1", "PGPORT": "5432", "PGUSER": "postgres",
           "REGBENCH_ROLE_PREFIX": prefix, "REGBENCH_WAREHOUSE_DB": f"rbm{tag}_warehouse",
           "REGBENCH_AIRFLOW_DB": f"rbm{tag}_airflow", "REGBENCH_SUPERSET_DB": f"rbm{tag}_superset",
           **{name: secrets.token_urlsafe(18) for name in (
               "REGBENCH_LOADER_PASSWORD", "REGBENCH_TRANSFORMER_PASSWORD", "REGBENCH_READER_PASSWORD",
               "AIRFLOW_DB_PASSWORD", "SUPERSET_DB_PASSWORD")}}
    db = env["REGBENCH_WAREHOUSE_DB"]
    admin = f"postgresql://postgres@127.0.0.1:5432/{db}"
    loader, transformer, reader = (f"{prefix}{r}" for r in ("loader", "transformer", "reader"))

    def role_dsn(role: str, var: str) -> str:
        return f"postgresql://{prefix}{role}:{env[var]}@127.0.0.1:5432/{db}"

    monkeypatch.setenv("REGBENCH_WAREHOUSE", "postgres")
    monkeypatch.setenv("REGBENCH_VAR", str(tmp_path))
    settings = replace(get_settings(), postgres_dsn=admin)
    try:
        with psycopg.connect(postgres_server, autocommit=True) as con:
            for role, var in (("loader", "REGBENCH_LOADER_PASSWORD"),
                              ("transformer", "REGBENCH_TRANSFORMER_PASSWORD"),
                              ("reader", "REGBENCH_READER_PASSWORD")):
                con.execute(f"CREATE ROLE \"{prefix}{role}\" LOGIN PASSWORD '{env[var]}'")
            con.execute(f'CREATE DATABASE "{db}"')
            con.execute(f'GRANT CREATE ON DATABASE "{db}" TO "{transformer}"')
        with Warehouse(settings) as wh:  # the older layout, made as the roles made it
            wh.execute(f'CREATE SCHEMA raw AUTHORIZATION "{loader}"')
            wh.execute(f'CREATE SCHEMA ops AUTHORIZATION "{loader}"')
            wh.execute(f'CREATE SCHEMA published AUTHORIZATION "{transformer}"')
            wh.execute(f'GRANT USAGE ON SCHEMA raw, ops TO "{transformer}"')
            wh.execute(f'GRANT USAGE ON SCHEMA published TO "{reader}"')
            wh.execute(f'SET ROLE "{loader}"')
            wh.ensure_ops()
            contract = load_contracts(REPO_ROOT / "registries")["njur"]
            raw_table = wh.ensure_raw_table(contract, contract.entities[0])
            wh.execute("INSERT INTO ops.ledger (file_id, original_name, registry_id, size_bytes,"
                       " received_at, status) VALUES ('f1', 'njur.csv', 'njur', 1, now(), 'loaded')")
            wh.execute("CREATE FUNCTION ops.planted() RETURNS trigger LANGUAGE plpgsql"
                       " AS 'BEGIN RETURN NEW; END'")
            wh.execute("CREATE TRIGGER planted BEFORE INSERT ON ops.publish_log"
                       " FOR EACH ROW EXECUTE FUNCTION ops.planted()")
            wh.execute(f'SET ROLE "{transformer}"')
            wh.execute("CREATE SCHEMA release_20260101t000000")
            wh.execute("CREATE TABLE release_20260101t000000.pub_x AS SELECT 1 AS n")
            wh.execute("CREATE VIEW published.pub_x AS SELECT * FROM release_20260101t000000.pub_x")
            wh.execute(f'GRANT SELECT ON published.pub_x TO "{reader}"')
            wh.execute("RESET ROLE")

        refused = run_init(env)
        assert refused.returncode == 3, refused.stderr
        assert "trigger planted on ops.publish_log" in refused.stderr
        assert f"function ops.planted() owned by {loader}" in refused.stderr
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute("DROP TRIGGER planted ON ops.publish_log")
            con.execute("DROP FUNCTION ops.planted()")
        for _ in range(2):
            done = run_init(env)
            assert done.returncode == 0, done.stderr
            setup(settings, admin)

        owners = read(admin, "SELECT DISTINCT pg_get_userbyid(c.relowner) FROM pg_class c JOIN"
                      " pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('raw', 'ops',"
                      " 'published') UNION SELECT pg_get_userbyid(nspowner) FROM pg_namespace"
                      " WHERE nspname IN ('raw', 'ops', 'published')")
        assert owners == [(f"{prefix}owner",)]
        loader_dsn = role_dsn("loader", "REGBENCH_LOADER_PASSWORD")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            attempt(loader_dsn, "CREATE TRIGGER planted BEFORE INSERT ON ops.publish_log FOR EACH ROW"
                    " EXECUTE FUNCTION suppress_redundant_updates_trigger()")
        assert read(loader_dsn, "SELECT file_id FROM ops.ledger") == [("f1",)]
        with psycopg.connect(loader_dsn, autocommit=True) as con:
            con.execute(f"DELETE FROM {raw_table}")
        assert read(role_dsn("reader", "REGBENCH_READER_PASSWORD"),
                    "SELECT n FROM published.pub_x") == [(1,)]
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as con:
            for key in ("REGBENCH_WAREHOUSE_DB", "REGBENCH_AIRFLOW_DB", "REGBENCH_SUPERSET_DB"):
                con.execute(f'DROP DATABASE IF EXISTS "{env[key]}" WITH (FORCE)')
            for role in ("loader", "transformer", "reader", "airflow", "superset", "owner"):
                con.execute(f'DROP ROLE IF EXISTS "{prefix}{role}"')
