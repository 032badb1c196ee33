"""Copy a DuckDB var's raw tables and file ledger into an empty PostgreSQL database, so dbt on
PostgreSQL can be measured on exactly the rows DuckDB was measured on without repeating an ingest
that takes most of an hour at 10 M registrations (the ingest has its own benchmark).

    REGBENCH_VAR=/path/var-scale30 .venv/bin/python benchmarks/copy_var_to_postgres.py \\
        --to postgresql://postgres@127.0.0.1:5432/regbench_bench30 --pg-var /path/var-scale30-pg

Writes each raw table through DuckDB's CSV writer and PostgreSQL's COPY FROM STDIN, then
ANALYZEs it (as the ingest does). The new var gets the DuckDB var's held-back next day
(`held/`), so benchmarks/incremental_build.py runs on it with REGBENCH_WAREHOUSE=postgres.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
import psycopg

from regbench.config import get_settings
from regbench.contracts import load_contracts
from regbench.warehouse import Warehouse


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--to", required=True, help="DSN of an existing, empty PostgreSQL database")
    ap.add_argument("--pg-var", required=True, type=Path)
    args = ap.parse_args()
    source = get_settings()
    contracts = load_contracts(source.contracts_dir)
    source_db, source_var = source.duckdb_path, source.var  # settings read the environment

    os.environ.update(REGBENCH_WAREHOUSE="postgres", REGBENCH_POSTGRES_DSN=args.to,
                      REGBENCH_VAR=str(args.pg_var))
    target = get_settings()
    with Warehouse(target) as wh:
        wh.ensure_ops()
        tables = [wh.ensure_raw_table(c, e) for c in contracts.values() for e in c.entities
                  if e.role != "optouts"]
    duck = duckdb.connect(str(source_db), read_only=True)
    with psycopg.connect(args.to, autocommit=True) as pg, tempfile.TemporaryDirectory() as tmp:
        for table in [*tables, "ops.ledger"]:
            cols = [c for (c,) in pg.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s"
                " AND table_name = %s ORDER BY ordinal_position", table.split(".")).fetchall()]
            t0 = time.monotonic()
            csv = Path(tmp) / "t.csv"
            duck.execute(f"COPY (SELECT {', '.join(cols)} FROM {table}) TO '{csv}' (HEADER false)")
            with pg.cursor() as cur, cur.copy(
                    f"COPY {table} ({', '.join(cols)}) FROM STDIN (FORMAT csv)") as copy, \
                    csv.open("rb") as fh:
                while block := fh.read(1 << 20):
                    copy.write(block)
            pg.execute(f"ANALYZE {table}")
            (n,) = pg.execute(f"SELECT count(*) FROM {table}").fetchone()
            print(f"{table}: {n} rows in {time.monotonic() - t0:.1f} s", flush=True)
    if (source_var / "held").exists():
        shutil.copytree(source_var / "held", args.pg_var / "held", dirs_exist_ok=True)
    (args.pg_var / "inbox").mkdir(parents=True, exist_ok=True)


if __name__ == "__main__":
    main()
