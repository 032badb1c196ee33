"""Time `regbench run` (the whole nightly pipeline through Airflow) at a given demo scale.

    .venv/bin/python benchmarks/run_pipeline.py --scale 1 --scale 25

Each scale runs in a fresh REGBENCH_VAR: generation, first run (everything new) and second run
(nothing new) are timed separately; peak memory of the run's process tree is read from
/usr/bin/time when available. Results are printed as JSON lines and appended to
benchmarks/results/pipeline.jsonl; RESULTS.md quotes them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REGBENCH = str(Path(sys.executable).with_name("regbench"))


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, int | None, str]:
    gnu_time = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    full = [gnu_time, "-v", *cmd] if gnu_time else cmd
    t0 = time.monotonic()
    proc = subprocess.run(full, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    return seconds, (int(m.group(1)) // 1024 if m else None), proc.stdout


def rows_loaded(stdout: str) -> int | None:
    m = re.search(r"rows loaded\W+([\d,]+)", stdout)
    return int(m.group(1).replace(",", "")) if m else None


def bench(scale: float) -> dict:
    var = Path(tempfile.mkdtemp(prefix=f"regbench-bench-{scale}-"))
    env = dict(os.environ, REGBENCH_DEMO="1", REGBENCH_VAR=str(var), COLUMNS="160")
    try:
        gen_s, gen_mb, _ = timed([REGBENCH, "demo", "generate", "--scale", str(scale)], env)
        first_s, first_mb, out1 = timed([REGBENCH, "run"], env)
        second_s, second_mb, _ = timed([REGBENCH, "run"], env)
        return {
            "scale": scale, "rows_loaded": rows_loaded(out1),
            "generate_s": round(gen_s, 1), "first_run_s": round(first_s, 1),
            "second_run_s": round(second_s, 1), "first_run_peak_rss_mb": first_mb,
            "machine": f"{platform.node()} {os.cpu_count()} cores {platform.python_version()}",
            "date": time.strftime("%Y-%m-%d"),
        }
    finally:
        shutil.rmtree(var, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, action="append", default=None)
    args = ap.parse_args()
    out = HERE / "results" / "pipeline.jsonl"
    out.parent.mkdir(exist_ok=True)
    for scale in args.scale or [1.0]:
        result = bench(scale)
        print(json.dumps(result))
        with out.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
