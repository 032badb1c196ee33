"""p50 / p95 chart-data latency per dashboard, against a running Superset (`make serve`).

    REGBENCH_DEMO=1 .venv/bin/python benchmarks/superset_latency.py [--rounds 10]
    REGBENCH_DEMO=1 REGBENCH_VAR=var-scale30 .venv/bin/python benchmarks/superset_latency.py \
        --start --label "scale 30 (1M registrations)"

With --start, Superset is bootstrapped and started on REGBENCH_VAR's published warehouse, the
dashboards are deployed from superset/, and Superset is stopped afterwards.

Every chart of every dashboard is fetched with force=true (no cache), `rounds` times; one JSON
line per dashboard is appended to benchmarks/results/superset_latency.jsonl.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import datetime
from pathlib import Path

from regbench.config import get_settings
from regbench.dashboards.deploy import deploy
from regbench.superset_api import SupersetClient
from regbench.superset_stack import SupersetStack, stop

ROOT = Path(__file__).resolve().parents[1]

RESULTS = Path(__file__).with_name("results") / "superset_latency.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--label", default="demo scale 1")
    ap.add_argument("--start", action="store_true", help="start Superset for the run, then stop it")
    args = ap.parse_args()
    settings = get_settings()
    stack = SupersetStack(settings)
    proc = None
    if args.start:
        stack.bootstrap()
        proc = stack.start()
        stack.wait_healthy(proc)
        with SupersetClient(stack.url, stack.admin_user, stack.admin_password()) as client:
            deploy(client, settings, ROOT / "superset", None)
    try:
        measure(settings, stack, args)
    finally:
        if proc is not None:
            stop(proc)


def measure(settings, stack, args) -> None:
    with SupersetClient(stack.url, stack.admin_user, stack.admin_password()) as client:
        for dash in client.list_all("dashboard", ["id", "slug"]):
            charts = client.get(f"/api/v1/dashboard/{dash['id']}/charts")["result"]
            times = []
            for _ in range(args.rounds):
                for chart in charts:
                    t = time.perf_counter()
                    client.get(f"/api/v1/chart/{chart['id']}/data/?force=true")
                    times.append(time.perf_counter() - t)
            times.sort()
            line = {"at": datetime.now().isoformat(timespec="seconds"), "label": args.label,
                    "dashboard": dash["slug"], "charts": len(charts), "requests": len(times),
                    "p50_ms": round(statistics.median(times) * 1000, 1),
                    "p95_ms": round(times[int(0.95 * (len(times) - 1))] * 1000, 1)}
            print(json.dumps(line))
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            with RESULTS.open("a") as f:
                f.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
