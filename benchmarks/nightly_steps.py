"""Time each warehouse step of the nightly run on an existing var, without Airflow's overhead.

    REGBENCH_DEMO=1 REGBENCH_VAR=/path/var-scale30 .venv/bin/python benchmarks/nightly_steps.py \\
        --label "scale 30, DuckDB"

The var must hold loaded raw data (`regbench run` or `regbench ingest` at some scale). Runs
build_marts → check_warehouse → build_publication → audit → publish (regbench.nightly) once and
appends the seconds per step, the registrations and the published rows to
benchmarks/results/nightly_steps.jsonl. Every model is a table rebuilt in full, so this is also
the cost of a night that brings one new day (issue 7's incremental builds are not built yet).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
from datetime import datetime
from pathlib import Path

from regbench import nightly
from regbench.config import get_settings
from regbench.warehouse import Warehouse

RESULTS = Path(__file__).with_name("results") / "nightly_steps.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--label", required=True)
    args = ap.parse_args()
    settings = get_settings()
    steps: dict[str, float] = {}

    def timed(name, fn, *a, **kw):
        t0 = time.monotonic()
        out = fn(*a, **kw)
        steps[name] = round(time.monotonic() - t0, 1)
        print(f"{name}: {steps[name]} s", flush=True)
        return out

    timed("build_marts", nightly.build_marts)
    timed("check_warehouse", nightly.check_warehouse)
    timed("build_publication", nightly.build_publication)
    audited = timed("audit", nightly.audit)
    published = timed("publish", nightly.publish, held=audited["held"])
    with Warehouse(settings) as wh:
        (registrations,) = wh.fetchone("SELECT count(*) FROM intermediate.int_registrations")
    line = {"at": datetime.now().isoformat(timespec="seconds"), "machine": platform.node(),
            "label": args.label, "warehouse": settings.warehouse, "registrations": registrations,
            "seconds": steps, "total_s": round(sum(steps.values()), 1),
            "published_rows": published["tables"],
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    print(json.dumps(line))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
