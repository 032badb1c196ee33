"""Data-quality checks: Great Expectations at the door against the same checks as plain SQL, and
the warehouse checks over a built warehouse, measured in the same run.

    .venv/bin/python benchmarks/dq_checks.py --rows 1000000 [--warehouse-var var-scale30]

1. One swedvasc operation export of about `--rows` rows (benchmarks/ingest_throughput.py builds it)
   is parsed by regbench (not timed), then validated three ways:
   - GX's fixed start-up: import, file context, suite and checkpoint, measured on a 10-row frame;
   - the GX door suite on the whole frame (warm: context and suite already built);
   - the same checks as plain SQL in DuckDB over the same frame (one aggregate query).
   The two must agree on every violation count, or the benchmark stops.
2. With `--warehouse-var`, the warehouse checks (registration frequency, coverage, timeliness,
   completeness per unit; regbench.warehouse_checks, SQL aggregates + Python thresholds) are timed
   over that var's DuckDB warehouse, built by `regbench run` at some scale.

Prints JSON and appends it to benchmarks/results/dq_checks.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

TODAY = date(2026, 11, 24)


def sql_violations(con, specs, columns: set[str]) -> dict[int, int | None]:
    """One aggregate over the frame: per spec, the rows that break it (None: column absent)."""

    def lit(v) -> str:
        if isinstance(v, datetime):
            return f"TIMESTAMP '{v:%Y-%m-%d %H:%M:%S}'"
        return "'" + str(v).replace("'", "''") + "'" if isinstance(v, str) else repr(v)

    exprs, index = [], []
    for i, s in enumerate(specs):
        col = f'"{s.column}"'
        if s.column not in columns or s.check == "expect_column_to_exist":
            continue
        if s.check == "expect_column_values_to_not_be_null":
            cond = f"{col} IS NULL"
        elif s.check == "expect_column_values_to_be_in_set":
            cond = f"{col} IS NOT NULL AND {col} NOT IN ({', '.join(map(lit, s.kwargs['value_set']))})"
        elif s.check == "expect_column_values_to_not_be_in_set":
            cond = f"{col} IN ({', '.join(map(lit, s.kwargs['value_set']))})"
        elif s.check == "expect_column_values_to_be_between":
            parts = []
            if s.kwargs.get("min_value") is not None:
                parts.append(f"{col} < {lit(s.kwargs['min_value'])}")
            if s.kwargs.get("max_value") is not None:
                parts.append(f"{col} > {lit(s.kwargs['max_value'])}")
            cond = " OR ".join(parts)
        else:
            raise SystemExit(f"no SQL for {s.check}")
        exprs.append(f"count(*) FILTER (WHERE {cond})")
        index.append(i)
    row = con.execute(f"SELECT {', '.join(exprs)} FROM frame").fetchone()
    return dict(zip(index, row, strict=True))


def door(rows: int) -> dict:
    import duckdb
    from ingest_throughput import build_export

    from regbench.contracts import load_contracts
    from regbench.door_validation import DoorValidator, suite_spec
    from regbench.parsing import parse_file
    from regbench.pseudonym import DEMO_KEY, Pseudonymiser
    from regbench.thresholds import load_thresholds

    contract = load_contracts(ROOT / "registries")["swedvasc"]
    entity = contract.entity("operation")
    door_rules = load_thresholds(ROOT / "expectations", "swedvasc").door
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        path, _ = build_export(work, rows)
        parsed = parse_file(path, contract, entity, pseudonymiser=Pseudonymiser(DEMO_KEY.encode()),
                            known_units=None, today=TODAY)
        frame = parsed.frame.reset_index(drop=True)

        t0 = time.monotonic()
        validator = DoorValidator(work / "gx")
        validator.validate(frame.head(10), contract, entity, file_id="0" * 64, file_name="warm-up",
                           today=TODAY, door=door_rules)
        startup = time.monotonic() - t0

        t0 = time.monotonic()
        results = validator.validate(frame, contract, entity, file_id="1" * 64,
                                     file_name=path.name, today=TODAY, door=door_rules)
        gx_seconds = time.monotonic() - t0

        specs = suite_spec(contract, entity, TODAY, door_rules)
        con = duckdb.connect()
        t0 = time.monotonic()
        con.register("frame", frame)
        counts = sql_violations(con, specs, set(frame.columns))
        sql_seconds = time.monotonic() - t0

    by_spec = {(r.check, r.column): r.unexpected_count for r in results}
    for i, n in counts.items():
        gx_n = by_spec[(specs[i].check, specs[i].column)]
        if gx_n != n:
            raise SystemExit(f"GX and SQL disagree on {specs[i].check} {specs[i].column}: {gx_n} vs {n}")
    return {"rows": len(frame), "checks": len(specs), "gx_startup_s": round(startup, 2),
            "gx_door_s": round(gx_seconds, 2), "sql_door_s": round(sql_seconds, 3),
            "gx_over_sql": round(gx_seconds / sql_seconds, 1)}


def warehouse(var: Path) -> dict:
    os.environ["REGBENCH_VAR"] = str(var.resolve())
    os.environ.setdefault("REGBENCH_DEMO", "1")
    from regbench.config import get_settings
    from regbench.contracts import load_contracts
    from regbench.warehouse import Warehouse
    from regbench.warehouse_checks import run_checks

    settings = get_settings()
    contracts = load_contracts(settings.contracts_dir)
    with Warehouse(settings) as wh:
        (registrations,) = wh.fetchone("SELECT count(*) FROM intermediate.int_registrations")
        t0 = time.monotonic()
        results = run_checks(wh, contracts, settings.thresholds_dir)
        seconds = time.monotonic() - t0
    return {"registrations": registrations, "unit_checks": len(results),
            "warehouse_checks_s": round(seconds, 2)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="0 skips the door part")
    ap.add_argument("--warehouse-var", type=Path, help="a REGBENCH_VAR built by `regbench run`")
    args = ap.parse_args()
    out = {"date": datetime.now().isoformat(timespec="seconds"), "machine": platform.node()}
    if args.rows:  # --rows 0: only the warehouse checks
        out["door"] = door(args.rows)
    if args.warehouse_var:
        out["warehouse"] = warehouse(args.warehouse_var)
    line = json.dumps(out)
    print(line)
    results = ROOT / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    with (results / "dq_checks.jsonl").open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")


if __name__ == "__main__":
    main()
