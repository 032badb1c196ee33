"""The warehouse part of three nights on one var: a full rebuild, a night with nothing new, and a
night that brings one new day of exports (incremental, decision 0012).

    REGBENCH_DEMO=1 REGBENCH_VAR=/path/var-scale30 .venv/bin/python benchmarks/incremental_build.py \\
        --label "scale 30, DuckDB"

The var must hold loaded raw data and, under `held/<registry>/`, the files of the next day that
were kept out of the inbox (benchmarks/RESULTS.md says how the vars were made). Each night runs
build_marts → check_warehouse → build_publication → audit → publish (regbench.nightly) and is
appended, step by step, to benchmarks/results/incremental_build.jsonl. The new day's files are
ingested with `regbench ingest` between the second and the third night (timed beside the build,
not inside it); afterwards the var holds that day, so copy the var first to measure it again.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import time
from datetime import datetime
from pathlib import Path

from regbench import nightly
from regbench.config import get_settings
from regbench.contracts import load_contracts
from regbench.reprocess import mark_for_reprocessing
from regbench.warehouse import Warehouse

RESULTS = Path(__file__).with_name("results") / "incremental_build.jsonl"


def _timed(steps: dict, name: str, fn, *a, **kw):
    t0 = time.monotonic()
    out = fn(*a, **kw)
    steps[name] = round(time.monotonic() - t0, 1)
    print(f"  {name}: {steps[name]} s", flush=True)
    return out


def night(full_refresh: bool) -> dict[str, float]:
    steps: dict[str, float] = {}
    _timed(steps, "build_marts", nightly.build_marts, full_refresh)
    _timed(steps, "check_warehouse", nightly.check_warehouse)
    _timed(steps, "build_publication", nightly.build_publication, full_refresh)
    audited = _timed(steps, "audit", nightly.audit)
    _timed(steps, "publish", nightly.publish, held=audited["held"])
    return steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--label", required=True)
    ap.add_argument("--again", action="store_true",
                    help="on a var this benchmark has already run on: one night in which the held "
                         "period, already loaded, is reprocessed (same months, same rows changed)")
    args = ap.parse_args()
    settings = get_settings()
    held = settings.var / "held"
    if not any(held.rglob("*.*")):
        raise SystemExit(f"{held} holds no files: keep the next day's exports there (see the docstring)")
    if args.again:
        return again(settings, held, args.label)
    nights = {}
    print("full rebuild", flush=True)
    nights["full"] = night(full_refresh=True)
    print("nothing new", flush=True)
    nights["nothing_new"] = night(full_refresh=False)

    print("one new day of exports", flush=True)
    moved = []
    for f in sorted(held.rglob("*.*")):
        target = settings.inbox / f.relative_to(held)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, target)
        moved.append(target)
    t0 = time.monotonic()
    loaded = sum(nightly.ingest(r)["rows_loaded"] for r in sorted(load_contracts(settings.contracts_dir)))
    ingest_s = round(time.monotonic() - t0, 1)
    print(f"  ingest of {len(moved)} files, {loaded} rows: {ingest_s} s", flush=True)
    nights["new_day"] = night(full_refresh=False)

    record(settings, args.label, nights, len(moved), loaded, ingest_s)


def again(settings, held, label: str) -> None:
    """Reprocess the held period of every registry (its files are in the lake), then one night."""
    periods = sorted({f.stem.rsplit("_", 1)[-1] for f in held.rglob("*.*")})
    now = datetime.now().replace(microsecond=0)
    with Warehouse(settings) as wh:
        files = [n for r in sorted(load_contracts(settings.contracts_dir)) for p in periods
                 for n in mark_for_reprocessing(wh, r, p, now)]
    t0 = time.monotonic()
    loaded = sum(nightly.ingest(r)["rows_loaded"] for r in sorted(load_contracts(settings.contracts_dir)))
    ingest_s = round(time.monotonic() - t0, 1)
    print(f"  reprocessing {len(files)} files, {loaded} rows: {ingest_s} s", flush=True)
    record(settings, label, {"new_day": night(full_refresh=False)}, len(files), loaded, ingest_s)


def record(settings, label: str, nights: dict, files: int, loaded: int, ingest_s: float) -> None:
    with Warehouse(settings) as wh:
        (registrations,) = wh.fetchone("SELECT count(*) FROM intermediate.int_registrations")
    line = {"at": datetime.now().isoformat(timespec="seconds"), "machine": platform.node(),
            "label": label, "warehouse": settings.warehouse, "registrations": registrations,
            "new_day": {"files": files, "rows": loaded, "ingest_s": ingest_s},
            "nights": {k: {"seconds": v, "dbt_s": round(v["build_marts"] + v["build_publication"], 1),
                           "total_s": round(sum(v.values()), 1)} for k, v in nights.items()},
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    print(json.dumps(line))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
