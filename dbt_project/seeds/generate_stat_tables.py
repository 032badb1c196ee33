"""Write the two statistical tables the marts read, from scipy (docs/decisions/0019).

Neither DuckDB nor PostgreSQL has a binomial or chi-square quantile function, so:

- anhoej_exceptions.csv: Anhøj's run-chart thresholds (qicharts2) for the numbers of useful
  points n at which the closed form fct_spc_run_chart computes is not exact, for every
  n ≤ ANHOEJ_EXACT_UP_TO. The closed form is round(log2(n) + 3) for the longest run and, for the
  crossings, the normal approximation with continuity correction to the 5th percentile of
  Binomial(n − 1, 0.5): ceil((n − 1)/2 + z₀.₀₅·√(n − 1)/2 − 0.5). It is wrong by one at
  n = 31, 38, 180, … (333 lengths up to 2 000 000); the table also holds every n whose closed
  form lands within FRAGILE of a rounding boundary, where another order of floating-point
  operations could round the other way. With the table the thresholds are exact for every
  n ≤ ANHOEJ_EXACT_UP_TO; beyond it the closed form alone is off by one at about 0.02 % of n.
- poisson_limits.csv: exact (Garwood) 95 % limits for the mean of a Poisson count O = 0..N:
  lower = χ²₀.₀₂₅(2O)/2 (0 when O = 0), upper = χ²₀.₉₇₅(2O + 2)/2. fct_casemix divides them by E;
  beyond N it uses the Wilson–Hilferty (Byar) approximation, relative error < 6e-7 there.

Run from the repository root: .venv/bin/python dbt_project/seeds/generate_stat_tables.py
(about half a minute; tests/unit/test_stat_tables.py checks the result against scipy).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
from scipy import stats

HERE = Path(__file__).resolve().parent
ANHOEJ_EXACT_UP_TO = 1_000_000
POISSON_UP_TO = 1000
FRAGILE = 1e-9
Z05 = stats.norm.ppf(0.05)


def anhoej_closed_form(n: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The thresholds fct_spc_run_chart computes, in its order of operations, and the values
    before rounding."""
    n = n.astype(float)
    m = n - 1
    runs = np.log(n) / np.log(2.0) + 3
    crossings = m / 2 + Z05 * np.sqrt(m) / 2 - 0.5
    return np.round(runs), np.ceil(crossings), runs, crossings


def anhoej_exceptions() -> list[tuple[int, int, int]]:
    n = np.arange(1, ANHOEJ_EXACT_UP_TO + 1)
    runs, crossings, runs_raw, crossings_raw = anhoej_closed_form(n)
    exact_runs = np.array([round(math.log2(k) + 3) for k in n.tolist()])
    exact_crossings = stats.binom.ppf(0.05, n - 1, 0.5).astype(int)
    wrong = (runs != exact_runs) | (crossings != exact_crossings)
    fragile = (np.abs(runs_raw - np.floor(runs_raw) - 0.5) < FRAGILE) | (
        np.abs(crossings_raw - np.round(crossings_raw)) < FRAGILE)
    keep = np.flatnonzero(wrong | fragile)
    return [(int(n[i]), int(exact_runs[i]), int(exact_crossings[i])) for i in keep]


def poisson_limits() -> list[tuple[int, float, float]]:
    rows = []
    for o in range(POISSON_UP_TO + 1):
        lower = 0.0 if o == 0 else float(stats.chi2.ppf(0.025, 2 * o) / 2)
        upper = float(stats.chi2.ppf(0.975, 2 * o + 2) / 2)
        rows.append((o, lower, upper))
    return rows


def main() -> None:
    with (HERE / "anhoej_exceptions.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["n_useful", "longest_run_max", "crossings_min"])
        w.writerows(anhoej_exceptions())
    with (HERE / "poisson_limits.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["observed", "lower_95", "upper_95"])
        # repr: the shortest text that reads back as the same double on both warehouses
        w.writerows((o, repr(lo), repr(hi)) for o, lo, hi in poisson_limits())


if __name__ == "__main__":
    main()
