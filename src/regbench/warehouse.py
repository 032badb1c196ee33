"""Connections to the warehouse (DuckDB embedded, PostgreSQL in production) and the tables regbench owns.

Only the small surface the pipeline needs: run SQL in one transaction, fetch rows, and bulk-load a
DataFrame into a raw table (native DuckDB insert from the frame; COPY on PostgreSQL).
"""

from __future__ import annotations

import io
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
        PRIMARY KEY (file_id, original_name)
    )""",
    # set by `regbench quarantine release --accept`: load despite the file-level quality gates
    "ALTER TABLE ops.ledger ADD COLUMN IF NOT EXISTS accept_rejects BOOLEAN DEFAULT FALSE",
    # pseudonyms of persons who opted out; kept so that later deliveries are filtered too
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
]


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

    def __init__(self, settings: Settings, *, read_only: bool = False):
        self.kind = settings.warehouse
        if self.kind == "duckdb":
            import duckdb

            settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
            self.con = duckdb.connect(str(settings.duckdb_path), read_only=read_only)
        else:
            import psycopg

            self.con = psycopg.connect(settings.postgres_dsn, autocommit=True)

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
        for ddl in OPS_DDL:
            self.execute(ddl)

    def ensure_raw_table(self, contract: Contract, entity: Entity) -> str:
        table = contract.raw_table(entity)
        cols = ", ".join(f"{name} {typ}" for name, typ in raw_columns(entity))
        self.execute(f"CREATE TABLE IF NOT EXISTS raw.{table} ({cols})")
        return f"raw.{table}"

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


def _pg_params(sql: str) -> str:
    # regbench writes `?` placeholders (DuckDB style); psycopg wants %s
    return sql.replace("%", "%%").replace("?", "%s")
