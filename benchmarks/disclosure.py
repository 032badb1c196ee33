"""Time the disclosure layer and the audit's attacker on a benchmark var (benchmarks/make_var.py).

    .venv/bin/python benchmarks/disclosure.py --var /work/bench/var30

Builds the marts once (everything the var holds), then times the layer's decision (suppression
with the attacker as judge, `regbench.disclosure.layer.decide`) and the audit's attack on the
publication built from it. One JSON line per run in benchmarks/results/disclosure.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from datetime import datetime
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--var", required=True, type=Path)
    parser.add_argument("--skip-marts", action="store_true", help="the marts are built already")
    args = parser.parse_args()
    os.environ["REGBENCH_VAR"] = str(args.var)
    os.environ.setdefault("REGBENCH_DEMO", "1")

    from regbench import nightly
    from regbench.audit import disclosure_findings
    from regbench.config import get_settings
    from regbench.disclosure.layer import decide
    from regbench.disclosure.policy import load_policy
    from regbench.warehouse import Warehouse

    settings = get_settings()
    if not args.skip_marts:
        nightly.build_marts()
    policy = load_policy(settings.dbt_project_dir)
    with Warehouse(settings) as wh:
        (registrations,) = wh.fetchone(
            "SELECT sum(registrations) FROM marts.fct_registrations_monthly")
        started = time.monotonic()
        layer = decide(wh, policy)
        layer_s = time.monotonic() - started
    nightly._dbt_build(["--select", *nightly.PUBLICATION], "publication layer")
    with Warehouse(settings) as wh:
        started = time.monotonic()
        findings, hidden = disclosure_findings(wh, policy.k)
        audit_s = time.monotonic() - started
    line = {
        "at": datetime.now().isoformat(timespec="seconds"), "var": str(args.var),
        "warehouse": settings.warehouse, "registrations": int(registrations or 0),
        "cells": layer["cells"], "hidden": layer["hidden"], "primary": layer["primary"],
        "rounds": layer["rounds"], "layer_s": round(layer_s, 1), "audit_attack_s": round(audit_s, 1),
        "audit_findings": len(findings),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    out = Path(__file__).parent / "results" / "disclosure.jsonl"
    with out.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(line) + "\n")
    print(json.dumps(line, indent=2))


if __name__ == "__main__":
    main()
