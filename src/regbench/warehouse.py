"""Connections to the warehouse (DuckDB embedded, PostgreSQL in production) and the tables regbench owns.

Only the small surface the pipeline needs: run SQL in one transaction, fetch rows, and bulk-load a
DataFrame into a raw table (native DuckDB insert from the frame; COPY on PostgreSQL).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from urllib.parse import unquote, urlparse

import pandas as pd

from regbench.config import Settings
from regbench.contracts import ColumnType, Contract, Entity

SQL_TYPES = {
    ColumnType.STRING: "VARCHAR",
    ColumnType.CODE: "VARCHAR",
    ColumnType.UNIT: "VARCHAR",
    ColumnType.INTEGER: "BIGINT",
    ColumnType.DECIMAL: "DOUBLE PRECISION",
    ColumnType.DATE: "DATE",
    ColumnType.BOOLEAN: "BOOLEAN",
}

# Columns regbench adds to every raw table, after the contract's own (personnummer excluded).
PERSON_COLUMNS = [
    ("person_id", "VARCHAR"),
    ("pnr_kind", "VARCHAR"),
    ("birth_year", "INTEGER"),
    ("sex", "VARCHAR"),
]
LINEAGE_COLUMNS = [
    ("_file_id", "VARCHAR"),
    ("_row_number", "INTEGER"),
    ("_period", "VARCHAR"),
    ("_loaded_at", "TIMESTAMP"),
]

OPS_DDL = [
    "CREATE SCHEMA IF NOT EXISTS ops",
    "CREATE SCHEMA IF NOT EXISTS raw",
    """CREATE TABLE IF NOT EXISTS ops.ledger (
        file_id VARCHAR NOT NULL,
        original_name VARCHAR NOT NULL,
        registry_id VARCHAR NOT NULL,
        entity VARCHAR,
        period VARCHAR,
        size_bytes BIGINT NOT NULL,
        received_at TIMESTAMP NOT NULL,
        status VARCHAR NOT NULL,
        rows_loaded BIGINT,
        rows_rejected BIGINT,
        reason VARCHAR,
        superseded_by VARCHAR,
        processed_at TIMESTAMP,
        PRIMARY KEY (registry_id, file_id, original_name)
    )""",
    # set by `regbench quarantine release --accept`: load despite the file-level quality gates
    "ALTER TABLE ops.ledger ADD COLUMN IF NOT EXISTS accept_rejects BOOLEAN DEFAULT FALSE",
    # version 6: a keyed hash of the delivered name (never the name), so two names that redact to
    # the same text stay two files; and the file's modification time in the drop folder, which
    # orders the deliveries of one run (decision 0018, addendum)
    "ALTER TABLE ops.ledger ADD COLUMN IF NOT EXISTS name_key VARCHAR",
    "ALTER TABLE ops.ledger ADD COLUMN IF NOT EXISTS delivered_at TIMESTAMP",
    # pseudonyms of persons who opted out; kept so that later deliveries are filtered too
    # what a drop folder held that was not taken in: uploads in progress, links, strays
    """CREATE TABLE IF NOT EXISTS ops.inbox_notices (
        location VARCHAR NOT NULL,
        name VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        registry_id VARCHAR,
        message VARCHAR NOT NULL,
        first_seen TIMESTAMP NOT NULL,
        last_seen TIMESTAMP NOT NULL,
        PRIMARY KEY (location, name, kind)
    )""",
    """CREATE TABLE IF NOT EXISTS ops.optouts (
        registry_id VARCHAR NOT NULL,
        person_id VARCHAR NOT NULL,
        file_id VARCHAR NOT NULL,
        received_at TIMESTAMP NOT NULL,
        PRIMARY KEY (registry_id, person_id)
    )""",
    # what an opt-out removed: counts only
    """CREATE TABLE IF NOT EXISTS ops.optout_log (
        applied_at TIMESTAMP NOT NULL,
        registry_id VARCHAR NOT NULL,
        trigger_file_id VARCHAR NOT NULL,
        table_name VARCHAR NOT NULL,
        rows_removed BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS ops.rejects (
        file_id VARCHAR NOT NULL,
        registry_id VARCHAR NOT NULL,
        entity VARCHAR NOT NULL,
        row_number INTEGER NOT NULL,
        column_name VARCHAR NOT NULL,
        rule VARCHAR NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS ops.dq_results (
        checked_at TIMESTAMP NOT NULL,
        stage VARCHAR NOT NULL,
        registry_id VARCHAR NOT NULL,
        entity VARCHAR,
        file_id VARCHAR,
        check_name VARCHAR NOT NULL,
        column_name VARCHAR,
        kahn_category VARCHAR NOT NULL,
        severity VARCHAR NOT NULL,
        status VARCHAR NOT NULL,
        element_count BIGINT,
        unexpected_count BIGINT,
        unexpected_percent DOUBLE PRECISION,
        threshold_pct DOUBLE PRECISION
    )""",
    # warehouse checks are per unit and period, with the observed value against its threshold
    "ALTER TABLE ops.dq_results ADD COLUMN IF NOT EXISTS unit_id VARCHAR",
    "ALTER TABLE ops.dq_results ADD COLUMN IF NOT EXISTS period VARCHAR",
    "ALTER TABLE ops.dq_results ADD COLUMN IF NOT EXISTS observed_value DOUBLE PRECISION",
    "ALTER TABLE ops.dq_results ADD COLUMN IF NOT EXISTS threshold_value DOUBLE PRECISION",
    # one row per alert episode: a unit's collapse or low coverage is announced once
    """CREATE TABLE IF NOT EXISTS ops.alerts (
        registry_id VARCHAR NOT NULL,
        unit_id VARCHAR NOT NULL,
        check_name VARCHAR NOT NULL,
        opened_at TIMESTAMP NOT NULL,
        observed_value DOUBLE PRECISION,
        threshold_value DOUBLE PRECISION,
        period VARCHAR,
        recipient VARCHAR NOT NULL,
        sent_at TIMESTAMP,
        closed_at TIMESTAMP
    )""",
    # every published night (write-audit-publish) and every attempt to publish one
    """CREATE TABLE IF NOT EXISTS ops.releases (
        release_id VARCHAR PRIMARY KEY,
        published_at TIMESTAMP NOT NULL,
        status VARCHAR NOT NULL,
        held VARCHAR,
        manifest VARCHAR NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS ops.publish_log (
        attempted_at TIMESTAMP NOT NULL,
        outcome VARCHAR NOT NULL,
        release_id VARCHAR,
        detail VARCHAR
    )""",
    # which event months of which raw table a write touched; the base tables consume it (0013)
    """CREATE TABLE IF NOT EXISTS ops.raw_changes (
        table_name VARCHAR NOT NULL,
        event_month DATE NOT NULL,
        changed_at TIMESTAMP NOT NULL
    )""",
]
# Bump when OPS_DDL changes. The DDL runs only while ops.schema_version is behind, so roles that
# may not create or alter tables in ops (the transformer on PostgreSQL) never attempt it.
OPS_SCHEMA_VERSION = 6


# PostgreSQL's JIT compiles a query once its estimated cost passes a threshold; regbench's
# aggregates cross it at 10 M registrations, not at 1 M, and then spend ~10 s compiling
# (inlining and optimising) for ~1 s of work. Every regbench session (ingest, checks, dbt) runs
# without it (decision 0013).
NO_JIT = "-c jit=off"


def pg_session_options(dsn: str = "") -> str:
    """`options` for a PostgreSQL session: the DSN's own (or PGOPTIONS), with JIT off."""
    from psycopg.conninfo import conninfo_to_dict

    base = str((conninfo_to_dict(dsn).get("options") if dsn else None)
               or os.environ.get("PGOPTIONS", ""))
    return base if "jit=" in base else f"{base} {NO_JIT}".strip()


def raw_indexes(entity: Entity) -> dict[str, str]:
    """PostgreSQL indexes of a raw table: a replaced delivery is found by its file; a base table
    rebuilds a month by a range of the event date, and a new file's rows look for the same
    registration in earlier files by key, so the key index leads with the event date (the key
    holds it whenever there is one). Without them both scan all of raw; DuckDB's zone maps prune
    by date without an index."""
    indexes = {"file": "_file_id"}
    keys = entity.raw_key_columns
    date = entity.event_date_column
    lead = [date] if date else []
    key = lead + [k for k in keys if k != date]
    if key:
        indexes["key"] = ", ".join(key)
    return indexes


def raw_columns(entity: Entity) -> list[tuple[str, str]]:
    own = [(c.name, SQL_TYPES[c.type]) for c in entity.columns if c.type is not ColumnType.PERSONNUMMER]
    return own + PERSON_COLUMNS + LINEAGE_COLUMNS


def pg_conninfo(dsn: str) -> dict[str, str]:
    """host/port/user/password/dbname from a postgresql:// URL (also what dbt's profile reads)."""
    u = urlparse(dsn)
    return {
        "host": u.hostname or "127.0.0.1",
        "port": str(u.port or 5432),
        "user": unquote(u.username or "postgres"),
        "password": unquote(u.password or ""),
        "dbname": (u.path or "/regbench").lstrip("/") or "regbench",
    }


class Warehouse:
    """One open connection; use as a context manager."""

    def __init__(self, settings: Settings, *, read_only: bool = False, loader: bool = False):
        self.kind = settings.warehouse
        if self.kind == "duckdb":
            import duckdb

            settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
            self.con = duckdb.connect(str(settings.duckdb_path), read_only=read_only)
        else:
            import psycopg

            dsn = settings.loader_dsn if loader else settings.postgres_dsn
            self.con = psycopg.connect(dsn, autocommit=True, options=pg_session_options(dsn))

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    def execute(self, sql: str, params: Sequence | None = None) -> None:
        if self.kind == "duckdb":
            self.con.execute(sql, params or [])
        else:
            self.con.execute(_pg_params(sql), params or None)

    def fetchall(self, sql: str, params: Sequence | None = None) -> list[tuple]:
        if self.kind == "duckdb":
            return self.con.execute(sql, params or []).fetchall()
        return self.con.execute(_pg_params(sql), params or None).fetchall()

    def frame(self, sql: str, params: Sequence | None = None) -> pd.DataFrame:
        """The rows of a query with their column names."""
        if self.kind == "duckdb":
            cur = self.con.execute(sql, params or [])
        else:
            cur = self.con.execute(_pg_params(sql), params or None)
        return pd.DataFrame(cur.fetchall(), columns=[d[0] for d in cur.description])

    def fetchone(self, sql: str, params: Sequence | None = None) -> tuple | None:
        rows = self.fetchall(sql, params)
        return rows[0] if rows else None

    @contextmanager
    def transaction(self) -> Iterator[Warehouse]:
        if self.kind == "duckdb":
            self.con.execute("BEGIN TRANSACTION")
            try:
                yield self
            except BaseException:
                self.con.execute("ROLLBACK")
                raise
            self.con.execute("COMMIT")
        else:
            with self.con.transaction():
                yield self

    def table_exists(self, schema: str, table: str) -> bool:
        row = self.fetchone(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
            [schema, table],
        )
        return bool(row and row[0])

    def ensure_ops(self) -> None:
        version = self._ops_version()
        if version >= OPS_SCHEMA_VERSION:
            return
        try:
            self._create_ops(version)
        except Exception as exc:
            if self.kind == "postgres" and _insufficient_privilege(exc):
                raise WarehouseSetupNeeded(
                    f"the ops tables are at version {version}, this regbench needs "
                    f"{OPS_SCHEMA_VERSION}, and this role may not create or alter tables (only the "
                    "schemas' owner may, infra/postgres/init-regbench.sh): run `regbench "
                    "warehouse-setup` as the database administrator") from exc
            raise

    def _create_ops(self, version: int) -> None:
        existing = {s for (s,) in self.fetchall("SELECT schema_name FROM information_schema.schemata")}
        with self.transaction():
            for ddl in OPS_DDL:
                # creating a schema needs a database privilege even when it exists; a role that
                # owns the schema (the loader, from infra/postgres) need not have it
                if ddl.startswith("CREATE SCHEMA") and ddl.split()[-1] in existing:
                    continue
                self.execute(ddl)
            if 0 < version < 5:
                self._scope_ledger_by_registry()
            self.execute("CREATE TABLE IF NOT EXISTS ops.schema_version (version INTEGER NOT NULL)")
            self.execute("DELETE FROM ops.schema_version")
            self.execute("INSERT INTO ops.schema_version VALUES (?)", [OPS_SCHEMA_VERSION])

    def _scope_ledger_by_registry(self) -> None:
        """Version 5: the same bytes delivered to two registries are two ledger rows."""
        key = "PRIMARY KEY (registry_id, file_id, original_name)"
        if self.kind == "postgres":
            self.execute("ALTER TABLE ops.ledger DROP CONSTRAINT IF EXISTS ledger_pkey")
            self.execute(f"ALTER TABLE ops.ledger ADD {key}")
            return
        # DuckDB cannot alter a primary key: the table is rebuilt under the same name
        self.execute("ALTER TABLE ops.ledger RENAME TO ledger_v4")
        cols = self.fetchall(
            "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns"
            " WHERE table_schema = 'ops' AND table_name = 'ledger_v4' ORDER BY ordinal_position")
        body = ", ".join(f"{c} {t}{' NOT NULL' if n == 'NO' else ''}"
                         f"{f' DEFAULT {d}' if d is not None else ''}" for c, t, n, d in cols)
        self.execute(f"CREATE TABLE ops.ledger ({body}, {key})")
        self.execute("INSERT INTO ops.ledger SELECT * FROM ops.ledger_v4")
        self.execute("DROP TABLE ops.ledger_v4")

    def _ops_version(self) -> int:
        if not self.table_exists("ops", "schema_version"):
            return 0
        row = self.fetchone("SELECT max(version) FROM ops.schema_version")
        return int(row[0] or 0) if row else 0

    def ensure_raw_table(self, contract: Contract, entity: Entity) -> str:
        table = contract.raw_table(entity)
        if self.kind == "postgres":
            # On PostgreSQL only the schemas' owner creates tables (`regbench warehouse-setup`);
            # the loader, which may not even ask to, finds them there.
            indexes = {f"{table}__{name}"[:63]: columns for name, columns in raw_indexes(entity).items()}
            present = {n for (n,) in self.fetchall(
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'raw' AND tablename = ?", [table])}
            if self.table_exists("raw", table) and set(indexes) <= present:
                return f"raw.{table}"
        cols = ", ".join(f"{name} {typ}" for name, typ in raw_columns(entity))
        try:
            self.execute(f"CREATE TABLE IF NOT EXISTS raw.{table} ({cols})")
            if self.kind == "postgres":
                for name, columns in indexes.items():
                    self.execute(f"CREATE INDEX IF NOT EXISTS {name} ON raw.{table} ({columns})")
        except Exception as exc:
            if self.kind == "postgres" and _insufficient_privilege(exc):
                raise WarehouseSetupNeeded(
                    f"raw.{table} (registry {contract.registry_id}) is missing or incomplete and this "
                    "role may not create tables: run `regbench warehouse-setup` as the database "
                    "administrator (after adding a registry or upgrading)") from exc
            raise
        return f"raw.{table}"

    def refresh_statistics(self, qualified_table: str) -> None:
        """PostgreSQL plans on a freshly loaded table as if it were empty until autovacuum runs;
        the nightly build starts sooner than that. DuckDB keeps statistics as it writes."""
        if self.kind == "postgres":
            self.execute(f"ANALYZE {qualified_table}")

    def bulk_insert(self, qualified_table: str, frame: pd.DataFrame) -> None:
        """Append a frame whose columns match the table's; inside the caller's transaction."""
        cols = list(frame.columns)
        if self.kind == "duckdb":
            self.con.register("_regbench_frame", frame)
            try:
                self.con.execute(
                    f"INSERT INTO {qualified_table} ({', '.join(cols)}) "
                    f"SELECT {', '.join(cols)} FROM _regbench_frame"
                )
            finally:
                self.con.unregister("_regbench_frame")
            return
        buf = io.StringIO()
        frame.to_csv(buf, index=False, header=False, na_rep="\\N", date_format="%Y-%m-%d")
        data = buf.getvalue().encode("utf-8")
        with self.con.cursor() as cur:
            copy_sql = (
                f"COPY {qualified_table} ({', '.join(cols)}) FROM STDIN "
                "WITH (FORMAT csv, NULL '\\N')"
            )
            with cur.copy(copy_sql) as copy:
                copy.write(data)


class WarehouseSetupNeeded(RuntimeError):
    """A table is missing and only the schemas' owner may create it (docs/operations.md)."""


def _insufficient_privilege(exc: BaseException) -> bool:
    import psycopg

    return isinstance(exc, psycopg.errors.InsufficientPrivilege)


def _pg_params(sql: str) -> str:
    # regbench writes `?` placeholders (DuckDB style); psycopg wants %s
    return sql.replace("%", "%%").replace("?", "%s")
