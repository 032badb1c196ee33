"""Make a benchmark var: generated demo exports, the last month held back as "the next day",
the rest ingested with the real ingest (into the warehouse REGBENCH_WAREHOUSE names).

    .venv/bin/python benchmarks/make_var.py --var /work/bench/var30 --scale 30
    .venv/bin/python benchmarks/make_var.py --var /work/bench/var30x360 --scale 30 --months 360

`--scale` multiplies the daily volume (scale 300 = ten times the registrations of every day);
`--months` lengthens the history at the same daily volume (360 months at scale 30 ≈ 10 M
registrations). benchmarks/incremental_build.py then runs on the var (RESULTS.md, decision 0015).
Registries are generated in parallel processes (each has its own seeded generator, so the files
are the same as one `regbench demo generate` would write); the ingest runs one registry at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

END_MONTH = "2026-10"


def _generate_one(registry_id: str, scale: float, months: int) -> dict:
    from regbench.config import get_settings
    from regbench.contracts import load_contracts
    from regbench.demo.generator import generate

    settings = get_settings()
    contract = load_contracts(settings.contracts_dir)[registry_id]
    report = generate(settings.inbox, {registry_id: contract},
                      settings.dbt_project_dir / "seeds" / "units.csv", scale=scale,
                      end_month=END_MONTH, months=months)
    return report.rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--var", required=True, type=Path)
    ap.add_argument("--scale", type=float, default=30.0)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    if args.var.exists() and any(args.var.iterdir()):
        raise SystemExit(f"{args.var} is not empty: a var is made once, from nothing")
    os.environ.update(REGBENCH_VAR=str(args.var.resolve()), REGBENCH_DEMO="1")

    from regbench import nightly
    from regbench.config import get_settings
    from regbench.contracts import load_contracts

    settings = get_settings()
    registries = sorted(load_contracts(settings.contracts_dir))
    t0 = time.monotonic()
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = {}
        for r in pool.map(_generate_one, registries, [args.scale] * len(registries),
                          [args.months] * len(registries)):
            rows.update(r)
    generate_s = round(time.monotonic() - t0, 1)
    print(f"generated {sum(rows.values())} rows in {generate_s} s: {rows}", flush=True)

    held = settings.var / "held"
    for f in sorted(settings.inbox.rglob(f"*_{END_MONTH}*")):
        target = held / f.relative_to(settings.inbox)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(f, target)

    ingest_s = {}
    for r in registries:
        t1 = time.monotonic()
        loaded = nightly.ingest(r)["rows_loaded"]
        ingest_s[r] = round(time.monotonic() - t1, 1)
        print(f"ingested {r}: {loaded} rows in {ingest_s[r]} s", flush=True)
    print(json.dumps({"var": str(args.var), "scale": args.scale, "months": args.months,
                      "rows": rows, "generate_s": generate_s, "ingest_s": ingest_s}))


if __name__ == "__main__":
    main()
