"""Ingest throughput into PostgreSQL: regbench's path (parse + pseudonymise + validate + load) against
`psql \\copy` and pandas `to_sql` of the same rows, measured in the same run.

    .venv/bin/python benchmarks/ingest_throughput.py --rows 1000000

One swedvasc operation export of about `--rows` rows is built from the demo generator (every
month's operations in one file), loaded three ways into fresh databases, and the times, rows per
second and ratios are printed as JSON and appended to benchmarks/results/ingest.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
# swedvasc at scale 1 over 36 months writes about this many operation rows
ROWS_PER_SCALE = 8_800


@contextmanager
def database():
    name = f"regbench_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def build_export(work: Path, rows: int) -> tuple[Path, int]:
    from regbench.contracts import load_contracts
    from regbench.demo.generator import generate

    contracts = load_contracts(ROOT / "registries")
    generate(work / "gen", {"swedvasc": contracts["swedvasc"]}, ROOT / "dbt_project/seeds/units.csv",
             scale=rows / ROWS_PER_SCALE, months=36)
    target = work / "inbox" / "swedvasc" / "swedvasc_operation_2026-10.csv"
    target.parent.mkdir(parents=True)
    n = 0
    with target.open("w", encoding="utf-8", newline="") as out:
        for i, part in enumerate(sorted((work / "gen" / "swedvasc").glob("swedvasc_operation_*.csv"))):
            lines = part.read_text(encoding="utf-8").splitlines(keepends=True)
            out.writelines(lines if i == 0 else lines[1:])
            n += len(lines) - 1
    return target, n


def time_regbench(work: Path, dsn: str) -> tuple[float, int]:
    env = dict(os.environ, REGBENCH_DEMO="1", REGBENCH_VAR=str(work), REGBENCH_WAREHOUSE="postgres",
               REGBENCH_POSTGRES_DSN=dsn)
    env.pop("REGBENCH_INBOX", None)
    t0 = time.monotonic()
    proc = subprocess.run([str(Path(sys.executable).with_name("regbench")), "ingest", "swedvasc"],
                          env=env, capture_output=True, text=True)
    seconds = time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit(proc.stdout[-3000:] + proc.stderr[-3000:])
    return seconds, json.loads(proc.stdout[proc.stdout.index("{"):])["rows_loaded"]


def time_psql_copy(path: Path, dsn: str) -> float:
    header = path.open(encoding="utf-8").readline().strip().split(",")
    with psycopg.connect(dsn, autocommit=True) as con:
        con.execute(f"CREATE TABLE copied ({', '.join(f'{c} text' for c in header)})")
    t0 = time.monotonic()
    subprocess.run(["psql", dsn, "-q", "-c", f"\\copy copied FROM '{path}' WITH (FORMAT csv, HEADER)"],
                   check=True)
    return time.monotonic() - t0


def time_to_sql(path: Path, dsn: str) -> float:
    import pandas as pd
    from sqlalchemy import create_engine

    engine = create_engine(dsn.replace("postgresql://", "postgresql+psycopg://"))
    t0 = time.monotonic()
    frame = pd.read_csv(path, dtype=str)
    frame.to_sql("pandas_loaded", engine, index=False, chunksize=50_000)
    seconds = time.monotonic() - t0
    engine.dispose()
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--skip-to-sql", action="store_true", help="pandas to_sql takes minutes at 1M")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="regbench-ingest-bench-") as tmp:
        work = Path(tmp)
        t0 = time.monotonic()
        export, rows = build_export(work, args.rows)
        gen_s = time.monotonic() - t0
        with database() as dsn:
            copy_s = time_psql_copy(export, dsn)
        with database() as dsn:
            regbench_s, loaded = time_regbench(work, dsn)
        to_sql_s = None
        if not args.skip_to_sql:
            with database() as dsn:
                to_sql_s = time_to_sql(export, dsn)
        result = {
            "benchmark": "ingest_throughput", "when": datetime.now().isoformat(timespec="seconds"),
            "machine": f"{platform.machine()} {os.cpu_count()} cores", "rows": rows,
            "file_mb": round(export.stat().st_size / 2**20, 1), "generate_s": round(gen_s, 1),
            "regbench_s": round(regbench_s, 1), "regbench_rows_loaded": loaded,
            "psql_copy_s": round(copy_s, 2),
            "pandas_to_sql_s": round(to_sql_s, 1) if to_sql_s else None,
            "regbench_rows_per_s": round(rows / regbench_s),
            "psql_copy_rows_per_s": round(rows / copy_s),
            "ratio_regbench_to_copy": round(copy_s / regbench_s, 3),
            "ratio_regbench_to_to_sql": round(to_sql_s / regbench_s, 2) if to_sql_s else None,
        }
    print(json.dumps(result))
    out = ROOT / "benchmarks" / "results" / "ingest.jsonl"
    with out.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
